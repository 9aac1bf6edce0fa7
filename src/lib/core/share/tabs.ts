// One connection for every tab of this browser that would open the same one, loaded only when
// `share` is set. Web Locks elect a leader, which runs the ordinary engine and passes everything it
// feeds its store, and its state, to the other tabs on a BroadcastChannel; they feed their own
// stores with it. A follower that hears nothing from the leader probes it, and steals the lock from
// a leader that does not answer (frozen). Every leader message carries the leader's epoch (its
// election time): a tab applies only the newest epoch's messages, so a leader that wakes up after
// losing the lock changes nothing, and steps down when it hears the newer one. A leader about to be
// frozen (`freeze`) or unloaded (`pagehide`) steps down at once, and joins again on `resume`.
//
// The messages, by `t`. From the leader, with its epoch `e`: `lead` {l: the event id its stream
// resumes from} · `m` `g` `a` {s, a, b, to?}: a message and its meta, a gap, the rows (after a
// resync, or for the tab `to` that asked), numbered by `s` · `st` {a: state, n: tabs},
// also the heartbeat · `ack` {to, i, v | x}. From any tab: `hi` {f} asks for the rows · `probe` ·
// `mut` {f, i, d, o}: a change to send · `retry`.
import type { Connection, QueuedSendOptions } from '../connection/connection.js';
import { IDLE_CONNECTION_STATE, type ConnectionState } from '../connection/machine.js';
import type { Env } from '../env/env.js';
import { DecodeError, TransportError } from '../errors.js';
import * as messages from '../messages.js';
import { isMutationMessage } from '../protocol.js';
import type { RecordStore, StoreHandoff } from '../store/store.js';
import type { MessageMeta, Transport } from '../transports/types.js';
import { CONNECTION_STATUSES } from '../types.js';
import type { Relay, Shared } from './entry.js';

export interface ShareContext {
	share?: 'tabs' | 'auto' | false;
	shareKey?: string;
	transport: Transport<unknown, unknown>;
	env: Env;
	store: RecordStore<unknown>;
	/** A new engine: for this tab as leader (`relay`), resuming from `from`; or on its own. */
	engine(relay?: Relay, from?: string, continuing?: boolean): Connection;
	lastEventId?: string;
	/** How long a change may wait for the leader's answer (milliseconds). */
	limit: number;
	/** Tells the connection's subscribers this tab's state. */
	emit(state: ConnectionState): void;
}

/**
 * The leader beats this often; a follower probes after `SILENT` without a word, and steals after
 * `PATIENCE` more. The leader answers a probe from a timer, which a frozen page does not run (it may
 * still run message handlers) and a throttled one runs within a second.
 */
const BEAT = 400;
const SILENT = 1000;
const PATIENCE = 1100;
/** Outcomes of other tabs' changes kept, so that a change sent again is answered, not sent again. */
const ANSWERS = 256;
const NUMBERED = ['m', 'g', 'a'];
const FROM_LEADER = [...NUMBERED, 'lead', 'st', 'ack'];
const TYPES = [...FROM_LEADER, 'hi', 'probe', 'mut', 'retry'];
const noop = () => {};
// Here rather than in messages.ts, so that it loads with this module only.
const DROPPED = "Dropped a message from another tab that is not one of the kit's";

type Message = Record<string, unknown> & { t: string; e: number; s: number; f?: string };

interface Outgoing {
	id: string;
	data: unknown;
	options: QueuedSendOptions;
	resolve(value: unknown): void;
	reject(error: unknown): void;
	timer?: unknown;
}

/**
 * The connection for `ctx`, shared with the other tabs that would open the same one; where Web
 * Locks or BroadcastChannel are missing, or `share: 'auto'` finds HTTP/2 or HTTP/3 (which
 * multiplex), the tab's own engine.
 */
export function shareTabs(ctx: ShareContext): Shared {
	const { env, store, transport } = ctx;
	const g = globalThis as { navigator?: { locks?: LockManager }; performance?: Performance };
	const locks = (env.locks ?? g.navigator?.locks)!;
	const Channel = env.BroadcastChannel ?? globalThis.BroadcastChannel;
	const entry = g.performance?.getEntriesByType?.('navigation')[0] as
		PerformanceNavigationTiming | undefined;
	if (
		!locks ||
		typeof Channel !== 'function' ||
		(ctx.share === 'auto' && /^h[23]/.test(entry?.nextHopProtocol ?? ''))
	)
		return ctx.engine();
	// Same kind, same identity (callbacks left out), same key: the same connection.
	const name = `srk1 ${JSON.stringify(
		[transport.kind, transport.identity, ctx.shareKey],
		(_, value) => (typeof value === 'function' ? undefined : value)
	)}`;
	const me = env.random().toString(36).slice(2) + env.now().toString(36);
	const presence = `${name} tab ${me}`;
	/** This tab's changes waiting for an outcome, by mutation id. */
	const outgoing = new Map<string, Outgoing>();
	/** As leader: the outcome of each tab's change, by mutation id. */
	const answers = new Map<string, Promise<unknown>>();
	let mode: 'idle' | 'on' | 'paused' | 'closed' = 'idle';
	let channel: BroadcastChannel | undefined;
	let engine: Connection | undefined;
	let unsubscribe = noop;
	/** The lock request that made this tab leader (by number), and how to give the lock back. */
	let hold = 0;
	let tickets = 0;
	let release = noop;
	let queued: AbortController | undefined;
	let leave = noop;
	let present = false;
	let epoch = 0;
	/** Following: the last numbered message applied. Leading: the last one sent. */
	let seq = 0;
	/** Following: the store holds everything the leader sent up to `seq`. */
	let synced = false;
	/** Waiting for the leader's rows, asked for with `hi`. */
	let wanting = false;
	/** The store holds data from the stream (so a new connection here is a reconnect). */
	let fed = false;
	/**
	 * A numeric event id this tab applied that the leader's stream has not reached yet (it resumed
	 * from further back): its messages up to it are passed over, whatever the dedupe window holds.
	 */
	let ahead = 0;
	let heard = 0;
	/** This tab led, or heard a leader, since it joined. */
	let known = false;
	let probed = 0;
	let stole = -1;
	let beats = 0;
	let tabs = 1;
	let last = ctx.lastEventId;
	let mirror: ConnectionState = { ...IDLE_CONNECTION_STATE, status: 'connecting' };
	let timer: unknown;
	let counter = 0;
	/** The state last posted, without its liveness time (that goes with each beat). */
	let posted = '';
	/** Stepped down while frozen or unloaded. */
	let asleep = false;

	function publish() {
		const base = engine?.getSnapshot() ?? mirror;
		// A follower whose leader went quiet shows it reconnecting until it hears from one.
		const status = mode !== 'on' ? mode : probed ? 'reconnecting' : base.status;
		// `shared` once this tab leads or has heard the leader: not "through another tab" before.
		const shared = engine || known ? { role: engine ? 'leader' : 'follower', tabs } : undefined;
		ctx.emit({ ...base, status, shared } as ConnectionState);
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
		probed = 0;
		heard = env.now();
		known = false;
		channel = new Channel(name);
		channel.onmessage = (event: MessageEvent) => receive(event.data);
		campaign();
		want();
		tick();
		for (const change of outgoing.values()) dispatch(change);
	}

	/** Queues for the lock; never with a timeout (a queued tab waits as long as the leader lives). */
	function campaign() {
		const ticket = ++tickets;
		const controller = new AbortController();
		queued = controller;
		locks
			.request(name, { signal: controller.signal }, () => granted(ticket))
			.catch(() => lost(ticket));
	}

	function granted(ticket: number): Promise<void> | undefined {
		if (mode !== 'on' || engine) return undefined;
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
				if (owner(name) === owner(presence)) return lead();
				lost(ticket);
				resolve();
			}, noop);
		});
	}

	/** The lock request ended with an error (stolen), or the grant was not this tab's after all. */
	function lost(ticket: number) {
		if (hold !== ticket) return;
		if (engine) return follow();
		hold = 0;
		if (mode === 'on') campaign();
	}

	/**
	 * Takes the lock from a leader that does not answer: once per epoch. The silent tabs wait apart
	 * (at random), so that the first to take over is heard by the others before they try.
	 */
	function steal() {
		if (stole === epoch) return;
		stole = epoch;
		env.setTimeout(() => {
			if (mode !== 'on' || engine || heard >= probed) return;
			queued?.abort();
			const ticket = ++tickets;
			locks.request(name, { steal: true }, () => granted(ticket)).catch(() => lost(ticket));
		}, env.random() * BEAT);
	}

	function lead() {
		epoch = Math.max(epoch + 1, env.now());
		seq = probed = 0;
		posted = '';
		// It resumes from its own last event id: a tab that has less asks for the rows, a tab that has
		// more drops what it has by event id.
		post({ t: 'lead', e: epoch, l: last });
		const current = ctx.engine(relay, last, fed);
		engine = current;
		unsubscribe = current.subscribe(() => (beat(false), publish()));
		current.start();
		beat(false);
		publish();
		for (const change of outgoing.values()) dispatch(change);
	}

	/** Posts the engine's state: with each beat, or when more than its liveness time changed. */
	function beat(always: boolean) {
		const a = plain(engine!.getSnapshot());
		const key = JSON.stringify({ ...a, lastEventAt: 0 });
		if (always || key !== posted) post({ t: 'st', e: epoch, a, n: tabs });
		posted = key;
	}

	/** Passes on what the engine fed the store; `a`: the store's rows (for `to`, or for everyone). */
	const relay = (t: string, a?: unknown, b?: unknown, to?: unknown) => {
		if (!engine) return;
		if (t === 'm' || t === 'a') fed = true;
		const rows = t === 'a' ? { ...store.handoff(), l: engine.lastEventId } : a;
		post({ t, e: epoch, s: ++seq, a: rows, b, to, n: tabs });
	};

	/** Gives up leading (stolen, a newer leader, or leaving) and the engine with it. */
	function follow() {
		const current = engine;
		if (!current) return;
		engine = undefined;
		unsubscribe();
		mirror = { ...current.getSnapshot(), status: 'reconnecting', retryAt: undefined };
		last = current.lastEventId ?? last;
		// Its queued changes stay with this tab (`outgoing`) and go to the next leader.
		current.stop();
		answers.clear();
		release();
		hold = 0;
		synced = false;
		if (mode === 'on') campaign();
		publish();
	}

	function tick() {
		timer = env.setTimeout(tick, BEAT);
		const now = env.now();
		if (engine) {
			beat(true);
			if (beats++ % 4 === 0) count();
		} else if (!probed) {
			if (wanting) want();
			if (now - heard > SILENT) {
				probed = now;
				post({ t: 'probe' });
				publish();
			}
			// A hidden tab waits longer: a visible one should take over first.
		} else if (now - probed >= PATIENCE * (env.isVisible() ? 1 : 2)) steal();
	}

	/** Counts the tabs taking part (frozen ones too: they hold their presence lock, or wait for it). */
	function count() {
		return locks.query().then(({ held = [], pending = [] }) => {
			const n = new Set(
				[...held, ...pending].flatMap(({ name: lock }) =>
					lock?.startsWith(`${name} tab `) ? [lock] : []
				)
			).size;
			if (n && n !== tabs) {
				tabs = n;
				publish();
			}
		}, noop);
	}

	function receive(d: Message) {
		if (!valid(d)) return store.reportDropped(new DecodeError(DROPPED, d));
		if (!FROM_LEADER.includes(d.t)) return engine && toLeader(d);
		// A leader that lost the lock, still talking.
		if (d.e < epoch) return;
		if (d.e > epoch) {
			follow();
			epoch = d.e;
			seq = 0;
			// Missed its start: ask for its rows.
			if (d.t !== 'lead') want();
		} else if (engine) return;
		heard = env.now();
		probed = 0;
		known = true;
		tabs = (d.n as number) ?? tabs;
		const mine = d.to === undefined || d.to === me;
		// The rows this tab asked for: where it starts. Rows for it that it no longer waits for (it
		// asked twice) are passed over.
		const asked = wanting && mine && d.t === 'a';
		if (NUMBERED.includes(d.t)) {
			if (asked) seq = d.s - 1;
			else if (!synced || d.s <= seq) return;
			// Something was lost on the way: start again from the leader's rows.
			if (d.s > seq + 1) return want();
			seq = d.s;
		}
		if (!mine) return;
		const a = d.a as StoreHandoff<unknown> & { l?: string };
		switch (d.t) {
			case 'lead':
				// This tab has the stream up to where the new leader's starts: it goes on.
				if (fed && covers(last, d.l as string | undefined)) {
					synced = true;
					wanting = false;
					ahead = beyond(last, d.l);
				} else want();
				for (const change of outgoing.values()) dispatch(change);
				break;
			case 'a':
				if (d.to !== undefined && !asked) return;
				// Rows this tab already has all of (it comes back with more than the leader) are not
				// taken: what it has stays, and what the leader sends next it drops by event id.
				if (!asked || !fed || a.l === undefined || !covers(last, a.l)) {
					last = a.l;
					store.adopt(a);
				} else ahead = beyond(last, a.l);
				wanting = false;
				synced = fed = true;
				break;
			case 'm': {
				const meta = d.b as MessageMeta;
				if (ahead && num(meta.id) <= ahead) return;
				ahead = 0;
				if (meta.id !== undefined) last = meta.id || undefined;
				fed = true;
				store.receive(a, meta);
				return;
			}
			case 'g':
				ahead = 0;
				return store.forgetEventIds();
			case 'st':
				mirror = revive(a);
				break;
			case 'ack': {
				const change = outgoing.get(d.i as string);
				if (change) settle(change, !d.x, d.x ? revive(d.x, true) : d.v);
			}
		}
		publish();
	}

	function toLeader(d: Message) {
		const current = engine!;
		// Counted first, so that the tab that joins learns how many share.
		if (d.t === 'hi') void count().then(() => relay('a', 0, 0, d.f));
		else if (d.t === 'probe') env.setTimeout(() => engine && beat(true), 0);
		else if (d.t === 'retry') current.retry();
		else if (d.t === 'mut') {
			const id = d.i as string;
			let answer = answers.get(id);
			if (!answer) {
				answers.set(id, (answer = current.send(d.d, d.o as QueuedSendOptions)));
				if (answers.size > ANSWERS) answers.delete(answers.keys().next().value!);
			}
			const reply = (outcome: object) =>
				engine === current && post({ t: 'ack', e: epoch, to: d.f, i: id, ...outcome });
			answer.then(
				(v) => reply({ v }),
				(error) => reply({ x: plainError(error) })
			);
		}
	}

	/** Sends a change through this tab's engine as leader, or through the leader's. */
	function dispatch(change: Outgoing) {
		const { data, options, id } = change;
		const { ack, timeoutMs, otherwise } = options;
		const current = engine;
		const done = (sending: Promise<unknown>) =>
			sending.then(
				(value) => settle(change, true, value),
				(error: unknown) => {
					// Stopped because this tab stopped leading: the next leader sends it.
					if (engine === current || mode === 'closed') settle(change, false, error);
				}
			);
		if (current) return void done(current.send(data, options));
		// The leader's connection is one-way now: this tab's own way (an HTTP commit) sends it.
		if (otherwise && mirror.status === 'live' && !mirror.bidirectional)
			return void done(otherwise());
		post({ t: 'mut', f: me, i: id, d: data, o: { ack, timeoutMs } });
	}

	function settle(change: Outgoing, ok: boolean, value: unknown) {
		if (outgoing.get(change.id) !== change) return;
		outgoing.delete(change.id);
		env.clearTimeout(change.timer);
		(ok ? change.resolve : change.reject)(value);
	}

	function quit(to: 'paused' | 'closed') {
		follow();
		queued?.abort();
		channel?.close();
		channel = undefined;
		env.clearTimeout(timer);
		mode = to;
		publish();
	}

	const doc = globalThis.document;
	const sleep = () => {
		if (mode !== 'on') return;
		quit('paused');
		asleep = true;
	};
	const wake = () => {
		if (!asleep) return;
		asleep = false;
		join();
		publish();
	};
	function listen(method: 'addEventListener' | 'removeEventListener') {
		doc?.[method]('freeze', sleep);
		doc?.[method]('resume', wake);
		globalThis[method]?.('pagehide', sleep);
		globalThis[method]?.('pageshow', wake);
	}

	const failure = (message: string, code: 'closed' | 'timeout') =>
		new TransportError(message, { code, retryable: code === 'timeout' });

	return {
		start() {
			// Held while this tab takes part: the leader counts these.
			if (!present) {
				present = true;
				locks
					.request(presence, () => mode !== 'closed' && new Promise<void>((r) => (leave = r)))
					.catch(noop);
			}
			listen('addEventListener');
			if (mode !== 'on') join();
			else engine?.start();
			publish();
		},
		stop() {
			if (mode === 'closed') return;
			quit('closed');
			listen('removeEventListener');
			leave();
			present = false;
			for (const change of outgoing.values())
				settle(change, false, failure(messages.closed(), 'closed'));
		},
		pause() {
			if (mode === 'on') quit('paused');
		},
		resume() {
			if (mode === 'paused') join();
			publish();
		},
		retry() {
			if (engine) engine.retry();
			else post({ t: 'retry' });
		},
		get lastEventId() {
			return engine?.lastEventId ?? last;
		},
		send(data, options = {}) {
			if (mode === 'idle' || mode === 'closed')
				return Promise.reject(failure(messages.closed(), 'closed'));
			const { signal } = options;
			if (signal?.aborted) return Promise.reject(signal.reason);
			return new Promise((resolve, reject) => {
				const id = isMutationMessage(data) ? data.mutationId : `${me}:${++counter}`;
				const change: Outgoing = { id, data, options, resolve, reject };
				const timeout = failure(messages.commitTimeout(ctx.limit), 'timeout');
				change.timer = env.setTimeout(() => settle(change, false, timeout), ctx.limit);
				signal?.addEventListener('abort', () => settle(change, false, signal.reason));
				outgoing.set(id, change);
				dispatch(change);
			});
		}
	};
}

/** Whether a store that has the stream up to `last` misses nothing of a stream resumed from `from`. */
function covers(last: string | undefined, from: string | undefined): boolean {
	return from === undefined || last === from || num(last) >= num(from);
}

/** `last` as a number when it is ahead of `from` (both numeric), else 0. */
const beyond = (last: string | undefined, from: unknown) => (num(last) > num(from) ? num(last) : 0);

/** A numeric event id as a number; NaN for any other. */
const num = (id: unknown) => (typeof id === 'string' && /^\d+$/.test(id) ? +id : Number.NaN);

/** A connection state as plain data (structured clone keeps no class). */
function plain(state: ConnectionState): object {
	return { ...state, shared: undefined, error: state.error && plainError(state.error) };
}

function plainError(error: unknown): object {
	const { message, code, retryable, status, retryAfterMs, transport } = error as TransportError;
	return { message: message ?? String(error), code, retryable, status, retryAfterMs, transport };
}

function revive(value: unknown, error: true): Error;
function revive(value: unknown): ConnectionState;
function revive(value: unknown, error?: true): ConnectionState | Error {
	const v = value as { code?: string; message: string; error?: unknown };
	if (error) return v.code ? new TransportError(v.message, v as never) : new Error(v.message);
	return { ...v, error: v.error && revive(v.error, true) } as unknown as ConnectionState;
}

/** Whether `d` is one of the kit's messages, whole: anything else is dropped and reported. */
function valid(d: unknown): d is Message {
	const m = d as Message | null;
	if (typeof m !== 'object' || m === null || !TYPES.includes(m.t)) return false;
	const { t, a, b } = m as Message & { a: StoreHandoff<unknown>; b: MessageMeta };
	const text = (value: unknown) => value === undefined || typeof value === 'string';
	return (
		(!FROM_LEADER.includes(t) || Number.isFinite(m.e)) &&
		(!NUMBERED.includes(t) || (Number.isSafeInteger(m.s) && m.s > 0)) &&
		(m.n === undefined || Number.isSafeInteger(m.n)) &&
		(t !== 'm' || (typeof b === 'object' && b !== null && text(b.id) && text(b.event))) &&
		(t !== 'st' || CONNECTION_STATUSES.includes((a as unknown as ConnectionState)?.status)) &&
		(t !== 'a' || (Array.isArray(a?.items) && Array.isArray(a.ids))) &&
		text(m.to) &&
		// who asks, and which change: the leader answers them
		((t !== 'hi' && t !== 'mut') || typeof m.f === 'string') &&
		((t !== 'mut' && t !== 'ack') || typeof m.i === 'string') &&
		(t !== 'mut' || (typeof m.o === 'object' && m.o !== null))
	);
}
