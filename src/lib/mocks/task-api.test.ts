// The mock kit (`svelte-realtime-kit/msw`) under MSW's Node server, driven by the kit's own
// adapters the way an app's tests would drive it. The mock's behaviour is API: every scenario is
// checked as its doc comment describes it, through the engine's state.
//
// In Node, MSW resolves a relative handler path against `location`, which does not exist: the
// handlers stay relative and match nothing. So the API gets an absolute `base`.
import { setupServer, type SetupServer } from 'msw/node';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
	createLiveSource,
	fallback,
	polling,
	sse,
	type ConnectionState,
	type LiveSourceHandle,
	type LiveSourceOptions,
	type PendingChange,
	type SseOptions,
	type TransportError
} from '../core/index.js';
import {
	createScenario,
	createTaskApi,
	scenarios,
	taskFixtures,
	type MockTask,
	type TaskApi
} from './index.js';

const BASE = 'http://localhost/api';
const LIST = `${BASE}/tasks`;
const STREAM = `${BASE}/tasks/stream`;
/** Small delays so that every retry takes milliseconds (the mock's `retry: 1000` and `Retry-After` included). */
const FAST = { baseDelay: 20, minDelay: 10, maxDelay: 50, maxServerDelay: 50 };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// ---- One MSW server per test, everything closed after it ----

let server: SetupServer | undefined;
const cleanups: Array<() => void> = [];
const unhandled: string[] = [];
const exceptions: unknown[] = [];
/** Every request MSW saw, with the status it answered. */
const log: Array<{ id: string; method: string; url: string; headers: Headers; status?: number }> =
	[];

/** Serves the mock API the way the docs say: `setupServer(...api.handlers)`. */
function serve<A extends TaskApi>(api: A): A {
	const msw = setupServer(...api.handlers);
	server = msw;
	msw.events.on('request:start', ({ request, requestId }) => {
		log.push({
			id: requestId,
			method: request.method,
			url: request.url,
			headers: new Headers(request.headers)
		});
	});
	msw.events.on('response:mocked', ({ response, requestId }) => {
		const entry = log.find((e) => e.id === requestId);
		if (entry) entry.status = response.status;
	});
	msw.events.on('request:unhandled', ({ request }) => {
		unhandled.push(`${request.method} ${request.url}`);
	});
	msw.events.on('unhandledException', ({ error }) => {
		exceptions.push(error);
	});
	msw.listen({ onUnhandledRequest: 'error' });
	return api;
}

afterEach(() => {
	for (const cleanup of cleanups.splice(0).reverse()) cleanup();
	server?.close();
	server = undefined;
	log.length = 0;
	expect(unhandled.splice(0), 'requests no handler matched').toEqual([]);
	expect(exceptions.splice(0), 'exceptions thrown by the handlers').toEqual([]);
});

// ---- The kit's adapters, as an app would configure them ----

const stream = (options: Partial<SseOptions> = {}) =>
	sse({ url: STREAM, mode: 'fetch', ...options });
const list = () => polling({ url: LIST, interval: 20 });

type Live = LiveSourceHandle<MockTask> & {
	/** Every status the connection went through, without repeats. */
	statuses: ConnectionState['status'][];
	/** Every error the connection reported, in order. */
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
	cleanups.push(() => live.stop());
	live.start();
	return Object.assign(live, { statuses, errors });
}

const state = (live: Live) => live.connection.getSnapshot();
const items = (live: Live) => live.store.getSnapshot().items;
const row = (live: Live, id: string) => live.store.getSnapshot().rows.find((r) => r.key === id);
const byId = (tasks: readonly MockTask[]) => [...tasks].sort((a, b) => a.id.localeCompare(b.id));
const task = (api: TaskApi, id: string) => api.tasks().find((t) => t.id === id);

/** The `commit` an app writes: PATCH the row with the change's id, so the stream's echo settles it. */
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

// ---- The stream as bytes, to check the wire format ----

interface Frame {
	id?: string;
	event?: string;
	data?: unknown;
	retry?: number;
	comment?: string;
}

function parseFrame(block: string): Frame {
	const frame: Frame = {};
	for (const line of block.split('\n')) {
		const colon = line.indexOf(':');
		const field = colon === -1 ? line : line.slice(0, colon);
		const raw = colon === -1 ? '' : line.slice(colon + 1);
		const value = raw.startsWith(' ') ? raw.slice(1) : raw;
		if (field === '') frame.comment = value;
		else if (field === 'id') frame.id = value;
		else if (field === 'event') frame.event = value;
		else if (field === 'data') frame.data = JSON.parse(value);
		else if (field === 'retry') frame.retry = Number(value);
		else throw new Error(`unexpected field in ${JSON.stringify(block)}`);
	}
	return frame;
}

/** Opens the stream with a plain `fetch` and reads it frame by frame. */
async function rawStream({ url = STREAM, headers = {} as Record<string, string> } = {}) {
	const controller = new AbortController();
	cleanups.push(() => controller.abort());
	const response = await fetch(url, {
		headers: { accept: 'text/event-stream', ...headers },
		signal: controller.signal
	});
	const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
	const frames: Frame[] = [];
	let buffer = '';
	let ended = false;
	return {
		response,
		frames,
		get ended() {
			return ended;
		},
		/** Reads until `count` frames arrived in all, or the stream ended; fails after a second. */
		async read(count = Number.POSITIVE_INFINITY): Promise<Frame[]> {
			const deadline = Date.now() + 1000;
			while (frames.length < count && !ended) {
				const chunk = await Promise.race([
					reader.read(),
					sleep(deadline - Date.now()).then(() => 'timeout' as const)
				]);
				if (chunk === 'timeout') {
					throw new Error(`${frames.length} of ${count} frames arrived: ${JSON.stringify(frames)}`);
				}
				if (chunk.done) {
					ended = true;
					break;
				}
				buffer += chunk.value;
				for (let end = buffer.indexOf('\n\n'); end !== -1; end = buffer.indexOf('\n\n')) {
					frames.push(parseFrame(buffer.slice(0, end)));
					buffer = buffer.slice(end + 2);
				}
			}
			return [...frames];
		},
		close: () => controller.abort()
	};
}

const fixture = (id: string) => taskFixtures.find((t) => t.id === id)!;

describe('GET {base}/tasks', () => {
	it('answers the list with an ETag, a 304 to If-None-Match, and a new ETag after each change', async () => {
		const api = serve(createTaskApi({ base: BASE }));
		const first = await fetch(LIST);
		expect(first.status).toBe(200);
		expect(first.headers.get('content-type')).toMatch(/^application\/json/);
		expect(await first.json()).toEqual(taskFixtures);
		const etag = first.headers.get('etag')!;
		expect(etag).toMatch(/^".+"$/);

		const unchanged = await fetch(LIST, { headers: { 'If-None-Match': etag } });
		expect(unchanged.status).toBe(304);
		expect(unchanged.headers.get('etag')).toBe(etag);
		expect(await unchanged.text()).toBe('');

		api.upsert({ id: 't-106', done: true });
		const changed = await fetch(LIST, { headers: { 'If-None-Match': etag } });
		expect(changed.status).toBe(200);
		const etag2 = changed.headers.get('etag')!;
		expect(etag2).not.toBe(etag);
		expect((await changed.json()).find((t: MockTask) => t.id === 't-106')).toMatchObject({
			done: true,
			version: 3
		});

		api.remove('t-104');
		const removed = await fetch(LIST, { headers: { 'If-None-Match': etag2 } });
		expect(removed.status).toBe(200);
		expect(removed.headers.get('etag')).not.toBe(etag2);
		expect((await removed.json()).map((t: MockTask) => t.id)).not.toContain('t-104');
		expect(api.requests.list).toBe(4);
	});

	it('polling() loads the list, then costs a 304 per unchanged poll, and picks up a change', async () => {
		const api = serve(createTaskApi({ base: BASE }));
		const live = start({ transport: list() });
		await expect.poll(() => items(live)).toEqual(taskFixtures);
		expect(state(live)).toMatchObject({ status: 'live', transport: 'polling' });
		await expect.poll(() => api.requests.list).toBeGreaterThanOrEqual(3);
		const statuses = () => log.filter((e) => e.url === LIST).map((e) => e.status);
		expect(statuses().slice(0, 3)).toEqual([200, 304, 304]);
		expect(log.filter((e) => e.url === LIST)[1]!.headers.get('if-none-match')).toMatch(/^".+"$/);

		api.upsert({ id: 't-106', title: 'Fix the flaky screenshot test, again' });
		await expect
			.poll(() => items(live).find((t) => t.id === 't-106')?.title)
			.toBe('Fix the flaky screenshot test, again');
		expect(statuses().filter((s) => s === 200)).toHaveLength(2);
	});
});

describe('PATCH {base}/tasks/:id', () => {
	it('applies the change, bumps the version and echoes the mutationId in the streamed upsert', async () => {
		const api = serve(createTaskApi({ base: BASE }));
		const raw = await rawStream();
		await raw.read(2);
		const response = await fetch(`${LIST}/t-106`, {
			method: 'PATCH',
			headers: { 'content-type': 'application/json' },
			// The server owns the version: a client's is ignored.
			body: JSON.stringify({ done: true, mutationId: 'm-42', version: 99 })
		});
		expect(response.status).toBe(200);
		const changed = (await response.json()) as MockTask;
		const { updatedAt, ...rest } = fixture('t-106');
		expect(changed).toMatchObject({ ...rest, done: true, version: 3 });
		expect(changed.updatedAt).not.toBe(updatedAt);
		expect(task(api, 't-106')).toEqual(changed);
		expect(api.requests.commit).toBe(1);

		const frames = await raw.read(3);
		expect(frames[2]).toEqual({
			id: '1',
			event: 'upsert',
			data: { item: changed, mutationId: 'm-42' }
		});
	});

	it('a change without a mutationId streams without one; an unknown id is a 404 and changes nothing', async () => {
		const api = serve(createTaskApi({ base: BASE }));
		const raw = await rawStream();
		await raw.read(2);
		const missing = await fetch(`${LIST}/t-999`, {
			method: 'PATCH',
			headers: { 'content-type': 'application/json' },
			body: JSON.stringify({ done: true })
		});
		expect(missing.status).toBe(404);
		expect(await missing.json()).toEqual({ error: 'not found' });
		expect(api.tasks()).toEqual(taskFixtures);

		const response = await fetch(`${LIST}/t-108`, {
			method: 'PATCH',
			headers: { 'content-type': 'application/json' },
			body: JSON.stringify({ title: 'Ship the release notes today' })
		});
		const changed = await response.json();
		const frames = await raw.read(3);
		expect(frames[2]).toEqual({ id: '1', event: 'upsert', data: { item: changed } });
		expect(api.requests.commit).toBe(2);
	});

	it('S19 a toggle committed by PATCH settles once on its echo, and every open stream sees it', async () => {
		const api = serve(createTaskApi({ base: BASE }));
		const mine = start({ transport: stream(), commit: patch });
		const theirs = start({ transport: stream() });
		await expect.poll(() => [items(mine).length, items(theirs).length]).toEqual([5, 5]);

		const result = await mine.store.toggle('t-106');
		expect(result).toMatchObject({ id: 't-106', done: true, version: 3 });
		await expect.poll(() => row(theirs, 't-106')?.item).toMatchObject({ done: true, version: 3 });
		await expect
			.poll(() => row(mine, 't-106'))
			.toMatchObject({
				status: 'settled',
				item: { done: true, version: 3 }
			});
		expect(task(api, 't-106')).toMatchObject({ done: true, version: 3 });
		expect(api.requests.commit).toBe(1);
	});
});

describe('GET {base}/tasks/stream', () => {
	it('sends `retry:` first, then the list as a `snapshot` event', async () => {
		serve(createTaskApi({ base: BASE }));
		const raw = await rawStream();
		expect(raw.response.status).toBe(200);
		expect(raw.response.headers.get('content-type')).toBe('text/event-stream');
		// The headers of the kit's own server helper, `sseResponse`.
		expect(raw.response.headers.get('cache-control')).toBe('no-cache');
		expect(raw.response.headers.get('x-accel-buffering')).toBe('no');
		expect(await raw.read(2)).toEqual([
			{ retry: 1000 },
			{ id: '0', event: 'snapshot', data: taskFixtures }
		]);
	});

	it('a snapshot carries the id of the last change, and `retry:` the configured delay', async () => {
		const api = serve(createTaskApi({ base: BASE, stream: { retry: 250 } }));
		api.upsert({ id: 't-106', done: true });
		const raw = await rawStream();
		expect(await raw.read(2)).toEqual([
			{ retry: 250 },
			{ id: '1', event: 'snapshot', data: api.tasks() }
		]);
	});

	it('pushes api.upsert and api.remove to every open stream', async () => {
		const api = serve(createTaskApi({ base: BASE }));
		const pages = [start({ transport: stream() }), start({ transport: stream() })];
		await expect.poll(() => pages.map((p) => items(p).length)).toEqual([5, 5]);
		expect(api.open().streams).toBe(2);

		const created = api.upsert({ id: 't-200', title: 'Plan the launch', actor: 'Ada Lovelace' });
		expect(created).toMatchObject({
			id: 't-200',
			title: 'Plan the launch',
			actor: 'Ada Lovelace',
			done: false,
			version: 1
		});
		api.upsert({ id: 't-107', done: false });
		api.remove('t-104');
		api.remove('t-999'); // unknown: nothing is sent

		for (const page of pages) {
			await expect.poll(() => byId(items(page))).toEqual(byId(api.tasks()));
			expect(items(page)[0]!.id).toBe('t-200');
			expect(page.connection.lastEventId).toBe('3');
		}
		expect(task(api, 't-107')).toMatchObject({ done: false, version: 6 });
	});

	it('S01 replays the events after Last-Event-ID (header or query parameter) instead of a snapshot', async () => {
		const api = serve(createTaskApi({ base: BASE }));
		api.upsert({ id: 't-106', done: true }); // id 1
		api.remove('t-104'); // id 2
		const created = api.upsert({ id: 't-200', title: 'Plan the launch' }); // id 3

		const resumed = await rawStream({ headers: { 'Last-Event-ID': '1' } });
		expect(await resumed.read(3)).toEqual([
			{ retry: 1000 },
			{ id: '2', event: 'remove', data: ['t-104'] },
			{ id: '3', event: 'upsert', data: { item: created } }
		]);
		// …and then stays open for live events.
		api.upsert({ id: 't-108', done: true });
		expect((await resumed.read(4))[3]).toMatchObject({ id: '4', event: 'upsert' });

		// EventSource cannot send the header: the kit's `lastEventId` query parameter works too.
		const viaParam = await rawStream({ url: `${STREAM}?lastEventId=3` });
		expect(await viaParam.read(2)).toEqual([
			{ retry: 1000 },
			{ id: '4', event: 'upsert', data: { item: task(api, 't-108') } }
		]);

		// An id the server does not know (another server, or too old): the whole list again.
		const unknown = await rawStream({ headers: { 'Last-Event-ID': '99' } });
		expect(await unknown.read(2)).toEqual([
			{ retry: 1000 },
			{ id: '4', event: 'snapshot', data: api.tasks() }
		]);
	});

	it('S01 the engine resumes with Last-Event-ID after the stream ends and misses nothing', async () => {
		const api = serve(createTaskApi({ base: BASE, stream: { retry: 20 } }));
		const live = start({ transport: stream() });
		await expect.poll(() => items(live).length).toBe(5);
		api.upsert({ id: 't-106', done: true });
		await expect.poll(() => live.connection.lastEventId).toBe('1');

		api.disconnectAll();
		// Changed while the client is away: only the replay can bring it.
		api.upsert({ id: 't-201', title: 'Made while away' });
		await expect.poll(() => items(live).map((t) => t.id)).toContain('t-201');
		expect(byId(items(live))).toEqual(byId(api.tasks()));
		const streams = log.filter((e) => e.url === STREAM);
		expect(streams.map((e) => e.headers.get('last-event-id'))).toEqual([null, '1']);
		expect(live.statuses).toEqual(['connecting', 'live', 'reconnecting', 'live']);
	});

	it('api.disconnectAll() ends every open stream; the engine reconnects', async () => {
		const api = serve(createTaskApi({ base: BASE, stream: { retry: 20 } }));
		const live = start({ transport: stream() });
		const raw = await rawStream();
		await raw.read(2);
		await expect.poll(() => state(live).status).toBe('live');
		expect(api.open().streams).toBe(2);

		api.disconnectAll();
		expect(api.open().streams).toBe(0);
		await raw.read();
		expect(raw.ended).toBe(true);
		await expect.poll(() => api.requests.stream).toBe(3);
		await expect.poll(() => state(live).status).toBe('live');
		expect(api.open().streams).toBe(1);
		expect(live.statuses).toEqual(['connecting', 'live', 'reconnecting', 'live']);
		expect(live.errors[0]).toMatchObject({ code: 'closed' });
	});

	it('S13 a stream the client closes is released: not counted, and later changes reach only open ones', async () => {
		// Heartbeats announce their interval: far enough apart that a busy machine stays live.
		const api = serve(createTaskApi({ base: BASE, stream: { heartbeat: 100 } }));
		const gone = start({ transport: stream() });
		const stays = start({ transport: stream() });
		await expect.poll(() => [state(gone).status, state(stays).status]).toEqual(['live', 'live']);
		expect(api.open().streams).toBe(2);

		gone.stop();
		await expect.poll(() => api.open().streams).toBe(1);
		expect(() => api.upsert({ id: 't-106', done: true })).not.toThrow();
		await sleep(250); // heartbeats for the closed stream would have been due
		expect(() => api.disconnectAll()).not.toThrow();
		await expect.poll(() => row(stays, 't-106')?.item.done).toBe(true);
	});

	it('S06 heartbeats are `ping` events announcing their interval, as sseResponse sends them, and keep a quiet stream live', async () => {
		// The engine learns the interval: silence beyond 1.5 intervals (300 ms here) is stale.
		const api = serve(createTaskApi({ base: BASE, stream: { heartbeat: 200 } }));
		const raw = await rawStream();
		const ping = { event: 'ping', data: { interval: 200 } };
		// the first follows the opening events at once, then one per interval
		expect((await raw.read(4)).slice(2)).toEqual([ping, ping]);
		expect(raw.frames.some((frame) => frame.comment !== undefined)).toBe(false);
		raw.close();

		const live = start({ transport: stream(), staleAfter: 10_000 });
		await expect.poll(() => state(live).status).toBe('live');
		const before = state(live).lastEventAt!;
		await sleep(700);
		expect(live.statuses).toEqual(['connecting', 'live']);
		expect(state(live).lastEventAt).toBeGreaterThan(before);
		expect(api.requests.stream).toBe(2);
	});

	it('S06 `stall` sends `retry:`, then nothing, not even its heartbeats; it is open until the server ends it', async () => {
		const api = serve(createTaskApi({ base: BASE, stream: { stall: true, heartbeat: 20 } }));
		const raw = await rawStream();
		await expect(raw.read(2)).rejects.toThrow(/1 of 2 frames/);
		expect(raw.frames).toEqual([{ retry: 1000 }]);
		api.upsert({ id: 't-106', done: true });
		expect(api.open().streams).toBe(1);
		api.disconnectAll();
		expect(api.open().streams).toBe(0);
		await raw.read();
		expect(raw.ended).toBe(true);
		expect(raw.frames).toEqual([{ retry: 1000 }]);
	});

	it('S06 no heartbeats unless asked for: `retry:` and the snapshot, then silence', async () => {
		serve(createTaskApi({ base: BASE }));
		const raw = await rawStream();
		await raw.read(2);
		await expect(raw.read(3)).rejects.toThrow(/2 of 3 frames/);
	});

	it('S01 `dropAfter` ends each stream cleanly after that many events', async () => {
		const api = serve(createTaskApi({ base: BASE, stream: { dropAfter: 2 } }));
		const raw = await rawStream();
		await raw.read(2);
		expect(raw.ended).toBe(false);
		api.upsert({ id: 't-106', done: true });
		expect(await raw.read()).toEqual([
			{ retry: 1000 },
			{ id: '0', event: 'snapshot', data: taskFixtures },
			{ id: '1', event: 'upsert', data: { item: task(api, 't-106') } }
		]);
		expect(raw.ended).toBe(true);
		expect(api.open().streams).toBe(0);
	});
});

describe('faults', () => {
	it('S03 `failTimes` + `failure` + `retryAfter`: that many failures with Retry-After, then answers', async () => {
		const api = serve(
			createTaskApi({ base: BASE, list: { failTimes: 2, failure: 429, retryAfter: 3 } })
		);
		const statuses: Array<[number, string | null]> = [];
		for (let i = 0; i < 3; i++) {
			const response = await fetch(LIST);
			statuses.push([response.status, response.headers.get('retry-after')]);
		}
		expect(statuses).toEqual([
			[429, '3'],
			[429, '3'],
			[200, null]
		]);
		expect(api.requests.list).toBe(3);
	});

	it('`failure` alone fails every request; 503 by default with `failTimes` alone', async () => {
		serve(
			createTaskApi({
				base: BASE,
				list: { failure: 500 },
				stream: { failTimes: 1 }
			})
		);
		for (let i = 0; i < 3; i++) expect((await fetch(LIST)).status).toBe(500);
		const headers = { accept: 'text/event-stream' };
		expect((await fetch(STREAM, { headers })).status).toBe(503);
		const raw = await rawStream();
		expect(raw.response.status).toBe(200);
	});

	it('S26 `failAfterEnd`: after the server ends its streams, that many attempts fail, then it answers', async () => {
		const api = serve(
			createTaskApi({ base: BASE, stream: { failAfterEnd: 2, failure: 500, retryAfter: 2 } })
		);
		const headers = { accept: 'text/event-stream' };
		const first = await rawStream();
		await first.read(2);
		api.disconnectAll();
		await first.read();
		expect(first.ended).toBe(true);
		const statuses: Array<[number, string | null]> = [];
		for (let i = 0; i < 2; i++) {
			const response = await fetch(STREAM, { headers });
			statuses.push([response.status, response.headers.get('retry-after')]);
		}
		expect(statuses).toEqual([
			[500, '2'],
			[500, '2']
		]);
		const back = await rawStream();
		expect(back.response.status).toBe(200);
		expect(api.requests.stream).toBe(4);
	});

	it('S04 `contentType` answers HTML: polling fails fast with a content-type error', async () => {
		serve(createTaskApi({ base: BASE, list: { contentType: 'text/html' } }));
		const live = start({ transport: list() });
		await expect.poll(() => state(live).status).toBe('failed');
		expect(state(live).error).toMatchObject({ code: 'content-type', retryable: false });
	});

	it('`latency` delays the answer', async () => {
		serve(createTaskApi({ base: BASE, list: { latency: 60 }, commit: { latency: 60 } }));
		let started = performance.now();
		await fetch(LIST);
		expect(performance.now() - started).toBeGreaterThanOrEqual(55);
		started = performance.now();
		await fetch(`${LIST}/t-106`, { method: 'PATCH', body: '{}' });
		expect(performance.now() - started).toBeGreaterThanOrEqual(55);
	});
});

describe('scenarios', () => {
	it('each returns a fresh API with its own data; `socketUrl` adds the socket', () => {
		for (const name of Object.keys(scenarios) as Array<keyof typeof scenarios>) {
			const a = scenarios[name]({ base: BASE });
			const b = createScenario(name, { base: BASE });
			expect(a.handlers, name).toHaveLength(3);
			a.upsert({ id: 't-300', title: 'Only in a' });
			expect(
				b.tasks().map((t) => t.id),
				name
			).not.toContain('t-300');
		}
		// (Each ws.link() keeps a listener on MSW's BroadcastChannel for good: only two here.)
		for (const name of ['healthy', 'nack'] as const) {
			const withSocket = scenarios[name]({ base: BASE, socketUrl: 'wss://realtime.test/tasks' });
			expect(withSocket.handlers, name).toHaveLength(4);
		}
	});

	it('createScenario throws for an unknown name, naming the valid ones', () => {
		expect(() => createScenario('nope' as never)).toThrow(TypeError);
		expect(() => createScenario('nope' as never)).toThrow(/"nope"/);
		for (const name of Object.keys(scenarios)) {
			expect(() => createScenario('nope' as never)).toThrow(new RegExp(`\\b${name}\\b`));
		}
	});

	it('S33 createScenario rejects a name that only Object.prototype has, naming it', () => {
		for (const name of [...Object.getOwnPropertyNames(Object.prototype), 'nope']) {
			expect(() => createScenario(name as never, { base: BASE }), name).toThrow(
				new RegExp(`^Unknown scenario ${JSON.stringify(name)}; expected one of healthy, `)
			);
		}
	});

	it('healthy: everything answers; the stream goes live with the list', async () => {
		serve(scenarios.healthy({ base: BASE }));
		const live = start({ transport: stream() });
		await expect.poll(() => items(live)).toEqual(taskFixtures);
		expect(state(live)).toMatchObject({ status: 'live', transport: 'sse', degraded: false });
		expect(live.statuses).toEqual(['connecting', 'live']);
	});

	it('S03 flaky: the stream fails twice with 503, then recovers (reconnecting, then live)', async () => {
		const api = serve(scenarios.flaky({ base: BASE }));
		const live = start({ transport: stream(), retry: { baseDelay: 20, minDelay: 10 } });
		await expect.poll(() => state(live).status).toBe('live');
		expect(live.statuses).toEqual(['connecting', 'reconnecting', 'live']);
		expect(live.errors.map((e) => [e.code, e.status])).toEqual([
			['http', 503],
			['http', 503]
		]);
		expect(api.requests.stream).toBe(3);
		await expect.poll(() => items(live).length).toBe(5);
	});

	it('S03 flaky: the list fails twice with 503, then polling recovers', async () => {
		const api = serve(scenarios.flaky({ base: BASE }));
		const live = start({ transport: list(), retry: { baseDelay: 20, minDelay: 10 } });
		await expect.poll(() => state(live).status).toBe('live');
		expect(live.statuses).toEqual(['connecting', 'reconnecting', 'live']);
		expect(live.errors.map((e) => e.status)).toEqual([503, 503]);
		expect(api.requests.list).toBeGreaterThanOrEqual(3);
		await expect.poll(() => items(live).length).toBe(5);
	});

	it('S05 sseOutage: the chain falls back to polling, then probes its way back to SSE', async () => {
		const api = serve(scenarios.sseOutage({ base: BASE }));
		const live = start({
			transport: fallback([stream(), list()], { probeInterval: 30 }),
			retry: { baseDelay: 20, minDelay: 10 }
		});
		await expect.poll(() => state(live).transport).toBe('polling');
		expect(state(live)).toMatchObject({ status: 'live', degraded: true });
		await expect.poll(() => state(live).transport).toBe('sse');
		expect(state(live)).toMatchObject({ status: 'live', degraded: false });
		expect(api.requests.stream).toBe(4);
		await expect.poll(() => items(live)).toEqual(taskFixtures);
	});

	it('S04 sseBlockedFallsBackToPolling: the stream answers HTML; the chain goes live on polling, degraded', async () => {
		const api = serve(scenarios.sseBlockedFallsBackToPolling({ base: BASE }));
		const portal = await fetch(STREAM, { headers: { accept: 'text/event-stream' } });
		expect(portal.status).toBe(200);
		expect(portal.headers.get('content-type')).toBe('text/html');
		expect(await portal.text()).toContain('<title>');

		const live = start({ transport: fallback(stream(), list()) });
		await expect.poll(() => state(live).status).toBe('live');
		expect(state(live)).toMatchObject({ transport: 'polling', degraded: true });
		expect(live.statuses).toEqual(['connecting', 'live']);
		await expect.poll(() => items(live)).toEqual(taskFixtures);
		expect(api.requests.stream).toBe(2);
	});

	it('S05 offline: the stream and the list fail at the network level, and keep being retried', async () => {
		const api = serve(scenarios.offline({ base: BASE }));
		await expect(fetch(LIST)).rejects.toThrow(TypeError);
		await expect(fetch(STREAM, { headers: { accept: 'text/event-stream' } })).rejects.toThrow(
			TypeError
		);
		// Changes are not affected.
		const change = await fetch(`${LIST}/t-106`, { method: 'PATCH', body: '{"done":true}' });
		expect(change.status).toBe(200);
		const streamed = start({ transport: stream() });
		const polled = start({ transport: list() });
		await expect.poll(() => api.requests.stream).toBeGreaterThanOrEqual(4);
		await expect.poll(() => api.requests.list).toBeGreaterThanOrEqual(4);
		for (const live of [streamed, polled]) {
			expect(live.statuses).toEqual(['connecting', 'reconnecting']);
			expect(live.errors.length).toBeGreaterThanOrEqual(2);
			expect(new Set(live.errors.map((e) => e.code))).toEqual(new Set(['network']));
			expect(live.store.getSnapshot()).toMatchObject({ loaded: false, items: [] });
		}
	});

	it('S06 stale: the stream opens, then stays silent: stale after staleAfter, then reconnected', async () => {
		const api = serve(scenarios.stale({ base: BASE }));
		const live = start({ transport: stream(), staleAfter: 100 });
		await expect.poll(() => live.statuses).toContain('stale');
		expect(live.statuses).toEqual(['connecting', 'live', 'stale']);
		await expect.poll(() => api.requests.stream).toBeGreaterThanOrEqual(2);
		expect(live.statuses.slice(0, 4)).toEqual(['connecting', 'live', 'stale', 'reconnecting']);
		expect(live.errors[0]).toMatchObject({ code: 'timeout' });
		expect(items(live)).toEqual([]);
	});

	it('S26 serverRestart: streams end after three events, the next two attempts fail, then all pages converge', async () => {
		const api = serve(scenarios.serverRestart({ base: BASE }));
		const pages = [1, 2, 3].map(() => start({ transport: stream(), commit: patch }));
		await expect.poll(() => pages.map((p) => state(p).status)).toEqual(['live', 'live', 'live']);
		expect(pages.map((p) => items(p).length)).toEqual([5, 5, 5]);
		expect(api.requests.stream).toBe(3);

		// With the snapshot, two changes make three events: every stream ends.
		api.upsert({ id: 't-106', done: true });
		api.upsert({ id: 't-200', title: 'Made before the restart' });
		expect(api.open().streams).toBe(0);
		await expect.poll(() => pages.every((p) => p.statuses.includes('reconnecting'))).toBe(true);
		// Changes made during the outage, on the server and from a page, are not lost.
		api.upsert({ id: 't-201', title: 'Made during the outage' });
		await pages[0]!.store.toggle('t-108');

		for (const page of pages) {
			await expect.poll(() => byId(items(page))).toEqual(byId(api.tasks()));
			await expect.poll(() => state(page).status).toBe('live');
		}
		expect(task(api, 't-108')).toMatchObject({ done: true });
		const refused = pages.flatMap((p) => p.errors).filter((e) => e.code === 'http');
		expect(refused.map((e) => [e.status, e.retryAfterMs])).toEqual([
			[503, 1000],
			[503, 1000]
		]);
	});

	it('loading: nothing ever answers: no data, status connecting', async () => {
		const api = serve(scenarios.loading({ base: BASE }));
		const streamed = start({ transport: stream() });
		const polled = start({ transport: list() });
		await expect.poll(() => [api.requests.stream, api.requests.list]).toEqual([1, 1]);
		await sleep(150);
		for (const live of [streamed, polled]) {
			expect(live.statuses).toEqual(['connecting']);
			expect(live.store.getSnapshot()).toMatchObject({ loaded: false, items: [] });
		}
		expect([api.requests.stream, api.requests.list]).toEqual([1, 1]);
	});

	it('empty: no tasks at all: loaded with 0 items', async () => {
		const api = serve(scenarios.empty({ base: BASE }));
		expect(api.tasks()).toEqual([]);
		const streamed = start({ transport: stream() });
		const polled = start({ transport: list() });
		for (const live of [streamed, polled]) {
			await expect.poll(() => live.store.getSnapshot().loaded).toBe(true);
			expect(state(live).status).toBe('live');
			expect(items(live)).toEqual([]);
		}
	});

	it('slow: every answer (list, stream, change) takes two seconds', async () => {
		vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
		cleanups.push(() => vi.useRealTimers());
		serve(scenarios.slow({ base: BASE }));
		const answered: string[] = [];
		void fetch(LIST).then(() => answered.push('list'));
		void fetch(STREAM, { headers: { accept: 'text/event-stream' } }).then((r) => {
			answered.push('stream');
			return r.body?.cancel();
		});
		void fetch(`${LIST}/t-106`, { method: 'PATCH', body: '{}' }).then(() =>
			answered.push('commit')
		);
		await vi.advanceTimersByTimeAsync(1990);
		expect(answered).toEqual([]);
		await vi.advanceTimersByTimeAsync(20);
		await vi.waitFor(() => expect(answered.sort()).toEqual(['commit', 'list', 'stream']));
	});

	it('S18 nack: a toggle committed by PATCH is refused (409) and rolled back, marked failed', async () => {
		const api = serve(scenarios.nack({ base: BASE }));
		const live = start({ transport: stream(), commit: patch });
		await expect.poll(() => items(live).length).toBe(5);
		await expect(live.store.toggle('t-106')).rejects.toThrow(/409/);
		live.store.flush();
		expect(row(live, 't-106')).toMatchObject({ status: 'failed', item: { done: false } });
		expect(task(api, 't-106')).toEqual(fixture('t-106'));
		expect(api.requests.commit).toBe(1);
	});

	it('S18 stalledAck: a change is never acknowledged; the toggle times out and rolls back', async () => {
		const api = serve(scenarios.stalledAck({ base: BASE }));
		const live = start({ transport: stream(), commit: patch, commitTimeout: 100 });
		await expect.poll(() => items(live).length).toBe(5);
		const toggled = live.store.toggle('t-106');
		live.store.flush();
		expect(row(live, 't-106')).toMatchObject({ status: 'pending', item: { done: true } });
		await expect(toggled).rejects.toThrow();
		live.store.flush();
		expect(row(live, 't-106')).toMatchObject({ status: 'failed', item: { done: false } });
		expect(task(api, 't-106')).toEqual(fixture('t-106'));
		expect(api.requests.commit).toBe(1);
	});

	it('S02 closedByServer: the stream answers 204: closed, no retry loop', async () => {
		const api = serve(scenarios.closedByServer({ base: BASE }));
		const live = start({ transport: stream() });
		await expect.poll(() => state(live).status).toBe('closed');
		await sleep(100);
		expect(live.statuses).toEqual(['connecting', 'closed']);
		expect(api.requests.stream).toBe(1);
	});

	it('S03 unauthorized: the stream answers 401: failed, no retry', async () => {
		const api = serve(scenarios.unauthorized({ base: BASE }));
		const live = start({ transport: stream() });
		await expect.poll(() => state(live).status).toBe('failed');
		expect(state(live).error).toMatchObject({ code: 'http', status: 401, retryable: false });
		await sleep(100);
		expect(api.requests.stream).toBe(1);
	});
});
