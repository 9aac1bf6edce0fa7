import { delay, http, HttpResponse, type JsonBodyType } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { recordingSink as recordingSinkOf } from '../../../../tests/helpers/recording-sink.js';
import { createFakeEnv, type FakeEnv } from '../../../../tests/helpers/fake-env.js';
import { polling, type PollingOptions } from './polling.js';
import type { Transport, TransportConnection } from './types.js';

const URL_ = 'https://api.test/items';

const recordingSink = () => recordingSinkOf<unknown>();

const server = setupServer();
beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
afterAll(() => server.close());

let env: FakeEnv;
const connections: TransportConnection[] = [];
beforeEach(() => {
	// Only the timers the adapter uses; MSW keeps its real microtasks and I/O.
	vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
	env = createFakeEnv();
});
afterEach(() => {
	for (const connection of connections.splice(0)) connection.close();
	server.resetHandlers();
	vi.useRealTimers();
});

function open(transport: Transport<unknown>, validator?: string) {
	const recorder = recordingSink();
	const controller = new AbortController();
	const connection = transport.open(recorder.sink, {
		n: 1,
		lastEventId: undefined,
		validator,
		signal: controller.signal,
		env
	});
	connections.push(connection);
	return { ...recorder, connection, controller };
}

const poller = (options: Partial<PollingOptions> = {}) => polling({ url: URL_, ...options });

/** Answers requests in turn from `responses` (the last one repeats) and records them. */
function serve(...responses: Array<(request: Request) => Response | Promise<Response>>) {
	const requests: Request[] = [];
	server.use(
		http.get(URL_, ({ request }) => {
			requests.push(request);
			const respond = responses[Math.min(requests.length, responses.length) - 1]!;
			return respond(request);
		})
	);
	return requests;
}

const ITEMS = [{ id: 1, title: 'first' }];
const json =
	(headers: Record<string, string> = {}, body: JsonBodyType = ITEMS) =>
	() =>
		HttpResponse.json(body, { headers });

// Captured before any test installs fake timers. `expect.poll` and `vi.waitFor` would move the
// fake clock while they wait, which these tests must control exactly.
const realSetTimeout = globalThis.setTimeout;

/** Waits in real time, without moving the fake clock, until `check()` holds. */
async function until(check: () => boolean, timeoutMs = 2000) {
	const deadline = performance.now() + timeoutMs;
	while (!check()) {
		if (performance.now() > deadline) throw new Error(`timed out waiting for ${String(check)}`);
		await new Promise((resolve) => realSetTimeout(resolve, 2));
	}
}

/** Lets in-flight mocked requests settle without moving the fake clock. */
const settle = async () => {
	for (let i = 0; i < 5; i++) await vi.advanceTimersByTimeAsync(0);
	await new Promise((resolve) => setImmediate(resolve));
	await vi.advanceTimersByTimeAsync(0);
};

describe('polling() options', () => {
	it('rejects an interval that is not a positive number, naming `interval`', () => {
		expect(() => polling({ url: URL_, interval: 0 })).toThrow(TypeError);
		expect(() => polling({ url: URL_, interval: Number.NaN })).toThrow(/`interval`/);
	});
});

describe('polling()', () => {
	it('opens (resumed) on the first 200 JSON, then delivers the data', async () => {
		const requests = serve(json());
		const attempt = open(poller());
		await until(() => attempt.types().includes('message'));
		expect(requests).toHaveLength(1);
		expect(attempt.calls).toEqual([
			{ type: 'hint', hints: { silenceMs: 5000 } },
			{ type: 'opened', info: { resumed: true } },
			{ type: 'message', data: ITEMS, meta: undefined }
		]);
	});

	it('polls again after the interval and delivers each response', async () => {
		const requests = serve(json({}, [1]), json({}, [1, 2]));
		const attempt = open(poller({ interval: 2000 }));
		await until(() => attempt.types().includes('message'));
		await vi.advanceTimersByTimeAsync(1999);
		await settle();
		expect(requests).toHaveLength(1);
		await vi.advanceTimersByTimeAsync(1);
		await until(() => requests.length === 2);
		await until(() => attempt.calls.filter((c) => c.type === 'message').length === 2);
		expect(attempt.calls.filter((c) => c.type === 'message').map((c) => c.data)).toEqual([
			[1],
			[1, 2]
		]);
		expect(attempt.types().filter((t) => t === 'opened')).toHaveLength(1);
	});

	it('S29 sends the ETag of the response it delivered as If-None-Match; a 304 is a heartbeat and no message', async () => {
		const requests = serve(
			json({ etag: '"v1"' }),
			() => new HttpResponse(null, { status: 304, headers: { etag: '"v1"' } })
		);
		const attempt = open(poller());
		await until(() => attempt.types().includes('message'));
		expect(requests[0]!.headers.has('if-none-match')).toBe(false);
		// The ETag goes with the data to the connection.
		expect(attempt.messages()[0]!.meta).toEqual({ validator: '"v1"' });

		await vi.advanceTimersByTimeAsync(5000);
		await until(() => attempt.types().includes('heartbeat'));
		expect(requests).toHaveLength(2);
		expect(requests[1]!.headers.get('if-none-match')).toBe('"v1"');
		expect(attempt.types()).toEqual(['hint', 'opened', 'message', 'heartbeat']);

		// And a 304 keeps polling: the ETag goes out again.
		await vi.advanceTimersByTimeAsync(5000);
		await until(() => requests.length === 3);
		expect(requests[2]!.headers.get('if-none-match')).toBe('"v1"');
	});

	it('S29 a response without an ETag makes the next request unconditional again', async () => {
		const requests = serve(json({ etag: '"v1"' }), json({}, [1]), json({ etag: '"v3"' }));
		const attempt = open(poller({ interval: 1000 }));
		await until(() => attempt.messages().length === 1);
		await vi.advanceTimersByTimeAsync(1000);
		await until(() => attempt.messages().length === 2);
		expect(attempt.messages()[1]!.meta).toBeUndefined();
		await vi.advanceTimersByTimeAsync(1000);
		await until(() => attempt.messages().length === 3);
		expect(requests.map((r) => r.headers.get('if-none-match'))).toEqual([null, '"v1"', null]);
	});

	it('S29 the adapter object keeps no ETag: a new attempt without a validator gets the whole list', async () => {
		// The server answers 304 to whoever names the current ETag.
		const requests = serve((request) =>
			request.headers.get('if-none-match') === 'W/"list-7"'
				? new HttpResponse(null, { status: 304 })
				: HttpResponse.json(ITEMS, { headers: { etag: 'W/"list-7"' } })
		);
		const transport = poller();
		const first = open(transport);
		await until(() => first.types().includes('message'));
		first.connection.close();

		// A new store (a remount) over the same adapter object: it has no list yet.
		const second = open(transport);
		await until(() => second.types().includes('message'));
		expect(requests[1]!.headers.has('if-none-match')).toBe(false);
		expect(second.types()).toEqual(['hint', 'opened', 'message']);
		expect(second.messages()[0]).toEqual({
			type: 'message',
			data: ITEMS,
			meta: { validator: 'W/"list-7"' }
		});
	});

	it('S29 an attempt handed the validator of the data its store has revalidates it: a 304 opens it', async () => {
		const requests = serve(() => new HttpResponse(null, { status: 304 }));
		const attempt = open(poller(), 'W/"list-7"');
		await until(() => attempt.types().includes('heartbeat'));
		expect(requests[0]!.headers.get('if-none-match')).toBe('W/"list-7"');
		// The list that store has is current.
		expect(attempt.types()).toEqual(['hint', 'opened', 'heartbeat']);
		expect(attempt.calls[1]).toEqual({ type: 'opened', info: { resumed: true } });
	});

	it('S29 an If-None-Match in init is not sent: only the validator of data the store has is', async () => {
		const requests = serve(json());
		const attempt = open(poller({ init: { headers: { 'If-None-Match': '"someone else\'s"' } } }));
		await until(() => attempt.types().includes('message'));
		expect(requests[0]!.headers.has('if-none-match')).toBe(false);
	});

	it('S29 a 304 to a request that named no ETag (a broken proxy) is a retryable protocol failure, not data', async () => {
		const requests = serve(() => new HttpResponse(null, { status: 304, headers: { etag: '"x"' } }));
		const attempt = open(poller());
		await until(() => attempt.types().includes('failed'));
		expect(requests[0]!.headers.has('if-none-match')).toBe(false);
		expect(attempt.types()).not.toContain('opened');
		expect(attempt.types()).not.toContain('heartbeat');
		expect(attempt.failure()).toMatchObject({
			code: 'protocol',
			status: 304,
			retryable: true,
			transport: 'polling'
		});
		// Retrying is the engine's job.
		await vi.advanceTimersByTimeAsync(60_000);
		await settle();
		expect(requests).toHaveLength(1);
	});

	it('X-Poll-Interval: 10 sets the interval to 10 s and hints silenceMs 10000', async () => {
		const requests = serve(json({ 'x-poll-interval': '10' }));
		const attempt = open(poller());
		await until(() => attempt.types().includes('message'));
		expect(attempt.calls[0]).toEqual({ type: 'hint', hints: { silenceMs: 10_000 } });

		await vi.advanceTimersByTimeAsync(5000);
		await settle();
		expect(requests).toHaveLength(1);
		await vi.advanceTimersByTimeAsync(4999);
		await settle();
		expect(requests).toHaveLength(1);
		await vi.advanceTimersByTimeAsync(1);
		await until(() => requests.length === 2);
		expect(requests).toHaveLength(2);
	});

	it('S03 HTTP 503 with Retry-After fails retryable with retryAfterMs, and polls no more', async () => {
		const requests = serve(
			() => new HttpResponse(null, { status: 503, headers: { 'retry-after': '30' } })
		);
		const attempt = open(poller());
		await until(() => attempt.types().includes('failed'));
		expect(attempt.failure()).toMatchObject({
			code: 'http',
			status: 503,
			retryable: true,
			retryAfterMs: 30_000,
			transport: 'polling'
		});
		expect(attempt.types()).not.toContain('opened');
		// Retrying is the engine's job.
		await vi.advanceTimersByTimeAsync(60_000);
		await settle();
		expect(requests).toHaveLength(1);
	});

	it('S03 HTTP 404 fails terminally', async () => {
		serve(() => new HttpResponse('not here', { status: 404 }));
		const attempt = open(poller());
		await until(() => attempt.types().includes('failed'));
		expect(attempt.failure()).toMatchObject({ code: 'http', status: 404, retryable: false });
		expect(attempt.types()).not.toContain('opened');
		expect(attempt.types()).not.toContain('message');
	});

	it('S04 an HTML 200 (captive portal) fails with code content-type', async () => {
		serve(() => HttpResponse.html('<html><body>Log in to the hotel Wi-Fi</body></html>'));
		const attempt = open(poller());
		await until(() => attempt.types().includes('failed'));
		expect(attempt.types()).toEqual(expect.not.arrayContaining(['opened', 'message']));
		expect(attempt.failure()).toMatchObject({
			code: 'content-type',
			status: 200,
			retryable: false
		});
	});

	it('accepts a +json content type', async () => {
		serve(
			() =>
				new HttpResponse(JSON.stringify(ITEMS), {
					headers: { 'content-type': 'application/vnd.api+json; charset=utf-8' }
				})
		);
		const attempt = open(poller());
		await until(() => attempt.types().includes('message'));
		expect(attempt.calls.at(-1)).toEqual({ type: 'message', data: ITEMS, meta: undefined });
	});

	it('S11 invalid JSON fails with code protocol and delivers nothing', async () => {
		serve(
			() => new HttpResponse('{"items": [', { headers: { 'content-type': 'application/json' } })
		);
		const attempt = open(poller());
		await until(() => attempt.types().includes('failed'));
		expect(attempt.types()).not.toContain('message');
		expect(attempt.failure()).toMatchObject({ code: 'protocol', retryable: true });
	});

	it('a network error fails with code network, retryable', async () => {
		serve(() => HttpResponse.error());
		const attempt = open(poller());
		await until(() => attempt.types().includes('failed'));
		expect(attempt.types()).toEqual(['failed']);
		expect(attempt.failure()).toMatchObject({
			code: 'network',
			retryable: true,
			transport: 'polling'
		});
	});

	it('S23 no requests while the tab is hidden; exactly one at once when shown again', async () => {
		const requests = serve(json());
		const attempt = open(poller());
		await until(() => attempt.types().includes('message'));

		env.setVisible(false);
		await vi.advanceTimersByTimeAsync(10 * 60_000);
		await settle();
		expect(requests).toHaveLength(1);

		env.setVisible(true);
		await until(() => requests.length === 2);
		await settle();
		expect(requests).toHaveLength(2);
		await until(() => attempt.calls.filter((c) => c.type === 'message').length === 2);

		// Back to the normal rhythm afterwards.
		await vi.advanceTimersByTimeAsync(5000);
		await until(() => requests.length === 3);
		expect(requests).toHaveLength(3);
	});

	it('S23 a tab hidden during a request does not poll again until shown', async () => {
		let release!: () => void;
		const gate = new Promise<void>((resolve) => (release = resolve));
		const requests = serve(async () => {
			await gate;
			return HttpResponse.json(ITEMS);
		}, json());
		const attempt = open(poller());
		await until(() => requests.length === 1);
		env.setVisible(false);
		release();
		await until(() => attempt.types().includes('message'));
		await vi.advanceTimersByTimeAsync(60_000);
		await settle();
		expect(requests).toHaveLength(1);
		env.setVisible(true);
		await until(() => requests.length === 2);
		expect(requests).toHaveLength(2);
	});

	it('S23 pauseWhenHidden: false keeps polling while hidden', async () => {
		const requests = serve(json());
		const attempt = open(poller({ pauseWhenHidden: false }));
		await until(() => attempt.types().includes('message'));
		env.setVisible(false);
		await vi.advanceTimersByTimeAsync(5000);
		await until(() => requests.length === 2);
		expect(requests).toHaveLength(2);
	});

	it('S12 close() aborts an in-flight request and no sink call follows', async () => {
		const requests = serve(async () => {
			await delay('infinite');
			return HttpResponse.json(ITEMS);
		});
		const attempt = open(poller());
		await until(() => requests.length === 1);
		attempt.connection.close();
		expect(() => attempt.connection.close()).not.toThrow();
		await until(() => requests[0]!.signal.aborted);
		expect(requests[0]!.signal.aborted).toBe(true);
		await vi.advanceTimersByTimeAsync(60_000);
		await settle();
		expect(attempt.calls).toEqual([]);
		expect(requests).toHaveLength(1);
		expect(env.listenerCount).toBe(0);
	});

	it('S12 close() between polls stops polling and releases the visibility listener', async () => {
		const requests = serve(json());
		const attempt = open(poller());
		await until(() => attempt.types().includes('message'));
		expect(env.listenerCount).toBe(1);
		const before = attempt.calls.length;
		attempt.connection.close();
		expect(env.listenerCount).toBe(0);
		env.setVisible(false);
		env.setVisible(true);
		await vi.advanceTimersByTimeAsync(60_000);
		await settle();
		expect(requests).toHaveLength(1);
		expect(attempt.calls).toHaveLength(before);
	});

	it('a request slower than `timeout` fails with code timeout', async () => {
		const requests = serve(async () => {
			await delay('infinite');
			return HttpResponse.json(ITEMS);
		});
		const attempt = open(poller({ timeout: 3000 }));
		await until(() => requests.length === 1);
		await vi.advanceTimersByTimeAsync(2999);
		await settle();
		expect(attempt.calls).toEqual([]);
		await vi.advanceTimersByTimeAsync(1);
		await until(() => attempt.types().includes('failed'));
		expect(attempt.types()).toEqual(['failed']);
		expect(attempt.failure()).toMatchObject({
			code: 'timeout',
			retryable: true,
			transport: 'polling'
		});
		expect(requests[0]!.signal.aborted).toBe(true);
	});

	it('timeout and interval of Infinity wait as long as a timer can instead of firing at once', async () => {
		const requests = serve(async () => {
			await delay(20);
			return HttpResponse.json(ITEMS);
		});
		const attempt = open(poller({ timeout: Infinity, interval: Infinity }));
		await vi.advanceTimersByTimeAsync(100);
		await until(() => attempt.types().includes('message'));
		await vi.advanceTimersByTimeAsync(60_000);
		await settle();
		expect(attempt.types()).not.toContain('failed');
		expect(requests).toHaveLength(1);
	});

	it('a response whose body is slower than `timeout` fails with code timeout', async () => {
		// As in browsers and undici, an aborted fetch errors its response body (MSW's mocked body
		// ignores the signal, so link them here).
		env = createFakeEnv({
			async fetch(input, init) {
				const response = await fetch(input, init);
				const reader = response.body!.getReader();
				const body = new ReadableStream<Uint8Array>({
					start(controller) {
						init?.signal?.addEventListener('abort', () => {
							controller.error(init.signal!.reason);
							reader.cancel().catch(() => {});
						});
					},
					async pull(controller) {
						const { done, value } = await reader.read();
						if (done) controller.close();
						else controller.enqueue(value);
					}
				});
				return new Response(body, { status: response.status, headers: response.headers });
			}
		});
		const requests = serve(
			() =>
				new HttpResponse(
					new ReadableStream<Uint8Array>({
						start(controller) {
							controller.enqueue(new TextEncoder().encode('[{"id":1,'));
						}
					}),
					{ headers: { 'content-type': 'application/json' } }
				)
		);
		const attempt = open(poller({ timeout: 3000 }));
		await until(() => requests.length === 1);
		await settle();
		expect(attempt.calls).toEqual([{ type: 'hint', hints: { silenceMs: 5000 } }]);
		await vi.advanceTimersByTimeAsync(3000);
		await until(() => attempt.types().includes('failed'));
		expect(attempt.types()).toEqual(['hint', 'failed']);
		expect(attempt.failure()).toMatchObject({ code: 'timeout', retryable: true });
	});

	it('S30 a url function that throws fails the attempt (not retryable) instead of rejecting unhandled', async () => {
		const attempt = open(
			polling({
				url: () => {
					throw new Error('no tenant selected');
				}
			})
		);
		await until(() => attempt.types().includes('failed'));
		expect(attempt.types()).toEqual(['failed']);
		expect(attempt.failure()).toMatchObject({
			code: 'protocol',
			retryable: false,
			transport: 'polling',
			message: 'no tenant selected'
		});
	});

	it('S30 a header value that is not valid fails the attempt instead of rejecting unhandled', async () => {
		const requests = serve(json());
		const attempt = open(poller({ init: { headers: { 'X-Tenant': 'a\nb' } } }));
		await until(() => attempt.types().includes('failed'));
		expect(attempt.types()).toEqual(['failed']);
		expect(attempt.failure()).toMatchObject({ code: 'protocol', retryable: false });
		await vi.advanceTimersByTimeAsync(60_000);
		await settle();
		expect(requests).toHaveLength(0);
	});

	it('S30 a parse option that throws after the data arrived fails the attempt, retryable', async () => {
		serve(json());
		const attempt = open(
			poller({
				parse: () => {
					throw new Error('not our format');
				}
			})
		);
		await until(() => attempt.types().includes('failed'));
		expect(attempt.types()).not.toContain('message');
		expect(attempt.failure()).toMatchObject({ code: 'protocol', retryable: true });
	});

	it('a failed attempt does not poll again when the tab is shown (retrying is the engine’s job)', async () => {
		const requests = serve(() => new HttpResponse(null, { status: 503 }));
		const attempt = open(poller());
		await until(() => attempt.types().includes('failed'));
		env.setVisible(false);
		env.setVisible(true);
		await vi.advanceTimersByTimeAsync(60_000);
		await settle();
		expect(requests).toHaveLength(1);
		expect(attempt.types().filter((t) => t === 'failed')).toHaveLength(1);
	});
});
