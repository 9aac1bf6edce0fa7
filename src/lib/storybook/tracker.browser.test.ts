// The preview side of the Connection panel, in Chromium: which events it keeps for the story shown,
// how it batches them (a flood is a few channel messages, not one per event), what it sends again
// when the panel asks, how the fault buttons reach the mock servers and the browser's online state,
// and when the page is marked settled.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
	forgetFaultTargets,
	hub,
	publish,
	setDefaultScope,
	sourcesChanged,
	touchFaultTarget,
	type FaultTarget
} from '../inspect/hub.js';
import type { InspectedSource, InspectEvent } from '../inspect/types.js';
import { MAX_ENTRIES, type PanelUpdate } from './constants.js';
import { createConnectionTracker, settledRule, type ConnectionTracker } from './tracker.js';

let sent: PanelUpdate[];
let queued: Array<() => void>;
let now: number;
let tracker: ConnectionTracker;

/** Runs the flushes the tracker scheduled. */
const flushAll = () => {
	const waiting = queued;
	queued = [];
	for (const flush of waiting) flush();
};

beforeEach(() => {
	sent = [];
	queued = [];
	now = 1000;
	tracker = createConnectionTracker({
		send: (update) => sent.push(update),
		schedule: (flush) => void queued.push(flush),
		clock: () => now
	});
});
afterEach(() => {
	tracker.stop();
	hub().sources.clear();
	forgetFaultTargets();
	setDefaultScope(undefined);
	delete document.documentElement.dataset.connectionSettled;
});

/** An event as a source would report it, without the fields every event carries. */
type Draft = InspectEvent extends infer E
	? E extends InspectEvent
		? Omit<E, 'seq' | 'at' | 'source' | 'label'>
		: never
	: never;
let seq = 0;
function event(source: number, draft: Draft) {
	publish({ seq: ++seq, at: 0, source, label: `source ${source}`, ...draft } as InspectEvent);
}
const message = (source: number, id: number) =>
	event(source, { type: 'message', id: String(id), event: 'upsert', size: 10, data: { id } });

/** Puts a source in the page's hub, as `inspect()` does once it is bound. */
function addSource(id: number, scope: string | undefined, change: Partial<InspectedSource> = {}) {
	const source: InspectedSource = {
		id,
		label: `source ${id}`,
		scope,
		state: undefined,
		loaded: false,
		rows: 0,
		pending: 0,
		stopped: false,
		...change
	};
	hub().sources.set(id, source);
	sourcesChanged();
	return source;
}
function live(source: InspectedSource) {
	source.state = {
		status: 'live',
		transport: 'sse',
		degraded: false,
		bidirectional: false,
		attempt: 1,
		retryAt: undefined,
		lastEventAt: undefined,
		error: undefined,
		continuity: 'unbroken'
	};
	source.loaded = true;
	sourcesChanged();
}

function fakeTarget(): FaultTarget & { calls: string[] } {
	const calls: string[] = [];
	const record =
		(name: string) =>
		(...args: unknown[]) =>
			void calls.push(args.length ? `${name}(${args.join(', ')})` : name);
	return {
		calls,
		drop: record('drop'),
		restart: record('restart'),
		setOffline: record('setOffline'),
		setLatency: record('setLatency'),
		refuseNext: record('refuseNext'),
		flood: record('flood'),
		skip: record('skip')
	};
}

describe('the timeline', () => {
	it('sends nothing before a story is shown, then a reset with the story state', () => {
		message(1, 1);
		flushAll();
		expect(sent).toEqual([]);
		tracker.show({ id: 'live--sse', viewMode: 'story' });
		flushAll();
		expect(sent).toHaveLength(1);
		expect(sent[0]).toMatchObject({ story: 'live--sse', reset: true, entries: [] });
		expect(sent[0]!.state).toMatchObject({ sources: [], settled: false, targets: 0 });
	});

	it('batches a flood of 10,000 messages into one update of the latest entries', () => {
		tracker.show({ id: 'flood', viewMode: 'story' });
		flushAll();
		for (let i = 1; i <= 10_000; i++) message(1, i);
		expect(queued).toHaveLength(1);
		flushAll();
		expect(sent).toHaveLength(2);
		const { entries, reset } = sent[1]!;
		expect(reset).toBe(false);
		expect(entries).toHaveLength(MAX_ENTRIES);
		expect(entries.at(-1)).toMatchObject({ n: 10_000, type: 'message', summary: /#10000/ });
		expect(entries[0]!.n).toBe(10_001 - MAX_ENTRIES);
	});

	it('times entries from the story start and keeps events of its own sources only', () => {
		addSource(1, 'mine');
		addSource(2, 'other');
		addSource(3, undefined);
		tracker.show({ id: 'mine', viewMode: 'story' });
		now += 1234;
		message(1, 1);
		message(2, 2);
		message(3, 3);
		message(4, 4); // not in the hub (yet): kept
		flushAll();
		const entries = sent.flatMap((update) => update.entries);
		expect(entries.map((entry) => entry.source)).toEqual([1, 3, 4]);
		expect(entries[0]).toMatchObject({ n: 1, t: 1234, label: 'source 1' });
	});

	it('scopes the sources made while a story is shown to it', () => {
		tracker.show({ id: 'scoped', viewMode: 'story' });
		expect(hub().scope).toBe('scoped');
		tracker.show({ id: 'docs', viewMode: 'docs' });
		expect(hub().scope).toBeUndefined();
	});

	it('reads a response with its request: method, path, outcome, time and probe', () => {
		tracker.show({ id: 'pairs', viewMode: 'story' });
		event(1, {
			type: 'request',
			request: 7,
			kind: 'sse',
			method: 'GET',
			url: '/api/tasks/stream',
			probe: true
		});
		event(1, {
			type: 'response',
			request: 7,
			kind: 'sse',
			method: 'GET',
			url: '/api/tasks/stream',
			probe: true,
			status: 503,
			ms: 42
		});
		flushAll();
		const [request, response] = sent.at(-1)!.entries;
		expect(request!.summary).toBe('GET /api/tasks/stream · probe');
		expect(response!.summary).toBe('GET /api/tasks/stream → 503 · 42 ms · probe');
	});

	it('shortens long message payloads and keeps them plain', () => {
		tracker.show({ id: 'big', viewMode: 'story' });
		const rows = Array.from({ length: 500 }, (_, i) => ({ id: i, title: `row ${i}` }));
		event(1, { type: 'message', size: 9000, data: rows, update: { rows } });
		flushAll();
		const { event: copy } = sent.at(-1)!.entries[0]!;
		expect(typeof copy.data).toBe('string');
		expect(copy.data).toMatch(/characters in all\)$/);
		expect(JSON.parse(JSON.stringify(copy))).toEqual(copy);
	});

	it('sends everything kept again when asked, and starts over for the next story', () => {
		tracker.show({ id: 'first', viewMode: 'story' });
		message(1, 1);
		message(1, 2);
		flushAll();
		tracker.resend();
		const again = sent.at(-1)!;
		expect(again.reset).toBe(true);
		expect(again.entries.map((entry) => entry.n)).toEqual([1, 2]);
		expect(again.state).toBeDefined();

		const session = again.session;
		tracker.show({ id: 'second', viewMode: 'story' });
		message(1, 3);
		flushAll();
		const next = sent.at(-1)!;
		expect(next).toMatchObject({ story: 'second', reset: true });
		expect(next.session).toBeGreaterThan(session);
		expect(next.entries.map((entry) => entry.n)).toEqual([1]);
	});
});

describe('fault buttons', () => {
	it('act on the mock servers that answered since the story started', () => {
		const old = fakeTarget();
		touchFaultTarget(old);
		tracker.show({ id: 'faults', viewMode: 'story' });
		const target = fakeTarget();
		touchFaultTarget(target);
		for (const action of ['drop', 'restart', 'refuse', 'flood', 'skip'] as const)
			tracker.fault({ action });
		expect(target.calls).toEqual(['drop', 'restart', 'refuseNext(1)', 'flood(100)', 'skip(3)']);
		expect(old.calls).toEqual([]);
		flushAll();
		const faults = sent.at(-1)!.entries.filter((entry) => entry.type === 'fault');
		expect(faults.map((entry) => entry.summary)).toEqual([
			'Drop the stream · 1 mock server',
			'Restart the server · 1 mock server',
			'Refuse next change · 1 mock server',
			'Flood 100 events · 1 mock server',
			'Skip 3 events · 1 mock server'
		]);
		expect(sent.at(-1)!.state?.targets).toBe(1);
	});

	it('say so when no mock server answered, and when one throws', () => {
		tracker.show({ id: 'none', viewMode: 'story' });
		tracker.fault({ action: 'drop' });
		const broken = fakeTarget();
		broken.restart = () => {
			throw new Error('not now');
		};
		touchFaultTarget(broken);
		tracker.fault({ action: 'restart' });
		flushAll();
		expect(sent.at(-1)!.entries.map((entry) => entry.summary)).toEqual([
			'Drop the stream · no mock server answered in this story',
			'Restart the server · 1 mock server · failed: not now'
		]);
	});

	it('reject an unknown command', () => {
		tracker.show({ id: 'bad', viewMode: 'story' });
		expect(() => tracker.fault({ action: 'explode' as never })).toThrow(/unknown fault "explode"/);
	});

	it('take the browser offline and back, and turn it back on for the next story', () => {
		tracker.show({ id: 'offline', viewMode: 'story' });
		const target = fakeTarget();
		touchFaultTarget(target);
		const heard: string[] = [];
		const listen = (event: Event) => heard.push(event.type);
		window.addEventListener('offline', listen);
		window.addEventListener('online', listen);
		try {
			tracker.fault({ action: 'offline', on: true });
			expect(navigator.onLine).toBe(false);
			flushAll();
			expect(sent.at(-1)!.state).toMatchObject({ offline: true });
			tracker.fault({ action: 'offline', on: false });
			expect(navigator.onLine).toBe(true);
			tracker.fault({ action: 'offline', on: true });
			tracker.fault({ action: 'slow', on: true });
			tracker.show({ id: 'next', viewMode: 'story' });
			expect(navigator.onLine).toBe(true);
			expect(heard).toEqual(['offline', 'online', 'offline', 'online']);
			expect(target.calls).toEqual([
				'setOffline(true)',
				'setOffline(false)',
				'setOffline(true)',
				'setLatency(2000)',
				'setOffline(false)',
				'setLatency(0)'
			]);
			flushAll();
			expect(sent.at(-1)!.state).toMatchObject({ offline: false, slow: false });
		} finally {
			window.removeEventListener('offline', listen);
			window.removeEventListener('online', listen);
		}
	});
});

describe('the settled signal', () => {
	const mark = () => document.documentElement.dataset.connectionSettled;

	it('waits for the story to render and its sources to rest, by its rule', () => {
		tracker.show({ id: 'settle', viewMode: 'story' });
		const source = addSource(1, 'settle');
		expect(mark()).toBe('false');
		tracker.rendered('settle');
		expect(mark()).toBe('false'); // not started yet
		live(source);
		expect(mark()).toBe('true');
		flushAll();
		expect(sent.at(-1)!.state).toMatchObject({
			settled: true,
			sources: [{ id: 1, status: 'live', transport: 'sse', loaded: true }]
		});
		source.pending = 1;
		sourcesChanged();
		expect(mark()).toBe('false');

		tracker.show({ id: 'failing', viewMode: 'story', settled: 'failed' });
		addSource(2, 'failing', { loaded: true });
		live(hub().sources.get(2)!);
		tracker.rendered('another story');
		expect(mark()).toBe('false');
		tracker.rendered('failing');
		expect(mark()).toBe('false'); // live, but the story means it to fail
	});

	it('reads parameters.connection.settled, and rejects what is not a rule', () => {
		expect(settledRule({})).toBeUndefined();
		expect(settledRule({ connection: { settled: ['live', 'stale'] } })).toEqual(['live', 'stale']);
		const rule = () => true;
		expect(settledRule({ connection: { settled: rule } })).toBe(rule);
		expect(() => settledRule({ connection: { settled: 3 } })).toThrow(
			/parameters\.connection\.settled: expected a status/
		);
		const spy = vi.spyOn(console, 'error').mockImplementation(() => {});
		try {
			tracker.show({
				id: 'throws',
				viewMode: 'story',
				settled: () => {
					throw new Error('bad rule');
				}
			});
			tracker.rendered('throws');
			expect(mark()).toBe('false');
			expect(spy).toHaveBeenCalled();
		} finally {
			spy.mockRestore();
		}
	});
});
