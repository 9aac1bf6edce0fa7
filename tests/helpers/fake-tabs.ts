/**
 * A simulated browser for the cross-tab sharing code: tabs with their own timers, one Web Locks
 * manager and BroadcastChannel hub for all of them, and one server with an event log. Time is
 * virtual; every callback into a tab (timer, message, lock grant, server data) is a task of that
 * tab, so a frozen tab runs nothing until it is thawed (its tasks wait, its locks stay held) and a
 * crashed one never runs again (its locks are released, its connections dropped). Messages between
 * two tabs keep their order; messages from different tabs may overtake each other.
 */
import { createEnv, type Env } from '../../src/lib/core/env/env.js';
import { createLiveSource, type LiveSourceHandle } from '../../src/lib/core/live-source.js';
import { defaultDecode } from '../../src/lib/core/store/decode.js';
import { isMutationMessage } from '../../src/lib/core/protocol.js';
import type { Transport, TransportSink } from '../../src/lib/core/transports/types.js';

export interface Row {
	id: string;
	n: number;
	done?: boolean;
}

interface Task {
	at: number;
	seq: number;
	tab: Tab;
	run: () => void;
}

const EPOCH = 1_700_000_000_000;
const abortError = () => new DOMException('The request was aborted', 'AbortError');

export class Sim {
	now = 0;
	#seq = 0;
	#tasks: Task[] = [];
	readonly tabs: Tab[] = [];
	readonly locks = new LockHub(this);
	readonly channels = new Map<string, Set<FakeChannel>>();
	readonly server = new Server(this);
	/** Set to an array to record every message between tabs. */
	trace: string[] | undefined;
	#pairs = new Map<string, number>();
	#random: () => number;

	constructor(seed = 1) {
		let state = seed >>> 0 || 1;
		this.#random = () => {
			state = (state * 1664525 + 1013904223) >>> 0;
			return state / 2 ** 32;
		};
	}

	random() {
		return this.#random();
	}

	/** Runs `run` as a task of `tab` after `delay` ms of virtual time. */
	task(tab: Tab, delay: number, run: () => void): Task {
		const task = { at: this.now + Math.max(0, delay), seq: this.#seq++, tab, run };
		this.#tasks.push(task);
		return task;
	}

	cancel(task: unknown) {
		const index = this.#tasks.indexOf(task as Task);
		if (index >= 0) this.#tasks.splice(index, 1);
	}

	/** A message from one tab to another, in order with the earlier ones between the same two. */
	deliver(from: Tab, to: Tab, run: () => void) {
		const key = `${from.id}>${to.id}`;
		const at = Math.max(this.now + this.random() * 3, this.#pairs.get(key) ?? 0);
		this.#pairs.set(key, at);
		this.task(to, at - this.now, run);
	}

	/** Runs every task due within `ms`, in time order; frozen tabs' tasks wait. */
	async advance(ms: number) {
		const until = this.now + ms;
		for (;;) {
			await settle();
			let next: Task | undefined;
			for (const task of this.#tasks) {
				if (task.tab.state !== 'alive' || task.at > until) continue;
				if (!next || task.at < next.at || (task.at === next.at && task.seq < next.seq)) next = task;
			}
			if (!next) break;
			this.#tasks.splice(this.#tasks.indexOf(next), 1);
			this.now = Math.max(this.now, next.at);
			next.run();
		}
		this.now = until;
		this.#tasks = this.#tasks.filter((task) => task.tab.state !== 'gone');
	}

	open(options: TabOptions = {}): Tab {
		const tab = new Tab(this, options);
		this.tabs.push(tab);
		return tab;
	}

	get alive() {
		return this.tabs.filter((tab) => tab.state !== 'gone' && tab.started);
	}

	/** Tasks of `tab` that waited while it was frozen run from now on. */
	thawed(tab: Tab) {
		for (const task of this.#tasks) if (task.tab === tab) task.at = Math.max(task.at, this.now);
	}
}

/** Lets promise reactions run (several turns, since they chain). */
async function settle() {
	for (let i = 0; i < 4; i++) await new Promise((resolve) => setImmediate(resolve));
}

interface LockEntry {
	name: string;
	tab: Tab;
	callback: (lock: Lock | null) => unknown;
	resolve(value: unknown): void;
	reject(error: unknown): void;
	granted?: boolean;
	stolen?: boolean;
}

class LockHub {
	readonly held = new Map<string, LockEntry>();
	readonly queues = new Map<string, LockEntry[]>();
	constructor(readonly sim: Sim) {}

	manager(tab: Tab): LockManager {
		// eslint-disable-next-line @typescript-eslint/no-this-alias -- used inside the fake's methods
		const hub = this;
		return {
			request(name: string, ...args: unknown[]) {
				const options = (args.length > 1 ? args[0] : {}) as LockOptions;
				const callback = args.at(-1) as LockEntry['callback'];
				return new Promise<unknown>((resolve, reject) => {
					const entry: LockEntry = { name, tab, callback, resolve, reject };
					const { signal } = options;
					if (signal?.aborted) return reject(abortError());
					signal?.addEventListener('abort', () => {
						const queue = hub.queues.get(name) ?? [];
						if (entry.granted || !queue.includes(entry)) return;
						queue.splice(queue.indexOf(entry), 1);
						hub.sim.task(tab, 0, () => reject(abortError()));
					});
					if (options.steal) {
						const holder = hub.held.get(name);
						if (holder) {
							holder.stolen = true;
							hub.held.delete(name);
							hub.sim.task(holder.tab, 0, () => holder.reject(abortError()));
						}
						return hub.grant(entry);
					}
					const queue = hub.queues.get(name) ?? [];
					hub.queues.set(name, queue);
					if (options.ifAvailable && (hub.held.has(name) || queue.length > 0)) {
						hub.sim.task(tab, 0, () => {
							Promise.resolve()
								.then(() => callback(null))
								.then(resolve, reject);
						});
						return;
					}
					queue.push(entry);
					hub.pump(name);
				});
			},
			query() {
				return new Promise((resolve) =>
					hub.sim.task(tab, 0, () =>
						resolve({
							held: [...hub.held.values()].map((e) => ({
								name: e.name,
								clientId: e.tab.id,
								mode: 'exclusive' as const
							})),
							pending: [...hub.queues.values()].flat().map((e) => ({
								name: e.name,
								clientId: e.tab.id,
								mode: 'exclusive' as const
							}))
						})
					)
				);
			}
		} as LockManager;
	}

	grant(entry: LockEntry) {
		entry.granted = true;
		this.held.set(entry.name, entry);
		this.sim.task(entry.tab, 0, () => {
			let result: unknown;
			try {
				result = entry.callback({ name: entry.name, mode: 'exclusive' } as Lock);
			} catch (error) {
				this.done(entry);
				return entry.reject(error);
			}
			Promise.resolve(result).then(
				(value) => {
					this.done(entry);
					if (!entry.stolen) entry.resolve(value);
				},
				(error) => {
					this.done(entry);
					if (!entry.stolen) entry.reject(error);
				}
			);
		});
	}

	done(entry: LockEntry) {
		if (this.held.get(entry.name) !== entry) return;
		this.held.delete(entry.name);
		this.pump(entry.name);
	}

	pump(name: string) {
		if (this.held.has(name)) return;
		const next = this.queues.get(name)?.shift();
		if (next) this.grant(next);
	}

	/** A tab that is gone holds and waits for nothing. */
	drop(tab: Tab) {
		for (const queue of this.queues.values()) {
			for (const entry of [...queue]) if (entry.tab === tab) queue.splice(queue.indexOf(entry), 1);
		}
		for (const entry of [...this.held.values()]) if (entry.tab === tab) this.done(entry);
	}
}

class FakeChannel {
	onmessage: ((event: MessageEvent) => void) | null = null;
	closed = false;
	constructor(
		readonly sim: Sim,
		readonly tab: Tab,
		readonly name: string
	) {
		let set = sim.channels.get(name);
		if (!set) sim.channels.set(name, (set = new Set()));
		set.add(this);
	}
	postMessage(data: unknown) {
		if (this.closed) throw new DOMException('closed', 'InvalidStateError');
		const copy = structuredClone(data);
		for (const other of this.sim.channels.get(this.name) ?? []) {
			if (other === this || other.closed) continue;
			this.sim.deliver(this.tab, other.tab, () => {
				this.sim.trace?.push(
					`${this.sim.now} ${this.tab.id}>${other.tab.id}${other.closed ? ' (closed)' : ''} ${JSON.stringify(copy).slice(0, 160)}`
				);
				if (!other.closed) other.onmessage?.({ data: structuredClone(copy) } as MessageEvent);
			});
		}
	}
	close() {
		this.closed = true;
		this.sim.channels.get(this.name)?.delete(this);
	}
}

interface ServerConnection {
	tab: Tab;
	sink: TransportSink<unknown>;
	closed: boolean;
	/** Gets live events: from the moment its replay was sent, so that no event comes twice. */
	live?: boolean;
}

/** One list and its event log; a stream resumes after `Last-Event-ID`, or starts with the list. */
export class Server {
	readonly log: { id: number; data: string }[] = [];
	readonly rows = new Map<string, Row>();
	readonly connections = new Set<ServerConnection>();
	/** How many times each change arrived, and was applied (once at most). */
	readonly received = new Map<string, number>();
	readonly applied = new Map<string, number>();
	/** The most streams open at once. */
	peak = 0;
	constructor(readonly sim: Sim) {}

	/** Appends `count` events, each a new row, and sends them to every open stream. */
	emit(count = 1) {
		for (let i = 0; i < count; i++) {
			const n = this.log.length + 1;
			this.publish({ id: `r${n}`, n, done: false });
		}
	}

	publish(row: Row, mutationId?: string) {
		this.rows.set(row.id, row);
		const id = this.log.length + 1;
		const data = JSON.stringify(mutationId ? { item: row, mutationId } : row);
		this.log.push({ id, data });
		for (const connection of this.connections) if (connection.live) this.send(connection, id, data);
	}

	send(connection: ServerConnection, id: number, data: string) {
		this.sim.task(connection.tab, 0, () => {
			if (!connection.closed) connection.sink.message(data, { id: String(id), event: 'upsert' });
		});
	}

	transport(tab: Tab, twoWay: boolean): Transport<unknown, unknown> {
		// eslint-disable-next-line @typescript-eslint/no-this-alias -- used inside the fake's methods
		const server = this;
		return {
			kind: twoWay ? 'websocket' : 'sse',
			identity: { url: '/stream' },
			bidirectional: twoWay,
			open(sink, attempt) {
				const connection: ServerConnection = { tab, sink, closed: false };
				server.connections.add(connection);
				server.peak = Math.max(server.peak, server.connections.size);
				const from = attempt.lastEventId === undefined ? undefined : Number(attempt.lastEventId);
				server.sim.task(tab, 1, () => {
					if (connection.closed) return;
					sink.opened({ resumed: from !== undefined, bidirectional: twoWay });
					if (from === undefined) {
						const last = String(server.log.length);
						sink.message(JSON.stringify([...server.rows.values()]), {
							id: last,
							event: 'snapshot'
						});
					} else {
						for (const event of server.log.slice(from))
							server.send(connection, event.id, event.data);
					}
					connection.live = true;
				});
				return {
					close() {
						connection.closed = true;
						server.connections.delete(connection);
					},
					send: twoWay
						? (data: unknown) =>
								new Promise((resolve) => {
									if (!isMutationMessage<Row>(data)) return resolve(undefined);
									const { mutationId, item } = data;
									server.received.set(mutationId, (server.received.get(mutationId) ?? 0) + 1);
									if (!server.applied.has(mutationId)) {
										server.applied.set(mutationId, 1);
										server.publish(item, mutationId);
									}
									server.sim.task(tab, 2, () => resolve({ item }));
								})
						: undefined
				};
			}
		};
	}
}

export interface TabOptions {
	/** Over a two-way transport (changes go through the leader) rather than SSE + commit. */
	twoWay?: boolean;
	share?: false | 'tabs';
	/** Event ids each tab remembers for dropping duplicates (small, to find what it would let through). */
	dedupeWindow?: number;
}

export class Tab {
	static #ids = 0;
	readonly id = `t${++Tab.#ids}`;
	state: 'alive' | 'frozen' | 'gone' = 'alive';
	started = false;
	/** How many times each event id was decoded here: more than once is a duplicate. */
	readonly decoded = new Map<string, number>();
	readonly errors: unknown[] = [];
	readonly env: Env;
	readonly source: LiveSourceHandle<Row>;

	constructor(
		readonly sim: Sim,
		options: TabOptions
	) {
		// eslint-disable-next-line @typescript-eslint/no-this-alias -- used inside the fake's callbacks
		const tab = this;
		const server = sim.server;
		this.env = createEnv({
			setTimeout: (callback, ms) => sim.task(tab, ms, callback),
			clearTimeout: (handle) => sim.cancel(handle),
			now: () => EPOCH + sim.now,
			random: () => sim.random(),
			isOnline: () => true,
			isVisible: () => true,
			onNetworkChange: () => () => {},
			onVisibilityChange: () => () => {},
			requestFrame(callback) {
				const task = sim.task(tab, 16, callback);
				return () => sim.cancel(task);
			},
			locks: sim.locks.manager(tab),
			BroadcastChannel: function (this: unknown, name: string) {
				return new FakeChannel(sim, tab, name);
			} as unknown as typeof BroadcastChannel
		});
		const twoWay = options.twoWay === true;
		this.source = createLiveSource<Row>({
			transport: server.transport(tab, twoWay),
			env: this.env,
			share: options.share ?? 'tabs',
			maxItems: 100_000,
			dedupeWindow: options.dedupeWindow,
			decode(data, meta) {
				if (meta.id !== undefined) tab.decoded.set(meta.id, (tab.decoded.get(meta.id) ?? 0) + 1);
				sim.trace?.push(`${sim.now} ${tab.id} decoded ${meta.id} ${meta.event}`);
				return defaultDecode(data, meta);
			},
			onError: (error) => tab.errors.push(error),
			commit: twoWay
				? undefined
				: async ({ item, mutationId }) => {
						server.received.set(mutationId, (server.received.get(mutationId) ?? 0) + 1);
						if (!server.applied.has(mutationId)) {
							server.applied.set(mutationId, 1);
							server.publish(item, mutationId);
						}
						return item;
					}
		});
	}

	start() {
		this.started = true;
		this.sim.task(this, 0, () => this.source.start());
	}

	/** Stops the source, as unmounting the component does. */
	stop() {
		this.sim.task(this, 0, () => this.source.stop());
		this.started = false;
	}

	freeze() {
		if (this.state === 'alive') this.state = 'frozen';
	}

	thaw() {
		if (this.state !== 'frozen') return;
		this.state = 'alive';
		this.sim.thawed(this);
	}

	/** Closed or crashed: nothing runs again, its locks are released and its streams dropped. */
	kill() {
		this.state = 'gone';
		this.started = false;
		this.sim.locks.drop(this);
		for (const set of this.sim.channels.values())
			for (const channel of [...set]) if (channel.tab === this) channel.close();
		for (const connection of [...this.sim.server.connections]) {
			if (connection.tab === this) {
				connection.closed = true;
				this.sim.server.connections.delete(connection);
			}
		}
	}

	get state_() {
		return this.source.connection.getSnapshot();
	}

	get role() {
		return this.state_.shared?.role;
	}

	/** Row ids in the store, sorted by number. */
	ids(): number[] {
		this.source.store.flush();
		return this.source.store
			.getSnapshot()
			.items.map((row) => row.n)
			.sort((a, b) => a - b);
	}

	duplicates(): string[] {
		return [...this.decoded].filter(([, count]) => count > 1).map(([id]) => id);
	}
}
