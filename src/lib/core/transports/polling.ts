import * as messages from '../messages.js';
import { TransportError } from '../errors.js';
import { positive } from '../options.js';
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
 *
 * The adapter object keeps no state between attempts: a response's `ETag` goes with its data to
 * the connection (`meta.validator`), and a request is conditional only on the validator of data
 * that connection's store really has (`attempt.validator`, or a response delivered earlier in the
 * same attempt). One adapter shared by several lists, or mounted again with a new store, therefore
 * always loads the whole list first.
 */
export function polling<In = unknown>(options: PollingOptions<In>): Transport<In> {
	const baseInterval = positive('interval', options.interval, 5000);
	const timeout = options.timeout ?? 15_000;
	const pauseWhenHidden = options.pauseWhenHidden ?? true;

	return {
		kind: 'polling',
		identity: options,
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
			// The validator of the data the connection's store has: handed in by the connection, then
			// the ETag of the last response this attempt delivered (none when it came without one).
			let validator = attempt.validator;
			const fail = (error: TransportError) => {
				if (failed) return;
				failed = true;
				sink.failed(error);
			};
			/** Whatever a poll threw (a `url` function, a header value, `parse`) ends the attempt. */
			const run = () => {
				poll().catch((cause: unknown) => {
					inFlight = false;
					if (closed) return;
					fail(
						new TransportError(cause instanceof Error ? cause.message : String(cause), {
							code: 'protocol',
							retryable: false,
							transport: 'polling',
							cause
						})
					);
				});
			};

			const schedule = () => {
				if (closed || (pauseWhenHidden && !env.isVisible())) return;
				timer = env.setTimeout(run, interval);
			};

			async function poll() {
				timer = undefined;
				if (closed || failed || inFlight) return;
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
					// Conditional only on data this connection really has; never on a header in `init`.
					const sent = validator;
					if (sent) headers.set('If-None-Match', sent);
					else headers.delete('If-None-Match');
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
						// A 304 to a request that named no ETag validates nothing this store has (a proxy
						// or a cache answering for another client): as data it would leave the list unloaded.
						if (!sent) {
							discard(response);
							return fail(
								new TransportError(messages.unrequestedNotModified(url), {
									code: 'protocol',
									status: 304,
									retryable: true,
									transport: 'polling'
								})
							);
						}
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
						validator = response.headers.get('etag') || undefined;
						if (!opened) sink.opened({ resumed: true });
						opened = true;
						sink.message(data, validator === undefined ? undefined : { validator });
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
							run();
						}
					})
				: () => {};

			run();

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
