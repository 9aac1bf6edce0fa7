// One connection for every tab of this browser that would open the same one, loaded only when
// `share` is set. Web Locks elect a leader, which runs the ordinary engine and passes everything it
// feeds its store, and its state, to the other tabs on a BroadcastChannel; they feed their own
// stores with it. A follower that hears nothing from the leader probes it, and steals the lock from
// a leader that does not answer (frozen). Every leader message carries the leader's epoch (its
// election time): a tab applies only the newest epoch's messages, so a leader that wakes up after
// losing the lock changes nothing, and steps down when it hears the newer one.
//
// A leader that is about to be frozen (the `freeze` event, or `pagehide` into the back/forward
// cache) steps down at once, and joins again when it resumes.
//
// The messages, by `t`. From the leader, with its epoch `e`: `lead` {l: the event id its stream
// resumes from} · `snap` {to, s, r: rows, l, st, n} answers `hi` · `m` `x` `g` `a` {s, a, b}: a
// message, a dropped one, a gap, a resync's rows, numbered by `s` · `st` {a: state, n: tabs},
// also the heartbeat · `ack` {to, i, v | x}. From any tab: `hi` {f} asks for the rows · `probe` ·
// `mut` {f, i, d, o}: a change to send · `retry`.
import type { Connection, QueuedSendOptions } from '../connection/connection.js';
import { IDLE_CONNECTION_STATE, type ConnectionState } from '../connection/machine.js';
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
const FROM_LEADER = 'lead snap m x g a st ack'.split(' ');
const NUMBERED = 'm x g a'.split(' ');
const TYPES = [...FROM_LEADER, ...'hi probe mut retry'.split(' ')];
const noop = () => {};

type Message = Record<string, unknown> & { t: string; e: number; s: number; f?: string };

interface Outgoing {
	id: string;
	data: unknown;
	options: QueuedSendOptions;
	resolve(value: unknown): void;
	reject(error: unknown): void;
	timer?: unknown;
}

export function shareTabs(ctx: ShareContext): Connection {
	const { env, store, locks, name } = ctx;
	const me = env.random().toString(36).slice(2) + env.now().toString(36);
	const presence = `${name} tab ${me}`;
	const listeners = new Set<(state: ConnectionState) => void>();
	/** This tab's changes waiting for an outcome, by mutation id. */
	const outgoing = new Map<string, Outgoing>();
	/** As leader: the outcome of each tab's change, by mutation id. */
	const answers = new Map<string, Promise<unknown>>();
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
	/** Following: the last numbered message applied. Leading: the last one sent. */
	let seq = 0;
	/** Following: the store holds everything the leader sent up to `seq`. */
	let synced = false;
	/** Waiting for the leader's rows (a `snap`), asked for with `hi`. */
	let wanting = false;
	/** The store holds data from the stream (so a new connection here is a reconnect). */
	let fed = false;
	let heard = 0;
	let probed = 0;
	let stole = -1;
	let beats = 0;
	let tabs = 1;
	let last = ctx.lastEventId;
	let mirror: ConnectionState = { ...IDLE_CONNECTION_STATE, status: 'connecting' };
	let timer: unknown;
	let counter = 0;
	/** The state last posted, without its liveness time (posted with each beat anyway). */
	let posted = '';
	/** Stepped down while frozen or in the back/forward cache. */
	let asleep = false;
	let snapshot = view();

	function view(): ConnectionState {
		const base = engine?.getSnapshot() ?? mirror;
		// A follower whose leader went quiet shows it reconnecting until it hears from one.
		const status =
			mode !== 'on' ? (mode === 'idle' ? 'idle' : mode) : probed ? 'reconnecting' : base.status;
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
		heard = probed = 0;
		channel = new ctx.Channel(name);
		channel.onmessage = (event: MessageEvent) => receive(event.data);
		// Held while this tab takes part: the leader counts these.
		const controller = new AbortController();
		let done = noop;
		locks
			.request(presence, { signal: controller.signal }, () => new Promise<void>((r) => (done = r)))
			.catch(noop);
		leave = () => (controller.abort(), done());
		campaign();
		want();
		heard = env.now();
		tick();
		for (const change of outgoing.values()) dispatch(change);
	}

	const doc = globalThis.document;
	const sleep = (event: Event) => {
		if (mode !== 'on' || (event.type === 'pagehide' && !(event as PageTransitionEvent).persisted))
			return;
		quit('paused');
		asleep = true;
	};
	const wake = () => {
		if (!asleep) return;
		asleep = false;
		join();
		publish();
	};
	const listen = (on: boolean) => {
		for (const [type, listener] of [
			['freeze', sleep],
			['resume', wake],
			['pagehide', sleep],
			['pageshow', wake]
		] as const)
			(doc ? (on ? doc.addEventListener : doc.removeEventListener) : noop).call(
				doc,
				type,
				listener
			);
	};

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
				if (held.find((entry) => entry.name === name)?.clientId === owner(presence)) return lead();
				lost(ticket);
				resolve();
			}, noop);
		});
	}

	/** The lock request ended with an error (stolen), or the grant was not this tab's after all. */
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
		const silent = () => mode === 'on' && !leading && heard < probed;
		locks
			.request(`${name} steal`, { ifAvailable: true }, async (lock) => {
				if (!lock || !silent()) return;
				const { held = [] } = await locks.query();
				// Free: the queue hands it over by itself.
				if (!held.some((entry) => entry.name === name) || !silent()) return;
				queued?.abort();
				const ticket = {};
				locks.request(name, { steal: true }, () => granted(ticket)).catch(() => lost(ticket));
				// Held a while longer, until the other silent tabs have heard this one lead.
				await new Promise((resolve) => env.setTimeout(() => resolve(0), PATIENCE));
			})
			.catch(noop);
	}

	function lead() {
		leading = true;
		epoch = Math.max(epoch + 1, env.now());
		seq = 0;
		probed = 0;
		// It resumes from its own last event id: a tab that has less asks for the rows, a tab that has
		// more drops what it has by event id.
		post({ t: 'lead', e: epoch, l: last });
		const current = ctx.engine(relay, last, fed);
		engine = current;
		posted = '';
		unsubscribe = current.subscribe(() => (beat(false), publish()));
		current.start();
		beat(false);
		publish();
		for (const change of outgoing.values()) dispatch(change);
	}

	/** Posts the engine's state: on each beat, or when more than its liveness time changed. */
	function beat(always: boolean) {
		const a = plain(engine!.getSnapshot());
		const key = JSON.stringify({ ...a, lastEventAt: 0 });
		if (!always && key === posted) return;
		posted = key;
		post({ t: 'st', e: epoch, a, n: tabs });
	}

	const relay: Relay = (t, a, b) => {
		if (!leading) return;
		if (t === 'm' || t === 'a') fed = true;
		post({ t, e: epoch, s: ++seq, a: t === 'a' ? store.handoff() : a, b });
	};

	/** Gives up leading (stolen, a newer leader, or leaving) and the engine with it. */
	function follow() {
		if (!leading) return;
		leading = false;
		unsubscribe();
		const current = engine!;
		engine = undefined;
		mirror = { ...current.getSnapshot(), status: 'reconnecting', retryAt: undefined };
		last = current.lastEventId ?? last;
		// Its queued changes stay with this tab (`outgoing`) and go to the next leader.
		current.stop();
		answers.clear();
		release();
		release = noop;
		hold = undefined;
		synced = false;
		if (mode === 'on') campaign();
		publish();
	}

	function tick() {
		timer = env.setTimeout(tick, BEAT);
		const now = env.now();
		if (leading) {
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

	/** Counts the tabs taking part (frozen ones too: they hold their presence lock). */
	function count() {
		locks
			.query()
			.then(({ held = [] }) => {
				tabs = held.filter((entry) => entry.name?.startsWith(`${name} tab `)).length || 1;
				publish();
			})
			.catch(noop);
	}

	function receive(d: Message) {
		if (!valid(d)) {
			store.reportDropped(new DecodeError(messages.badTabMessage(d), d));
			return;
		}
		if (d.to !== undefined && d.to !== me) return;
		if (!FROM_LEADER.includes(d.t)) {
			if (leading) toLeader(d);
			return;
		}
		// A leader that lost the lock, still talking.
		if (d.e < epoch) return;
		if (d.e > epoch) {
			follow();
			epoch = d.e;
			seq = 0;
			synced = false;
			// Missed its start: ask for its rows.
			if (d.t !== 'lead' && d.t !== 'snap') want();
		} else if (leading) return;
		heard = env.now();
		if (probed || (typeof d.n === 'number' && d.n !== tabs)) {
			probed = 0;
			tabs = typeof d.n === 'number' ? d.n : tabs;
			publish();
		}
		if (NUMBERED.includes(d.t)) {
			if (!synced || d.s <= seq) return;
			// Something was lost on the way: start again from the leader's rows.
			if (d.s > seq + 1) return want();
			seq = d.s;
		}
		switch (d.t) {
			case 'lead':
				// This tab has the stream up to where the new leader's starts: it goes on.
				if (fed && covers(last, d.l as string | undefined)) synced = true;
				else want();
				for (const change of outgoing.values()) dispatch(change);
				return;
			case 'snap':
				if (!wanting) return;
				wanting = false;
				synced = fed = true;
				seq = d.s;
				last = d.l as string | undefined;
				store.adopt(d.r as StoreHandoff<unknown>);
				mirror = revive(d.st);
				return publish();
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
			case 'a':
				return store.adopt(d.a as StoreHandoff<unknown>);
			case 'st': {
				const before = JSON.stringify({ ...mirror, lastEventAt: 0 });
				mirror = revive(d.a);
				if (JSON.stringify({ ...mirror, lastEventAt: 0 }) !== before) publish();
				return;
			}
			case 'ack': {
				const change = outgoing.get(d.i as string);
				if (change) settle(change, d.x === undefined, d.x === undefined ? d.v : revive(d.x, true));
			}
		}
	}

	function toLeader(d: Message) {
		if (d.t === 'hi') {
			count();
			post({
				t: 'snap',
				e: epoch,
				to: d.f,
				s: seq,
				r: store.handoff(),
				l: engine!.lastEventId,
				st: plain(snapshot),
				n: tabs
			});
		} else if (d.t === 'probe') env.setTimeout(() => leading && beat(true), 0);
		else if (d.t === 'retry') engine!.retry();
		else if (d.t === 'mut') {
			const id = d.i as string;
			let answer = answers.get(id);
			if (!answer) {
				answers.set(id, (answer = engine!.send(d.d, d.o as QueuedSendOptions)));
				if (answers.size > ANSWERS) answers.delete(answers.keys().next().value!);
			}
			const e = epoch;
			const reply = (outcome: object) =>
				leading && epoch === e && post({ t: 'ack', e, to: d.f, i: id, ...outcome });
			answer.then(
				(v) => reply({ v }),
				(error) => reply({ x: plainError(error) })
			);
		}
	}

	/** Sends a change through this tab's engine as leader, or through the leader's. */
	function dispatch(change: Outgoing) {
		const { data, options, id } = change;
		if (!leading) {
			const { ack, timeoutMs, otherwise } = options;
			// The leader's connection is one-way now: this tab's own way (an HTTP commit) sends it.
			if (otherwise && mirror.status === 'live' && !mirror.bidirectional)
				return void otherwise().then(
					(value) => settle(change, true, value),
					(error) => settle(change, false, error)
				);
			return post({ t: 'mut', f: me, i: id, d: data, o: { ack, timeoutMs } });
		}
		const current = engine!;
		current.send(data, options).then(
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
		(ok ? change.resolve : change.reject)(value);
	}

	function quit(to: 'paused' | 'closed') {
		follow();
		queued?.abort();
		leave();
		channel?.close();
		channel = undefined;
		env.clearTimeout(timer);
		mode = to;
		publish();
	}

	const failure = (message: string, code: 'closed' | 'timeout') =>
		new TransportError(message, { code, retryable: code === 'timeout' });

	return {
		start() {
			listen(true);
			if (mode !== 'on') join();
			else engine?.start();
			publish();
		},
		stop() {
			if (mode === 'closed') return;
			quit('closed');
			listen(false);
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
			if (leading) engine!.retry();
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
	const numeric = (id?: string) => /^\d+$/.test(id ?? '');
	return from === undefined || last === from || (numeric(last) && numeric(from) && +last! >= +from);
}

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

const isState = (value: unknown) =>
	CONNECTION_STATUSES.includes((value as ConnectionState | undefined)?.status as never);

/** Whether `d` is one of the kit's messages, whole: anything else is dropped and reported. */
function valid(d: unknown): d is Message {
	const m = d as Partial<Message> | null;
	if (typeof m !== 'object' || m === null || !TYPES.includes(m.t!)) return false;
	const { t, a, b, r } = m as Message & { a: unknown; b: MessageMeta; r: StoreHandoff<unknown> };
	const text = (value: unknown) => value === undefined || typeof value === 'string';
	const count = (value: unknown) => Number.isSafeInteger(value) && (value as number) >= 0;
	return (
		(!FROM_LEADER.includes(t) || Number.isFinite(m.e)) &&
		(!NUMBERED.includes(t) || (count(m.s) && m.s! > 0)) &&
		text(m.f) &&
		text(m.to) &&
		text(m.l) &&
		(t !== 'm' || (typeof b === 'object' && b !== null && text(b.id) && text(b.event))) &&
		(t !== 'x' || typeof a === 'string') &&
		(t !== 'st' || isState(a)) &&
		(t !== 'snap' || (count(m.s) && isState(m.st))) &&
		((t !== 'snap' && t !== 'a') || handoff(t === 'a' ? a : r)) &&
		((t !== 'mut' && t !== 'ack') || typeof m.i === 'string')
	);
}

const handoff = (r: unknown) => {
	const h = r as StoreHandoff<unknown> | null;
	return (
		Array.isArray(h?.items) && Array.isArray(h.ids) && h.ids.every((id) => typeof id === 'string')
	);
};
