import * as messages from '../messages.js';
import { TransportError } from '../errors.js';

/** Statuses after which trying again cannot help. */
const TERMINAL = new Set([400, 401, 403, 404, 405, 406, 410, 411, 413, 414, 415, 422, 451]);

/**
 * Reads `Retry-After` (seconds or an HTTP date) as milliseconds from `now`.
 * @returns undefined when absent or unreadable
 */
export function parseRetryAfter(value: string | null, now: number): number | undefined {
	if (value === null) return undefined;
	const trimmed = value.trim();
	if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
	const date = Date.parse(trimmed);
	return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/**
 * The error for a non-success HTTP response: 401/403/404/410 and other client errors are terminal;
 * 408, 425, 429 and 5xx are retryable, with the server's `Retry-After`.
 */
export function httpError(
	response: Response,
	url: string,
	kind: string,
	now: number
): TransportError {
	const { status } = response;
	const retryable =
		!TERMINAL.has(status) &&
		(status >= 500 || status === 408 || status === 425 || status === 429 || status < 400);
	return new TransportError(messages.httpStatus(url, status), {
		code: 'http',
		status,
		retryable,
		retryAfterMs: retryable ? parseRetryAfter(response.headers.get('retry-after'), now) : undefined,
		transport: kind
	});
}

export function networkError(url: string, kind: string, cause: unknown): TransportError {
	return new TransportError(messages.network(url), {
		code: 'network',
		retryable: true,
		transport: kind,
		cause
	});
}

/** Whether a response's content type is the expected media type (parameters ignored). */
export function hasContentType(response: Response, test: (mediaType: string) => boolean): boolean {
	const header = response.headers.get('content-type');
	if (!header) return false;
	return test(header.split(';')[0]!.trim().toLowerCase());
}

export function contentTypeError(
	response: Response,
	url: string,
	kind: string,
	expected: string
): TransportError {
	return new TransportError(
		messages.contentType(url, response.headers.get('content-type'), expected),
		{
			code: 'content-type',
			status: response.status,
			retryable: false,
			transport: kind
		}
	);
}

/** Resolves a URL option that may be a function of the attempt. */
export function resolveUrl<A>(url: string | URL | ((arg: A) => string | URL), arg: A): string {
	return String(typeof url === 'function' ? url(arg) : url);
}

/** Releases a response body nobody will read. */
export function discard(response: Response): void {
	response.body?.cancel().catch(() => {});
}
