// Model-based test of createLiveSource: random sequences of transport events, platform changes,
// lifecycle calls, server changes and user toggles over a two-member fallback chain, checked after
// every step against what must always hold, and at the end against a model of the server.
// `FUZZ_RUNS=20000 npm run test:fuzz` runs it longer; a failure prints its seed and shrunk steps.
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createFakeEnv, type FakeEnv } from '../../../tests/helpers/fake-env.js';
import { TransportError } from './errors.js';
import { createLiveSource, type LiveSourceHandle } from './live-source.js';
import type { PendingChange } from './store/store.js';
import { fallback } from './transports/fallback.js';
import type { Attempt, Transport, TransportSink } from './transports/types.js';

interface Task {
	id: string;
	version: number;
	done: boolean;
}

type Behaviour = 'ack-row' | 'ack-true' | 'echo' | 'refuse' | 'hang' | 'applied-silent' | 'later';
const BEHAVIOURS: Behaviour[] = [
	'ack-row',
	'ack-true',
	'echo',
	'refuse',
	'hang',
	'applied-silent',
	'later'
];

interface Rec {
	member: string;
	sink: TransportSink<unknown>;
	attempt: Attempt;
	opened: boolean;
	dead: boolean;
	closed: boolean;
	pendingAcks: Set<(error: Error) => void>;
}

const KEYS = ['a', 'b', 'c'];
const ACK_TIMEOUT = 10_000;
const QUEUE_TIMEOUT = 30_000;
/** Every change ends within this: waiting for a connection, then the acknowledgement. */
const BOUND = QUEUE_TIMEOUT + ACK_TIMEOUT + 1000;

class World {
	env: FakeEnv;
	server = new Map<string, Task>();
	eventId = 0;
	recs: Rec[] = [];
	behaviours: Behaviour[] = [];
	toggles: Change[] = [];
	/** Requests the server has not processed yet, in the order they arrived. */
	deferred: Array<{
		key: string;
		done: boolean;
		signal?: AbortSignal;
		rec?: Rec;
		resolve: (row: Task) => void;
	}> = [];
	/** When someone other than this client last changed each row. */
	changedByOthers = new Map<string, number>();
	/** The change each row's failure is about: the last one that was rejected. */
	rejected = new Map<string, boolean>();
	/** The version each failed row had when it was first seen failed. */
	failedAt = new Map<string, number>();
	live: LiveSourceHandle<Task>;
	running = true;
	unhandled: unknown[] = [];

	constructor(env: FakeEnv, chain: boolean) {
		this.env = env;
		for (const id of KEYS) this.server.set(id, { id, version: 1, done: false });
		const member = (kind: string, bidirectional: boolean): Transport<unknown, unknown> => ({
			kind,
			bidirectional,
			open: (sink, attempt) => {
				const rec: Rec = {
					member: kind,
					sink,
					attempt,
					opened: false,
					dead: false,
					closed: false,
					pendingAcks: new Set()
				};
				this.recs.push(rec);
				return {
					close: () => {
						rec.closed = true;
						// What was sent on a socket reaches the server before the socket's end does.
						for (const request of this.deferred.filter((d) => d.rec === rec)) {
							this.deferred.splice(this.deferred.indexOf(request), 1);
							this.applyOnServer(request.key, request.done);
						}
						for (const reject of rec.pendingAcks) reject(new Error('socket closed'));
						rec.pendingAcks.clear();
					},
					send: bidirectional
						? (data) => {
								if (rec.closed || rec.dead) return Promise.reject(new Error('not open'));
								const { mutationId, key, item } = data as {
									mutationId: string;
									key: string;
									item: Task;
								};
								return this.answer(key, item, mutationId, rec);
							}
						: undefined
				};
			}
		});
		this.live = createLiveSource<Task>({
			transport: chain
				? fallback([member('websocket', true), member('polling', false)], { probeInterval: 5000 })
				: member('websocket', true),
			env,
			initial: KEYS.map((id) => ({ id, version: 1, done: false })),
			key: (task) => task.id,
			version: (task) => task.version,
			commit: (change: PendingChange<Task>) =>
				this.answer(
					change.key,
					change.item,
					change.mutationId,
					undefined,
					change.signal
				) as Promise<Task | void>,
			queueTimeout: QUEUE_TIMEOUT,
			resync: async () => [...this.server.values()].map((task) => ({ ...task })),
			retry: { baseDelay: 500, maxDelay: 4000, minDelay: 50, minUptime: 2000 },
			staleAfter: 3000
		});
		this.live.start();
	}

	/** The attempt opens, and like the kit's servers the server sends the whole list first. */
	open(rec: Rec) {
		rec.opened = true;
		rec.sink.opened({ bidirectional: rec.member === 'websocket' });
		if (!rec.closed && !rec.dead) this.sendSnapshot(rec);
	}

	sendSnapshot(rec: Rec) {
		rec.sink.message(
			{ type: 'snapshot', items: [...this.server.values()].map((t) => ({ ...t })) },
			{ id: String(++this.eventId) }
		);
	}

	/** Attempts that may still call the engine. */
	get usable() {
		return this.recs.filter((rec) => !rec.closed && !rec.dead);
	}

	/** The server applies a change and tells every connected client. */
	applyOnServer(key: string, done: boolean, mutationId?: string) {
		const current = this.server.get(key)!;
		const next = { id: key, version: current.version + 1, done };
		this.server.set(key, next);
		for (const rec of this.usable.filter((r) => r.opened)) {
			rec.sink.message(
				{ type: 'upsert', items: [{ ...next }], ...(mutationId ? { mutationId } : {}) },
				{ id: String(++this.eventId) }
			);
		}
		return next;
	}

	answer(
		key: string,
		item: Task,
		mutationId: string,
		rec?: Rec,
		signal?: AbortSignal
	): Promise<unknown> {
		const behaviour = this.behaviours.shift() ?? 'ack-row';
		const withAckTimeout = (promise: Promise<unknown>) => {
			if (!rec) return promise;
			return new Promise((resolve, reject) => {
				const timer = this.env.setTimeout(() => {
					rec.pendingAcks.delete(fail);
					reject(new TransportError('no ack', { code: 'timeout', retryable: true }));
				}, ACK_TIMEOUT);
				const fail = (error: Error) => {
					this.env.clearTimeout(timer);
					reject(error);
				};
				rec.pendingAcks.add(fail);
				promise.then(
					(value) => {
						this.env.clearTimeout(timer);
						rec.pendingAcks.delete(fail);
						resolve(value);
					},
					(error: unknown) => {
						this.env.clearTimeout(timer);
						rec.pendingAcks.delete(fail);
						reject(error);
					}
				);
			});
		};
		switch (behaviour) {
			case 'ack-row':
				return withAckTimeout(Promise.resolve({ ...this.applyOnServer(key, item.done) }));
			case 'ack-true':
				this.applyOnServer(key, item.done);
				return withAckTimeout(Promise.resolve(true));
			case 'echo':
				this.applyOnServer(key, item.done, mutationId);
				return withAckTimeout(Promise.resolve(true));
			case 'refuse':
				return withAckTimeout(Promise.reject(new Error('refused')));
			case 'hang':
				return withAckTimeout(new Promise(() => {}));
			case 'applied-silent':
				this.applyOnServer(key, item.done);
				return withAckTimeout(new Promise(() => {}));
			case 'later':
				// Processed by a later step, in order; an HTTP request aborted before then never arrives.
				return withAckTimeout(
					new Promise((resolve) =>
						this.deferred.push({ key, done: item.done, signal, rec, resolve })
					)
				);
		}
	}

	async settle() {
		for (let i = 0; i < 5; i++) await Promise.resolve();
		this.env.runFrames();
		for (let i = 0; i < 5; i++) await Promise.resolve();
		this.env.runFrames();
	}

	check() {
		const state = this.live.connection.getSnapshot();
		const openedAlive = this.usable.filter((rec) => rec.opened);
		// live only while a member that opened has not failed, ended or been dropped
		if (state.status === 'live' || state.status === 'stale') {
			expect(openedAlive.length, `${state.status} with no open member`).toBeGreaterThan(0);
		}
		// the engine always has a next step
		if (state.status === 'reconnecting') {
			expect(this.usable.length > 0 || state.retryAt !== undefined, 'reconnecting, stuck').toBe(
				true
			);
		}
		if (state.status === 'connecting') {
			expect(this.usable.length, 'connecting with no attempt').toBeGreaterThan(0);
		}
		if (state.status === 'failed') expect(state.error).toBeDefined();
		const snapshot = this.live.store.getSnapshot();
		// no message from a superseded attempt reaches the store
		expect(snapshot.items.some((task) => task.id === 'ghost')).toBe(false);
		// a row's status never contradicts its data
		// (a failed row shows the server's row; one that arrives with the value asked for settles it)
		for (const row of snapshot.rows) {
			if (row.status !== 'failed') {
				this.failedAt.delete(row.key);
				continue;
			}
			expect(this.rejected.has(row.key), 'failed with no failed change').toBe(true);
			const first = this.failedAt.get(row.key) ?? row.item.version;
			this.failedAt.set(row.key, first);
			if (row.item.version > first)
				expect(row.item.done, 'still failed, yet the server has what was asked for').not.toBe(
					this.rejected.get(row.key)
				);
		}
		// every change ends within its bound
		const now = this.env.now();
		for (const toggle of this.toggles) {
			if (!toggle.settled)
				expect(now - toggle.at, 'a change never ended').toBeLessThan(toggle.bound);
		}
	}
}

type Cmd = fc.AsyncCommand<object, World>;

const cmd = (
	name: string,
	run: (world: World) => void | Promise<void>,
	check: (world: World) => boolean = () => true
): Cmd => ({
	check: (_model) => true,
	async run(_model, world) {
		if (!check(world)) return;
		await run(world);
		await world.settle();
		world.check();
	},
	toString: () => name
});

const pick = <T>(list: T[], index: number): T | undefined =>
	list.length === 0 ? undefined : list[index % list.length];

/** The server processes the oldest request it has not processed yet. */
const processRequest = cmd('processRequest', (w) => {
	const request = w.deferred.shift();
	if (!request || request.signal?.aborted) return;
	request.resolve({ ...w.applyOnServer(request.key, request.done) });
});

const baseCommands = [
	fc.constant(processRequest),
	fc.nat(9).map((i) =>
		cmd(`open(${i})`, (w) => {
			const rec = pick(
				w.usable.filter((r) => !r.opened),
				i
			);
			if (rec) w.open(rec);
		})
	),
	fc.tuple(fc.constantFrom(...KEYS), fc.boolean()).map(([key, done]) =>
		cmd(`serverChange(${key}, ${done})`, (w) => {
			w.changedByOthers.set(key, w.env.now());
			w.applyOnServer(key, done);
		})
	),
	fc.nat(9).map((i) =>
		cmd(`heartbeat(${i})`, (w) =>
			pick(
				w.usable.filter((r) => r.opened),
				i
			)?.sink.heartbeat()
		)
	),
	fc
		.tuple(fc.nat(9), fc.boolean(), fc.option(fc.integer({ min: 0, max: 5000 })))
		.map(([i, retryable, retryAfterMs]) =>
			cmd(`fail(${i}, retryable=${retryable}, retryAfter=${retryAfterMs})`, (w) => {
				const rec = pick(w.usable, i);
				if (!rec) return;
				rec.dead = true;
				rec.sink.failed(
					new TransportError('down', {
						code: 'network',
						retryable,
						retryAfterMs: retryAfterMs ?? undefined
					})
				);
			})
		),
	fc.tuple(fc.nat(9), fc.boolean()).map(([i, final]) =>
		cmd(`end(${i}, final=${final})`, (w) => {
			const rec = pick(
				w.usable.filter((r) => r.opened),
				i
			);
			if (!rec) return;
			rec.dead = true;
			rec.sink.ended({ final });
		})
	),
	fc.nat(9).map((i) =>
		cmd(`ghost(${i})`, (w) => {
			const rec = pick(
				w.recs.filter((r) => r.closed || r.dead),
				i
			);
			rec?.sink.message({ type: 'upsert', items: [{ id: 'ghost', version: 1, done: false }] });
			rec?.sink.opened();
			rec?.sink.failed(new TransportError('late', { code: 'network', retryable: true }));
		})
	),
	fc.constantFrom(50, 500, 2000, 5000, 12_000, 40_000).map((ms) =>
		cmd(`advance(${ms})`, async () => {
			await vi.advanceTimersByTimeAsync(ms);
		})
	),
	fc.boolean().map((online) => cmd(`online(${online})`, (w) => w.env.setOnline(online))),
	fc.boolean().map((visible) => cmd(`visible(${visible})`, (w) => w.env.setVisible(visible))),
	fc.constantFrom('start', 'stop', 'pause', 'resume', 'retry').map((action) =>
		cmd(action, (w) => {
			w.live.connection[action]();
		})
	),
	fc.tuple(fc.constantFrom(...KEYS), fc.constantFrom(...BEHAVIOURS)).map(([key, behaviour]) =>
		cmd(`toggle(${key}, ${behaviour})`, (w) => {
			const row = w.live.store.getSnapshot().rows.find((r) => r.key === key);
			if (!row) return;
			w.behaviours.push(behaviour);
			const entry = change(w, key, !row.item.done);
			track(w, entry, w.live.store.toggle(key));
		})
	),
	fc.constantFrom(...KEYS).map((key) =>
		cmd(`retryChange(${key})`, (w) => {
			const row = w.live.store.getSnapshot().rows.find((r) => r.key === key);
			if (row?.status !== 'failed') return;
			const entry = change(w, key, w.rejected.get(key)!);
			track(w, entry, w.live.store.retryMutation(key));
		})
	)
];

function track(world: World, entry: World['toggles'][number], change: Promise<unknown>) {
	change.then(
		() => {
			entry.settled = true;
			entry.ok = true;
		},
		() => {
			entry.settled = true;
			world.rejected.set(entry.key, entry.intended);
		}
	);
}

// The transport events, and time, more often than the rest.
/**
 * A change the test made. A change to a row waits for the answers to the changes before it, so its
 * bound grows with each one still on its way.
 */
interface Change {
	key: string;
	intended: boolean;
	at: number;
	bound: number;
	settled: boolean;
	ok?: boolean;
}

function change(world: World, key: string, intended: boolean): Change {
	const ahead = world.toggles.filter((t) => t.key === key && !t.settled).length;
	const entry = { key, intended, at: world.env.now(), bound: BOUND * (ahead + 1), settled: false };
	world.toggles.push(entry);
	return entry;
}

/** Waits for the chain's probe and lets it open and deliver: a better member takes over. */
const probe = cmd('probe', async (w) => {
	await vi.advanceTimersByTimeAsync(5000);
	const rec = w.usable.filter((r) => !r.opened).at(-1);
	if (!rec) return;
	rec.opened = true;
	rec.sink.opened({ bidirectional: rec.member === 'websocket' });
	if (!rec.closed && !rec.dead) rec.sink.heartbeat();
});

const commands = [
	...baseCommands,
	baseCommands[0]!,
	baseCommands[0]!,
	baseCommands[3]!,
	baseCommands[3]!,
	baseCommands[6]!,
	fc.constant(probe),
	fc.constant(probe),
	fc.constant(probe),
	fc.constant(probe)
];

/** Brings the connection up and lets everything in flight end, then compares with the server. */
async function quiesce(world: World) {
	// The server gets to every request still waiting, in order.
	while (world.deferred.length > 0) await processRequest.run({}, world);
	// Whatever the connection does meanwhile, every change ends within its bound.
	const end = Math.max(0, ...world.toggles.map((t) => t.at + t.bound));
	while (world.env.now() < end) {
		await vi.advanceTimersByTimeAsync(1000);
		for (const rec of world.usable.filter((r) => r.opened)) rec.sink.heartbeat();
		await world.settle();
	}
	expect(
		world.toggles.filter((t) => !t.settled),
		'changes that never ended'
	).toEqual([]);
	world.env.setOnline(true);
	world.env.setVisible(true);
	world.live.connection.start();
	world.live.connection.resume();
	world.live.connection.retry();
	// Long enough for every change to end; the server keeps the connection alive meanwhile.
	for (let elapsed = 0; elapsed < BOUND + 30_000; elapsed += 1000) {
		await vi.advanceTimersByTimeAsync(1000);
		for (const rec of world.usable.filter((r) => !r.opened)) world.open(rec);
		for (const rec of world.usable.filter((r) => r.opened)) rec.sink.heartbeat();
		await world.settle();
		if (world.live.connection.getSnapshot().status === 'failed') world.live.connection.retry();
	}
	// One more server snapshot: what the server has now, as a reconnecting client would get it.
	for (const rec of world.usable.filter((r) => r.opened)) world.sendSnapshot(rec);
	await world.settle();
	world.check();
	const status = world.live.connection.getSnapshot().status;
	expect(['live', 'stale']).toContain(status);
	// every change ended
	expect(world.toggles.filter((t) => !t.settled)).toEqual([]);
	// the list equals the server, and no row is pending
	const snapshot = world.live.store.getSnapshot();
	const list = snapshot.rows.map((row) => ({ ...row.item })).sort((a, b) => (a.id < b.id ? -1 : 1));
	expect(list).toEqual([...world.server.values()].sort((a, b) => (a.id < b.id ? -1 : 1)));
	expect(snapshot.rows.filter((row) => row.status === 'pending')).toEqual([]);
	// nothing lost: a row's last change, confirmed, is what the server has, unless someone changed
	// the row after it was made
	for (const key of KEYS) {
		const last = world.toggles.findLast((t) => t.key === key);
		if (!last?.ok || (world.changedByOthers.get(key) ?? -1) >= last.at) continue;
		expect(world.server.get(key)!.done, `the confirmed change to ${key} was lost`).toBe(
			last.intended
		);
	}
	await stopAndCheck(world);
}

/** After stop and dispose nothing remains: no attempt, listener, timer or frame; every change ended. */
async function stopAndCheck(world: World) {
	world.live.stop();
	world.live.store.dispose();
	await world.settle();
	expect(world.recs.filter((rec) => !rec.closed)).toEqual([]);
	expect(world.env.listenerCount).toBe(0);
	expect(vi.getTimerCount()).toBe(0);
	expect(world.env.pendingFrames).toBe(0);
	expect(world.toggles.filter((t) => !t.settled)).toEqual([]);
}

const RUNS = Number(process.env.FUZZ_RUNS ?? 1000);
const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : undefined;

/** A fresh world at time 0, with the steps run against it. */
async function run(chain: boolean, steps: Iterable<Cmd>): Promise<World> {
	vi.clearAllTimers();
	vi.setSystemTime(0);
	const world = new World(createFakeEnv(), chain);
	await fc.asyncModelRun(() => ({ model: {}, real: world }), steps);
	return world;
}

describe('createLiveSource, model-based', () => {
	beforeEach(() => vi.useFakeTimers({ now: 0 }));
	afterEach(() => vi.useRealTimers());

	it(`S27 S30 S31 random fault sequences: never live on a dead member, every change ends, the list converges (${RUNS} runs)`, async () => {
		await fc.assert(
			fc.asyncProperty(
				fc.boolean(),
				fc.commands(commands, { maxCommands: 40 }),
				async (chain, steps) => quiesce(await run(chain, steps))
			),
			{ numRuns: RUNS, seed: SEED }
		);
	}, 600_000);

	it(`S13 stopped and disposed at any point: no timer, listener or connection remains, every change ends (${Math.ceil(RUNS / 4)} runs)`, async () => {
		await fc.assert(
			fc.asyncProperty(
				fc.boolean(),
				fc.commands(commands, { maxCommands: 25 }),
				async (chain, steps) => stopAndCheck(await run(chain, steps))
			),
			{
				numRuns: Math.ceil(RUNS / 4),
				seed: SEED
			}
		);
	}, 600_000);
});
