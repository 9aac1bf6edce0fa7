import type { TransportError } from '../errors.js';
import * as messages from '../messages.js';
import { TransportError as TransportErrorClass } from '../errors.js';
import type { OpenedInfo, TransportHints } from '../transports/types.js';
import type { ConnectionStatus, TransportKind } from '../types.js';
import { retryDelay, type ResolvedRetryOptions } from './retry.js';

/**
 * Whether the data since the last connection is known to be complete.
 * - `unbroken`: one connection, nothing missed.
 * - `resumed`: reconnected, and the server proved it resumed where it left off.
 * - `resynced`: reconnected, and a fresh copy was fetched and merged.
 * - `unknown`: reconnected without proof; a gap is possible (no resync configured, or it failed).
 */
export type Continuity = 'unbroken' | 'resumed' | 'resynced' | 'unknown';

/** What the UI sees of a connection. */
export interface ConnectionState {
	status: ConnectionStatus;
	/** The transport now live (or last tried). */
	transport: TransportKind | undefined;
	/** Running on a fallback rather than the preferred transport. */
	degraded: boolean;
	/** The live transport can send messages (WebSocket, socket.io). */
	bidirectional: boolean;
	/** The number of the current or next attempt (1 for the first). */
	attempt: number;
	/** When the next attempt starts, while `reconnecting`. */
	retryAt: number | undefined;
	/** When the last message or heartbeat arrived. */
	lastEventAt: number | undefined;
	/** The last failure; cleared when a connection opens. */
	error: TransportError | undefined;
	continuity: Continuity;
	/**
	 * Set when tabs share this connection (`share`): whether this tab runs it (`leader`) or gets it
	 * through another tab (`follower`), and how many tabs share it.
	 */
	shared?: { role: 'leader' | 'follower'; tabs: number };
}

/** The machine's whole state: the public part plus its bookkeeping. */
export interface MachineState extends ConnectionState {
	/** Increments per opened attempt; events from other attempts are ignored. */
	attemptId: number;
	/** Whether an attempt is open now. */
	attemptOpen: boolean;
	/** Consecutive failures since the last reset; drives the backoff. */
	failures: number;
	/** Whether a connection was ever live (a later one is a reconnect). */
	wasLive: boolean;
	/** The server's reconnection delay (SSE `retry:`). */
	serverRetryMs: number | undefined;
	/** How long silence is normal on the live transport. */
	silenceMs: number | undefined;
	/** The heartbeat interval the live transport's server announced. */
	heartbeatMs: number | undefined;
	online: boolean;
	visible: boolean;
}

export type TimerName = 'retry' | 'silence' | 'uptime';

export type ConnectionEvent =
	/** `online` / `visible`: what the platform says at the start (unchanged when left out). */
	| { type: 'start'; online?: boolean; visible?: boolean }
	| { type: 'stop' }
	| { type: 'pause' }
	| { type: 'resume'; online?: boolean; visible?: boolean }
	| { type: 'retry' }
	| { type: 'opened'; attemptId: number; info: OpenedInfo }
	| { type: 'message'; attemptId: number }
	| { type: 'heartbeat'; attemptId: number }
	| { type: 'hint'; attemptId: number; hints: TransportHints }
	| { type: 'failed'; attemptId: number; error: TransportError }
	| { type: 'ended'; attemptId: number; final: boolean }
	| { type: 'timer'; timer: TimerName }
	| { type: 'network'; online: boolean }
	| { type: 'visibility'; visible: boolean }
	| { type: 'resynced'; attemptId: number; ok: boolean }
	/** The server says this client may have missed events (a `resync` event). */
	| { type: 'resync-asked'; attemptId: number };

export type ConnectionEffect =
	| { type: 'open'; attemptId: number; n: number }
	/** `reason`: the failure the engine saw itself (silence), given to the attempt's abort signal. */
	| { type: 'close'; attemptId: number; reason?: TransportError }
	/** Start over with event ids: a reconnect that could not prove it missed nothing. */
	| { type: 'gap' }
	/** Send what waited for a connection, in order, once. */
	| { type: 'flush' }
	/** Reject what waits for a connection: none will come. */
	| { type: 'reject-queued'; error: TransportError }
	| { type: 'schedule'; timer: TimerName; delay: number }
	| { type: 'cancel'; timer: TimerName }
	| { type: 'resync'; attemptId: number };

/** The inputs a transition may depend on besides the state and the event. */
export interface TransitionContext {
	now: number;
	/** A number in [0, 1) for the jitter. */
	random: number;
	retry: ResolvedRetryOptions;
	/** Silence before `stale`; twice this forces a reconnect. */
	staleAfter: number;
	/** The kind of the configured transport, reported until an attempt says otherwise. */
	kind: TransportKind;
	/** Whether a resync function exists. */
	canResync: boolean;
}

/** The public state of a connection that has not started. */
export const IDLE_CONNECTION_STATE: ConnectionState = Object.freeze({
	status: 'idle',
	transport: undefined,
	degraded: false,
	bidirectional: false,
	attempt: 0,
	retryAt: undefined,
	lastEventAt: undefined,
	error: undefined,
	continuity: 'unbroken'
});

export function initialMachineState(online = true, visible = true): MachineState {
	return {
		...IDLE_CONNECTION_STATE,
		attemptId: 0,
		attemptOpen: false,
		failures: 0,
		wasLive: false,
		serverRetryMs: undefined,
		silenceMs: undefined,
		heartbeatMs: undefined,
		online,
		visible
	};
}

export interface Transition {
	state: MachineState;
	effects: ConnectionEffect[];
}

const STOPPED: ReadonlySet<ConnectionStatus> = new Set(['idle', 'closed', 'failed', 'paused']);
const ALL_TIMERS: TimerName[] = ['retry', 'silence', 'uptime'];

/** The connection's lifecycle as a pure function: no timers, sockets or clocks inside. */
export function transition(
	state: MachineState,
	event: ConnectionEvent,
	ctx: TransitionContext
): Transition {
	switch (event.type) {
		case 'start': {
			const next = platform(state, event);
			if (!STOPPED.has(state.status) || state.status === 'paused') return same(next);
			return begin({ ...next, failures: 0, error: undefined }, ctx, 'connecting');
		}

		case 'stop':
			if (state.status === 'closed') return same(state);
			return withEffects(halt(state, 'closed'), [], [rejectQueued(closedError())]);

		case 'pause':
			if (STOPPED.has(state.status)) return same(state);
			return halt(state, 'paused');

		case 'resume': {
			const next = platform(state, event);
			if (state.status !== 'paused') return same(next);
			return begin({ ...next, failures: 0 }, ctx, 'connecting');
		}

		case 'retry': {
			if (state.status === 'idle' || state.status === 'closed' || state.status === 'paused') {
				return same(state);
			}
			if (state.status === 'live' || state.status === 'connecting') return same(state);
			// Starting over after giving up; otherwise skip the wait but keep the backoff.
			const failures = state.status === 'failed' ? 0 : state.failures;
			const next = closeAttempt({ ...state, failures, error: undefined });
			return withEffects(
				begin(next.state, ctx, state.wasLive ? 'reconnecting' : 'connecting'),
				next.effects
			);
		}

		case 'opened': {
			if (!current(state, event.attemptId)) return same(state);
			// Live already: a fallback chain switched transports within the attempt.
			const switched = isUp(state);
			const proven = event.info.resumed === true;
			const continuity: Continuity = !state.wasLive ? 'unbroken' : proven ? 'resumed' : 'unknown';
			const next: MachineState = {
				...state,
				status: 'live',
				transport: event.info.transport ?? ctx.kind,
				degraded: event.info.degraded ?? false,
				bidirectional: event.info.bidirectional ?? false,
				retryAt: undefined,
				lastEventAt: ctx.now,
				error: undefined,
				wasLive: true,
				continuity,
				// announced again by the server of this connection, if it announces it
				heartbeatMs: undefined
			};
			const effects: ConnectionEffect[] = [];
			if (continuity === 'unknown') effects.push({ type: 'gap' });
			effects.push({ type: 'schedule', timer: 'silence', delay: silenceLimit(next, ctx) });
			if (!switched)
				effects.push({ type: 'schedule', timer: 'uptime', delay: ctx.retry.minUptime });
			if (continuity === 'unknown' && ctx.canResync) {
				effects.push({ type: 'resync', attemptId: state.attemptId });
			}
			effects.push({ type: 'flush' });
			return { state: next, effects };
		}

		case 'message':
		case 'heartbeat': {
			if (!current(state, event.attemptId) || !isUp(state)) return same(state);
			// The silence timer reads lastEventAt when it fires: no timer churn per message.
			return same({
				...state,
				lastEventAt: ctx.now,
				status: state.status === 'stale' ? 'live' : state.status
			});
		}

		case 'hint': {
			if (!current(state, event.attemptId)) return same(state);
			const { retryMs, silenceMs, heartbeatMs } = event.hints;
			const next = {
				...state,
				serverRetryMs: retryMs ?? state.serverRetryMs,
				silenceMs: silenceMs ?? state.silenceMs,
				heartbeatMs: heartbeatMs ?? state.heartbeatMs
			};
			if (heartbeatMs === undefined || heartbeatMs === state.heartbeatMs || !isUp(state)) {
				return same(next);
			}
			// The silence limit changed: check against the new one, not when the old timer fires.
			const silentFor = ctx.now - (state.lastEventAt ?? ctx.now);
			const delay = Math.max(0, silenceLimit(next, ctx) - silentFor);
			return { state: next, effects: [{ type: 'schedule', timer: 'silence', delay }] };
		}

		case 'failed': {
			if (!current(state, event.attemptId)) return same(state);
			return fail(state, event.error, ctx);
		}

		case 'ended': {
			if (!current(state, event.attemptId)) return same(state);
			if (event.final) {
				const error = new TransportErrorClass(messages.endedForGood(state.transport ?? ctx.kind), {
					code: 'closed',
					retryable: false,
					transport: state.transport
				});
				return withEffects(halt(state, 'closed'), [], [rejectQueued(error)]);
			}
			const error = new TransportErrorClass(messages.streamEnded(state.transport ?? ctx.kind), {
				code: 'closed',
				retryable: true,
				transport: state.transport
			});
			return fail(state, error, ctx);
		}

		case 'timer':
			return onTimer(state, event.timer, ctx);

		case 'network': {
			const next = { ...state, online: event.online };
			if (!event.online) {
				if (STOPPED.has(state.status) || state.status === 'offline') return same(next);
				// Stop trying while there is no network: no retry storm, no dead stream kept.
				const closed = closeAttempt(next);
				return {
					state: { ...closed.state, status: 'offline', retryAt: undefined },
					effects: [...closed.effects, ...cancel(ALL_TIMERS)]
				};
			}
			if (state.status === 'offline') {
				return begin(next, ctx, state.wasLive ? 'reconnecting' : 'connecting');
			}
			if (state.status === 'reconnecting' && !state.attemptOpen) return retryNow(next, ctx);
			return same(next);
		}

		case 'visibility': {
			const next = { ...state, visible: event.visible };
			if (event.visible && state.status === 'reconnecting' && !state.attemptOpen) {
				return retryNow(next, ctx);
			}
			return same(next);
		}

		case 'resynced': {
			if (!current(state, event.attemptId) || !isUp(state)) return same(state);
			return same({ ...state, continuity: event.ok ? 'resynced' : 'unknown' });
		}

		case 'resync-asked': {
			if (!current(state, event.attemptId) || !isUp(state)) return same(state);
			if (ctx.canResync) {
				return {
					state: { ...state, continuity: 'unknown' },
					effects: [{ type: 'gap' }, { type: 'resync', attemptId: state.attemptId }]
				};
			}
			// Nothing to fetch the list with: open the stream again from nothing, and the server
			// sends its snapshot.
			const closed = closeAttempt(state);
			const reopened = begin(closed.state, ctx, 'reconnecting');
			return {
				state: reopened.state,
				effects: [...closed.effects, ...cancel(['silence', 'uptime']), ...reopened.effects]
			};
		}
	}
}

function onTimer(state: MachineState, timer: TimerName, ctx: TransitionContext): Transition {
	switch (timer) {
		case 'retry':
			if (state.status !== 'reconnecting' || state.attemptOpen) return same(state);
			return begin(state, ctx, 'reconnecting');

		case 'uptime':
			if (state.status !== 'live' && state.status !== 'stale') return same(state);
			return same({ ...state, failures: 0 });

		case 'silence': {
			if (!isUp(state)) return same(state);
			const limit = silenceLimit(state, ctx);
			const silentFor = ctx.now - (state.lastEventAt ?? ctx.now);
			if (silentFor >= 2 * limit) {
				const error = new TransportErrorClass(messages.silence(silentFor), {
					code: 'timeout',
					retryable: true,
					transport: state.transport
				});
				return fail(state, error, ctx);
			}
			if (silentFor >= limit) {
				return {
					state: { ...state, status: 'stale' },
					effects: [{ type: 'schedule', timer: 'silence', delay: 2 * limit - silentFor }]
				};
			}
			return {
				state: state.status === 'stale' ? { ...state, status: 'live' } : state,
				effects: [{ type: 'schedule', timer: 'silence', delay: limit - silentFor }]
			};
		}
	}
}

/** Opens a new attempt. */
function begin(state: MachineState, ctx: TransitionContext, status: ConnectionStatus): Transition {
	if (!state.online) {
		return {
			state: { ...state, status: 'offline', retryAt: undefined, attempt: state.failures + 1 },
			effects: cancel(['retry'])
		};
	}
	const attemptId = state.attemptId + 1;
	const attempt = state.failures + 1;
	return {
		state: {
			...state,
			status,
			attemptId,
			attemptOpen: true,
			attempt,
			retryAt: undefined,
			transport: state.transport ?? ctx.kind
		},
		effects: [
			{ type: 'cancel', timer: 'retry' },
			{ type: 'open', attemptId, n: attempt }
		]
	};
}

function retryNow(state: MachineState, ctx: TransitionContext): Transition {
	return begin(state, ctx, 'reconnecting');
}

/** Closes the attempt (if one is open) and stops every timer. */
function halt(state: MachineState, status: 'closed' | 'paused'): Transition {
	const closed = closeAttempt(state);
	return {
		state: { ...closed.state, status, retryAt: undefined },
		effects: [...closed.effects, ...cancel(ALL_TIMERS)]
	};
}

function fail(state: MachineState, error: TransportError, ctx: TransitionContext): Transition {
	const closed = closeAttempt({ ...state, error }, error);
	const effects: ConnectionEffect[] = [...closed.effects, ...cancel(['silence', 'uptime'])];
	const failures = state.failures + 1;
	if (!error.retryable || failures >= ctx.retry.maxAttempts) {
		return {
			state: { ...closed.state, status: 'failed', failures, retryAt: undefined },
			effects: [...effects, ...cancel(['retry']), rejectQueued(error)]
		};
	}
	if (!state.online) {
		return {
			state: { ...closed.state, status: 'offline', failures, attempt: failures + 1 },
			effects
		};
	}
	const delay = retryDelay(failures, ctx.retry, ctx.random, {
		baseMs: state.serverRetryMs,
		retryAfterMs: error.retryAfterMs
	});
	return {
		state: {
			...closed.state,
			status: 'reconnecting',
			failures,
			attempt: failures + 1,
			retryAt: ctx.now + delay
		},
		effects: [...effects, { type: 'schedule', timer: 'retry', delay }]
	};
}

function closeAttempt(state: MachineState, reason?: TransportError): Transition {
	if (!state.attemptOpen) return same(state);
	return {
		state: { ...state, attemptOpen: false },
		effects: [{ type: 'close', attemptId: state.attemptId, ...(reason ? { reason } : {}) }]
	};
}

const rejectQueued = (error: TransportError): ConnectionEffect => ({
	type: 'reject-queued',
	error
});
const closedError = () =>
	new TransportErrorClass(messages.closed(), { code: 'closed', retryable: false });

/** A server's heartbeat may be this late before the stream counts as stale. */
const HEARTBEAT_SLACK = 1.5;

function silenceLimit(state: MachineState, ctx: TransitionContext): number {
	// A server that announces its heartbeat is stale after 1.5 missed intervals, sooner than
	// staleAfter. A transport that is quiet by design (a slow poll) must not look stale between
	// its beats.
	const expected =
		state.heartbeatMs === undefined
			? ctx.staleAfter
			: Math.min(ctx.staleAfter, Math.ceil(state.heartbeatMs * HEARTBEAT_SLACK));
	return Math.max(expected, state.silenceMs === undefined ? 0 : state.silenceMs * 2);
}

const platform = (state: MachineState, event: { online?: boolean; visible?: boolean }) => ({
	...state,
	online: event.online ?? state.online,
	visible: event.visible ?? state.visible
});
const current = (state: MachineState, attemptId: number) =>
	state.attemptOpen && attemptId === state.attemptId;
const isUp = (state: MachineState) => state.status === 'live' || state.status === 'stale';
const same = (state: MachineState): Transition => ({ state, effects: [] });
const cancel = (timers: TimerName[]): ConnectionEffect[] =>
	timers.map((timer) => ({ type: 'cancel', timer }));
const withEffects = (
	t: Transition,
	before: ConnectionEffect[],
	after: ConnectionEffect[] = []
): Transition => ({
	state: t.state,
	effects: [...before, ...t.effects, ...after]
});
