import { delay, http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
	recordingSink as recordingSinkOf,
	type SinkCall
} from '../../../../tests/helpers/recording-sink.js';
import { createFakeEnv } from '../../../../tests/helpers/fake-env.js';
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
		const BOM = Uint8Array.of(0xef, 0xbb, 0xbf);
		const concat = (...parts: Uint8Array[]) => {
			const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
			let at = 0;
			for (const part of parts) {
				out.set(part, at);
				at += part.length;
			}
			return out;
		};
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
