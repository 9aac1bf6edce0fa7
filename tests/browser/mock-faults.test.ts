// The mock kit's fault controls (what the Storybook Connection panel's buttons call) in Chromium
// behind MSW's service worker, each checked through what the kit's own adapters make of it: the
// SSE stream read by the browser's EventSource, the task socket over `ws.link`, socket.io.
import { setupWorker } from 'msw/browser';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
	createLiveSource,
	sse,
	websocket,
	type ConnectionState,
	type LiveSourceHandle,
	type LiveSourceOptions,
	type MessageMeta,
	type OpenedInfo,
	type PendingChange,
	type Transport,
	type TransportError
} from '../../src/lib/core/index.js';
import { faultTargets, forgetFaultTargets } from '../../src/lib/inspect/hub.js';
import {
	createTaskApi,
	taskFixtures,
	type MockTask,
	type TaskApi,
	type TaskApiOptions
} from '../../src/lib/mocks/index.js';

const SOCKET = 'wss://realtime.test/tasks';
const IO = 'wss://realtime.test';
const LIST = '/api/tasks';
const STREAM = '/api/tasks/stream';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** Retries within milliseconds, the server's `retry:` and `Retry-After` included. */
const FAST = { baseDelay: 20, minDelay: 10, maxDelay: 50, maxServerDelay: 50 };

const worker = setupWorker();
const unhandled: string[] = [];
/** The status of every stream response the mock answered, in order. */
const streamAnswers: Array<{ status: number; retryAfter: string | null; lastEventId: string }> = [];
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
	worker.events.on('response:mocked', ({ request, response }) => {
		const url = new URL(request.url);
		if (url.pathname !== STREAM) return;
		streamAnswers.push({
			status: response.status,
			retryAfter: response.headers.get('Retry-After'),
			lastEventId: url.searchParams.get('lastEventId') ?? request.headers.get('Last-Event-ID') ?? ''
		});
	});
});
afterAll(() => worker.stop());

const lives: LiveSourceHandle<MockTask>[] = [];
afterEach(() => {
	for (const live of lives.splice(0)) live.stop();
	worker.resetHandlers();
	streamAnswers.length = 0;
	expect(unhandled.splice(0), 'requests no handler matched').toEqual([]);
});

/** A mock API installed in the worker for this test. */
function serve(options: TaskApiOptions = {}): TaskApi {
	const api = createTaskApi(options);
	worker.use(...api.handlers);
	return api;
}

/** What one connection's transport reported: each attempt's `opened`, each message. */
interface Seen {
	opened: OpenedInfo[];
	/** Each message's event (SSE `event:`, socket.io's mapped name, or a socket frame's `type`). */
	messages: Array<{ event: string | undefined; id: string | undefined; data: unknown }>;
}

/** The transport, with what it reports recorded on the side. */
function watched<In, Out>(transport: Transport<In, Out>, seen: Seen): Transport<In, Out> {
	return {
		...transport,
		open: (sink, attempt) =>
			transport.open(
				{
					...sink,
					opened(info) {
						seen.opened.push(info ?? {});
						sink.opened(info);
					},
					message(data: In, meta?: MessageMeta) {
						const type = (data as { type?: string } | null)?.type;
						seen.messages.push({ event: meta?.event ?? type, id: meta?.id, data });
						sink.message(data, meta);
					}
				},
				attempt
			)
	};
}

type Live = LiveSourceHandle<MockTask> &
	Seen & {
		statuses: ConnectionState['status'][];
		errors: TransportError[];
	};

function start(
	options: Partial<LiveSourceOptions<MockTask>> & Pick<LiveSourceOptions<MockTask>, 'transport'>
): Live {
	const seen: Seen = { opened: [], messages: [] };
	const live = createLiveSource<MockTask>({
		version: (task) => task.version,
		retry: FAST,
		...options,
		transport: watched(options.transport, seen)
	});
	const statuses: ConnectionState['status'][] = [];
	const errors: TransportError[] = [];
	live.connection.subscribe((state) => {
		if (statuses.at(-1) !== state.status) statuses.push(state.status);
		if (state.error && errors.at(-1) !== state.error) errors.push(state.error);
	});
	lives.push(live);
	live.start();
	return Object.assign(live, seen, { statuses, errors });
}

/** A `resync` that fetches the list and counts its calls in `counter.n`. */
const refetch = (counter: { n: number }) => async (signal: AbortSignal) => {
	counter.n++;
	const response = await fetch(LIST, { signal });
	return (await response.json()) as MockTask[];
};

/** The `commit` an app writes: PATCH the row with the change's id. */
async function patch({ item, mutationId, signal }: PendingChange<MockTask>): Promise<MockTask> {
	const response = await fetch(`${LIST}/${item.id}`, {
		method: 'PATCH',
		headers: { 'content-type': 'application/json' },
		body: JSON.stringify({ done: item.done, mutationId }),
		signal
	});
	if (!response.ok) throw new Error(`The server refused the change (HTTP ${response.status})`);
	return (await response.json()) as MockTask;
}

const state = (live: Live) => live.connection.getSnapshot();
const items = (live: Live) => live.store.getSnapshot().items;
const row = (live: Live, id: string) => live.store.getSnapshot().rows.find((r) => r.key === id);
const byId = (tasks: readonly MockTask[]) => [...tasks].sort((a, b) => a.id.localeCompare(b.id));
const task = (api: TaskApi, id: string) => api.tasks().find((t) => t.id === id);
const fixture = (id: string) => taskFixtures.find((t) => t.id === id)!;
/** The events a connection received after the first `skip` of them. */
const eventsAfter = (live: Live, skip: number) => live.messages.slice(skip).map((m) => m.event);
/** Resolves with how `promise` settled, or `'pending'` after `ms`. */
const within = (promise: Promise<unknown>, ms: number) =>
	Promise.race([
		promise.then(
			() => 'answered',
			() => 'failed'
		),
		sleep(ms).then(() => 'pending')
	]);

/** Options frozen all the way down: a control that wrote into them would throw. */
function frozen<T extends object>(value: T): T {
	for (const inner of Object.values(value)) {
		if (inner && typeof inner === 'object') frozen(inner as object);
	}
	return Object.freeze(value);
}

describe('drop()', () => {
	it('ends the stream; the EventSource resumes after its Last-Event-ID and refetches nothing', async () => {
		const api = serve({ stream: { retry: 20 } });
		const counter = { n: 0 };
		const live = start({
			transport: sse({ url: STREAM, resumable: true }),
			resync: refetch(counter)
		});
		await expect.poll(() => items(live)).toEqual(taskFixtures);
		api.upsert({ id: 't-106', done: true });
		await expect.poll(() => live.connection.lastEventId).toBe('1');
		const before = live.messages.length;

		api.drop();
		expect(api.open().streams).toBe(0);
		api.upsert({ id: 't-201', title: 'Made while away' });
		await expect.poll(() => byId(items(live))).toEqual(byId(api.tasks()));

		expect(live.statuses).toEqual(['connecting', 'live', 'reconnecting', 'live']);
		expect(state(live).continuity).toBe('resumed');
		expect(live.opened.at(-1)).toMatchObject({ resumed: true });
		// A replay of the one change it missed, no snapshot, and no refetch of the list.
		expect(eventsAfter(live, before)).toEqual(['upsert']);
		expect(live.messages.at(-1)?.id).toBe('2');
		expect(streamAnswers.map((a) => [a.status, a.lastEventId])).toEqual([
			[200, ''],
			[200, '1']
		]);
		expect(counter.n).toBe(0);
		expect(api.requests.list).toBe(0);
	});

	it('does not fail the next attempts, even with stream.failAfterEnd (disconnectAll() does)', async () => {
		const api = serve({ stream: { retry: 20, failAfterEnd: 2, failure: 503 } });
		const live = start({ transport: sse({ url: STREAM, resumable: true }) });
		await expect.poll(() => state(live).status).toBe('live');
		api.drop();
		await expect.poll(() => api.requests.stream).toBe(2);
		await expect.poll(() => state(live).status).toBe('live');
		expect(streamAnswers.map((a) => a.status)).toEqual([200, 200]);
		expect(live.errors.every((error) => error.status === undefined)).toBe(true);
	});

	it('closes the socket; websocket() reconnects and gets the list again', async () => {
		const api = serve({ socketUrl: SOCKET });
		const live = start({ transport: websocket({ url: SOCKET }) });
		await expect.poll(() => state(live).status).toBe('live');
		api.drop();
		api.upsert({ id: 't-201', title: 'Made while away' });
		await expect.poll(() => byId(items(live))).toEqual(byId(api.tasks()));
		expect(live.statuses).toEqual(['connecting', 'live', 'reconnecting', 'live']);
		expect(live.errors[0]).toMatchObject({ code: 'closed', retryable: true });
		expect(api.requests.socket).toBe(2);
		expect(api.open().sockets).toBe(1);
	});
});

describe('restart()', () => {
	it('fails the next stream attempt once (503, Retry-After: 1), then answers with a snapshot, not a replay', async () => {
		const api = serve({ stream: { retry: 20 } });
		const live = start({ transport: sse({ url: STREAM }) });
		await expect.poll(() => items(live).length).toBe(5);
		api.upsert({ id: 't-106', done: true });
		api.upsert({ id: 't-107', done: false });
		await expect.poll(() => live.connection.lastEventId).toBe('2');
		const before = live.messages.length;

		api.restart();
		expect(api.open().streams).toBe(0);
		api.upsert({ id: 't-202', title: 'Made during the restart' });
		await expect.poll(() => byId(items(live))).toEqual(byId(api.tasks()));
		await expect.poll(() => state(live).status).toBe('live');

		// The first attempt after the restart failed; every later one was answered.
		const after = streamAnswers.slice(1);
		expect(after[0]).toEqual({ status: 503, retryAfter: '1', lastEventId: '2' });
		expect(after.slice(1).every((answer) => answer.status === 200)).toBe(true);
		expect(live.errors.length).toBeGreaterThanOrEqual(2);
		expect(live.statuses.slice(0, 3)).toEqual(['connecting', 'live', 'reconnecting']);
		expect(state(live).continuity).not.toBe('resumed');
		// The new log knows nothing of id 2: the client got the whole list, with an id above the old ones.
		expect(eventsAfter(live, before)).toEqual(['snapshot']);
		expect(Number(live.connection.lastEventId)).toBeGreaterThan(2);
		// The data survived the restart.
		expect(task(api, 't-106')).toMatchObject({ done: true, version: 3 });
		expect(api.tasks()).toHaveLength(6);
	});

	it('a client that claims resumable still takes the new snapshot, and the new ids are not taken for duplicates', async () => {
		const api = serve({ stream: { retry: 20 } });
		const live = start({ transport: sse({ url: STREAM, resumable: true }) });
		await expect.poll(() => items(live).length).toBe(5);
		api.upsert({ id: 't-106', done: true });
		await expect.poll(() => live.connection.lastEventId).toBe('1');
		api.restart();
		await expect.poll(() => live.statuses).toEqual(['connecting', 'live', 'reconnecting', 'live']);
		// Events of the new log reach the store: none of their ids repeats one it has seen.
		api.upsert({ id: 't-108', done: true });
		api.upsert({ id: 't-203', title: 'After the restart' });
		await expect.poll(() => byId(items(live))).toEqual(byId(api.tasks()));
		expect(streamAnswers.filter((answer) => answer.status === 503)).toHaveLength(1);
	});

	it('refuses the next socket connection once; websocket() reconnects after it', async () => {
		const api = serve({ socketUrl: SOCKET });
		const live = start({ transport: websocket({ url: SOCKET }) });
		await expect.poll(() => state(live).status).toBe('live');
		api.restart();
		api.upsert({ id: 't-202', title: 'Made during the restart' });
		await expect.poll(() => api.requests.socket).toBe(3);
		await expect.poll(() => byId(items(live))).toEqual(byId(api.tasks()));
		expect(live.statuses).toEqual(['connecting', 'live', 'reconnecting', 'live']);
		// Closed once while live, then refused before it opened.
		expect(live.errors.map((error) => error.code)).toEqual(['closed', 'network']);
		expect(live.opened).toHaveLength(2);
		expect(state(live).continuity).not.toBe('resumed');
	});
});

describe('drop() and restart() with socketIo()', () => {
	const io = async () => {
		// socket.io-client captures WebSocket when it loads: load it after the worker started.
		const { socketIo } = await import('../../src/lib/socket.io/index.js');
		return socketIo({ url: IO, options: { transports: ['websocket'] } });
	};

	it('drop(): the socket reconnects at once and catches up', async () => {
		const api = serve({ socketIoUrl: IO });
		const live = start({ transport: await io() });
		await expect.poll(() => state(live).status).toBe('live');
		api.drop();
		api.upsert({ id: 't-205', title: 'Made while away' });
		await expect.poll(() => byId(items(live))).toEqual(byId(api.tasks()));
		expect(live.statuses).toEqual(['connecting', 'live', 'reconnecting', 'live']);
		expect(api.requests.socket).toBe(2);
	});

	it('restart(): the first connection after it is refused, the next one joins', async () => {
		const api = serve({ socketIoUrl: IO });
		const live = start({ transport: await io() });
		await expect.poll(() => state(live).status).toBe('live');
		api.restart();
		api.upsert({ id: 't-206', title: 'Made during the restart' });
		await expect.poll(() => byId(items(live))).toEqual(byId(api.tasks()));
		expect(api.requests.socket).toBe(3);
		expect(live.opened).toHaveLength(2);
		expect(live.statuses).toEqual(['connecting', 'live', 'reconnecting', 'live']);
	});
});

describe('setOffline()', () => {
	it('fails every request as a network error and ends the stream; back online, the stream is live again', async () => {
		const api = serve({ stream: { retry: 20 } });
		const live = start({ transport: sse({ url: STREAM }), commit: patch });
		await expect.poll(() => items(live).length).toBe(5);

		api.setOffline(true);
		expect(api.open().streams).toBe(0);
		await expect.poll(() => state(live).status).toBe('reconnecting');
		await expect(fetch(LIST)).rejects.toThrow(TypeError);
		await expect(live.store.toggle('t-106')).rejects.toThrow();
		expect(task(api, 't-106')).toEqual(fixture('t-106'));
		// The engine keeps trying: every attempt fails without an HTTP answer.
		const tried = api.requests.stream;
		await expect.poll(() => api.requests.stream).toBeGreaterThan(tried + 1);
		expect(state(live).status).not.toBe('live');
		expect(streamAnswers.slice(1).every((answer) => answer.status === 0)).toBe(true);

		api.setOffline(false);
		await expect.poll(() => state(live).status).toBe('live');
		expect((await fetch(LIST)).status).toBe(200);
		await expect(live.store.toggle('t-106')).resolves.toMatchObject({ done: true, version: 3 });
	});

	it('closes the socket and refuses new ones; back online, websocket() is live again', async () => {
		const api = serve({ socketUrl: SOCKET });
		const live = start({ transport: websocket({ url: SOCKET }) });
		await expect.poll(() => state(live).status).toBe('live');
		api.setOffline(true);
		await expect.poll(() => state(live).status).toBe('reconnecting');
		const tried = api.requests.socket;
		await expect.poll(() => api.requests.socket).toBeGreaterThan(tried + 1);
		expect(api.open().sockets).toBe(0);
		expect(live.opened).toHaveLength(1);
		api.upsert({ id: 't-204', title: 'Made while offline' });

		api.setOffline(false);
		await expect.poll(() => byId(items(live))).toEqual(byId(api.tasks()));
		expect(state(live).status).toBe('live');
		expect(live.opened).toHaveLength(2);
	});
});

describe('setLatency()', () => {
	it('holds every answer back: the list, the stream, a socket’s first message', async () => {
		const api = serve({ socketUrl: SOCKET });
		api.setLatency(60_000);
		const abort = new AbortController();
		const listed = fetch(LIST, { signal: abort.signal });
		const stream = start({ transport: sse({ url: STREAM }) });
		const socket = start({ transport: websocket({ url: SOCKET }) });
		// MSW opens a socket at once: it is live, but its list has not come.
		await expect.poll(() => state(socket).status).toBe('live');
		expect(await within(listed, 300)).toBe('pending');
		expect(state(stream).status).toBe('connecting');
		expect(stream.store.getSnapshot().loaded).toBe(false);
		expect(socket.store.getSnapshot().loaded).toBe(false);
		expect(api.requests).toMatchObject({ list: 1, stream: 1, socket: 1 });
		abort.abort();
	});

	it('adds to the configured latency, and 0 takes it away again', async () => {
		const api = serve({ list: { latency: 100 } });
		api.setLatency(200);
		const started = performance.now();
		expect((await fetch(LIST)).status).toBe(200);
		// A lower bound only: both waits ran, one after the other.
		expect(performance.now() - started).toBeGreaterThanOrEqual(295);
		api.setLatency(0);
		expect((await fetch(LIST)).status).toBe(200);
		expect(api.requests.list).toBe(2);
	});
});

describe('refuseNext()', () => {
	it('refuses the next PATCH (409): the toggle rolls back; the one after is confirmed', async () => {
		const api = serve({ stream: { retry: 20 } });
		const live = start({ transport: sse({ url: STREAM }), commit: patch });
		await expect.poll(() => items(live).length).toBe(5);
		api.refuseNext();
		await expect(live.store.toggle('t-106')).rejects.toThrow(/409/);
		live.store.flush();
		expect(row(live, 't-106')).toMatchObject({ status: 'failed', item: { done: false } });
		expect(task(api, 't-106')).toEqual(fixture('t-106'));

		await expect(live.store.toggle('t-106')).resolves.toMatchObject({ done: true, version: 3 });
		await expect.poll(() => row(live, 't-106')).toMatchObject({ status: 'settled' });
		expect(row(live, 't-106')?.item).toMatchObject({ done: true, version: 3 });
		expect(api.requests.commit).toBe(2);
	});

	it('refuses the next two socket mutations ({ ok: false, error: conflict }), then acks', async () => {
		const api = serve({ socketUrl: SOCKET });
		const live = start({ transport: websocket({ url: SOCKET }) });
		await expect.poll(() => items(live).length).toBe(5);
		api.refuseNext(2);
		await expect(live.store.toggle('t-106')).rejects.toThrow(/conflict/);
		await expect(live.store.toggle('t-105')).rejects.toThrow(/conflict/);
		live.store.flush();
		expect(row(live, 't-105')).toMatchObject({ status: 'failed' });
		await expect(live.store.toggle('t-106')).resolves.toMatchObject({ done: true, version: 3 });
		expect(task(api, 't-106')).toMatchObject({ done: true, version: 3 });
		expect(api.requests.commit).toBe(3);
	});

	it('refuses a socket.io mutation, then acks the next', async () => {
		const { socketIo } = await import('../../src/lib/socket.io/index.js');
		const api = serve({ socketIoUrl: IO });
		const live = start({
			transport: socketIo({ url: IO, options: { transports: ['websocket'] } })
		});
		await expect.poll(() => items(live).length).toBe(5);
		api.refuseNext(1);
		await expect(live.store.toggle('t-106')).rejects.toThrow(/conflict/);
		await expect(live.store.toggle('t-106')).resolves.toMatchObject({ done: true, version: 3 });
	});
});

describe('flood()', () => {
	it('pushes 50 changes at once to every client, round-robin with the versions bumped', async () => {
		const api = serve({ socketUrl: SOCKET });
		const stream = start({ transport: sse({ url: STREAM }) });
		const socket = start({ transport: websocket({ url: SOCKET }) });
		await expect.poll(() => [items(stream).length, items(socket).length]).toEqual([5, 5]);
		const before = [stream.messages.length, socket.messages.length];

		api.flood(50);
		// Five tasks, ten changes each.
		for (const fixed of taskFixtures) {
			expect(task(api, fixed.id)?.version).toBe(fixed.version + 10);
		}
		for (const [i, live] of [stream, socket].entries()) {
			await expect.poll(() => live.messages.length - before[i]!).toBe(50);
			expect(new Set(eventsAfter(live, before[i]!))).toEqual(new Set(['upsert']));
			await expect.poll(() => byId(items(live))).toEqual(byId(api.tasks()));
		}
		expect(stream.messages.at(-1)?.id).toBe('50');
	});

	it('with no tasks, adds one and changes it', async () => {
		const api = serve({ tasks: [] });
		const live = start({ transport: sse({ url: STREAM }) });
		await expect.poll(() => live.store.getSnapshot().loaded).toBe(true);
		api.flood(3);
		expect(api.tasks()).toEqual([expect.objectContaining({ id: 'flood', version: 3 })]);
		await expect.poll(() => items(live)).toEqual(api.tasks());
	});
});

describe('skip()', () => {
	it('changes tasks unseen; the reconnect cannot resume and its snapshot holds the changes', async () => {
		const api = serve({ stream: { retry: 20 }, socketUrl: SOCKET });
		const stream = start({ transport: sse({ url: STREAM, resumable: true }) });
		const socket = start({ transport: websocket({ url: SOCKET }) });
		await expect.poll(() => [items(stream).length, items(socket).length]).toEqual([5, 5]);
		api.upsert({ id: 't-106', done: true });
		await expect.poll(() => stream.connection.lastEventId).toBe('1');
		const before = stream.messages.length;
		const versions = new Map(api.tasks().map((t) => [t.id, t.version]));

		api.skip(7);
		expect(api.open()).toEqual({ streams: 0, sockets: 0 });
		// Round-robin over five tasks: two of them changed twice.
		const bumps = api.tasks().map((t) => t.version - versions.get(t.id)!);
		expect(bumps.sort()).toEqual([1, 1, 1, 2, 2]);
		for (const live of [stream, socket]) {
			await expect.poll(() => byId(items(live))).toEqual(byId(api.tasks()));
		}
		// The old id could not be replayed from: a snapshot, and nothing of the skipped changes as events.
		expect(eventsAfter(stream, before)).toEqual(['snapshot']);
		expect(streamAnswers.at(-1)).toMatchObject({ status: 200, lastEventId: '1' });
		expect(Number(stream.connection.lastEventId)).toBeGreaterThan(1);
	});

	it('throws a TypeError for a bad count, and so does flood(); nothing changes', async () => {
		const api = serve();
		for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 100_001, '3']) {
			expect(() => api.skip(bad as number)).toThrow(TypeError);
			expect(() => api.flood(bad as number)).toThrow(
				/flood\(count\): expected an integer from 1 to 100000/
			);
		}
		expect(() => api.refuseNext(-1)).toThrow(TypeError);
		expect(() => api.setLatency(-5)).toThrow(TypeError);
		expect(() => api.setOffline('yes' as unknown as boolean)).toThrow(TypeError);
		expect(api.tasks()).toEqual(taskFixtures);
		expect(() => api.flood(100_000)).not.toThrow();
	});
});

describe('the controls and their options', () => {
	it('never write into the options the API was made with', async () => {
		const options = frozen<TaskApiOptions>({
			socketUrl: SOCKET,
			list: { latency: 0 },
			stream: { retry: 20, failAfterEnd: 1 },
			commit: { mode: 'ok', latency: 0 }
		});
		const copy = structuredClone(options);
		const api = serve(options);
		const live = start({ transport: sse({ url: STREAM }), commit: patch });
		await expect.poll(() => state(live).status).toBe('live');
		api.setLatency(10);
		api.refuseNext(1);
		await expect(live.store.toggle('t-106')).rejects.toThrow(/409/);
		api.setOffline(true);
		api.setOffline(false);
		api.flood(5);
		api.skip(2);
		api.drop();
		api.restart();
		api.setLatency(0);
		await expect.poll(() => byId(items(live))).toEqual(byId(api.tasks()));
		expect(options).toEqual(copy);
	});
});

describe('the inspection hub', () => {
	it('registers the API when it is made, and again whenever it answers', async () => {
		forgetFaultTargets();
		const first = serve();
		const second = serve({ base: '/api/other' });
		expect(faultTargets()).toEqual(expect.arrayContaining([first, second]));

		forgetFaultTargets();
		expect(faultTargets()).toEqual([]);
		expect((await fetch('/api/other/tasks')).status).toBe(200);
		expect(faultTargets()).toEqual([second]);

		await sleep(5);
		const since = Date.now();
		const live = start({ transport: sse({ url: STREAM }) });
		await expect.poll(() => state(live).status).toBe('live');
		expect(faultTargets(since)).toEqual([first]);
		expect(faultTargets()).toEqual([first, second]);
	});

	it('registers an API whose socket gets a connection', async () => {
		const api = serve({ socketUrl: SOCKET });
		forgetFaultTargets();
		const live = start({ transport: websocket({ url: SOCKET }) });
		await expect.poll(() => state(live).status).toBe('live');
		expect(faultTargets()).toEqual([api]);
	});
});
