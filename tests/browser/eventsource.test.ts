import { afterEach, describe, expect, inject, it } from 'vitest';
import { createLiveSource, sse, type LiveSourceHandle } from '../../src/lib/core/index.js';

const origin = inject('sseOrigin');
let live: LiveSourceHandle<{ id: string; title: string; version: number }> | undefined;
afterEach(() => live?.stop());

const stats = async (session: string) =>
	(await fetch(`${origin}/stats?session=${session}`)).json() as Promise<{
		requests: Array<{ lastEventIdParam: string | null }>;
		open: number;
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

	it.each([
		['S03 a 404', '/missing'],
		['S04 an HTML page', '/portal']
	])('%s fails the attempt and the engine, not the browser, retries', async (_, path) => {
		live = createLiveSource({
			transport: sse({ url: `${origin}${path}` }),
			retry: { baseDelay: 20, minDelay: 10, maxAttempts: 2 }
		});
		live.start();
		await expect.poll(() => live!.connection.getSnapshot().status).toBe('failed');
		expect(live.connection.getSnapshot().error).toMatchObject({
			name: 'TransportError',
			code: 'http',
			transport: 'sse'
		});
	});
});
