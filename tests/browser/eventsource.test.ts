import { afterEach, describe, expect, inject, it } from 'vitest';
import {
	createLiveSource,
	sse,
	type LiveSourceHandle,
	type SseOptions
} from '../../src/lib/core/index.js';

const origin = inject('sseOrigin');
let live: LiveSourceHandle<{ id: string; title: string; version: number }> | undefined;
afterEach(() => live?.stop());

const stats = async (session: string) =>
	(await fetch(`${origin}/stats?session=${session}`)).json() as Promise<{
		requests: Array<{ lastEventIdParam: string | null }>;
		open: number;
		hits: Record<string, number>;
	}>;

describe('sse() on the browser’s EventSource', () => {
	it('S01 receives named and unnamed events, reconnects after the end and resumes from the last id', async () => {
		const session = crypto.randomUUID();
		live = createLiveSource({
			transport: sse({ url: `${origin}/stream?session=${session}` }),
			version: (task) => task.version,
			retry: { baseDelay: 50, minDelay: 10, maxDelay: 100 }
		});
		live.start();
		await expect
			.poll(() => live!.store.getSnapshot().items.map((t) => t.title))
			.toEqual(['Gamma', 'Beta', 'Alpha 2']);
		expect(live.connection.getSnapshot()).toMatchObject({ status: 'live', transport: 'sse' });
		expect(live.connection.lastEventId).toBe('3');
		const { requests } = await stats(session);
		expect(requests.map((r) => r.lastEventIdParam)).toEqual([null, '2']);
	});

	it('S07 never dispatches the event cut off at the end of the stream', async () => {
		const session = crypto.randomUUID();
		live = createLiveSource({
			transport: sse({ url: `${origin}/stream?session=${session}` }),
			retry: { baseDelay: 50, minDelay: 10 }
		});
		live.start();
		await expect.poll(() => live!.store.getSnapshot().items.length).toBe(3);
		expect(live.store.getSnapshot().items.some((t) => t.title === 'cut off')).toBe(false);
	});

	it('S13 stop closes the EventSource: the server sees no open stream', async () => {
		const session = crypto.randomUUID();
		live = createLiveSource({
			transport: sse({ url: `${origin}/stream?session=${session}` }),
			retry: { baseDelay: 50, minDelay: 10 }
		});
		live.start();
		await expect.poll(async () => (await stats(session)).open).toBe(1);
		live.stop();
		await expect.poll(async () => (await stats(session)).open).toBe(0);
		const before = (await stats(session)).requests.length;
		await new Promise((resolve) => setTimeout(resolve, 300));
		expect((await stats(session)).requests.length).toBe(before);
	});

	describe('S34 what can never succeed is classified as in fetch mode', () => {
		/** A live source on `path`, retrying fast, and the server's counts for its session. */
		function start(path: string, options: Partial<SseOptions> = {}) {
			const session = crypto.randomUUID();
			live = createLiveSource({
				transport: sse({ url: `${origin}${path}?session=${session}`, ...options }),
				retry: { baseDelay: 20, minDelay: 10, maxDelay: 50 }
			});
			live.start();
			return session;
		}

		it.each([
			['S34 a 401', '/unauthorized', { code: 'http', status: 401 }],
			['S03 a 404', '/missing', { code: 'http', status: 404 }],
			['S04 an HTML page', '/portal', { code: 'content-type', status: 200 }]
		])('%s fails for good, with the status, after one plain request', async (_, path, error) => {
			const session = start(path);
			await expect.poll(() => live!.connection.getSnapshot().status).toBe('failed');
			expect(live!.connection.getSnapshot().error).toMatchObject({
				name: 'TransportError',
				transport: 'sse',
				retryable: false,
				...error
			});
			// The EventSource's request and the one that learnt the status; no retry loop.
			await new Promise((resolve) => setTimeout(resolve, 300));
			expect((await stats(session)).hits[path]).toBe(2);
		});

		it('S34 a 204 closes for good, no retry loop', async () => {
			const session = start('/nocontent');
			await expect.poll(() => live!.connection.getSnapshot().status).toBe('closed');
			await new Promise((resolve) => setTimeout(resolve, 300));
			expect((await stats(session)).hits['/nocontent']).toBe(2);
			expect(live!.connection.getSnapshot().status).toBe('closed');
		});

		it('S34 a 503 with Retry-After: 1 is retried, about a second later', async () => {
			const session = start('/busy');
			await expect.poll(() => live!.connection.getSnapshot().status).toBe('reconnecting');
			const { error, retryAt } = live!.connection.getSnapshot();
			expect(error).toMatchObject({
				code: 'http',
				status: 503,
				retryable: true,
				retryAfterMs: 1000
			});
			expect(retryAt! - Date.now()).toBeGreaterThan(700);
			await expect
				.poll(async () => (await stats(session)).hits['/busy'], { timeout: 3000 })
				.toBe(4);
		});
	});

	it('S28 an EventSource whose response never comes times out (error.code "timeout") and is released', async () => {
		const session = crypto.randomUUID();
		live = createLiveSource({
			transport: sse({ url: `${origin}/hang?session=${session}`, connectTimeout: 200 }),
			retry: { baseDelay: 5000, minDelay: 5000 }
		});
		live.start();
		await expect.poll(async () => (await stats(session)).open).toBe(1);
		await expect.poll(() => live!.connection.getSnapshot().status).toBe('reconnecting');
		expect(live.connection.getSnapshot().error).toMatchObject({ code: 'timeout', retryable: true });
		await expect.poll(async () => (await stats(session)).open).toBe(0);
	});

	it('S30 a non-ASCII id comes back in the query parameter, as UTF-8', async () => {
		const session = crypto.randomUUID();
		live = createLiveSource({
			transport: sse({ url: `${origin}/unicode-id?session=${session}` }),
			retry: { baseDelay: 20, minDelay: 10, maxDelay: 50 }
		});
		live.start();
		await expect.poll(async () => (await stats(session)).requests.length).toBe(2);
		expect((await stats(session)).requests.map((r) => r.lastEventIdParam)).toEqual([
			null,
			'ключ-日本-😀'
		]);
		expect(live.connection.lastEventId).toBe('ключ-日本-😀');
	});

	it('S32 an event over maxEventSize is dropped and reported; the stream stays open', async () => {
		const session = crypto.randomUUID();
		const errors: unknown[] = [];
		live = createLiveSource({
			transport: sse({ url: `${origin}/big?session=${session}&size=5000`, maxEventSize: 4096 }),
			onError: (error) => errors.push(error)
		});
		live.start();
		await expect.poll(() => live!.store.getSnapshot().items.map((t) => t.id)).toEqual(['small']);
		expect(errors).toHaveLength(1);
		expect(errors[0]).toMatchObject({ name: 'DecodeError' });
		expect(live.connection.getSnapshot().status).toBe('live');
		expect(live.connection.lastEventId).toBe('big');
		expect((await stats(session)).open).toBe(1);
	});
});
