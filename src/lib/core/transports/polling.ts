import * as messages from '../messages.js';
import { TransportError } from '../errors.js';
import {
	contentTypeError,
	discard,
	hasContentType,
	httpError,
	networkError,
	resolveUrl
} from './http.js';
import type { Attempt, Transport } from './types.js';

export interface PollingOptions<In = unknown> {
	/** The resource to poll; a function is called for each request. */
	url: string | URL | ((attempt: Attempt) => string | URL);
	/**
	 * Milliseconds between the end of one request and the start of the next. A server's
	 * `X-Poll-Interval` header (seconds) overrides it.
	 * @defaultValue `5000`
	 */
	interval?: number;
	/** Extra request options (headers, credentials). `signal` is the kit's. */
	init?: Omit<RequestInit, 'signal'>;
	/**
	 * Turns a successful response into the message handed to the store.
	 * @defaultValue `response.json()`, after checking for a JSON content type
	 */
	parse?: (response: Response) => Promise<In>;
	/**
	 * Stop polling while the page is hidden, and poll at once when it is shown again.
	 * @defaultValue `true`
	 */
	pauseWhenHidden?: boolean;
	/**
	 * Abort a request that takes longer than this (milliseconds).
	 * @defaultValue `15000`
	 */
	timeout?: number;
}

const isJson = (type: string) => type === 'application/json' || type.endsWith('+json');

/**
 * Polls a JSON resource. Conditional requests (`ETag` / `If-None-Match`) make an unchanged list
 * cost one 304 and no re-render; `X-Poll-Interval` and `Retry-After` are honoured. Every response
 * is the whole list, so a reconnect never needs a resync.
 */
export function polling<In = unknown>(options: PollingOptions<In>): Transport<In> {
	const baseInterval = options.interval ?? 5000;
	if (!(baseInterval > 0))
		throw new TypeError(messages.badOption('interval', 'a number > 0', options.interval));
	const timeout = options.timeout ?? 15_000;
	const pauseWhenHidden = options.pauseWhenHidden ?? true;
	// Kept across attempts: an unchanged list stays a 304 after a reconnect too.
	let etag: string | undefined;

	return {
		kind: 'polling',
		supported: (env) => typeof env.fetch === 'function',
		open(sink, attempt) {
			const { env, signal } = attempt;
			let interval = baseInterval;
			let timer: unknown;
			let inFlight = false;
			let opened = false;
			let closed = false;
			// After a failure the attempt is over: only the engine may poll again.
			let failed = false;
			let abortRequest: (() => void) | undefined;
			const fail = (error: TransportError) => {
				failed = true;
				sink.failed(error);
			};

			const schedule = () => {
				if (closed || (pauseWhenHidden && !env.isVisible())) return;
				timer = env.setTimeout(poll, interval);
			};

			async function poll() {
				timer = undefined;
				if (closed || inFlight) return;
				inFlight = true;
				const url = resolveUrl(options.url, attempt);
				const request = new AbortController();
				const abort = () => request.abort();
				abortRequest = abort;
				signal.addEventListener('abort', abort);
				const timeoutHandle = env.setTimeout(abort, timeout);
				const timeoutError = (cause: unknown) =>
					new TransportError(messages.silence(timeout), {
						code: 'timeout',
						retryable: true,
						transport: 'polling',
						cause
					});
				try {
					const headers = new Headers(options.init?.headers);
					if (etag) headers.set('If-None-Match', etag);
					let response: Response;
					try {
						response = await env.fetch(url, { ...options.init, headers, signal: request.signal });
					} catch (cause) {
						if (closed) return;
						const timedOut = request.signal.aborted;
						return fail(timedOut ? timeoutError(cause) : networkError(url, 'polling', cause));
					}
					if (closed) return discard(response);
					const serverInterval = Number(response.headers.get('x-poll-interval'));
					if (serverInterval > 0) {
						interval = serverInterval * 1000;
						sink.hint({ silenceMs: interval });
					} else if (!opened) sink.hint({ silenceMs: interval });

					if (response.status === 304) {
						if (!opened) sink.opened({ resumed: true });
						opened = true;
						sink.heartbeat();
					} else if (response.ok) {
						if (!options.parse && !hasContentType(response, isJson)) {
							discard(response);
							return fail(contentTypeError(response, url, 'polling', 'application/json'));
						}
						let data: In;
						try {
							data = options.parse
								? await options.parse(response)
								: ((await response.json()) as In);
						} catch (cause) {
							if (closed) return;
							// The timeout also covers reading the body.
							if (request.signal.aborted) return fail(timeoutError(cause));
							return fail(
								new TransportError(messages.invalidJson(undefined), {
									code: 'protocol',
									retryable: true,
									transport: 'polling',
									cause
								})
							);
						}
						if (closed) return;
						etag = response.headers.get('etag') ?? undefined;
						if (!opened) sink.opened({ resumed: true });
						opened = true;
						sink.message(data);
					} else {
						discard(response);
						return fail(httpError(response, url, 'polling', env.now()));
					}
					schedule();
				} finally {
					inFlight = false;
					abortRequest = undefined;
					env.clearTimeout(timeoutHandle);
					signal.removeEventListener('abort', abort);
				}
			}

			const stopListening = pauseWhenHidden
				? env.onVisibilityChange((visible) => {
						if (closed || failed) return;
						if (!visible) {
							if (timer !== undefined) env.clearTimeout(timer);
							timer = undefined;
						} else if (!inFlight && timer === undefined) {
							void poll();
						}
					})
				: () => {};

			void poll();

			return {
				close() {
					if (closed) return;
					closed = true;
					if (timer !== undefined) env.clearTimeout(timer);
					abortRequest?.();
					stopListening();
				}
			};
		}
	};
}
