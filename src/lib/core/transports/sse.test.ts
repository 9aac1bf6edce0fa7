import { delay, http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
	recordingSink as recordingSinkOf,
	type SinkCall
} from '../../../../tests/helpers/recording-sink.js';
import { BOM, concat } from '../../../../tests/support/sse-streams.js';
import { createFakeEnv } from '../../../../tests/helpers/fake-env.js';
import { DecodeError } from '../errors.js';
import type { Env } from '../env/env.js';
import { sse, type SseOptions } from './sse.js';
import type { Transport, TransportConnection } from './types.js';

const URL_ = 'https://api.test/events';

type Call = SinkCall<string>;
const recordingSink = () => recordingSinkOf<string>();

const server = setupServer();
beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
afterAll(() => server.close());

const connections: TransportConnection[] = [];
afterEach(() => {
	for (const connection of connections.splice(0)) connection.close();
	server.resetHandlers();
});

function open(
	transport: Transport<string>,
	{ lastEventId, env = createFakeEnv() }: { lastEventId?: string; env?: Env } = {}
) {
	const recorder = recordingSink();
	const controller = new AbortController();
	const connection = transport.open(recorder.sink, {
		n: 1,
		lastEventId,
		signal: controller.signal,
		env
	});
	connections.push(connection);
	return { ...recorder, connection, controller };
}

const fetchSse = (options: Partial<SseOptions> = {}) =>
	sse({ url: URL_, mode: 'fetch', ...options });

const encoder = new TextEncoder();
const bytes = (text: string) => encoder.encode(text);

/** A stream of the given byte chunks, then the end. */
function streamOf(chunks: Uint8Array[]): ReadableStream<Uint8Array> {
	return new ReadableStream({
		start(controller) {
			for (const chunk of chunks) controller.enqueue(chunk);
			controller.close();
		}
	});
}

/** A stream the test writes to by hand. */
function controlledStream() {
	let controller!: ReadableStreamDefaultController<Uint8Array>;
	const stream = new ReadableStream<Uint8Array>({
		start(c) {
			controller = c;
		}
	});
	return {
		stream,
		push: (text: string) => controller.enqueue(bytes(text)),
		end: () => controller.close(),
		error: (reason: unknown) => controller.error(reason)
	};
}

const eventStream = (body: ReadableStream<Uint8Array>, headers: Record<string, string> = {}) =>
	new HttpResponse(body, { headers: { 'content-type': 'text/event-stream', ...headers } });

/** Serves one response per request and records each request's headers. */
function serve(respond: (request: Request) => Response | Promise<Response>) {
	const requests: Request[] = [];
	server.use(
		http.get(URL_, ({ request }) => {
			requests.push(request);
			return respond(request);
		})
	);
	return requests;
}

/** Serves the chunks, opens an attempt and returns its sink calls once the stream has ended. */
async function deliver(chunks: Uint8Array[]): Promise<Call[]> {
	serve(() => eventStream(streamOf(chunks)));
	const attempt = open(fetchSse());
	await vi.waitFor(() => expect(attempt.types()).toContain('ended'));
	return attempt.calls;
}

/** An env whose fetch records whether the response body was cancelled. */
function cancelTrackingEnv() {
	const state = { cancelled: false };
	const env = createFakeEnv({
		async fetch(input, init) {
			const response = await fetch(input, init);
			if (!response.body) return response;
			const reader = response.body.getReader();
			const body = new ReadableStream<Uint8Array>({
				async pull(controller) {
					const { done, value } = await reader.read();
					if (done) controller.close();
					else controller.enqueue(value);
				},
				cancel(reason) {
					state.cancelled = true;
					return reader.cancel(reason);
				}
			});
			return new Response(body, { status: response.status, headers: response.headers });
		}
	});
	return { env, state };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 30));

describe('sse() options', () => {
	it('rejects headers in eventsource mode with a TypeError naming `mode`', () => {
		expect(() =>
			sse({ url: URL_, mode: 'eventsource', headers: { authorization: 'Bearer x' } })
		).toThrow(TypeError);
		expect(() =>
			sse({ url: URL_, mode: 'eventsource', headers: { authorization: 'Bearer x' } })
		).toThrow(/`mode`/);
	});

	it('rejects a missing url with a TypeError naming `url`', () => {
		expect(() => sse({ url: 42 as unknown as string, mode: 'fetch' })).toThrow(/`url`/);
	});
});

describe('sse() in fetch mode', () => {
	it('sends Accept: text/event-stream exactly, and no Last-Event-ID on a fresh start', async () => {
		const requests = serve(() => eventStream(streamOf([bytes('data: a\n\n')])));
		const attempt = open(fetchSse());
		await vi.waitFor(() => expect(attempt.types()).toContain('ended'));
		expect(requests).toHaveLength(1);
		expect(requests[0]!.headers.get('accept')).toBe('text/event-stream');
		expect(requests[0]!.headers.has('last-event-id')).toBe(false);
		expect(attempt.calls).toEqual([
			{ type: 'opened', info: { resumed: false } },
			{ type: 'message', data: 'a', meta: { id: undefined, event: undefined } },
			{ type: 'ended', info: undefined }
		]);
	});

	it('S01 clean end mid-stream reports ended (not final); the next open sends Last-Event-ID', async () => {
		const requests = serve(() =>
			eventStream(streamOf([bytes('id: 7\ndata: one\n\n'), bytes('data: two\n\n')]))
		);
		const transport = fetchSse();

		const first = open(transport);
		await vi.waitFor(() => expect(first.types()).toContain('ended'));
		expect(first.types()).toEqual(['opened', 'message', 'message', 'ended']);
		const ended = first.calls.at(-1) as Extract<Call, { type: 'ended' }>;
		expect(ended.info?.final).not.toBe(true);
		expect(first.messages().map((m) => m.meta?.id)).toEqual(['7', undefined]);

		const second = open(transport, { lastEventId: '7' });
		await vi.waitFor(() => expect(second.types()).toContain('ended'));
		expect(requests).toHaveLength(2);
		expect(requests[1]!.headers.get('last-event-id')).toBe('7');
		// Not resumable: a resumed stream is not proof that nothing was missed.
		expect(second.calls[0]).toEqual({ type: 'opened', info: { resumed: false } });
	});

	it('S01 a resumable stream opened with a last event id reports resumed', async () => {
		const requests = serve(() => eventStream(streamOf([bytes('id: 8\ndata: x\n\n')])));
		const attempt = open(fetchSse({ resumable: true }), { lastEventId: 'abc' });
		await vi.waitFor(() => expect(attempt.types()).toContain('ended'));
		expect(requests[0]!.headers.get('last-event-id')).toBe('abc');
		expect(attempt.calls[0]).toEqual({ type: 'opened', info: { resumed: true } });
	});

	it.each([204, 205])('S02 HTTP %i ends for good without opening', async (status) => {
		serve(() => new HttpResponse(null, { status }));
		const attempt = open(fetchSse());
		await vi.waitFor(() => expect(attempt.calls).toHaveLength(1));
		expect(attempt.calls).toEqual([{ type: 'ended', info: { final: true } }]);
	});

	it.each([401, 403, 404, 410])('S03 HTTP %i fails terminally with the status', async (status) => {
		serve(() => new HttpResponse('nope', { status, headers: { 'retry-after': '5' } }));
		const attempt = open(fetchSse());
		await vi.waitFor(() => expect(attempt.types()).toContain('failed'));
		expect(attempt.types()).toEqual(['failed']);
		const error = attempt.failure();
		expect(error.code).toBe('http');
		expect(error.status).toBe(status);
		expect(error.retryable).toBe(false);
		expect(error.retryAfterMs).toBeUndefined();
		expect(error.transport).toBe('sse');
	});

	it.each([429, 503])('S03 HTTP %i is retryable with Retry-After in seconds', async (status) => {
		serve(() => new HttpResponse(null, { status, headers: { 'retry-after': '120' } }));
		const attempt = open(fetchSse());
		await vi.waitFor(() => expect(attempt.types()).toContain('failed'));
		expect(attempt.types()).toEqual(['failed']);
		const error = attempt.failure();
		expect(error).toMatchObject({ code: 'http', status, retryable: true, retryAfterMs: 120_000 });
	});

	it.each([429, 503])(
		'S03 HTTP %i is retryable with Retry-After as an HTTP date',
		async (status) => {
			const now = Date.parse('Wed, 21 Oct 2015 07:28:00 GMT');
			serve(
				() =>
					new HttpResponse(null, {
						status,
						headers: { 'retry-after': 'Wed, 21 Oct 2015 07:28:30 GMT' }
					})
			);
			const attempt = open(fetchSse(), { env: createFakeEnv({ now: () => now }) });
			await vi.waitFor(() => expect(attempt.types()).toContain('failed'));
			expect(attempt.failure()).toMatchObject({
				code: 'http',
				status,
				retryable: true,
				retryAfterMs: 30_000
			});
		}
	);

	it('S03 HTTP 503 without Retry-After is retryable with no wait of its own', async () => {
		serve(() => new HttpResponse(null, { status: 503 }));
		const attempt = open(fetchSse());
		await vi.waitFor(() => expect(attempt.types()).toContain('failed'));
		expect(attempt.failure()).toMatchObject({ status: 503, retryable: true });
		expect(attempt.failure().retryAfterMs).toBeUndefined();
	});

	it.each([
		['text/html; charset=utf-8', '<html><body>Sign in to the Wi-Fi</body></html>'],
		['application/json', '{"error":"internal"}']
	])('S04 content type %s fails fast without opening', async (type, body) => {
		serve(() => new HttpResponse(body, { status: 200, headers: { 'content-type': type } }));
		const attempt = open(fetchSse());
		await vi.waitFor(() => expect(attempt.types()).toContain('failed'));
		expect(attempt.types()).toEqual(['failed']);
		expect(attempt.failure()).toMatchObject({
			code: 'content-type',
			retryable: false,
			status: 200,
			transport: 'sse'
		});
	});

	it('S04 a missing content type fails fast without opening', async () => {
		serve(() => new HttpResponse(streamOf([bytes('data: a\n\n')]), { status: 200 }));
		const attempt = open(fetchSse());
		await vi.waitFor(() => expect(attempt.types()).toContain('failed'));
		expect(attempt.types()).toEqual(['failed']);
		expect(attempt.failure().code).toBe('content-type');
	});

	it('accepts text/event-stream with parameters', async () => {
		serve(() =>
			eventStream(streamOf([bytes('data: a\n\n')]), {
				'content-type': 'Text/Event-Stream; charset=utf-8'
			})
		);
		const attempt = open(fetchSse());
		await vi.waitFor(() => expect(attempt.types()).toContain('ended'));
		expect(attempt.types()).toEqual(['opened', 'message', 'ended']);
	});

	it('S07 partial event at disconnect is discarded', async () => {
		const calls = await deliver([bytes('data: whole\n\ndata: partial')]);
		expect(calls.filter((c) => c.type === 'message')).toEqual([
			{ type: 'message', data: 'whole', meta: { id: undefined, event: undefined } }
		]);
		expect(calls.at(-1)).toEqual({ type: 'ended', info: undefined });
	});

	it('S07 an event whose lines ended but that lacks the blank line is discarded', async () => {
		const calls = await deliver([
			bytes('id: 1\ndata: whole\n\nid: 2\nevent: upsert\ndata: half\n')
		]);
		expect(calls.filter((c) => c.type === 'message').map((c) => c.data)).toEqual(['whole']);
		expect(calls.map((c) => c.type)).toEqual(['opened', 'message', 'ended']);
	});

	it('S07 a partial event cut off by CR-only line endings is discarded', async () => {
		const calls = await deliver([bytes('data: whole\r\rdata: partial\r')]);
		expect(calls.filter((c) => c.type === 'message').map((c) => c.data)).toEqual(['whole']);
	});

	describe('S08 chunk boundaries', () => {
		const LF_TEXT =
			'id: 1\nevent: upsert\ndata: {"title":"Crème brûlée €5 😀"}\n\n' +
			': keep-alive\n\n' +
			'data: first line\ndata: second line\n\n' +
			'id: 3\ndata: ünïcödé ✓\n\n';
		const EXPECTED: Call[] = [
			{ type: 'opened', info: { resumed: false } },
			{
				type: 'message',
				data: '{"title":"Crème brûlée €5 😀"}',
				meta: { id: '1', event: 'upsert' }
			},
			{ type: 'heartbeat' },
			{
				type: 'message',
				data: 'first line\nsecond line',
				meta: { id: undefined, event: undefined }
			},
			{ type: 'message', data: 'ünïcödé ✓', meta: { id: '3', event: undefined } },
			{ type: 'ended', info: undefined }
		];
		const oneByte = (data: Uint8Array) => Array.from(data, (b) => Uint8Array.of(b));
		/** Splits before every index where `cut(data, i)` holds. */
		const splitWhere = (data: Uint8Array, cut: (data: Uint8Array, i: number) => boolean) => {
			const chunks: Uint8Array[] = [];
			let start = 0;
			for (let i = 1; i < data.length; i++) {
				if (cut(data, i)) {
					chunks.push(data.slice(start, i));
					start = i;
				}
			}
			chunks.push(data.slice(start));
			return chunks;
		};
		const crlf = bytes(LF_TEXT.replaceAll('\n', '\r\n'));
		const crOnly = bytes(LF_TEXT.replaceAll('\n', '\r'));
		// A UTF-8 continuation byte is 10xxxxxx: cutting before one splits a character.
		const isContinuation = (b: number) => (b & 0xc0) === 0x80;

		it('S08 one big chunk gives the expected events', async () => {
			expect(await deliver([bytes(LF_TEXT)])).toEqual(EXPECTED);
		});

		const variants: Array<[string, () => Uint8Array[]]> = [
			['1-byte chunks', () => oneByte(bytes(LF_TEXT))],
			['CRLF in one chunk', () => [crlf]],
			[
				'CRLF split across chunks',
				() => splitWhere(crlf, (d, i) => d[i - 1] === 13 && d[i] === 10)
			],
			['CRLF in 1-byte chunks', () => oneByte(crlf)],
			[
				'multibyte UTF-8 split across chunks',
				() => splitWhere(bytes(LF_TEXT), (d, i) => isContinuation(d[i]!))
			],
			['a leading BOM', () => [concat(BOM, bytes(LF_TEXT))]],
			['a leading BOM in 1-byte chunks', () => oneByte(concat(BOM, bytes(LF_TEXT)))],
			['CR-only line endings', () => [crOnly]],
			['CR-only line endings in 1-byte chunks', () => oneByte(crOnly)]
		];

		it.each(variants)('S08 %s gives the same events as one big chunk', async (_name, chunks) => {
			const split = chunks();
			expect(split.length).toBeGreaterThan(0);
			expect(await deliver(split)).toEqual(EXPECTED);
		});
	});

	it('S09 each event carries its own id; id-less events carry none', async () => {
		const calls = await deliver([
			bytes('id: a1\ndata: one\n\ndata: two\n\nid: a2\ndata: three\n\n')
		]);
		expect(calls.filter((c) => c.type === 'message').map((c) => [c.data, c.meta?.id])).toEqual([
			['one', 'a1'],
			['two', undefined],
			['three', 'a2']
		]);
	});

	it('S09 an empty id: gives the empty string (a reset)', async () => {
		const calls = await deliver([
			bytes('id: a1\ndata: one\n\nid:\ndata: two\n\nid\ndata: three\n\n')
		]);
		expect(calls.filter((c) => c.type === 'message').map((c) => [c.data, c.meta?.id])).toEqual([
			['one', 'a1'],
			['two', ''],
			['three', '']
		]);
	});

	it('S09 an id containing NUL is ignored', async () => {
		const calls = await deliver([bytes('id: a1\ndata: one\n\nid: bad\u0000id\ndata: two\n\n')]);
		const messages = calls.filter((c) => c.type === 'message');
		expect(messages.map((c) => c.data)).toEqual(['one', 'two']);
		expect(messages[1]!.meta?.id).toBeUndefined();
	});

	it('S10 retry: 02000 hints 2000 ms', async () => {
		const calls = await deliver([bytes('retry: 02000\n\ndata: a\n\n')]);
		expect(calls.filter((c) => c.type === 'hint')).toEqual([
			{ type: 'hint', hints: { retryMs: 2000 } }
		]);
		expect(calls.filter((c) => c.type === 'message')).toHaveLength(1);
	});

	it('S10 retry: 1000x is ignored and the stream goes on', async () => {
		const calls = await deliver([bytes('retry: 1000x\n\nretry: -5\n\ndata: a\n\n')]);
		expect(calls.map((c) => c.type)).toEqual(['opened', 'message', 'ended']);
	});

	it('a comment is a heartbeat', async () => {
		const calls = await deliver([bytes(': ping\n\n:\n\ndata: a\n\n')]);
		expect(calls.map((c) => c.type)).toEqual([
			'opened',
			'heartbeat',
			'heartbeat',
			'message',
			'ended'
		]);
	});

	it('named heartbeat and ping events are heartbeats, not messages', async () => {
		const calls = await deliver([
			bytes(
				'event: heartbeat\ndata: {}\n\nevent: ping\ndata: 1\n\nevent: upsert\ndata: {"id":1}\n\n'
			)
		]);
		expect(calls.map((c) => c.type)).toEqual([
			'opened',
			'heartbeat',
			'heartbeat',
			'message',
			'ended'
		]);
		expect(calls[3]).toEqual({
			type: 'message',
			data: '{"id":1}',
			meta: { id: undefined, event: 'upsert' }
		});
	});

	it('P7 a ping announcing its interval hints the heartbeat (as sseResponse sends); other data is a plain heartbeat', async () => {
		const calls = await deliver([
			bytes(
				'event: ping\ndata: {"interval":15000}\n\n' +
					'event: ping\ndata: {"interval":"soon"}\n\n' +
					'event: ping\ndata: {not json\n\n'
			)
		]);
		expect(calls.map((c) => c.type)).toEqual([
			'opened',
			'hint',
			'heartbeat',
			'heartbeat',
			'heartbeat',
			'ended'
		]);
		expect(calls[1]).toEqual({ type: 'hint', hints: { heartbeatMs: 15_000 } });
	});

	it('heartbeatEvents replaces the default heartbeat names', async () => {
		serve(() =>
			eventStream(streamOf([bytes('event: ping\ndata: 1\n\nevent: alive\ndata: 2\n\n')]))
		);
		const attempt = open(fetchSse({ heartbeatEvents: ['alive'] }));
		await vi.waitFor(() => expect(attempt.types()).toContain('ended'));
		expect(attempt.types()).toEqual(['opened', 'message', 'heartbeat', 'ended']);
		expect(attempt.messages()[0]!.meta?.event).toBe('ping');
	});

	it('a network error fails with code network, retryable', async () => {
		serve(() => HttpResponse.error());
		const attempt = open(fetchSse());
		await vi.waitFor(() => expect(attempt.types()).toContain('failed'));
		expect(attempt.types()).toEqual(['failed']);
		expect(attempt.failure()).toMatchObject({ code: 'network', retryable: true, transport: 'sse' });
	});

	it('a stream that errors mid-way fails with code closed, retryable', async () => {
		const body = controlledStream();
		serve(() => eventStream(body.stream));
		const attempt = open(fetchSse());
		body.push('data: a\n\n');
		await vi.waitFor(() => expect(attempt.types()).toContain('message'));
		body.error(new Error('connection reset'));
		await vi.waitFor(() => expect(attempt.types()).toContain('failed'));
		expect(attempt.types()).toEqual(['opened', 'message', 'failed']);
		expect(attempt.failure()).toMatchObject({ code: 'closed', retryable: true });
	});

	it('S12 close() mid-stream stops every sink call and cancels the body; a second close is harmless', async () => {
		const body = controlledStream();
		serve(() => eventStream(body.stream));
		const { env, state } = cancelTrackingEnv();
		const attempt = open(fetchSse(), { env });
		body.push('data: a\n\n');
		await vi.waitFor(() => expect(attempt.types()).toEqual(['opened', 'message']));

		attempt.connection.close();
		expect(() => attempt.connection.close()).not.toThrow();
		try {
			body.push(': ping\n\nretry: 10\n\ndata: b\n\n');
			body.end();
		} catch {
			// Already cancelled: nothing more can arrive anyway.
		}
		await vi.waitFor(() => expect(state.cancelled).toBe(true));
		await settle();
		expect(attempt.types()).toEqual(['opened', 'message']);
	});

	it('S12 close() while connecting aborts the request and reports nothing', async () => {
		const requests = serve(async () => {
			await delay('infinite');
			return eventStream(streamOf([]));
		});
		const attempt = open(fetchSse());
		await vi.waitFor(() => expect(requests).toHaveLength(1));
		attempt.connection.close();
		attempt.connection.close();
		await vi.waitFor(() => expect(requests[0]!.signal.aborted).toBe(true));
		await settle();
		expect(attempt.calls).toEqual([]);
	});

	it('S12 close() before the response arrives reports nothing', async () => {
		let release!: () => void;
		const held = new Promise<void>((resolve) => (release = resolve));
		const env = createFakeEnv({
			fetch: async (input, init) => {
				await held;
				return fetch(input, init);
			}
		});
		const requests = serve(() => eventStream(streamOf([bytes('data: a\n\n')])));
		const attempt = open(fetchSse(), { env });
		attempt.connection.close();
		release();
		await settle();
		expect(attempt.calls).toEqual([]);
		expect(requests.every((request) => request.signal.aborted)).toBe(true);
	});
});

/** An env whose fetch answers with `respond` and records each request. */
function fetchEnv(respond: (init: RequestInit) => Response | Promise<Response>) {
	const requests: Array<{ url: string; init: RequestInit }> = [];
	const env = createFakeEnv({
		fetch: async (input, init = {}) => {
			requests.push({ url: String(input), init });
			return respond(init);
		}
	});
	return { env, requests };
}

/** A fetch that never answers, and rejects when its request is aborted. */
const hangingFetch = (init: RequestInit) =>
	new Promise<Response>((_, reject) => {
		init.signal?.addEventListener('abort', () => reject(init.signal!.reason));
	});

/** A fetch-mode attempt over a stream the test writes to. */
function openControlled(options: Partial<SseOptions> = {}, lastEventId?: string) {
	const body = controlledStream();
	const { env, requests } = fetchEnv(() => eventStream(body.stream));
	const attempt = open(fetchSse(options), { env, lastEventId });
	return { ...attempt, body, requests };
}

const lastEventIdHeader = (init: RequestInit) => new Headers(init.headers).get('last-event-id');
/** A ByteString header value read back as the UTF-8 it carries. */
const fromByteString = (value: string) =>
	new TextDecoder().decode(Uint8Array.from(value, (c) => c.charCodeAt(0)));

describe('S30 fetch mode: nothing escapes, every attempt ends', () => {
	const unhandled: unknown[] = [];
	const onUnhandled = (reason: unknown) => void unhandled.push(reason);
	beforeAll(() => void process.on('unhandledRejection', onUnhandled));
	afterAll(() => void process.off('unhandledRejection', onUnhandled));
	afterEach(() => expect(unhandled.splice(0)).toEqual([]));

	it.each(['ключ-日本-😀', 'é', 'a\u2028b'])(
		'S30 a Last-Event-ID of %j is sent as its UTF-8 bytes, and the attempt opens',
		async (id) => {
			const { env, requests } = fetchEnv(() => eventStream(streamOf([bytes('data: a\n\n')])));
			const attempt = open(fetchSse({ resumable: true }), { env, lastEventId: id });
			await vi.waitFor(() => expect(attempt.types()).toContain('ended'));
			expect(attempt.calls[0]).toEqual({ type: 'opened', info: { resumed: true } });
			const header = lastEventIdHeader(requests[0]!.init)!;
			expect([...header].every((c) => c.charCodeAt(0) <= 0xff)).toBe(true);
			expect(fromByteString(header)).toBe(id);
		}
	);

	it.each(['line\nbreak', 'carriage\rreturn', 'nul\0byte'])(
		'S30 a lastEventId that no header can carry (%j) is not sent: the attempt opens, not resumed',
		async (id) => {
			const { env, requests } = fetchEnv(() => eventStream(streamOf([bytes('data: a\n\n')])));
			const attempt = open(fetchSse({ resumable: true }), { env, lastEventId: id });
			await vi.waitFor(() => expect(attempt.types()).toContain('ended'));
			expect(attempt.types()).toEqual(['opened', 'message', 'ended']);
			expect(attempt.calls[0]).toEqual({ type: 'opened', info: { resumed: false } });
			expect(lastEventIdHeader(requests[0]!.init)).toBeNull();
		}
	);

	it('S30 request headers the platform refuses fail the attempt, not retryable, and nothing escapes', async () => {
		const { env, requests } = fetchEnv(() => eventStream(streamOf([])));
		const attempt = open(fetchSse({ headers: { 'x-token': 'a\nb' } }), { env });
		await vi.waitFor(() => expect(attempt.types()).toContain('failed'));
		expect(attempt.types()).toEqual(['failed']);
		expect(attempt.failure()).toMatchObject({
			code: 'protocol',
			retryable: false,
			transport: 'sse'
		});
		expect(requests).toHaveLength(0);
	});

	it('S30 an env.fetch that throws synchronously fails the attempt as a network error', async () => {
		const env = createFakeEnv({
			fetch: () => {
				throw new TypeError('no fetch today');
			}
		});
		const attempt = open(fetchSse(), { env });
		await vi.waitFor(() => expect(attempt.types()).toContain('failed'));
		expect(attempt.failure()).toMatchObject({ code: 'network', retryable: true });
	});
});

describe('S28 connect timeout, fetch mode', () => {
	it('S28 response headers that never arrive: failed with code timeout, retryable, the request aborted', async () => {
		const { env, requests } = fetchEnv(hangingFetch);
		const attempt = open(fetchSse({ connectTimeout: 40 }), { env });
		await vi.waitFor(() => expect(attempt.types()).toContain('failed'));
		expect(attempt.types()).toEqual(['failed']);
		expect(attempt.failure()).toMatchObject({ code: 'timeout', retryable: true, transport: 'sse' });
		expect(attempt.failure().message).toContain('40 ms');
		expect(requests[0]!.init.signal!.aborted).toBe(true);
		await settle();
		expect(attempt.types()).toEqual(['failed']);
	});

	it('S28 the default is 5000 ms', async () => {
		vi.useFakeTimers();
		try {
			const { env } = fetchEnv(hangingFetch);
			const attempt = open(fetchSse(), { env });
			await vi.advanceTimersByTimeAsync(4999);
			expect(attempt.calls).toEqual([]);
			await vi.advanceTimersByTimeAsync(1);
			expect(attempt.types()).toEqual(['failed']);
			expect(attempt.failure().code).toBe('timeout');
		} finally {
			vi.useRealTimers();
		}
	});

	it('S28 headers in time, then a silent stream: opened, and the timeout does not fire later', async () => {
		const attempt = openControlled({ connectTimeout: 30 });
		await vi.waitFor(() => expect(attempt.types()).toEqual(['opened']));
		await new Promise((resolve) => setTimeout(resolve, 80));
		expect(attempt.types()).toEqual(['opened']);
	});

	it('S28 close() before the timeout leaves no timer behind', async () => {
		vi.useFakeTimers();
		try {
			const { env } = fetchEnv(hangingFetch);
			const attempt = open(fetchSse({ connectTimeout: 100 }), { env });
			attempt.connection.close();
			expect(vi.getTimerCount()).toBe(0);
			await vi.advanceTimersByTimeAsync(200);
			expect(attempt.calls).toEqual([]);
		} finally {
			vi.useRealTimers();
		}
	});

	it.each([0, -1, Number.NaN, Number.POSITIVE_INFINITY, '5000'])(
		'S28 connectTimeout %j is rejected with a TypeError naming it',
		(value) => {
			expect(() => sse({ url: URL_, connectTimeout: value as number })).toThrow(/`connectTimeout`/);
		}
	);
});

describe('S08 S09 fetch mode follows the spec where eventsource-parser alone does not', () => {
	it('S09 an id in a block without data moves the last event id (a hint), as the spec says', async () => {
		const calls = await deliver([bytes('id: 1\ndata: a\n\nid: 2\n\nid\n\nid: 3\n\n: c\n\n')]);
		expect(calls.filter((c) => c.type !== 'opened' && c.type !== 'ended')).toEqual([
			{ type: 'message', data: 'a', meta: { id: '1', event: undefined } },
			{ type: 'hint', hints: { lastEventId: '2' } },
			{ type: 'hint', hints: { lastEventId: '' } },
			{ type: 'hint', hints: { lastEventId: '3' } },
			{ type: 'heartbeat' }
		]);
	});

	it('S09 a heartbeat event with an id moves the last event id too', async () => {
		const calls = await deliver([bytes('id: 9\nevent: ping\ndata: {}\n\n')]);
		expect(calls.map((c) => c.type)).toEqual(['opened', 'heartbeat', 'hint', 'ended']);
		expect(calls[2]).toEqual({ type: 'hint', hints: { lastEventId: '9' } });
	});

	it('S08 an event ended by CR at the end of a chunk is dispatched at once, while the stream stays open', async () => {
		const attempt = openControlled();
		await vi.waitFor(() => expect(attempt.types()).toEqual(['opened']));
		attempt.body.push('data: x\r\r');
		await vi.waitFor(() => expect(attempt.types()).toEqual(['opened', 'message']));
		// The LF that may follow belongs to the CR before it: not another blank line.
		attempt.body.push('\ndata: y\r\n\r\n');
		await vi.waitFor(() => expect(attempt.messages().map((m) => m.data)).toEqual(['x', 'y']));
	});

	it('S08 a first line starting with "ï»¿" (a BOM read as Latin-1) is not a BOM: that field is unknown', async () => {
		const calls = await deliver([bytes('ï»¿data: hidden\n\ndata: shown\n\n')]);
		expect(calls.filter((c) => c.type === 'message').map((c) => c.data)).toEqual(['shown']);
	});
});

describe('S32 hostile sizes', () => {
	it('S32 an event over maxEventSize is dropped with a DecodeError; the stream goes on and its id counts', async () => {
		const calls = await deliverWith({ maxEventSize: 5 }, [
			bytes('data: 12345\n\nid: 7\nevent: upsert\ndata: 123\ndata: 45\n\ndata: ok\n\n')
		]);
		expect(calls.map((c) => c.type)).toEqual([
			'opened',
			'message',
			'dropped',
			'hint',
			'message',
			'ended'
		]);
		expect(calls[1]).toMatchObject({ data: '12345' });
		const dropped = calls[2] as Extract<Call, { type: 'dropped' }>;
		expect(dropped.error).toBeInstanceOf(DecodeError);
		expect(dropped.error.message).toContain('5 characters');
		expect(calls[3]).toEqual({ type: 'hint', hints: { lastEventId: '7' } });
		expect(calls[4]).toMatchObject({ data: 'ok' });
	});

	it('S32 the default limit is 1 MiB of data', async () => {
		const mib = 1_048_576;
		const calls = await deliver([
			bytes(`data: ${'a'.repeat(mib)}\n\ndata: ${'b'.repeat(mib + 1)}\n\ndata: after\n\n`)
		]);
		expect(calls.map((c) => c.type)).toEqual(['opened', 'message', 'dropped', 'message', 'ended']);
		expect((calls[1] as Extract<Call, { type: 'message' }>).data).toHaveLength(mib);
	});

	it('S32 an event of endless data lines is not kept: dropped at its end, the connection open', async () => {
		const attempt = openControlled({ maxEventSize: 100 });
		await vi.waitFor(() => expect(attempt.types()).toEqual(['opened']));
		for (let i = 0; i < 200; i++) attempt.body.push(`data: ${'x'.repeat(50)}\n`);
		attempt.body.push('\ndata: next\n\n');
		await vi.waitFor(() => expect(attempt.types()).toEqual(['opened', 'dropped', 'message']));
	});

	it('S32 a line that never ends fails the attempt (protocol, retryable) once it passes the limit plus 4096, and releases the stream', async () => {
		const { env, state } = cancelTrackingEnv();
		const body = controlledStream();
		serve(() => eventStream(body.stream));
		const attempt = open(fetchSse({ maxEventSize: 1000 }), { env });
		await vi.waitFor(() => expect(attempt.types()).toEqual(['opened']));
		let sent = 0;
		while (!attempt.types().includes('failed') && sent < 100_000) {
			body.push('data: ' + 'x'.repeat(994));
			sent += 1000;
			await new Promise((resolve) => setTimeout(resolve, 0));
		}
		expect(attempt.types()).toEqual(['opened', 'failed']);
		expect(sent).toBeLessThanOrEqual(1000 + 4096 + 2000);
		expect(attempt.failure()).toMatchObject({ code: 'protocol', retryable: true });
		await vi.waitFor(() => expect(state.cancelled).toBe(true));
	});

	it.each([0, -5, Number.NaN, '10'])(
		'S32 maxEventSize %j is rejected with a TypeError naming it',
		(value) => {
			expect(() => sse({ url: URL_, maxEventSize: value as number })).toThrow(/`maxEventSize`/);
		}
	);
});

async function deliverWith(options: Partial<SseOptions>, chunks: Uint8Array[]): Promise<Call[]> {
	serve(() => eventStream(streamOf(chunks)));
	const attempt = open(fetchSse(options));
	await vi.waitFor(() => expect(attempt.types()).toContain('ended'));
	return attempt.calls;
}

/** Enough of the browser's EventSource for the adapter; the test drives it. */
class FakeEventSource extends EventTarget {
	static readonly CONNECTING = 0;
	static readonly OPEN = 1;
	static readonly CLOSED = 2;
	static last: FakeEventSource | undefined;
	readyState = 0;
	closed = false;
	constructor(
		readonly url: string,
		readonly init?: EventSourceInit
	) {
		super();
		FakeEventSource.last = this;
	}
	close() {
		this.readyState = 2;
		this.closed = true;
	}
	open() {
		this.readyState = 1;
		this.dispatchEvent(new Event('open'));
	}
	emit(type: string, data: string, lastEventId = '') {
		this.dispatchEvent(new MessageEvent(type, { data, lastEventId }));
	}
	/** The browser reports an error: CLOSED when it gives up, CONNECTING when it would reconnect. */
	error(readyState: 0 | 2) {
		this.readyState = readyState;
		this.dispatchEvent(new Event('error'));
	}
}

function openEs(
	options: Partial<SseOptions> = {},
	{
		lastEventId,
		respond = () => new Response(null, { status: 500 })
	}: { lastEventId?: string; respond?: (init: RequestInit) => Response | Promise<Response> } = {}
) {
	const { env, requests } = fetchEnv(respond);
	const esEnv = Object.create(env, {
		EventSource: { value: FakeEventSource as unknown as typeof EventSource }
	}) as Env;
	const attempt = open(sse({ url: URL_, mode: 'eventsource', ...options }), {
		env: esEnv,
		lastEventId
	});
	return { ...attempt, source: FakeEventSource.last!, requests };
}

/** A response whose body records whether it was cancelled. */
function trackedResponse(status: number, headers: Record<string, string> = {}) {
	const state = { cancelled: false };
	const body = new ReadableStream<Uint8Array>({
		cancel: () => void (state.cancelled = true)
	});
	const hasBody = status !== 204 && status !== 205;
	return { response: new Response(hasBody ? body : null, { status, headers }), state };
}

describe('S34 EventSource mode classifies what can never succeed', () => {
	it.each([
		[401, { code: 'http', status: 401, retryable: false }],
		[404, { code: 'http', status: 404, retryable: false }],
		[410, { code: 'http', status: 410, retryable: false }]
	])(
		'S34 the browser gives up, a plain request answers %i: terminal failure',
		async (status, error) => {
			const { response, state } = trackedResponse(status, { 'content-type': 'text/plain' });
			const attempt = openEs({ withCredentials: true }, { respond: () => response });
			attempt.source.error(2);
			await vi.waitFor(() => expect(attempt.types()).toEqual(['failed']));
			expect(attempt.failure()).toMatchObject({ ...error, transport: 'sse' });
			expect(attempt.requests).toHaveLength(1);
			const { url, init } = attempt.requests[0]!;
			expect(url).toBe(URL_);
			expect(new Headers(init.headers).get('accept')).toBe('text/event-stream');
			expect(init.credentials).toBe('include');
			expect(init.method ?? 'GET').toBe('GET');
			// Only the status was wanted: the body is released at once.
			expect(state.cancelled).toBe(true);
			expect(attempt.source.closed).toBe(true);
		}
	);

	it.each([204, 205])('S34 a plain request answers %i: ended for good', async (status) => {
		const attempt = openEs({}, { respond: () => new Response(null, { status }) });
		attempt.source.error(2);
		await vi.waitFor(() =>
			expect(attempt.calls).toEqual([{ type: 'ended', info: { final: true } }])
		);
		expect(attempt.requests[0]!.init.credentials).toBe('same-origin');
	});

	it('S34 an HTML page (a captive portal): content-type error, not retryable', async () => {
		const { response, state } = trackedResponse(200, { 'content-type': 'text/html' });
		const attempt = openEs({}, { respond: () => response });
		attempt.source.error(2);
		await vi.waitFor(() => expect(attempt.types()).toEqual(['failed']));
		expect(attempt.failure()).toMatchObject({ code: 'content-type', retryable: false });
		expect(state.cancelled).toBe(true);
	});

	it.each([429, 503])('S34 %i: retryable, with Retry-After', async (status) => {
		const attempt = openEs(
			{},
			{ respond: () => new Response('busy', { status, headers: { 'retry-after': '7' } }) }
		);
		attempt.source.error(2);
		await vi.waitFor(() => expect(attempt.types()).toEqual(['failed']));
		expect(attempt.failure()).toMatchObject({
			code: 'http',
			status,
			retryable: true,
			retryAfterMs: 7000
		});
	});

	it('S34 the plain request fails too: a retryable network error', async () => {
		const attempt = openEs(
			{},
			{
				respond: () => {
					throw new TypeError('Failed to fetch');
				}
			}
		);
		attempt.source.error(2);
		await vi.waitFor(() => expect(attempt.types()).toEqual(['failed']));
		expect(attempt.failure()).toMatchObject({ code: 'network', retryable: true });
	});

	it('S34 the plain request finds an event stream (the browser failed for a reason it hides): retryable', async () => {
		const attempt = openEs({}, { respond: () => eventStream(streamOf([bytes('data: a\n\n')])) });
		attempt.source.error(2);
		await vi.waitFor(() => expect(attempt.types()).toEqual(['failed']));
		expect(attempt.failure()).toMatchObject({ code: 'network', retryable: true });
	});

	it('S05 an error while the browser would reconnect (a dropped stream) is a retryable network failure, with no request', async () => {
		const attempt = openEs();
		attempt.source.open();
		attempt.source.error(0);
		expect(attempt.types()).toEqual(['opened', 'failed']);
		expect(attempt.failure()).toMatchObject({ code: 'network', retryable: true });
		expect(attempt.source.closed).toBe(true);
		await settle();
		expect(attempt.requests).toHaveLength(0);
	});

	it('S12 close() while the plain request is under way aborts it and reports nothing', async () => {
		const attempt = openEs({}, { respond: hangingFetch });
		attempt.source.error(2);
		await vi.waitFor(() => expect(attempt.requests).toHaveLength(1));
		attempt.connection.close();
		expect(attempt.requests[0]!.init.signal!.aborted).toBe(true);
		await settle();
		expect(attempt.calls).toEqual([]);
	});
});

describe('EventSource mode', () => {
	it('S28 an EventSource that never opens fails with code timeout after connectTimeout, and is closed', async () => {
		const attempt = openEs({ connectTimeout: 30 });
		await vi.waitFor(() => expect(attempt.types()).toEqual(['failed']));
		expect(attempt.failure()).toMatchObject({ code: 'timeout', retryable: true, transport: 'sse' });
		expect(attempt.source.closed).toBe(true);
	});

	it('S28 the timeout stops once the EventSource opens', async () => {
		const attempt = openEs({ connectTimeout: 30 });
		attempt.source.open();
		await new Promise((resolve) => setTimeout(resolve, 60));
		expect(attempt.types()).toEqual(['opened']);
	});

	it('S30 the last event id goes in the query parameter as percent-encoded UTF-8', () => {
		const id = 'ключ-日本-😀 &=?';
		const attempt = openEs({}, { lastEventId: id });
		const url = new URL(attempt.source.url);
		expect(url.searchParams.get('lastEventId')).toBe(id);
		expect(url.search).toContain(encodeURIComponent('ключ'));
	});

	it('S09 a resumed stream: an id-less first event keeps the id the engine resumed from', () => {
		const attempt = openEs({}, { lastEventId: '7' });
		attempt.source.open();
		// A new EventSource's own last event id is empty until the stream sends one.
		attempt.source.emit('upsert', '{}', '');
		attempt.source.emit('upsert', '{}', '8');
		attempt.source.emit('message', '{}', '8');
		expect(attempt.messages().map((m) => m.meta)).toEqual([
			{ id: undefined, event: 'upsert' },
			{ id: '8', event: 'upsert' },
			{ id: undefined, event: undefined }
		]);
	});

	it('events named open or error are data, not the connection', () => {
		const attempt = openEs({ events: ['error', 'open'] });
		attempt.source.open();
		attempt.source.emit('error', 'e');
		attempt.source.emit('open', 'o');
		expect(attempt.types()).toEqual(['opened', 'message', 'message']);
		expect(attempt.source.closed).toBe(false);
	});

	it('S32 an event over maxEventSize is dropped; the stream goes on and its id counts', () => {
		const attempt = openEs({ maxEventSize: 3 });
		attempt.source.open();
		attempt.source.emit('upsert', 'abcd', '5');
		attempt.source.emit('upsert', 'abc', '5');
		expect(attempt.types()).toEqual(['opened', 'dropped', 'hint', 'message']);
		expect(attempt.calls[2]).toEqual({ type: 'hint', hints: { lastEventId: '5' } });
		expect(attempt.messages()[0]!.meta).toEqual({ id: undefined, event: 'upsert' });
		expect(attempt.source.closed).toBe(false);
	});
});
