// The mock kit (`svelte-realtime-kit/msw`) in Chromium behind MSW's service worker, as an app's
// own browser tests would use it: the task socket over `ws.link`, and the SSE stream read by the
// browser's native EventSource.
import { setupWorker } from 'msw/browser';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
	createLiveSource,
	sse,
	websocket,
	type ConnectionState,
	type LiveSourceHandle,
	type LiveSourceOptions,
	type TransportError
} from '../../src/lib/core/index.js';
import {
	createScenario,
	createTaskApi,
	taskFixtures,
	type MockTask,
	type TaskApi,
	type TaskApiOptions
} from '../../src/lib/mocks/index.js';

const SOCKET = 'wss://realtime.test/tasks';
const STREAM = '/api/tasks/stream';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const FAST = { baseDelay: 20, minDelay: 10, maxDelay: 50 };

const worker = setupWorker();
const unhandled: string[] = [];
beforeAll(async () => {
	await worker.start({
		quiet: true,
		// Vitest's own modules go through the worker too: only the mock API's paths must match.
		onUnhandledRequest(request, print) {
			if (!new URL(request.url).pathname.startsWith('/api/')) return;
			unhandled.push(`${request.method} ${request.url}`);
			print.error();
		}
	});
});
afterAll(() => worker.stop());

const lives: LiveSourceHandle<MockTask>[] = [];
afterEach(() => {
	for (const live of lives.splice(0)) live.stop();
	worker.resetHandlers();
	expect(unhandled.splice(0), 'requests no handler matched').toEqual([]);
});

/** A mock API installed in the worker for this test. */
function serve(options: TaskApiOptions = {}): TaskApi {
	const api = createTaskApi(options);
	worker.use(...api.handlers);
	return api;
}

type Live = LiveSourceHandle<MockTask> & {
	statuses: ConnectionState['status'][];
	errors: TransportError[];
};

function start(
	options: Partial<LiveSourceOptions<MockTask>> & Pick<LiveSourceOptions<MockTask>, 'transport'>
): Live {
	const live = createLiveSource<MockTask>({
		version: (task) => task.version,
		retry: FAST,
		...options
	});
	const statuses: ConnectionState['status'][] = [];
	const errors: TransportError[] = [];
	live.connection.subscribe((state) => {
		if (statuses.at(-1) !== state.status) statuses.push(state.status);
		if (state.error && errors.at(-1) !== state.error) errors.push(state.error);
	});
	lives.push(live);
	live.start();
	return Object.assign(live, { statuses, errors });
}

const state = (live: Live) => live.connection.getSnapshot();
const items = (live: Live) => live.store.getSnapshot().items;
const row = (live: Live, id: string) => live.store.getSnapshot().rows.find((r) => r.key === id);
const byId = (tasks: readonly MockTask[]) => [...tasks].sort((a, b) => a.id.localeCompare(b.id));
const task = (api: TaskApi, id: string) => api.tasks().find((t) => t.id === id);
const fixture = (id: string) => taskFixtures.find((t) => t.id === id)!;

describe('the task socket (ws.link) with websocket()', () => {
	it('S19 sends the snapshot on connect, acks a toggle, and broadcasts it to a second page', async () => {
		const api = serve({ socketUrl: SOCKET });
		const mine = start({ transport: websocket({ url: SOCKET }) });
		const theirs = start({ transport: websocket({ url: SOCKET }) });
		await expect.poll(() => items(mine)).toEqual(taskFixtures);
		await expect.poll(() => items(theirs)).toEqual(taskFixtures);
		expect(state(mine)).toMatchObject({
			status: 'live',
			transport: 'websocket',
			bidirectional: true
		});
		expect(api.open().sockets).toBe(2);
		expect(api.requests.socket).toBe(2);

		const confirmed = await mine.store.toggle('t-106');
		expect(confirmed).toMatchObject({ id: 't-106', done: true, version: 3 });
		mine.store.flush();
		expect(row(mine, 't-106')).toMatchObject({
			status: 'settled',
			item: { done: true, version: 3 }
		});
		await expect.poll(() => row(theirs, 't-106')?.item).toMatchObject({ done: true, version: 3 });
		expect(task(api, 't-106')).toMatchObject({ done: true, version: 3 });
		expect(api.requests.commit).toBe(1);
	});

	it('pushes api.upsert and api.remove to every socket', async () => {
		const api = serve({ socketUrl: SOCKET });
		const pages = [
			start({ transport: websocket({ url: SOCKET }) }),
			start({ transport: websocket({ url: SOCKET }) })
		];
		await expect.poll(() => pages.map((p) => items(p).length)).toEqual([5, 5]);
		api.upsert({ id: 't-200', title: 'Plan the launch' });
		api.upsert({ id: 't-108', done: true });
		api.remove('t-104');
		for (const page of pages) {
			await expect.poll(() => byId(items(page))).toEqual(byId(api.tasks()));
		}
	});

	it('S18 nack: a refused toggle rolls back and is marked failed', async () => {
		const api = serve({ socketUrl: SOCKET, commit: { mode: 'nack' } });
		const live = start({ transport: websocket({ url: SOCKET }) });
		await expect.poll(() => items(live).length).toBe(5);
		await expect(live.store.toggle('t-106')).rejects.toThrow(/conflict/);
		live.store.flush();
		expect(row(live, 't-106')).toMatchObject({ status: 'failed', item: { done: false } });
		expect(task(api, 't-106')).toEqual(fixture('t-106'));
		expect(api.requests.commit).toBe(1);
	});

	it('S18 stall: an unacknowledged toggle times out, rolls back and is marked failed', async () => {
		const api = serve({ socketUrl: SOCKET, commit: { mode: 'stall' } });
		const live = start({ transport: websocket({ url: SOCKET }), ackTimeout: 100 });
		await expect.poll(() => items(live).length).toBe(5);
		await expect(live.store.toggle('t-106')).rejects.toThrow();
		live.store.flush();
		expect(row(live, 't-106')).toMatchObject({ status: 'failed', item: { done: false } });
		expect(task(api, 't-106')).toEqual(fixture('t-106'));
	});

	it('S26 api.disconnectAll() closes every socket; the engine reconnects and gets the list again', async () => {
		const api = serve({ socketUrl: SOCKET });
		const live = start({ transport: websocket({ url: SOCKET }) });
		await expect.poll(() => state(live).status).toBe('live');
		api.disconnectAll();
		api.upsert({ id: 't-201', title: 'Made during the restart' });
		await expect.poll(() => api.requests.socket).toBe(2);
		await expect.poll(() => byId(items(live))).toEqual(byId(api.tasks()));
		expect(live.statuses).toEqual(['connecting', 'live', 'reconnecting', 'live']);
		expect(live.errors[0]).toMatchObject({ code: 'closed', retryable: true });
		expect(api.open().sockets).toBe(1);
	});
});

describe('the socket.io server (socketIoUrl) with socketIo()', () => {
	const IO = 'wss://realtime.test';
	let socketIo: typeof import('../../src/lib/socket.io/index.js').socketIo;
	// socket.io-client captures WebSocket when it loads: load it after the worker started.
	beforeAll(async () => {
		({ socketIo } = await import('../../src/lib/socket.io/index.js'));
	});
	const io = () => socketIo({ url: IO, options: { transports: ['websocket'] } });

	it('S19 sends the snapshot on connect, acks a toggle, and syncs it to a second page', async () => {
		const api = serve({ socketIoUrl: IO });
		const mine = start({ transport: io() });
		const theirs = start({ transport: io() });
		await expect.poll(() => [items(mine).length, items(theirs).length]).toEqual([5, 5]);
		expect(state(mine)).toMatchObject({ status: 'live', transport: 'socket.io' });
		expect(api.open().sockets).toBe(2);
		const confirmed = await mine.store.toggle('t-106');
		expect(confirmed).toMatchObject({ id: 't-106', done: true, version: 3 });
		await expect.poll(() => row(theirs, 't-106')?.item).toMatchObject({ done: true, version: 3 });
		mine.store.flush();
		expect(row(mine, 't-106')).toMatchObject({ status: 'settled', item: { done: true } });
		api.remove('t-104');
		await expect.poll(() => byId(items(theirs))).toEqual(byId(api.tasks()));
	});

	it('S18 nack: a refused toggle rolls back and is marked failed', async () => {
		const api = serve({ socketIoUrl: IO, commit: { mode: 'nack' } });
		const live = start({ transport: io() });
		await expect.poll(() => items(live).length).toBe(5);
		await expect(live.store.toggle('t-106')).rejects.toThrow(/conflict/);
		live.store.flush();
		expect(row(live, 't-106')).toMatchObject({ status: 'failed', item: { done: false } });
		expect(task(api, 't-106')).toEqual(fixture('t-106'));
	});

	it('S26 api.disconnectAll() drops the socket; the engine reconnects and catches up', async () => {
		const api = serve({ socketIoUrl: IO });
		const live = start({ transport: io() });
		await expect.poll(() => state(live).status).toBe('live');
		api.disconnectAll();
		api.upsert({ id: 't-202', title: 'Made while the socket was down' });
		await expect.poll(() => byId(items(live))).toEqual(byId(api.tasks()));
		expect(live.statuses).toEqual(['connecting', 'live', 'reconnecting', 'live']);
		expect(api.open().sockets).toBe(1);
	});
});

describe('the SSE stream with the browser’s EventSource', () => {
	it('receives the snapshot and a later api.upsert()', async () => {
		const api = serve();
		const live = start({ transport: sse({ url: '/api/tasks/stream' }) });
		await expect.poll(() => items(live)).toEqual(taskFixtures);
		expect(state(live)).toMatchObject({ status: 'live', transport: 'sse' });
		expect(api.open().streams).toBe(1);

		api.upsert({ id: 't-200', title: 'Plan the launch' });
		api.remove('t-104');
		await expect.poll(() => byId(items(live))).toEqual(byId(api.tasks()));
		expect(items(live)[0]!.id).toBe('t-200');
		expect(live.connection.lastEventId).toBe('2');
	});

	it('S01 resumes with the lastEventId parameter after the stream ends and misses nothing', async () => {
		const api = serve({ stream: { retry: 20 } });
		const live = start({ transport: sse({ url: '/api/tasks/stream' }) });
		await expect.poll(() => items(live).length).toBe(5);
		api.upsert({ id: 't-106', done: true });
		await expect.poll(() => live.connection.lastEventId).toBe('1');
		api.disconnectAll();
		api.upsert({ id: 't-201', title: 'Made while away' });
		await expect.poll(() => byId(items(live))).toEqual(byId(api.tasks()));
		expect(api.requests.stream).toBe(2);
		expect(live.statuses).toEqual(['connecting', 'live', 'reconnecting', 'live']);
	});

	it('S13 a closed EventSource is released: not counted, and later changes do not throw', async () => {
		// Heartbeats announce their interval: far enough apart that a busy machine stays live.
		const api = serve({ stream: { heartbeat: 100 } });
		const gone = start({ transport: sse({ url: '/api/tasks/stream' }) });
		const stays = start({ transport: sse({ url: '/api/tasks/stream' }) });
		await expect.poll(() => [items(gone).length, items(stays).length]).toEqual([5, 5]);
		expect(api.open().streams).toBe(2);
		gone.stop();
		await expect.poll(() => api.open().streams).toBe(1);
		expect(() => api.upsert({ id: 't-106', done: true })).not.toThrow();
		await sleep(250);
		expect(() => api.disconnectAll()).not.toThrow();
		await expect.poll(() => row(stays, 't-106')?.item.done).toBe(true);
	});

	it('S06 the heartbeats reach the EventSource as `ping` events: a quiet stream stays live', async () => {
		serve({ stream: { heartbeat: 200 } });
		const pings: string[] = [];
		const raw = new EventSource(STREAM);
		raw.addEventListener('ping', (event) => pings.push(event.data));
		// The engine learns the interval: silence beyond 300 ms (1.5 intervals) would be stale.
		const live = start({ transport: sse({ url: STREAM }), staleAfter: 600 });
		await expect.poll(() => items(live).length).toBe(5);
		const before = state(live).lastEventAt!;
		await sleep(1000);
		raw.close();
		// Only heartbeats arrived meanwhile.
		expect(live.statuses).toEqual(['connecting', 'live']);
		expect(state(live).lastEventAt).toBeGreaterThan(before);
		expect(pings.length).toBeGreaterThanOrEqual(3);
		expect(new Set(pings)).toEqual(new Set(['{"interval":200}']));
	});

	it.each([
		['closedByServer', 204],
		['unauthorized', 401]
	] as const)(
		'S34 %s answers HTTP %i to the EventSource, which gives up for good, and to a plain fetch',
		async (name, status) => {
			const api = createScenario(name);
			worker.use(...api.handlers);
			const raw = new EventSource(STREAM);
			await new Promise((resolve) => raw.addEventListener('error', resolve, { once: true }));
			expect(raw.readyState).toBe(EventSource.CLOSED);
			await sleep(200);
			expect(api.requests.stream).toBe(1);
			// What a client learns when it asks why (EventSource does not say).
			const answer = await fetch(STREAM);
			expect(answer.status).toBe(status);
			expect(api.requests.stream).toBe(2);
			raw.close();
		}
	);

	it('S34 closedByServer: the engine in EventSource mode ends closed, with no retry loop', async () => {
		const api = createScenario('closedByServer');
		worker.use(...api.handlers);
		const live = start({ transport: sse({ url: STREAM }) });
		await expect.poll(() => state(live).status).toBe('closed');
		const requests = api.requests.stream;
		await sleep(300);
		expect(api.requests.stream).toBe(requests);
		expect(live.statuses).toEqual(['connecting', 'closed']);
	});

	it('S34 unauthorized: the engine in EventSource mode fails with the 401, no retry', async () => {
		const api = createScenario('unauthorized');
		worker.use(...api.handlers);
		const live = start({ transport: sse({ url: STREAM }) });
		await expect.poll(() => state(live).status).toBe('failed');
		expect(state(live).error).toMatchObject({ code: 'http', status: 401, retryable: false });
		const requests = api.requests.stream;
		await sleep(300);
		expect(api.requests.stream).toBe(requests);
	});
});
