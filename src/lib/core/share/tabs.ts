// One connection for every tab of this browser that would open the same one, loaded only when
// `share` is set. Web Locks elect a leader, which runs the ordinary engine and passes everything it
// feeds its store, and its state, to the other tabs on a BroadcastChannel; they feed their own
// stores with it. A follower that hears nothing from the leader probes it, and steals the lock from
// a leader that does not answer (frozen). Every leader message carries the leader's epoch (its
// election time): a tab applies only the newest epoch's messages, so a leader that wakes up after
// losing the lock changes nothing, and steps down when it hears the newer one.
import type { Connection, QueuedSendOptions } from '../connection/connection.js';
import type { ConnectionState } from '../connection/machine.js';
import { IDLE_CONNECTION_STATE } from '../connection/machine.js';
import type { Env } from '../env/env.js';
import { DecodeError, TransportError } from '../errors.js';
import * as messages from '../messages.js';
import { isMutationMessage } from '../protocol.js';
import type { RecordStore, StoreHandoff } from '../store/store.js';
import type { MessageMeta } from '../transports/types.js';
import { CONNECTION_STATUSES } from '../types.js';
import type { Relay, SharePlatform } from './entry.js';

export interface ShareContext extends SharePlatform {
	/** The lock and channel name. */
	name: string;
	env: Env;
	store: RecordStore<unknown>;
	/** A new engine for this tab as leader, resuming from `from`. */
	engine(relay: Relay, from: string | undefined, continuing: boolean): Connection;
	lastEventId: string | undefined;
	/** How long a change may wait for the leader's answer (milliseconds). */
	limit: number;
}

/** The leader beats this often; a follower probes after `SILENT` without a word, steals `PROBE` later. */
const BEAT = 500;
const SILENT = 1500;
const PROBE = 500;
/** A new leader waits this long for the other tabs to say where they are. */
const GATHER = 150;
/** Outcomes of other tabs' changes kept, so that a change sent again is answered, not sent again. */
const ANSWERS = 256;

/** Messages only a leader sends; each carries its epoch `e`. */
const FROM_LEADER = new Set(['lead', 'go', 'hb', 'st', 'snap', 'm', 'x', 'g', 'k', 'a', 'ack', 'bye']);
/** Messages a leader numbers (`s`), applied in order and once. */
const NUMBERED = new Set(['m', 'x', 'g', 'k', 'a']);
const TYPES = new Set([...FROM_LEADER, 'hi', 'probe', 'at', 'mut', 'retry']);

// The messages on the channel, by `t`:
// hi {f}: a tab asks for the rows · snap {e, to, s, r, l, st, n, k}: the leader's rows, up to `s`
// m/x/g/k/a {e, s, a, b}: what the engine fed (message, drop, gap, resync mark and result)
// st {e, a, n}: connection state · hb {e, n, l}: heartbeat · probe {f} · bye {e}
// lead {e, f}: a new leader · at {e, f, l}: a tab's last event id, to the new leader
// mut {f, i, d, o, w}: a change to send · ack {e, to, i, v | x}: its outcome · retry {}
type Message = Record<string, unknown> & { t: string; e: number; s: number; f?: string };

interface Outgoing {
	id: string;
	data: unknown;
	options: QueuedSendOptions;
	resolve(value: unknown): void;
	reject(error: unknown): void;
	timer?: unknown;
}

const ONE_WAY = 'one-way';
const noop = () => {};

export function shareTabs(ctx: ShareContext): Connection {
	const { env, store, locks, name } = ctx;
	const me = env.random().toString(36).slice(2) + env.now().toString(36);
	const listeners = new Set<(state: ConnectionState) => void>();
	/** This tab's changes waiting for an outcome, by mutation id. */
	const outgoing = new Map<string, Outgoing>();
	/** As leader: the outcome of each tab's change, by mutation id. */
	const answers = new Map<string, Promise<unknown>>();
	/** Resync marks of the leader (by its number) → this store's own mark. */
	const marks = new Map<number, number>();
	let mode: 'idle' | 'on' | 'paused' | 'closed' = 'idle';
	let channel: BroadcastChannel | undefined;
	let leading = false;
	let engine: Connection | undefined;
	let unsubscribe = noop;
	/** The lock request that made this tab leader, and how to give the lock back. */
	let hold: object | undefined;
	let release = noop;
	let queued: AbortController | undefined;
	let leave = noop;
	let epoch = 0;
	/** The last numbered message sent (leader) or applied (follower) in this epoch. */
	let seq = 0;
	/** Following: the store holds everything the leader sent up to `seq`. */
	let synced = false;
	/** Waiting for the leader's rows (a `snap`), asked for with `hi`. */
	let wanting = false;
	/** The epoch this tab followed before it took over, and the numbered messages sent in this one. */
	let prev = 0;
	let sent = 0;
	/** The store holds data from the stream (so a new connection here is a reconnect). */
	let fed = false;
	let heard = 0;
	let joined = 0;
	let probed = 0;
	let stole = -1;
	let beats = 0;
	let tabs = 1;
	let last = ctx.lastEventId;
	let mirror: ConnectionState = { ...IDLE_CONNECTION_STATE, status: 'connecting' };
	let gathering: { from: (string | undefined)[]; timer: unknown; early: Message[] } | undefined;
	let timer: unknown;
	let counter = 0;
	let snapshot = view();

	function view(): ConnectionState {
		const base = leading && engine ? engine.getSnapshot() : mirror;
		const status = mode === 'on' ? base.status : mode === 'idle' ? 'idle' : mode;
		return { ...base, status, shared: { role: leading ? 'leader' : 'follower', tabs } };
	}

	function publish() {
		snapshot = view();
		for (const listener of [...listeners]) listener(snapshot);
	}

	function post(message: Record<string, unknown>) {
		try {
			channel?.postMessage(message);
		} catch (error) {
			// Not cloneable: the other tabs see a gap in the numbering and ask for the rows again.
			store.reportDropped(new DecodeError(String(error), message.a));
		}
	}

	/** Asks the leader for its rows; they replace this tab's when they come. */
	function want() {
		synced = false;
		wanting = true;
		post({ t: 'hi', f: me });
	}

	function join() {
		mode = 'on';
		joined = env.now();
		heard = probed = 0;
		const ch = new ctx.Channel(name);
		ch.onmessage = (event: MessageEvent) => receive(event.data);
		channel = ch;
		// Held while this tab takes part: the leader counts these.
		const presence = new AbortController();
		let done = noop;
		locks
			.request(
				`${name} tab ${me}`,
				{ signal: presence.signal },
				() => new Promise<void>((r) => (done = r))
			)
			.catch(noop);
		leave = () => (presence.abort(), done());
		campaign();
		want();
		tick();
	}

	/** Queues for the lock; never with a timeout (a queued tab waits as long as the leader lives). */
	function campaign() {
		const ticket = {};
		const controller = new AbortController();
		queued = controller;
		locks
			.request(name, { signal: controller.signal }, () => granted(ticket))
			.catch(() => lost(ticket));
	}

	function granted(ticket: object): Promise<void> | undefined {
		if (mode !== 'on' || leading) return undefined;
		queued = undefined;
		hold = ticket;
		return new Promise<void>((resolve) => {
			release = resolve;
			// A grant that waited in a frozen tab may have been stolen meanwhile: lead only while the
			// lock's holder is this tab (the holder of its presence lock).
			locks.query().then(({ held = [], pending = [] }) => {
				const owner = (lock: string) =>
					[...held, ...pending].find((entry) => entry.name === lock)?.clientId;
				if (hold !== ticket || mode !== 'on') return;
				if (held.find((entry) => entry.name === name)?.clientId === owner(`${name} tab ${me}`))
					return lead();
				hold = undefined;
				release = noop;
				resolve();
				campaign();
			}, noop);
		});
	}

	/** The lock request ended with an error: when it was this tab's hold, the lock was stolen. */
	function lost(ticket: object) {
		if (hold !== ticket) return;
		if (leading) return follow();
		hold = undefined;
		release = noop;
		if (mode === 'on') campaign();
	}

	/** Takes the lock from a leader that does not answer: once per epoch, one tab at a time. */
	function steal() {
		if (stole === epoch) return;
		stole = epoch;
		const silent = () => mode === 'on' && !leading && probed > 0 && heard < probed;
		locks
			.request(`${name} steal`, { ifAvailable: true }, async (lock) => {
				if (!lock || !silent()) return;
				const { held = [] } = await locks.query();
				// Free: the queue hands it over by itself.
				if (!held.some((entry) => entry.name === name) || !silent()) return;
				queued?.abort();
				queued = undefined;
				const ticket = {};
				await new Promise<void>((resolve) => {
					locks
						.request(name, { steal: true }, () => (resolve(), granted(ticket)))
						.catch(() => (resolve(), lost(ticket)));
				});
				// Held a beat longer, until the other silent tabs have heard this one lead.
				await new Promise((resolve) => env.setTimeout(() => resolve(undefined), BEAT));
			})
			.catch(noop);
	}

	function lead() {
		leading = true;
		prev = epoch;
		epoch = Math.max(epoch + 1, env.now());
		sent = 0;
		probed = 0;
		marks.clear();
		mirror = { ...mirror, status: fed ? 'reconnecting' : 'connecting', retryAt: undefined };
		post({ t: 'lead', e: epoch, f: me });
		const from: (string | undefined)[] = [];
		if (!fed) run(from, []);
		else {
			// Let the other tabs say where they are, so that none is left with a hole; the last
			// leader's final messages still on their way are applied meanwhile.
			gathering = { from, early: [], timer: env.setTimeout(() => run(from), GATHER) };
		}
		publish();
	}

	function run(others: (string | undefined)[], early = gathering?.early ?? []) {
		if (gathering) env.clearTimeout(gathering.timer);
		gathering = undefined;
		const e = epoch;
		const from = earliest([last, ...others]);
		// Where this leader's stream starts: a tab that has less asks for the rows.
		post({ t: 'go', e, l: from });
		const current = ctx.engine(relay, from, fed);
		engine = current;
		unsubscribe = current.subscribe((state) => {
			if (engine !== current) return;
			post({ t: 'st', e, a: plain(state), n: tabs });
			publish();
		});
		current.start();
		post({ t: 'st', e, a: plain(current.getSnapshot()), n: tabs });
		publish();
		for (const message of early) receive(message);
		for (const change of outgoing.values()) dispatch(change);
	}

	const relay: Relay = (t, a, b) => {
		if (!leading) return undefined;
		if (t === 'm' || t === 'a') fed = true;
		// Resyncs under way, for the rows this leader hands to a tab that joins meanwhile.
		if (t === 'k') marks.set(seq + 1, 0);
		if (t === 'a') marks.delete(b as number);
		post({ t, e: epoch, s: ++sent, a, b });
		return sent;
	};

	/** Gives up leading (stolen, a newer leader, or leaving) and the engine with it. */
	function resign() {
		const wasLeading = leading;
		leading = false;
		if (gathering) env.clearTimeout(gathering.timer);
		gathering = undefined;
		unsubscribe();
		unsubscribe = noop;
		const current = engine;
		engine = undefined;
		if (current) {
			mirror = { ...current.getSnapshot(), status: 'reconnecting', retryAt: undefined };
			last = current.lastEventId ?? last;
		}
		// Its queued changes stay with this tab (`outgoing`) and go to the next leader.
		current?.stop();
		answers.clear();
		release();
		release = noop;
		hold = undefined;
		return wasLeading;
	}

	/** Stops leading and waits for the next leader, whose `go` says whether this tab needs its rows. */
	function follow() {
		if (!resign()) return;
		synced = false;
		if (mode === 'on') campaign();
		publish();
	}

	function tick() {
		timer = env.setTimeout(tick, BEAT);
		const now = env.now();
		if (leading) {
			post({ t: 'hb', e: epoch, n: tabs, l: engine?.lastEventId });
			if (beats++ % 4 === 0) count();
			return;
		}
		if (wanting && !probed) want();
		if (!probed && now - (heard || joined) > SILENT) {
			probed = now;
			post({ t: 'probe', f: me });
			if (heard) {
				mirror = { ...mirror, status: 'reconnecting', retryAt: undefined };
				publish();
			}
		} else if (probed && now - probed >= PROBE * (env.isVisible() ? 1 : 2)) steal();
	}

	/** Counts the tabs taking part (frozen ones too: they hold their presence lock). */
	function count() {
		locks
			.query()
			.then(({ held = [] }) => {
				const n = held.filter((entry) => entry.name?.startsWith(`${name} tab `)).length;
				if (n > 0 && n !== tabs) {
					tabs = n;
					publish();
				}
			})
			.catch(noop);
	}

	function receive(data: unknown) {
		if (!valid(data)) {
			store.reportDropped(new DecodeError(messages.badTabMessage(data), data));
			return;
		}
		const d = data;
		if (d.to !== undefined && d.to !== me) return;
		if (FROM_LEADER.has(d.t)) {
			// While this tab takes over, the last leader's final messages still count.
			const late = gathering !== undefined && d.e === prev;
			// A leader that lost the lock, still talking.
			if (d.e < epoch && !late) return;
			if (d.e > epoch) {
				follow();
				epoch = d.e;
				seq = 0;
				synced = false;
				// Missed its start (`lead`, then `go`): ask for its rows.
				if (d.t !== 'lead' && d.t !== 'go' && d.t !== 'snap') want();
			} else if (leading && !late) return;
			heard = env.now();
			if (probed) {
				probed = 0;
				if (mirror.status === 'reconnecting') publish();
			}
			if (typeof d.n === 'number' && d.n !== tabs) {
				tabs = d.n;
				publish();
			}
			fromLeader(d);
		} else if (leading) toLeader(d);
	}

	function fromLeader(d: Message) {
		if (NUMBERED.has(d.t)) {
			if (!synced || d.s <= seq) return;
			if (d.s > seq + 1) {
				// Something was lost on the way: start again from the leader's rows.
				return want();
			}
			seq = d.s;
		}
		switch (d.t) {
			case 'lead':
				for (const change of outgoing.values()) dispatch(change);
				return post({ t: 'at', e: d.e, f: me, l: last });
			case 'go':
				// This tab has all the stream up to where the new leader's starts: it goes on.
				if (fed && covers(last, d.l as string | undefined)) synced = true;
				else want();
				return;
			case 'snap': {
				if (!wanting) return;
				wanting = false;
				store.adopt(d.r as StoreHandoff<unknown>);
				for (const mark of d.k as number[]) marks.set(mark, store.mark());
				seq = d.s;
				last = d.l as string | undefined;
				synced = fed = true;
				mirror = revive(d.st);
				return publish();
			}
			case 'm': {
				const meta = d.b as MessageMeta;
				if (meta.id !== undefined) last = meta.id || undefined;
				fed = true;
				store.receive(d.a, meta);
				return;
			}
			case 'x':
				return store.reportDropped(new DecodeError(d.a as string, undefined));
			case 'g':
				return store.forgetEventIds();
			case 'k':
				marks.set(d.s, store.mark());
				return;
			case 'a':
				store.apply(d.a as never, { since: marks.get(d.b as number) });
				marks.delete(d.b as number);
				return;
			case 'st':
				mirror = revive(d.a);
				return publish();
			case 'hb':
				if (typeof d.l === 'string') last = d.l;
				return;
			case 'bye':
				heard = 0;
				mirror = { ...mirror, status: 'reconnecting', retryAt: undefined };
				return publish();
			case 'ack': {
				const change = outgoing.get(d.i as string);
				if (!change) return;
				if (d.x === ONE_WAY && change.options.otherwise) {
					return void change.options.otherwise().then(
						(value) => settle(change, true, value),
						(error) => settle(change, false, error)
					);
				}
				return settle(change, d.x === undefined, d.x === undefined ? d.v : revive(d.x, true));
			}
		}
	}

	function toLeader(d: Message) {
		switch (d.t) {
			case 'hi':
				count();
				return post({
					t: 'snap',
					e: epoch,
					to: d.f,
					s: sent,
					r: store.handoff(),
					l: engine?.lastEventId ?? last,
					st: plain(snapshot),
					n: tabs,
					k: [...marks.keys()]
				});
			case 'probe':
				return post({ t: 'hb', e: epoch, n: tabs, l: engine?.lastEventId });
			case 'at':
				if (!gathering) return;
				gathering.from.push(d.l as string | undefined);
				if (gathering.from.length >= tabs - 1) run(gathering.from);
				return;
			case 'retry':
				return engine?.retry();
			case 'mut': {
				if (!engine) return void gathering?.early.push(d);
				const id = d.i as string;
				let answer = answers.get(id);
				if (!answer) {
					const options = d.o as QueuedSendOptions;
					answer = engine.send(d.d, {
						ack: options.ack,
						timeoutMs: options.timeoutMs,
						otherwise: d.w ? () => Promise.reject(ONE_WAY) : undefined
					});
					answers.set(id, answer);
					if (answers.size > ANSWERS) answers.delete(answers.keys().next().value!);
				}
				const e = epoch;
				const reply = (outcome: Record<string, unknown>) =>
					leading && epoch === e && post({ t: 'ack', e, to: d.f, i: id, ...outcome });
				answer.then(
					(v) => reply({ v }),
					(error) => reply({ x: error === ONE_WAY ? ONE_WAY : plainError(error) })
				);
				return;
			}
		}
	}

	/** Sends a change through this tab's engine as leader, or through the leader's. */
	function dispatch(change: Outgoing) {
		if (!leading) {
			const { ack, timeoutMs, otherwise } = change.options;
			return post({
				t: 'mut',
				f: me,
				i: change.id,
				d: change.data,
				o: { ack, timeoutMs },
				w: otherwise !== undefined
			});
		}
		const current = engine;
		if (!current) return; // gathering: sent when the engine starts
		current.send(change.data, change.options).then(
			(value) => settle(change, true, value),
			(error: unknown) => {
				// Stopped because this tab stopped leading: the next leader sends it.
				if (engine === current || mode === 'closed') settle(change, false, error);
			}
		);
	}

	function settle(change: Outgoing, ok: boolean, value: unknown) {
		if (outgoing.get(change.id) !== change) return;
		outgoing.delete(change.id);
		env.clearTimeout(change.timer);
		if (ok) change.resolve(value);
		else change.reject(value);
	}

	function quit(to: 'paused' | 'closed') {
		if (leading) post({ t: 'bye', e: epoch });
		resign();
		queued?.abort();
		queued = undefined;
		leave();
		leave = noop;
		channel?.close();
		channel = undefined;
		env.clearTimeout(timer);
		mode = to;
		publish();
	}

	const closedError = () =>
		new TransportError(messages.closed(), { code: 'closed', retryable: false });

	return {
		start() {
			if (mode !== 'on') join();
			else engine?.start();
			publish();
		},
		stop() {
			if (mode === 'closed') return;
			quit('closed');
			for (const change of outgoing.values()) settle(change, false, closedError());
		},
		pause() {
			if (mode === 'on') quit('paused');
		},
		resume() {
			if (mode === 'paused') join();
			publish();
		},
		retry() {
			if (leading) engine?.retry();
			else post({ t: 'retry' });
		},
		getSnapshot: () => snapshot,
		subscribe(listener) {
			listeners.add(listener);
			return () => listeners.delete(listener);
		},
		get lastEventId() {
			return engine?.lastEventId ?? last;
		},
		send(data, options = {}) {
			if (mode === 'idle' || mode === 'closed') return Promise.reject(closedError());
			const { signal } = options;
			if (signal?.aborted) return Promise.reject(signal.reason);
			return new Promise((resolve, reject) => {
				const id = isMutationMessage(data) ? data.mutationId : `${me}:${++counter}`;
				const change: Outgoing = { id, data, options, resolve, reject };
				change.timer = env.setTimeout(
					() =>
						settle(
							change,
							false,
							new TransportError(messages.commitTimeout(ctx.limit), {
								code: 'timeout',
								retryable: true
							})
						),
					ctx.limit
				);
				signal?.addEventListener('abort', () => settle(change, false, signal.reason), {
					once: true
				});
				outgoing.set(id, change);
				dispatch(change);
			});
		}
	};
}

/** Whether a store that has the stream up to `last` misses nothing of a stream resumed from `from`. */
function covers(last: string | undefined, from: string | undefined): boolean {
	if (from === undefined || last === from) return true;
	return last !== undefined && /^\d+$/.test(last) && /^\d+$/.test(from) && +last >= +from;
}

/** The earliest of the tabs' last event ids, when they are numbers; else this tab's. */
function earliest(ids: (string | undefined)[]): string | undefined {
	const own = ids[0];
	if (!ids.every((id) => id !== undefined && /^\d+$/.test(id))) return own;
	return ids.reduce((a, b) => (Number(b) < Number(a) ? b : a));
}

/** A connection state as plain data (structured clone keeps no class). */
function plain(state: ConnectionState): Record<string, unknown> {
	const { shared: _shared, ...rest } = state;
	return { ...rest, error: state.error && plainError(state.error) };
}

function plainError(error: unknown): Record<string, unknown> {
	if (error instanceof TransportError) {
		const { message, code, retryable, status, retryAfterMs, transport } = error;
		return { message, code, retryable, status, retryAfterMs, transport };
	}
	return { message: error instanceof Error ? error.message : String(error) };
}

function revive(value: unknown, error: true): Error;
function revive(value: unknown): ConnectionState;
function revive(value: unknown, error?: true): ConnectionState | Error {
	const v = value as Record<string, unknown> & { message: string; error?: unknown };
	if (error) {
		return v.code
			? new TransportError(v.message, v as never)
			: new Error(v.message ?? String(value));
	}
	return {
		...(v as unknown as ConnectionState),
		error: v.error ? (revive(v.error, true) as never) : undefined
	};
}

const isInt = (value: unknown) => Number.isSafeInteger(value) && (value as number) >= 0;
const isString = (value: unknown) => typeof value === 'string' && value.length <= 200;
const isState = (value: unknown) =>
	typeof value === 'object' &&
	value !== null &&
	CONNECTION_STATUSES.includes((value as ConnectionState).status);

/** Whether `d` is one of the kit's messages, whole: anything else is dropped and reported. */
function valid(d: unknown): d is Message {
	if (typeof d !== 'object' || d === null) return false;
	const m = d as Record<string, unknown>;
	const t = m.t as string;
	if (!TYPES.has(t)) return false;
	if (FROM_LEADER.has(t) && !(typeof m.e === 'number' && Number.isFinite(m.e))) return false;
	if (NUMBERED.has(t) && !(isInt(m.s) && (m.s as number) > 0)) return false;
	if ((m.f !== undefined && !isString(m.f)) || (m.to !== undefined && !isString(m.to)))
		return false;
	switch (t) {
		case 'm': {
			const meta = m.b as MessageMeta;
			return (
				typeof meta === 'object' &&
				meta !== null &&
				(meta.id === undefined || typeof meta.id === 'string') &&
				(meta.event === undefined || typeof meta.event === 'string')
			);
		}
		case 'x':
			return typeof m.a === 'string';
		case 'a':
			return typeof m.a === 'object' && m.a !== null;
		case 'st':
			return isState(m.a);
		case 'snap': {
			const r = m.r as StoreHandoff<unknown>;
			return (
				isInt(m.s) &&
				isState(m.st) &&
				typeof r === 'object' &&
				r !== null &&
				Array.isArray(r.items) &&
				Array.isArray(r.ids) &&
				r.ids.every((id) => typeof id === 'string') &&
				Array.isArray(m.k)
			);
		}
		case 'go':
			return m.l === undefined || typeof m.l === 'string';
		case 'lead':
		case 'hi':
		case 'at':
		case 'probe':
			return t === 'probe' || isString(m.f);
		case 'mut':
		case 'ack':
			return isString(m.i) && (t === 'ack' || (isString(m.f) && typeof m.o === 'object'));
	}
	return true;
}
