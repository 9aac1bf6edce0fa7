import * as messages from '../messages.js';
import { DecodeError, TransportError, type TransportErrorCode } from '../errors.js';
import { EVENTS, HEARTBEAT_EVENTS } from '../protocol.js';
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

/** What both modes need besides the options. */
interface Config {
	heartbeats: Set<string>;
	connectTimeout: number;
	maxEventSize: number;
}

/** How much longer than `maxEventSize` a line may grow before the attempt fails. */
const LINE_SLACK = 4096;

function positive(name: string, value: number | undefined, fallback: number): number {
	if (value === undefined) return fallback;
	if (typeof value !== 'number' || !(value > 0 && value < 2 ** 31)) {
		throw new TypeError(messages.badOption(name, 'a number > 0', value));
	}
	return value;
}

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

/**
 * Passes one dispatched event on: a heartbeat, a drop (too large) or a message. `id` is set when
 * the stream's last event id changed with this event; a heartbeat or a drop still moves it.
 */
function deliver(
	sink: TransportSink<string>,
	config: Config,
	data: string,
	id: string | undefined,
	event: string | undefined
) {
	if (config.heartbeats.has(event ?? 'message')) heartbeat(sink, data);
	else if (data.length > config.maxEventSize)
		sink.dropped(new DecodeError(messages.eventTooLarge(config.maxEventSize), undefined, event));
	else return sink.message(data, { id, event });
	if (id !== undefined) sink.hint({ lastEventId: id });
}

/**
 * What a response means when it is not an open event stream: `true` for 204/205 (the server says
 * not to come back), the error otherwise; `undefined` for an event stream.
 */
function refusal(response: Response, url: string, now: number): TransportError | true | undefined {
	if (response.status === 204 || response.status === 205) return true;
	if (!response.ok) return httpError(response, url, 'sse', now);
	if (!hasContentType(response, (type) => type === 'text/event-stream'))
		return contentTypeError(response, url, 'sse', 'text/event-stream');
}

/** A failure of this transport. */
const sseError = (message: string, code: TransportErrorCode, retryable: boolean, cause?: unknown) =>
	new TransportError(message, { code, retryable, transport: 'sse', cause });

const timeoutError = (url: string, ms: number) =>
	sseError(messages.connectTimeout(url, ms), 'timeout', true);

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
		connectTimeout: positive('connectTimeout', options.connectTimeout, 5000),
		maxEventSize: positive('maxEventSize', options.maxEventSize, 1_048_576)
	};
	return {
		kind: 'sse',
		supported: (env) =>
			mode === 'fetch'
				? typeof env.fetch === 'function' && typeof TextDecoderStream === 'function'
				: env.EventSource !== undefined,
		open: (sink, attempt) =>
			(mode === 'fetch' ? openFetch : openEventSource)(options, config, sink, attempt)
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

/** The id as the `Last-Event-ID` header carries it: its UTF-8 bytes, one character each. */
const utf8 = (id: string) => String.fromCharCode(...new TextEncoder().encode(id));

/**
 * Wraps eventsource-parser so that it follows the WHATWG algorithm on any chunking: lines are
 * split here (CR, LF and CRLF, a CR at the end of a chunk ending its line at once), so the parser
 * gets whole LF-ended lines and never holds input back; the last event id of a block that
 * dispatches nothing is reported (the parser drops it); an event's data beyond `maxEventSize` is
 * not kept. Returns the function that takes each decoded chunk: false when a line grows beyond the
 * limit without ending.
 */
function lineFeeder(api: ParserModule, sink: TransportSink<string>, config: Config) {
	const max = config.maxEventSize;
	let pending = '';
	let afterCR = false;
	/** The block being read: its id field, the length of its data plus one, whether it dispatched. */
	let id: string | undefined;
	let size = 0;
	let dispatched = false;
	const parser = api.createParser({
		onEvent(event) {
			dispatched = true;
			deliver(sink, config, event.data, event.id, event.event);
		},
		onRetry: (ms) => sink.hint({ retryMs: ms }),
		onComment: () => sink.heartbeat()
	});
	// The parser strips "ï»¿" from its first chunk (a BOM read as Latin-1); the decoder already
	// removed the real one, so its first chunk is empty.
	const restart = () => {
		parser.reset();
		parser.feed('');
	};
	restart();
	return (chunk: string) => {
		const skipLF = afterCR && chunk[0] === '\n';
		if (chunk) afterCR = chunk.endsWith('\r');
		if (skipLF) chunk = chunk.slice(1);
		if (!/[\r\n]/.test(chunk)) return (pending += chunk).length <= max + LINE_SLACK;
		const lines = (pending + chunk).split(/\r\n|\r|\n/);
		pending = lines.pop()!;
		for (const line of lines) {
			if (!line) {
				parser.feed('\n');
				if (size > max + 1) sink.dropped(new DecodeError(messages.eventTooLarge(max), undefined));
				if (!dispatched && id !== undefined) sink.hint({ lastEventId: id });
				id = undefined;
				size = 0;
				dispatched = false;
				continue;
			}
			const data = field(line, 'data');
			if (data !== undefined && (size += data.length + 1) > max + 1) {
				// Too large: what the parser holds goes, and the rest of its data is not kept.
				if (size - data.length - 1 <= max + 1) restart();
				continue;
			}
			const value = field(line, 'id');
			if (value !== undefined && !value.includes('\0')) id = value;
			parser.feed(line + '\n');
		}
		return pending.length <= max + LINE_SLACK;
	};
}

/** The value of `line` when it is the field `name` (one leading space dropped), else undefined. */
function field(line: string, name: string): string | undefined {
	if (line === name) return '';
	if (line.startsWith(name + ':'))
		return line.slice(name.length + (line[name.length + 1] === ' ' ? 2 : 1));
}

function openFetch(
	options: SseOptions,
	config: Config,
	sink: TransportSink<string>,
	attempt: Attempt
): TransportConnection {
	const { env, signal, lastEventId } = attempt;
	const url = resolveUrl(options.url, attempt);
	let closed = false;
	let reader: ReadableStreamDefaultReader<string> | undefined;
	// Aborted by close(), by the attempt's signal and by the connect timeout.
	const request = new AbortController();
	const timer = env.setTimeout(
		() => fail(timeoutError(url, config.connectTimeout)),
		config.connectTimeout
	);
	const close = () => {
		if (closed) return;
		closed = true;
		env.clearTimeout(timer);
		signal.removeEventListener('abort', close);
		request.abort();
		reader?.cancel().catch(() => {});
	};
	// Every outcome releases the attempt before it is reported.
	const fail = (error: TransportError) => {
		if (closed) return;
		close();
		sink.failed(error);
	};
	const end = (info?: { final: true }) => {
		if (closed) return;
		close();
		sink.ended(info);
	};
	if (signal.aborted) close();
	else signal.addEventListener('abort', close);

	(async () => {
		// Loads while the request is under way.
		const parsing = loadParser();
		// MSW and most servers key on exactly this Accept value.
		const headers = new Headers(options.headers);
		headers.set('Accept', 'text/event-stream');
		headers.set('Cache-Control', 'no-cache');
		// An id with a line break or NUL (only the `lastEventId` option can have one) cannot be
		// sent: the server then starts afresh, and the attempt does not claim to resume.
		const sent = lastEventId && !/[\0\r\n]/.test(lastEventId);
		if (sent) headers.set('Last-Event-ID', utf8(lastEventId));
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
			return fail(networkError(url, 'sse', cause));
		}
		const refused = refusal(response, url, env.now());
		if (closed || refused) {
			discard(response);
			return refused === true ? end({ final: true }) : refused && fail(refused);
		}
		if (!response.body) {
			return fail(sseError(messages.noBody(url), 'protocol', true));
		}
		const parserApi = await parsing;
		if (closed || !parserApi) {
			discard(response);
			return fail(sseError(messages.notLoaded('eventsource-parser'), 'network', true));
		}
		env.clearTimeout(timer);
		sink.opened({ resumed: !!sent && options.resumable === true });
		const feed = lineFeeder(parserApi, sink, config);
		reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
		try {
			for (;;) {
				const { done, value } = await reader.read();
				if (closed) return;
				// An event cut off by the end of the stream is never dispatched: the parser keeps it.
				if (done) return end();
				if (!feed(value)) {
					return fail(
						sseError(messages.lineTooLong(url, config.maxEventSize + LINE_SLACK), 'protocol', true)
					);
				}
			}
		} catch (cause) {
			fail(sseError(messages.streamEnded(url), 'closed', true, cause));
		}
	})().catch((cause: unknown) =>
		// Anything else (request headers the platform refuses): trying again cannot help.
		fail(sseError(String(cause), 'protocol', false, cause))
	);

	return { close };
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
