import * as messages from '../messages.js';
import { DecodeError, type TransportError } from '../errors.js';
import { discard, networkError, resolveUrl } from './http.js';
import type { SseOptions } from './sse.js';
import { deliver, LINE_SLACK, refusal, sseError, timeoutError, type Config } from './sse-shared.js';
import type { Attempt, TransportConnection, TransportSink } from './types.js';

type ParserModule = typeof import('eventsource-parser');
let parserModule: Promise<ParserModule | undefined> | undefined;

/** eventsource-parser, loaded with the first stream; a failed load is tried again next time. */
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

/**
 * One fetch-mode attempt. Loaded with the first fetch-mode stream, together with
 * eventsource-parser: EventSource mode, the default, never loads either. `deadline` is when the
 * connect timeout ends (it started before this module loaded).
 */
export function openFetch(
	options: SseOptions,
	config: Config,
	sink: TransportSink<string>,
	attempt: Attempt,
	deadline: number
): TransportConnection {
	const { env, signal, lastEventId } = attempt;
	const url = resolveUrl(options.url, attempt);
	let closed = false;
	let reader: ReadableStreamDefaultReader<string> | undefined;
	// Aborted by close(), by the attempt's signal and by the connect timeout.
	const request = new AbortController();
	const timer = env.setTimeout(
		() => fail(timeoutError(url, config.connectTimeout)),
		Math.max(0, deadline - env.now())
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
