import { describe, expect, it, vi } from 'vitest';
import {
	createEventLog,
	sseResponse,
	type EventLog,
	type LoggedEvent,
	type SseEvent,
	type SseResponseOptions
} from './index.js';

const URL_ = 'http://localhost/events';

/** Interval functions that count what is live and fire on demand. */
function fakeTimers() {
	const live = new Map<number, { cb: () => void; ms: number }>();
	let next = 0;
	return {
		live,
		setInterval: vi.fn((cb: () => void, ms: number) => {
			live.set(++next, { cb, ms });
			return next;
		}),
		clearInterval: (handle: unknown) => void live.delete(handle as number),
		fire: () => [...live.values()].forEach(({ cb }) => cb())
	};
}

type Frame = { id?: string; event?: string; data?: string; retry?: string; comment?: string };

function parse(text: string): Frame[] {
	return text
		.split('\n\n')
		.filter(Boolean)
		.map((block) => {
			const frame: Frame = {};
			for (const line of block.split('\n')) {
				if (line.startsWith(':')) frame.comment = line.slice(1).trim();
				else {
					const [field, value] = [
						line.slice(0, line.indexOf(': ')),
						line.slice(line.indexOf(': ') + 2)
					];
					if (field === 'data')
						frame.data = frame.data === undefined ? value : `${frame.data}\n${value}`;
					else frame[field as 'id' | 'event' | 'retry'] = value;
				}
			}
			return frame;
		});
}

/** Reads the body in the background; `read()` returns everything received so far. */
function client(response: Response) {
	const reader = response.body!.getReader();
	const decoder = new TextDecoder();
	const state = { text: '', done: false, error: undefined as unknown };
	void (async () => {
		for (;;) {
			const { done, value } = await reader.read();
			if (done) return void (state.done = true);
			state.text += decoder.decode(value, { stream: true });
		}
	})().catch((error: unknown) => (state.error = error));
	const read = async () => {
		await new Promise((resolve) => setTimeout(resolve, 0));
		const frames = parse(state.text);
		const pings = frames.filter((f) => f.event === 'ping');
		// `events`: what the application sees, heartbeats left out
		const events = frames.filter((f) => f.data !== undefined && f.event !== 'ping');
		return { ...state, frames, events, pings };
	};
	return { reader, read };
}

const open = (options: Partial<SseResponseOptions> & { lastEventId?: string; url?: string }) => {
	const timers = fakeTimers();
	const { lastEventId, url = URL_, ...rest } = options;
	const request = new Request(url, {
		headers: lastEventId !== undefined ? { 'Last-Event-ID': lastEventId } : {}
	});
	const response = sseResponse({ request, timers, ...rest });
	return { response, timers, ...client(response) };
};

const ids = (frames: Frame[]) => frames.map((f) => f.id);

describe('createEventLog', () => {
	it('assigns increasing ids, keeps at most `limit` events and replays what follows an id', () => {
		const log = createEventLog({ limit: 3 });
		expect(log.lastId).toBe(0);
		for (let i = 1; i <= 5; i++) expect(log.append({ event: 'upsert', data: i }).id).toBe(i);
		expect(log.lastId).toBe(5);
		expect(log.since(2)?.map((e) => e.data)).toEqual([3, 4, 5]);
		expect(log.since('4')).toEqual([{ id: 5, event: 'upsert', data: 5 }]);
		expect(log.since(5)).toEqual([]);
		expect(log.since(1)).toBeUndefined(); // evicted: event 2 is gone
		for (const garbage of [6, -1, 2.5, 'abc', '', ' 3', '3a', '1e1']) {
			expect(log.since(garbage)).toBeUndefined();
		}
	});

	it('starts after `startId`, and knows an empty log is up to date only at that id', () => {
		const log = createEventLog({ startId: 100 });
		expect(log.lastId).toBe(100);
		expect(log.since(100)).toEqual([]);
		expect(log.since(99)).toBeUndefined();
		expect(log.append({ data: 'x' }).id).toBe(101);
		expect(log.since(100)?.map((e) => e.id)).toEqual([101]);
	});

	it('tells every listener until it unsubscribes, even when one throws', () => {
		const log = createEventLog();
		const seen: number[] = [];
		const broken = log.subscribe(() => {
			throw new Error('listener broke');
		});
		const stop = log.subscribe((e) => seen.push(e.id));
		expect(log.listeners).toBe(2);
		expect(() => log.append({ data: 1 })).toThrow('listener broke');
		expect(seen).toEqual([1]);
		expect(log.lastId).toBe(1);
		broken();
		log.append({ data: 2 });
		stop();
		stop();
		log.append({ data: 3 });
		expect(seen).toEqual([1, 2]);
		expect(log.listeners).toBe(0);
	});

	it('refuses a bad limit or startId, naming the option and the value', () => {
		expect(() => createEventLog({ limit: 0 })).toThrow(TypeError);
		expect(() => createEventLog({ limit: 0 })).toThrow(/`limit`.*got 0/);
		expect(() => createEventLog({ limit: 2.5 })).toThrow(/`limit`.*got 2\.5/);
		expect(() => createEventLog({ limit: '10' as unknown as number })).toThrow(/`limit`.*got "10"/);
		expect(() => createEventLog({ startId: -1 })).toThrow(/`startId`.*got -1/);
	});

	it('refuses an event name with a line break or NUL, or data that is not JSON, leaving the log alone', () => {
		const log = createEventLog();
		const listener = vi.fn();
		log.subscribe(listener);
		expect(() => log.append({ event: 'a\nb', data: 1 })).toThrow(TypeError);
		expect(() => log.append({ event: 'a\nb', data: 1 })).toThrow(/`event`.*"a\\nb"/);
		expect(() => log.append({ event: 'a\0', data: 1 })).toThrow(/`event`/);
		expect(() => log.append({ data: 1n })).toThrow(TypeError);
		expect(log.lastId).toBe(0);
		expect(log.since(0)).toEqual([]);
		expect(listener).not.toHaveBeenCalled();
	});
});

/**
 * A log kept elsewhere (as on Redis): string ids `e:<n>`, a replay that answers when the test says,
 * and an ordering of its own.
 */
function remoteLog() {
	const events: LoggedEvent<string>[] = [];
	const listeners = new Set<(event: LoggedEvent<string>) => void>();
	const replies: Array<() => void> = [];
	let available = true;
	let failing: Error | undefined;
	const n = (id: string | number) => Number(String(id).slice(2));
	const log: EventLog<LoggedEvent<string>> & {
		push(event: Omit<SseEvent, 'id'>): LoggedEvent<string>;
		store(event: Omit<SseEvent, 'id'>): LoggedEvent<string>;
		tell(event: LoggedEvent<string>): void;
		answer(): void;
		available: boolean;
		fail(error: Error): void;
	} = {
		async append(event) {
			return log.push(event);
		},
		push(event) {
			const logged = log.store(event);
			for (const listener of listeners) listener(logged);
			return logged;
		},
		store(event) {
			const logged = { ...event, id: `e:${events.length + 1}` };
			events.push(logged);
			return logged;
		},
		tell: (event) => listeners.forEach((listener) => listener(event)),
		since(lastEventId) {
			return new Promise((resolve, reject) =>
				replies.push(() =>
					failing
						? reject(failing)
						: resolve(
								/^e:\d+$/.test(String(lastEventId)) ? events.slice(n(lastEventId)) : undefined
							)
				)
			);
		},
		answer: () => replies.shift()?.(),
		subscribe(listener) {
			listeners.add(listener);
			return () => void listeners.delete(listener);
		},
		get lastId() {
			return `e:${events.length}`;
		},
		epoch: 'e',
		get listeners() {
			return listeners.size;
		},
		get available() {
			return available;
		},
		set available(value) {
			available = value;
		},
		fail: (error) => void (failing = error),
		compare: (a, b) => n(a) - n(b)
	};
	return log;
}

describe('sseResponse with a log kept elsewhere', () => {
	it("S37 holds live events back while the replay is fetched, dropping those it covers by the log's order", async () => {
		const log = remoteLog();
		for (let i = 1; i <= 3; i++) log.push({ event: 'upsert', data: i });
		const initial = vi.fn(() => ({ id: log.lastId, event: 'snapshot', data: [] }));
		const { read } = open({ log, initial, lastEventId: 'e:1' });
		// Appended after the stream subscribed and before the replay was read: in both.
		log.push({ event: 'upsert', data: 4 });
		expect((await read()).text).toBe('');
		log.answer();
		log.push({ event: 'upsert', data: 5 });
		const { events } = await read();
		expect(initial).not.toHaveBeenCalled();
		expect(ids(events)).toEqual(['e:2', 'e:3', 'e:4', 'e:5']);
	});

	it("S37 a reader behind the replay: what it delivers later, up to the replay's end, is not sent twice", async () => {
		const log = remoteLog();
		log.push({ data: 1 });
		const { read } = open({ log, initial: () => undefined, lastEventId: 'e:1' });
		// Appended elsewhere: in the store, where the replay reads them, before this process's
		// reader has delivered them.
		const late = [log.store({ data: 2 }), log.store({ data: 3 })];
		log.answer();
		expect(ids((await read()).events)).toEqual(['e:2', 'e:3']);
		for (const event of late) log.tell(event);
		log.push({ data: 4 });
		log.tell({ id: 'e:2', event: 'resync', data: { reason: 'lost' } });
		expect(ids((await read()).events)).toEqual(['e:2', 'e:3', 'e:4', 'e:2']);
	});

	it('S38 a resync event always goes out, even one the replay seems to cover', async () => {
		const log = remoteLog();
		log.push({ data: 1 });
		log.push({ data: 2 });
		const { read } = open({ log, initial: () => undefined, lastEventId: 'e:0' });
		log.tell({ id: 'e:1', event: 'resync', data: { reason: 'epoch' } });
		log.answer();
		const { events } = await read();
		expect(events.map((e) => `${e.id} ${e.event ?? ''}`)).toEqual(['e:1 ', 'e:2 ', 'e:1 resync']);
	});

	it('S39 sends the snapshot for an id the log does not know, after it answers', async () => {
		const log = remoteLog();
		log.push({ data: 1 });
		const { read } = open({
			log,
			initial: () => ({ id: log.lastId, event: 'snapshot', data: 'all' }),
			lastEventId: 'garbage'
		});
		log.answer();
		const { events } = await read();
		expect(events.map((e) => `${e.id} ${e.event}`)).toEqual(['e:1 snapshot']);
	});

	it('ends the stream with the error when initial() fails after an async "snapshot" answer', async () => {
		const log = remoteLog();
		const { read, timers } = open({
			log,
			initial: () => ({ event: 'snapshot', data: { n: 1n } }),
			lastEventId: 'garbage'
		});
		log.answer();
		const state = await read();
		expect(String(state.error)).toMatch(/BigInt/);
		expect(log.listeners).toBe(0);
		expect(timers.live.size).toBe(0);
	});

	it('ends the stream cleanly when the replay cannot be read, leaving nothing subscribed', async () => {
		const log = remoteLog();
		log.fail(new Error('connection lost'));
		const { read, timers } = open({ log, initial: () => undefined, lastEventId: 'e:0' });
		log.answer();
		const state = await read();
		expect(state.done).toBe(true);
		expect(state.error).toBeUndefined();
		expect(state.text).not.toContain('connection lost');
		expect(log.listeners).toBe(0);
		expect(timers.live.size).toBe(0);
	});

	it('answers 503 with Retry-After while the log is unavailable, subscribing nothing', async () => {
		const log = remoteLog();
		log.available = false;
		const initial = vi.fn(() => undefined);
		const response = sseResponse({ request: new Request(URL_), log, initial });
		expect(response.status).toBe(503);
		expect(response.headers.get('Retry-After')).toBe('2');
		expect(response.headers.get('Content-Type')).toMatch(/^text\/plain/);
		expect(await response.text()).toMatch(/unavailable/);
		const later = sseResponse({
			request: new Request(URL_),
			log,
			retryAfter: 4.2,
			headers: { 'X-Node': 'b' }
		});
		expect([later.headers.get('Retry-After'), later.headers.get('X-Node')]).toEqual(['5', 'b']);
		expect(initial).not.toHaveBeenCalled();
		expect(log.listeners).toBe(0);
		log.available = true;
		const opened = sseResponse({ request: new Request(URL_), log, heartbeat: 0 });
		expect(opened.status).toBe(200);
		await opened.body!.cancel();
		expect(log.listeners).toBe(0);
		expect(() => sseResponse({ request: new Request(URL_), log, retryAfter: -1 })).toThrow(
			/`retryAfter`/
		);
	});
});

describe('sseResponse', () => {
	it('answers with event-stream headers, merging extra ones', () => {
		const { response } = open({
			log: createEventLog(),
			headers: { 'X-Trace': 'abc', 'Cache-Control': 'no-store' }
		});
		expect(response.status).toBe(200);
		expect(response.headers.get('content-type')).toBe('text/event-stream');
		expect(response.headers.get('x-accel-buffering')).toBe('no');
		expect(response.headers.get('connection')).toBeNull();
		expect(response.headers.get('x-trace')).toBe('abc');
		expect(response.headers.get('cache-control')).toBe('no-store');
		const plain = open({ log: createEventLog() }).response;
		expect(plain.headers.get('cache-control')).toBe('no-cache');
	});

	it('sends retry, the initial snapshot, then live events, formatted exactly', async () => {
		const log = createEventLog();
		const list = [{ id: 'a' }];
		const { read } = open({
			log,
			retry: 2000,
			initial: () => ({ id: log.lastId, event: 'snapshot', data: list })
		});
		log.append({ event: 'upsert', data: { id: 'b', title: 'two\nlines' } });
		log.append({ data: 'plain' });
		expect((await read()).text).toBe(
			'retry: 2000\n\n' +
				'id: 0\nevent: snapshot\ndata: [{"id":"a"}]\n\n' +
				'event: ping\ndata: {"interval":15000}\n\n' +
				'id: 1\nevent: upsert\ndata: {"id":"b","title":"two\\nlines"}\n\n' +
				'id: 2\ndata: plain\n\n'
		);
	});

	it('sends the events of one turn as one chunk, and what was written before the end', async () => {
		const log = createEventLog();
		const serverStop = new AbortController();
		const response = sseResponse({
			request: new Request(URL_),
			log,
			heartbeat: 0,
			signal: serverStop.signal,
			timers: fakeTimers()
		});
		const reader = response.body!.getReader();
		const decoder = new TextDecoder();
		expect(decoder.decode((await reader.read()).value)).toBe(': ping\n\n');
		for (let i = 1; i <= 3; i++) log.append({ data: i });
		const burst = decoder.decode((await reader.read()).value);
		expect(parse(burst).map((f) => f.id)).toEqual(['1', '2', '3']);
		log.append({ data: 4 });
		serverStop.abort();
		expect(parse(decoder.decode((await reader.read()).value)).map((f) => f.id)).toEqual(['4']);
		expect((await reader.read()).done).toBe(true);
	});

	it('splits multi-line string data into data lines, and sends undefined data as an empty line', async () => {
		let send!: (event: SseEvent) => void;
		const { read } = open({ subscribe: (s) => ((send = s), () => {}) });
		send({ data: 'one\ntwo\r\nthree\rfour' });
		send({ event: 'reset', data: undefined });
		send({ id: 'abc', data: '' });
		const { text, events } = await read();
		expect(text).toBe(
			'event: ping\ndata: {"interval":15000}\n\n' +
				'data: one\ndata: two\ndata: three\ndata: four\n\n' +
				'event: reset\ndata: \n\n' +
				'id: abc\ndata: \n\n'
		);
		expect(events[0]!.data).toBe('one\ntwo\nthree\nfour');
	});

	it('S01 replays the events after the Last-Event-ID header, in order, without the snapshot', async () => {
		const log = createEventLog();
		for (let i = 1; i <= 3; i++) log.append({ event: 'upsert', data: i });
		const initial = vi.fn(() => ({ event: 'snapshot', data: [] }));
		const { read } = open({ log, initial, lastEventId: '1' });
		log.append({ event: 'upsert', data: 4 });
		const { events } = await read();
		expect(initial).not.toHaveBeenCalled();
		expect(ids(events)).toEqual(['2', '3', '4']);
		expect(events.map((e) => e.data)).toEqual(['2', '3', '4']);
	});

	it('S01 replays from the lastEventId query parameter; the header wins over it', async () => {
		const log = createEventLog();
		for (let i = 1; i <= 3; i++) log.append({ data: i });
		const initial = () => ({ event: 'snapshot', data: [] });
		const query = open({ log, initial, url: `${URL_}?lastEventId=1` });
		expect(ids((await query.read()).events)).toEqual(['2', '3']);
		const both = open({ log, initial, url: `${URL_}?lastEventId=0`, lastEventId: '2' });
		expect(ids((await both.read()).events)).toEqual(['3']);
	});

	it('sends the initial snapshot for an unknown, evicted or garbage id, and without a log', async () => {
		const log = createEventLog({ limit: 2 });
		for (let i = 1; i <= 4; i++) log.append({ data: i });
		const initial = () => ({ event: 'snapshot', data: 'all' });
		for (const lastEventId of ['1', '99', 'abc']) {
			const { events } = await open({ log, initial, lastEventId }).read();
			expect(events.map((e) => e.event)).toEqual(['snapshot']);
		}
		const { events } = await open({ log, initial, lastEventId: '2' }).read();
		expect(ids(events)).toEqual(['3', '4']);
		const custom = open({ subscribe: () => () => {}, initial, lastEventId: '2' });
		expect((await custom.read()).events.map((e) => e.event)).toEqual(['snapshot']);
	});

	it('sends nothing to replay to an up-to-date client, but a first byte so that the stream opens', async () => {
		const log = createEventLog();
		log.append({ data: 1 });
		const initial = vi.fn(() => undefined);
		const { read } = open({ log, initial, lastEventId: '1' });
		expect((await read()).text).toBe('event: ping\ndata: {"interval":15000}\n\n');
		expect(initial).not.toHaveBeenCalled();
		// without a heartbeat to announce, a comment
		const quiet = open({ log, initial, lastEventId: '1', heartbeat: 0 });
		expect((await quiet.read()).text).toBe(': ping\n\n');
	});

	it('S01 events that initial() appends are sent once: folded into a snapshot with their id, else after it', async () => {
		const log = createEventLog();
		const withId = open({
			log,
			initial: () => {
				log.append({ event: 'upsert', data: 'during' });
				return { id: log.lastId, event: 'snapshot', data: 'with during' };
			}
		});
		log.append({ event: 'upsert', data: 'after' });
		expect((await withId.read()).events).toEqual([
			{ id: '1', event: 'snapshot', data: 'with during' },
			{ id: '2', event: 'upsert', data: 'after' }
		]);
		const withoutId = open({
			log,
			initial: () => {
				log.append({ event: 'upsert', data: 'during' });
				return [{ event: 'snapshot', data: 'list' }];
			}
		});
		log.append({ event: 'upsert', data: 'after' });
		const { events } = await withoutId.read();
		expect(events.map((e) => e.data)).toEqual(['list', 'during', 'after']);
		expect(ids(events)).toEqual([undefined, '3', '4']);
	});

	it('S01 an async initial() holds back live events until it is written, dropping those it covers', async () => {
		const log = createEventLog();
		let resolve!: (events: SseEvent[]) => void;
		const { read } = open({ log, initial: () => new Promise((r) => (resolve = r)) });
		log.append({ data: 'a' });
		log.append({ data: 'b' });
		expect((await read()).text).toBe('');
		resolve([{ id: 1, event: 'snapshot', data: 'with a' }]);
		log.append({ data: 'c' });
		expect(ids((await read()).events)).toEqual(['1', '2', '3']);
		expect((await read()).events[0]!.event).toBe('snapshot');
	});

	it('sends events a custom source emits while subscribing after the initial ones', async () => {
		const { read } = open({
			subscribe: (send) => (send({ event: 'early', data: 1 }), () => {}),
			initial: () => ({ event: 'snapshot', data: 0 })
		});
		expect((await read()).events.map((e) => e.event)).toEqual(['snapshot', 'early']);
	});

	it('announces its heartbeat after the opening events, then sends a `ping` event every interval (15 s by default)', async () => {
		const log = createEventLog();
		const { read, timers } = open({ log, initial: () => ({ event: 'snapshot', data: [] }) });
		expect(timers.setInterval).toHaveBeenCalledTimes(1);
		expect([...timers.live.values()][0]!.ms).toBe(15_000);
		timers.fire();
		timers.fire();
		const ping = { event: 'ping', data: '{"interval":15000}' };
		expect((await read()).frames).toEqual([{ event: 'snapshot', data: '[]' }, ping, ping, ping]);
		const custom = open({ log, heartbeat: 500 });
		expect([...custom.timers.live.values()][0]!.ms).toBe(500);
		expect((await custom.read()).pings).toEqual([{ event: 'ping', data: '{"interval":500}' }]);
	});

	it('creates no interval with heartbeat 0', () => {
		const { timers } = open({ log: createEventLog(), heartbeat: 0 });
		expect(timers.setInterval).not.toHaveBeenCalled();
		expect(timers.live.size).toBe(0);
	});

	it('S13 a cancelled stream leaves no timers or subscriptions', async () => {
		const log = createEventLog();
		const timers = fakeTimers();
		const response = sseResponse({ request: new Request(URL_), log, timers });
		expect(log.listeners).toBe(1);
		expect(timers.live.size).toBe(1);
		await response.body!.cancel();
		expect(log.listeners).toBe(0);
		expect(timers.live.size).toBe(0);
		expect(() => log.append({ data: 'later' })).not.toThrow();
	});

	it('S13 a stream the reader cancels mid-way is released too', async () => {
		const log = createEventLog();
		const { reader, read, timers } = open({ log, initial: () => ({ data: 'snapshot' }) });
		expect((await read()).events).toHaveLength(1);
		await reader.cancel();
		expect(log.listeners).toBe(0);
		expect(timers.live.size).toBe(0);
		expect(() => log.append({ data: 'later' })).not.toThrow();
	});

	it('S13 an aborted request ends the stream and releases everything', async () => {
		const log = createEventLog();
		const aborter = new AbortController();
		const request = new Request(URL_, { signal: aborter.signal });
		const removed = vi.spyOn(request.signal, 'removeEventListener');
		const timers = fakeTimers();
		const { read } = client(sseResponse({ request, log, timers, initial: () => ({ data: 1 }) }));
		aborter.abort();
		expect(log.listeners).toBe(0);
		expect(timers.live.size).toBe(0);
		expect(removed).toHaveBeenCalledWith('abort', expect.any(Function));
		expect(() => log.append({ data: 'later' })).not.toThrow();
		const { done, events } = await read();
		expect(done).toBe(true);
		expect(events.map((e) => e.data)).toEqual(['1']);
	});

	it('S13 a request aborted already gets a stream that ends at once, with nothing subscribed', async () => {
		const log = createEventLog();
		const initial = vi.fn(() => ({ data: 1 }));
		const subscribe = vi.fn(() => () => {});
		const request = new Request(URL_, { signal: AbortSignal.abort() });
		const timers = fakeTimers();
		const logged = client(sseResponse({ request, log, timers, initial }));
		const custom = client(sseResponse({ request, subscribe, timers }));
		expect(log.listeners).toBe(0);
		expect(subscribe).not.toHaveBeenCalled();
		expect(initial).not.toHaveBeenCalled();
		expect(timers.setInterval).not.toHaveBeenCalled();
		for (const { read } of [logged, custom])
			expect(await read()).toMatchObject({ done: true, text: '' });
	});

	it('S13 a custom source is unsubscribed exactly once, and later sends are ignored', async () => {
		const aborter = new AbortController();
		const unsubscribe = vi.fn();
		let send!: (event: SseEvent) => void;
		const response = sseResponse({
			request: new Request(URL_, { signal: aborter.signal }),
			subscribe: (s) => ((send = s), unsubscribe),
			timers: fakeTimers()
		});
		aborter.abort();
		await response.body!.cancel();
		expect(unsubscribe).toHaveBeenCalledTimes(1);
		expect(() => send({ data: 'late' })).not.toThrow();
	});

	it('ends the stream with the error when an async initial() rejects, releasing everything', async () => {
		const log = createEventLog();
		const { read, timers } = open({ log, initial: () => Promise.reject(new Error('db down')) });
		const { error } = await read();
		expect(error).toEqual(new Error('db down'));
		expect(log.listeners).toBe(0);
		expect(timers.live.size).toBe(0);
	});

	it('throws when initial() throws or gives a bad event, leaving nothing subscribed', () => {
		const log = createEventLog();
		const timers = fakeTimers();
		const request = new Request(URL_);
		const failing = () => {
			throw new Error('no list');
		};
		expect(() => sseResponse({ request, log, timers, initial: failing })).toThrow('no list');
		expect(() =>
			sseResponse({ request, log, timers, initial: () => ({ id: '1\n2', data: [] }) })
		).toThrow(/`id`.*"1\\n2"/);
		expect(log.listeners).toBe(0);
		expect(timers.live.size).toBe(0);
	});

	it('S01 `signal` ends every stream it is given cleanly, releasing each; the client resumes with its last id', async () => {
		const log = createEventLog();
		const server = new AbortController();
		const initial = () => ({ id: log.lastId, event: 'snapshot', data: [] });
		const a = open({ log, initial, signal: server.signal });
		const b = open({ log, initial, signal: server.signal, lastEventId: '0' });
		const removed = vi.spyOn(server.signal, 'removeEventListener');
		log.append({ event: 'upsert', data: 1 });
		expect(log.listeners).toBe(2);
		server.abort();
		expect(log.listeners).toBe(0);
		expect(removed).toHaveBeenCalledTimes(2);
		for (const { read, timers } of [a, b]) {
			const { done, error, events } = await read();
			expect({ done, error }).toEqual({ done: true, error: undefined });
			expect(events.at(-1)).toMatchObject({ id: '1', event: 'upsert' });
			expect(timers.live.size).toBe(0);
		}
		// A stream opened with a signal aborted already ends at once, subscribing nothing.
		const late = open({ log, initial, signal: server.signal });
		expect(await late.read()).toMatchObject({ done: true, text: '' });
		expect(log.listeners).toBe(0);
	});

	it('S01 `onSent` sees every event written (replayed, initial, held back, live) and can end the stream after some', async () => {
		const log = createEventLog();
		log.append({ event: 'upsert', data: 'a' }); // 1
		log.append({ event: 'upsert', data: 'b' }); // 2
		const seen: Array<[string | number | undefined, number]> = [];
		const onSent = vi.fn((event: SseEvent, stream: { count: number; end(): void }) => {
			seen.push([event.id, stream.count]);
			if (stream.count === 3) stream.end();
		});
		const replayed = open({ log, onSent, lastEventId: '0' });
		log.append({ event: 'upsert', data: 'c' }); // 3: the third event, then the end
		log.append({ event: 'upsert', data: 'd' }); // not sent
		const { done, events, pings } = await replayed.read();
		expect(seen).toEqual([
			[1, 1],
			[2, 2],
			[3, 3]
		]);
		expect({ done, ids: ids(events) }).toEqual({ done: true, ids: ['1', '2', '3'] });
		expect(pings).toHaveLength(1); // heartbeats are not counted
		expect(log.listeners).toBe(0);
		expect(replayed.timers.live.size).toBe(0);

		// Ended by the first event: `initial` alone is written, then the stream closes.
		const once = open({
			log,
			initial: () => ({ id: log.lastId, event: 'snapshot', data: [] }),
			onSent: (_event, stream) => stream.end(),
			heartbeat: 0
		});
		expect(await once.read()).toMatchObject({ done: true, events: [{ event: 'snapshot' }] });
		expect(log.listeners).toBe(0);
	});

	it('ends the stream with the error that `onSent` throws, releasing everything', async () => {
		const log = createEventLog();
		const { read, timers } = open({
			log,
			onSent: () => {
				throw new Error('metrics down');
			}
		});
		expect(() => log.append({ data: 1 })).not.toThrow();
		expect((await read()).error).toEqual(new Error('metrics down'));
		expect(log.listeners).toBe(0);
		expect(timers.live.size).toBe(0);
	});

	it('refuses bad options with a TypeError naming the option and the value', () => {
		const request = new Request(URL_);
		const log = createEventLog();
		const subscribe = () => () => {};
		expect(() => sseResponse({ request })).toThrow(TypeError);
		expect(() => sseResponse({ request })).toThrow(/`log` and `subscribe`.*got neither/);
		expect(() => sseResponse({ request, log, subscribe })).toThrow(
			/`log` and `subscribe`.*got both/
		);
		expect(() => sseResponse({ request, log, heartbeat: -1 })).toThrow(/`heartbeat`.*got -1/);
		expect(() => sseResponse({ request, log, heartbeat: NaN })).toThrow(/`heartbeat`.*got NaN/);
		expect(() => sseResponse({ request, log, heartbeat: '5' as unknown as number })).toThrow(
			/`heartbeat`.*got "5"/
		);
		expect(() => sseResponse({ request, log, retry: -5 })).toThrow(/`retry`.*got -5/);
		expect(() => sseResponse({ request, log, onSent: 'no' as never })).toThrow(/`onSent`.*"no"/);
		expect(() => sseResponse({ request, log, signal: {} as never })).toThrow(/`signal`/);
		expect(log.listeners).toBe(0);
	});

	it('refuses to send an id or event name with a line break or NUL, throwing to the sender', async () => {
		let send!: (event: SseEvent) => void;
		const { read } = open({ subscribe: (s) => ((send = s), () => {}), heartbeat: 0 });
		expect(() => send({ id: 'a\nb', data: 1 })).toThrow(/`id`.*"a\\nb"/);
		expect(() => send({ id: 'a\0', data: 1 })).toThrow(TypeError);
		expect(() => send({ event: 'x\r', data: 1 })).toThrow(/`event`/);
		send({ id: 7, event: 'ok', data: 1 });
		expect((await read()).text).toBe(': ping\n\nid: 7\nevent: ok\ndata: 1\n\n');
	});
});
