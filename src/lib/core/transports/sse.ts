import * as messages from '../messages.js';
import type { TransportError } from '../errors.js';
import { positive } from '../options.js';
import { EVENTS, HEARTBEAT_EVENTS } from '../protocol.js';
import { discard, networkError, resolveUrl } from './http.js';
import { deliver, refusal, sseError, timeoutError, type Config } from './sse-shared.js';
import type { Attempt, Transport, TransportConnection, TransportSink } from './types.js';

export interface SseOptions {
	/** The stream's URL; a function is called for each attempt. */
	url: string | URL | ((attempt: Attempt) => string | URL);
	/**
	 * `eventsource`: the browser's `EventSource` (smallest; GET only, no headers). What it cannot
	 * know, it is told in other ways or not at all:
	 * - the HTTP status and content type: when the browser gives up for good, one plain `fetch` of
	 *   the same URL (its body discarded after the headers) learns them, and they are classified as in
	 *   fetch mode: 204/205 end for good; 401, 403, 404, 410 and other client errors fail for good; 429
	 *   and 5xx retry, honouring `Retry-After` (cross-origin, only when the server lists it in
	 *   `Access-Control-Expose-Headers`); a page that is not an event stream fails for good. A
	 *   stream that drops after it opened is always retried (the browser does not say why);
	 * - the `retry:` field and comments: never seen (the engine's backoff applies; send heartbeats
	 *   as events, as `sseResponse` does);
	 * - the last event id: sent in the URL (`lastEventIdParam`). An `id:` in a block without data is
	 *   only learnt with the next event, and an empty `id:` before any other id of a reconnected
	 *   stream cannot be told from no id at all;
	 * - event sizes: the browser receives each event whole before `maxEventSize` can drop it.
	 *
	 * `fetch`: a streamed `fetch` parsed with eventsource-parser: headers, credentials, POST, an
	 * explicit `Last-Event-ID` header (UTF-8, as the spec says), HTTP status classification, the
	 * `retry:` field, comments as heartbeats, and bounded memory on hostile streams.
	 * @defaultValue `'fetch'` when `headers`, `method` or `body` are given, else `'eventsource'`
	 */
	mode?: 'eventsource' | 'fetch';
	/**
	 * Event types to receive besides unnamed ones. `EventSource` only delivers the types it was
	 * told about; in fetch mode every type arrives and this list is not needed.
	 * @defaultValue `['snapshot', 'upsert', 'remove', 'resync']`
	 */
	events?: string[];
	/**
	 * Event types that only prove liveness.
	 * @defaultValue `['ping', 'heartbeat']`
	 */
	heartbeatEvents?: string[];
	/** Fetch mode: extra request headers. */
	headers?: HeadersInit;
	/** Fetch mode. @defaultValue `'GET'` */
	method?: string;
	/** Fetch mode: a request body (with `method: 'POST'`). */
	body?: BodyInit;
	/**
	 * Send cookies cross-origin (`withCredentials` / `credentials: 'include'`).
	 * @defaultValue `false`
	 */
	withCredentials?: boolean;
	/**
	 * The server replays every event after `Last-Event-ID`, so a resumed stream misses nothing and
	 * needs no resync. Leave it off unless the server keeps its event log across restarts.
	 * @defaultValue `false`
	 */
	resumable?: boolean;
	/**
	 * EventSource mode cannot set headers: when resuming, the last event id is added to the URL
	 * under this query parameter instead.
	 * @defaultValue `'lastEventId'`
	 */
	lastEventIdParam?: string;
	/**
	 * How long an attempt may take to open (milliseconds): until the response headers arrive (fetch
	 * mode) or the `open` event (EventSource mode). Later, the attempt fails with `code: 'timeout'`
	 * (retryable) and its request or `EventSource` is released, so that a fallback chain moves on.
	 * @defaultValue `5000`
	 */
	connectTimeout?: number;
	/**
	 * The largest event kept, in characters of its data. A larger one is dropped and reported (a
	 * `DecodeError`, counted like a malformed message); the stream goes on, and its id still
	 * counts. In fetch mode memory stays bounded: the data beyond the limit is not kept, and a line
	 * longer than the limit (plus 4096 characters) without a line end fails the attempt with
	 * `code: 'protocol'` (retryable: the connection resets). In EventSource mode the browser
	 * buffers each event whole before it can be dropped.
	 * @defaultValue `1048576` (1 MiB)
	 */
	maxEventSize?: number;
}

/** Server-Sent Events, over the browser's `EventSource` or a streamed `fetch`. */
export function sse(options: SseOptions): Transport<string> {
	if (
		!options ||
		(typeof options.url !== 'string' &&
			typeof options.url !== 'function' &&
			!(options.url instanceof URL))
	) {
		throw new TypeError(messages.badOption('url', 'a string, URL or function', options?.url));
	}
	const mode =
		options.mode ??
		(options.headers !== undefined || options.method !== undefined || options.body !== undefined
			? 'fetch'
			: 'eventsource');
	if (
		mode === 'eventsource' &&
		(options.headers || options.body || (options.method && options.method !== 'GET'))
	) {
		throw new TypeError(
			messages.badOption('mode', "'fetch' to send headers, a method or a body", mode)
		);
	}
	const config: Config = {
		heartbeats: new Set(options.heartbeatEvents ?? HEARTBEAT_EVENTS),
		connectTimeout: positive('connectTimeout', options.connectTimeout, 5000, true),
		maxEventSize: positive('maxEventSize', options.maxEventSize, 1_048_576, true)
	};
	return {
		kind: 'sse',
		identity: options,
		supported: (env) =>
			mode === 'fetch'
				? typeof env.fetch === 'function' && typeof TextDecoderStream === 'function'
				: env.EventSource !== undefined,
		open: (sink, attempt) =>
			(mode === 'fetch' ? openFetch : openEventSource)(options, config, sink, attempt)
	};
}

type FetchModule = typeof import('./sse-fetch.js');
let fetchModule: Promise<FetchModule | undefined> | undefined;

/**
 * Fetch mode and eventsource-parser, loaded with the first fetch-mode stream: EventSource mode,
 * the default, never needs them. A failed load (a chunk that went away with a deploy) is tried
 * again next time.
 */
function loadFetch() {
	return (fetchModule ??= import('./sse-fetch.js').catch(() => (fetchModule = undefined)));
}

function openFetch(
	options: SseOptions,
	config: Config,
	sink: TransportSink<string>,
	attempt: Attempt
): TransportConnection {
	const deadline = attempt.env.now() + config.connectTimeout;
	let closed = false;
	let inner: TransportConnection | undefined;
	void loadFetch().then((module) => {
		if (closed || attempt.signal.aborted) return;
		if (!module) {
			closed = true;
			return sink.failed(sseError(messages.notLoaded('sse-fetch'), 'network', true));
		}
		inner = module.openFetch(options, config, sink, attempt, deadline);
	});
	return {
		close() {
			closed = true;
			inner?.close();
		}
	};
}

function openEventSource(
	options: SseOptions,
	config: Config,
	sink: TransportSink<string>,
	attempt: Attempt
): TransportConnection {
	const { env, lastEventId } = attempt;
	const EventSourceCtor = env.EventSource;
	if (!EventSourceCtor) {
		sink.failed(sseError(messages.unsupported('EventSource'), 'unsupported', false));
		return { close() {} };
	}
	let url = resolveUrl(options.url, attempt);
	if (lastEventId !== undefined) {
		const parsed = new URL(url, globalThis.location?.href ?? 'http://localhost');
		// URLSearchParams percent-encodes the id's UTF-8 bytes.
		parsed.searchParams.set(options.lastEventIdParam ?? 'lastEventId', lastEventId);
		url = /^[a-z][a-z\d+.-]*:/i.test(url)
			? parsed.href
			: `${parsed.pathname}${parsed.search}${parsed.hash}`;
	}
	const credentials = options.withCredentials === true;
	const source = new EventSourceCtor(url, { withCredentials: credentials });
	// A new EventSource starts with an empty last event id, whatever id the engine resumes from.
	let previousId = '';
	let closed = false;
	/** The plain request that learns why the browser gave up. */
	let check: AbortController | undefined;
	const arm = () =>
		env.setTimeout(() => fail(timeoutError(url, config.connectTimeout)), config.connectTimeout);
	let timer = arm();

	const types = ['message', ...(options.events ?? DEFAULT_EVENTS), ...config.heartbeats];
	const onMessage = (event: Event) => {
		if (closed || !('data' in event)) return;
		const { type, data, lastEventId: id } = event as MessageEvent<string>;
		// `lastEventId` is the stream's running id, repeated on id-less events: pass it on only
		// when it changed, or the store would take those events for duplicates.
		const changed = id !== previousId;
		previousId = id;
		deliver(sink, config, data, changed ? id : undefined, type === 'message' ? undefined : type);
	};
	// An event named `open` or `error` arrives as a MessageEvent: that is data, not the connection.
	const onOpen = (event: Event) => {
		if (closed || 'data' in event) return;
		env.clearTimeout(timer);
		sink.opened({ resumed: options.resumable === true && lastEventId !== undefined });
	};
	const onError = (event: Event) => {
		if (closed || 'data' in event) return;
		// CONNECTING: the stream dropped and the browser would reconnect; the engine owns retries.
		if (source.readyState !== EventSourceCtor.CLOSED) return fail(eventSourceError(url));
		// CLOSED: the browser gave up for good (a status, a content type, CORS) and does not say
		// why. One plain request of the same URL learns the status, classified as in fetch mode.
		source.close();
		env.clearTimeout(timer);
		timer = arm();
		check = new AbortController();
		env
			.fetch(url, {
				headers: { Accept: 'text/event-stream' },
				credentials: credentials ? 'include' : 'same-origin',
				cache: 'no-store',
				signal: check.signal
			})
			.then((response) => {
				discard(response);
				const refused = refusal(response, url, env.now());
				if (refused === true) end();
				else fail(refused ?? eventSourceError(url));
			})
			.catch((cause: unknown) => fail(networkError(url, 'sse', cause)));
	};
	source.addEventListener('open', onOpen);
	source.addEventListener('error', onError);
	for (const type of types) source.addEventListener(type, onMessage);

	function close() {
		if (closed) return;
		closed = true;
		env.clearTimeout(timer);
		check?.abort();
		source.removeEventListener('open', onOpen);
		source.removeEventListener('error', onError);
		for (const type of types) source.removeEventListener(type, onMessage);
		source.close();
	}
	function fail(error: TransportError) {
		if (closed) return;
		close();
		sink.failed(error);
	}
	function end() {
		if (closed) return;
		close();
		sink.ended({ final: true });
	}
	return { close };
}

const eventSourceError = (url: string) => sseError(messages.eventSourceError(url), 'network', true);

const DEFAULT_EVENTS = [EVENTS.snapshot, EVENTS.upsert, EVENTS.remove, EVENTS.resync];
