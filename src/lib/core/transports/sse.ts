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
import type { Attempt, Transport, TransportConnection, TransportSink } from './types.js';

export interface SseOptions {
	/** The stream's URL; a function is called for each attempt. */
	url: string | URL | ((attempt: Attempt) => string | URL);
	/**
	 * `eventsource`: the browser's `EventSource` (smallest; GET only; cannot read HTTP statuses).
	 * `fetch`: a streamed `fetch` parsed with eventsource-parser (headers, credentials, POST, an
	 * explicit `Last-Event-ID` header, HTTP status classification, the `retry:` field, comments as
	 * heartbeats).
	 * @defaultValue `'fetch'` when `headers`, `method` or `body` are given, else `'eventsource'`
	 */
	mode?: 'eventsource' | 'fetch';
	/**
	 * Event types to receive besides unnamed ones. `EventSource` only delivers the types it was
	 * told about; in fetch mode every type arrives and this list is not needed.
	 * @defaultValue `['snapshot', 'upsert', 'remove']`
	 */
	events?: string[];
	/**
	 * Event types that only prove liveness.
	 * @defaultValue `['heartbeat', 'ping']`
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
}

const DEFAULT_EVENTS = ['snapshot', 'upsert', 'remove'];
const DEFAULT_HEARTBEATS = ['heartbeat', 'ping'];

/**
 * A heartbeat event proves liveness; one whose data is `{"interval": ms}` (as `sseResponse` sends)
 * also tells the engine how often to expect one.
 */
function heartbeat(sink: TransportSink<string>, data: string) {
	if (data.startsWith('{')) {
		try {
			const interval = (JSON.parse(data) as { interval?: unknown }).interval;
			if (typeof interval === 'number' && interval > 0 && Number.isFinite(interval)) {
				sink.hint({ heartbeatMs: interval });
			}
		} catch {
			// not ours: a heartbeat all the same
		}
	}
	sink.heartbeat();
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
	const heartbeats = new Set(options.heartbeatEvents ?? DEFAULT_HEARTBEATS);
	return {
		kind: 'sse',
		supported: (env) =>
			mode === 'fetch'
				? typeof env.fetch === 'function' && typeof TextDecoderStream === 'function'
				: env.EventSource !== undefined,
		open: (sink, attempt) =>
			mode === 'fetch'
				? openFetch(options, heartbeats, sink, attempt)
				: openEventSource(options, heartbeats, sink, attempt)
	};
}

type ParserModule = typeof import('eventsource-parser');
let parserModule: Promise<ParserModule | undefined> | undefined;

/**
 * eventsource-parser, loaded with the first fetch-mode stream: EventSource mode, the default, never
 * needs it. A failed load (a chunk that went away with a deploy) is tried again next time.
 */
function loadParser() {
	return (parserModule ??= import('eventsource-parser').catch(() => (parserModule = undefined)));
}

function openFetch(
	options: SseOptions,
	heartbeats: Set<string>,
	sink: TransportSink<string>,
	attempt: Attempt
): TransportConnection {
	const { env, signal, lastEventId } = attempt;
	const url = resolveUrl(options.url, attempt);
	let closed = false;
	let reader: ReadableStreamDefaultReader<string> | undefined;
	// Aborted by close() as well as by the attempt's signal, so a request still connecting is released.
	const request = new AbortController();
	const abort = () => request.abort();
	if (signal.aborted) abort();
	else signal.addEventListener('abort', abort);

	(async () => {
		// Loads while the request is under way.
		const parsing = loadParser();
		// MSW and most servers key on exactly this Accept value.
		const headers = new Headers(options.headers);
		headers.set('Accept', 'text/event-stream');
		headers.set('Cache-Control', 'no-cache');
		if (lastEventId !== undefined) headers.set('Last-Event-ID', lastEventId);
		let response: Response;
		try {
			response = await env.fetch(url, {
				method: options.method ?? 'GET',
				headers,
				body: options.body,
				credentials: options.withCredentials ? 'include' : 'same-origin',
				cache: 'no-store',
				signal: request.signal
			});
		} catch (cause) {
			if (!closed) sink.failed(networkError(url, 'sse', cause));
			return;
		}
		if (closed) return discard(response);
		if (response.status === 204 || response.status === 205) {
			discard(response);
			return sink.ended({ final: true });
		}
		if (!response.ok) {
			discard(response);
			return sink.failed(httpError(response, url, 'sse', env.now()));
		}
		if (!hasContentType(response, (type) => type === 'text/event-stream')) {
			discard(response);
			return sink.failed(contentTypeError(response, url, 'sse', 'text/event-stream'));
		}
		if (!response.body) {
			return sink.failed(
				new TransportError(messages.noBody(url), {
					code: 'protocol',
					retryable: true,
					transport: 'sse'
				})
			);
		}

		const parserApi = await parsing;
		if (closed) return discard(response);
		if (!parserApi) {
			discard(response);
			return sink.failed(
				new TransportError(messages.notLoaded('eventsource-parser'), {
					code: 'network',
					retryable: true,
					transport: 'sse'
				})
			);
		}

		sink.opened({ resumed: options.resumable === true && lastEventId !== undefined });
		const parser = parserApi.createParser({
			onEvent(event) {
				if (closed) return;
				if (event.event !== undefined && heartbeats.has(event.event))
					return heartbeat(sink, event.data);
				sink.message(event.data, { id: event.id, event: event.event });
			},
			onRetry: (ms) => !closed && sink.hint({ retryMs: ms }),
			onComment: () => !closed && sink.heartbeat()
		});
		reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
		let endsWithCR = false;
		try {
			for (;;) {
				const { done, value } = await reader.read();
				if (closed) return;
				if (done) {
					// The parser holds back a final CR to see whether an LF follows; at the end it
					// cannot, so the CR is a whole line ending (an event ended by CR CR is complete).
					if (endsWithCR) parser.feed('\n');
					// An event cut off by the end of the stream is never dispatched: the parser keeps it.
					return sink.ended();
				}
				if (value.length > 0) endsWithCR = value.endsWith('\r');
				parser.feed(value);
			}
		} catch (cause) {
			if (!closed)
				sink.failed(
					new TransportError(messages.streamEnded(url), {
						code: 'closed',
						retryable: true,
						transport: 'sse',
						cause
					})
				);
		}
	})();

	return {
		close() {
			if (closed) return;
			closed = true;
			signal.removeEventListener('abort', abort);
			request.abort();
			reader?.cancel().catch(() => {});
		}
	};
}

function openEventSource(
	options: SseOptions,
	heartbeats: Set<string>,
	sink: TransportSink<string>,
	attempt: Attempt
): TransportConnection {
	const { env, lastEventId } = attempt;
	const EventSourceCtor = env.EventSource;
	if (!EventSourceCtor) {
		sink.failed(
			new TransportError(messages.unsupported('EventSource'), {
				code: 'unsupported',
				retryable: false,
				transport: 'sse'
			})
		);
		return { close() {} };
	}
	let url = resolveUrl(options.url, attempt);
	if (lastEventId !== undefined) {
		const parsed = new URL(url, globalThis.location?.href ?? 'http://localhost');
		parsed.searchParams.set(options.lastEventIdParam ?? 'lastEventId', lastEventId);
		url = /^[a-z][a-z\d+.-]*:/i.test(url)
			? parsed.href
			: `${parsed.pathname}${parsed.search}${parsed.hash}`;
	}
	const source = new EventSourceCtor(url, { withCredentials: options.withCredentials === true });
	let previousId = lastEventId ?? '';
	let closed = false;

	const types = ['message', ...(options.events ?? DEFAULT_EVENTS), ...heartbeats];
	const onMessage = (event: Event) => {
		if (closed) return;
		const { type, data, lastEventId: id } = event as MessageEvent<string>;
		if (heartbeats.has(type)) return heartbeat(sink, data);
		// `lastEventId` is the stream's running id, repeated on id-less events: pass it on only
		// when it changed, or the store would take those events for duplicates.
		const changed = id !== previousId;
		previousId = id;
		sink.message(data, {
			id: changed ? id : undefined,
			event: type === 'message' ? undefined : type
		});
	};
	const onOpen = () =>
		!closed && sink.opened({ resumed: options.resumable === true && lastEventId !== undefined });
	const onError = () => {
		if (closed) return;
		// The browser would reconnect on its own; the engine owns retries, so stop it here.
		const failedForGood = source.readyState === EventSourceCtor.CLOSED;
		close();
		sink.failed(
			new TransportError(messages.eventSourceError(url), {
				code: failedForGood ? 'http' : 'network',
				retryable: true,
				transport: 'sse'
			})
		);
	};
	source.addEventListener('open', onOpen);
	source.addEventListener('error', onError);
	for (const type of types) source.addEventListener(type, onMessage);

	function close() {
		if (closed) return;
		closed = true;
		source.removeEventListener('open', onOpen);
		source.removeEventListener('error', onError);
		for (const type of types) source.removeEventListener(type, onMessage);
		source.close();
	}
	return { close };
}
