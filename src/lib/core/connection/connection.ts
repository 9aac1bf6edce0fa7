import { browserEnv, reportLater, type Env } from '../env/env.js';
import * as messages from '../messages.js';
import { DecodeError, TransportError } from '../errors.js';
import type {
	MessageMeta,
	SendOptions,
	Transport,
	TransportConnection,
	TransportSink
} from '../transports/types.js';
import { EVENTS } from '../protocol.js';
import { createOutbox } from './outbox.js';
import {
	IDLE_CONNECTION_STATE,
	initialMachineState,
	transition,
	type ConnectionEffect,
	type ConnectionEvent,
	type ConnectionState,
	type MachineState,
	type TimerName,
	type TransitionContext
} from './machine.js';
import { resolveRetryOptions, type RetryOptions } from './retry.js';

export interface ConnectionOptions<In = unknown> {
	/** How to reach the server: `sse(...)`, `polling(...)`, `fallback(...)` or your own adapter. */
	transport: Transport<In, unknown>;
	/**
	 * Receives every message of the live attempt, in order. Returning `false` says the message was
	 * not taken (malformed): its validator is then not kept, so the next request is unconditional.
	 */
	onMessage?: (data: In, meta: MessageMeta) => boolean | void;
	/** Told about a message the live attempt dropped before delivering it (over a size limit). */
	onDropped?: (error: DecodeError) => void;
	/**
	 * Fetches a fresh copy after a reconnect that did not prove continuity, and merges it. Called at
	 * most once per reconnect; a newer reconnect aborts it through `signal`.
	 */
	resync?: (signal: AbortSignal) => Promise<void>;
	/** Backoff, attempts and uptime settings. */
	retry?: RetryOptions;
	/**
	 * Silence (no message, no heartbeat) before the connection is `stale`; twice this long and it is
	 * dropped and reconnected. A server that announces its heartbeat interval (`sseResponse` does)
	 * shortens it to 1.5 intervals; a transport that is quiet by design (polling) extends it.
	 * @defaultValue `45000`
	 */
	staleAfter?: number;
	/** The last event id already seen (for example from the server-rendered page), for resuming. */
	lastEventId?: string;
	/**
	 * Called when a reconnect (or a switch of transport) could not prove that nothing was missed,
	 * before any of its messages. The server may have restarted and reused event ids.
	 */
	onGap?: () => void;
	/**
	 * How many outgoing messages may wait for a connection; beyond it `send` rejects at once.
	 * @defaultValue `100`
	 */
	maxQueue?: number;
	/**
	 * How long an outgoing message may wait for a connection (milliseconds); then `send` rejects
	 * with code `timeout`. Queued messages are also rejected when the connection fails for good
	 * or is closed.
	 * @defaultValue `30000`
	 */
	queueTimeout?: number;
	/**
	 * The longest event id kept for resuming (characters). A longer id is not stored (a
	 * `Last-Event-ID` that size would make every reconnect fail with HTTP 431) and is reported
	 * through `onWarning`.
	 * @defaultValue `1024`
	 */
	maxEventIdLength?: number;
	/**
	 * The data fed so far came from an earlier connection (another tab's): the first connection is
	 * a reconnect, which resumes from `lastEventId` or resyncs.
	 * @defaultValue `false`
	 */
	continuing?: boolean;
	/** Told about input the connection ignored without dropping a message (an event id too long). */
	onWarning?: (error: DecodeError) => void;
	/** Platform globals and timers. @defaultValue the browser's, looked up at call time */
	env?: Env;
}

/** A connection's lifecycle over one transport, with one retry policy. Framework-free. */
export interface Connection {
	/** Connects (no-op while connected); after `failed` or `closed`, starts over. */
	start(): void;
	/** Disconnects for good and releases every timer and listener. `start()` reconnects. */
	stop(): void;
	/** Tries again now: skips a pending backoff, or starts over after `failed`. */
	retry(): void;
	/** Disconnects and waits for `resume()`; nothing is retried meanwhile. */
	pause(): void;
	resume(): void;
	getSnapshot(): ConnectionState;
	/** Calls `listener` after state changes (at most once per frame for mere liveness updates). */
	subscribe(listener: (state: ConnectionState) => void): () => void;
	/** The last event id seen, sent as `Last-Event-ID` when resuming. */
	readonly lastEventId: string | undefined;
	/**
	 * Sends over the live two-way transport. While disconnected the message waits in a bounded,
	 * ordered queue and goes out once when a connection opens. If that connection is one-way,
	 * `otherwise` delivers it instead (for example over HTTP), or the send rejects.
	 */
	send(data: unknown, options?: QueuedSendOptions): Promise<unknown>;
}

export interface QueuedSendOptions extends SendOptions {
	/** Aborting removes a message that is still waiting in the queue. */
	signal?: AbortSignal;
	/** Delivers the message when the live transport cannot send. */
	otherwise?: () => Promise<unknown>;
}

/** The public state's keys; `lastEventAt` alone changes with every message and is coalesced. */
const PUBLIC_KEYS = Object.keys(IDLE_CONNECTION_STATE) as (keyof ConnectionState)[];
const EAGER_KEYS = PUBLIC_KEYS.filter((key) => key !== 'lastEventAt');

export function createConnection<In = unknown>(options: ConnectionOptions<In>): Connection {
	const { transport, onMessage, resync } = options;
	if (!transport || typeof transport.open !== 'function') {
		throw new TypeError(messages.badOption('transport', 'a transport adapter', transport));
	}
	const env = options.env ?? browserEnv;
	const retry = resolveRetryOptions(options.retry);
	const staleAfter = options.staleAfter ?? 45_000;
	if (!(staleAfter > 0))
		throw new TypeError(messages.badOption('staleAfter', 'a number > 0', staleAfter));
	const maxQueue = options.maxQueue ?? 100;
	const queueTimeout = options.queueTimeout ?? 30_000;
	const maxEventIdLength = options.maxEventIdLength ?? 1024;
	for (const [name, value] of [
		['maxQueue', maxQueue],
		['queueTimeout', queueTimeout],
		['maxEventIdLength', maxEventIdLength]
	] as const) {
		if (typeof value !== 'number' || !(value >= 0))
			throw new TypeError(messages.badOption(name, 'a number >= 0', value));
	}

	let machine: MachineState = { ...initialMachineState(), wasLive: options.continuing === true };
	let snapshot: ConnectionState = toPublic(machine);
	let lastEventId = options.lastEventId;
	// The HTTP validator of the data this connection last fed (see MessageMeta.validator).
	let validator: string | undefined;
	const listeners = new Set<(state: ConnectionState) => void>();
	const timers = new Map<TimerName, unknown>();
	const attempts = new Map<
		number,
		{ controller: AbortController; connection?: TransportConnection<unknown> }
	>();
	let resyncController: AbortController | undefined;
	const outbox = createOutbox<QueuedSendOptions>({ max: maxQueue, timeout: queueTimeout, env });
	let unlisten: (() => void) | undefined;
	let cancelFrame: (() => void) | undefined;

	const queue: ConnectionEvent[] = [];
	let dispatching = false;

	function dispatch(event: ConnectionEvent) {
		queue.push(event);
		if (dispatching) return;
		dispatching = true;
		try {
			for (let next = queue.shift(); next; next = queue.shift()) step(next);
		} finally {
			dispatching = false;
		}
	}

	function step(event: ConnectionEvent) {
		const ctx: TransitionContext = {
			now: env.now(),
			random: env.random(),
			retry,
			staleAfter,
			kind: transport.kind,
			canResync: resync !== undefined
		};
		const result = transition(machine, event, ctx);
		const previous = machine;
		machine = result.state;
		for (const effect of result.effects) perform(effect);
		if (machine !== previous) publish();
	}

	function publish() {
		const changed = EAGER_KEYS.some((key) => snapshot[key] !== machine[key]);
		if (changed) {
			cancelFrame?.();
			cancelFrame = undefined;
			snapshot = toPublic(machine);
			notify();
		} else if (snapshot.lastEventAt !== machine.lastEventAt && !cancelFrame) {
			// Liveness alone: coalesce a flood of messages into one notification per frame.
			cancelFrame = env.requestFrame(() => {
				cancelFrame = undefined;
				snapshot = toPublic(machine);
				notify();
			});
		}
	}

	function notify() {
		for (const listener of [...listeners]) guard(() => listener(snapshot));
	}

	function perform(effect: ConnectionEffect) {
		switch (effect.type) {
			case 'open':
				return openAttempt(effect.attemptId, effect.n);
			case 'close':
				return closeAttempt(effect.attemptId, effect.reason);
			case 'gap':
				return guard(() => options.onGap?.());
			case 'flush':
				return outbox.flush(deliver);
			case 'reject-queued':
				return outbox.reject(effect.error);
			case 'schedule': {
				clearTimer(effect.timer);
				const handle = env.setTimeout(() => {
					timers.delete(effect.timer);
					dispatch({ type: 'timer', timer: effect.timer });
				}, effect.delay);
				timers.set(effect.timer, handle);
				return;
			}
			case 'cancel':
				return clearTimer(effect.timer);
			case 'resync':
				return runResync(effect.attemptId);
		}
	}

	function clearTimer(name: TimerName) {
		if (!timers.has(name)) return;
		env.clearTimeout(timers.get(name));
		timers.delete(name);
	}

	const isCurrent = (attemptId: number) => machine.attemptOpen && machine.attemptId === attemptId;

	function openAttempt(attemptId: number, n: number) {
		const controller = new AbortController();
		const entry: { controller: AbortController; connection?: TransportConnection<unknown> } = {
			controller
		};
		attempts.set(attemptId, entry);
		const sink: TransportSink<In> = {
			opened: (info = {}) => dispatch({ type: 'opened', attemptId, info }),
			message(data, meta = {}) {
				if (!isCurrent(attemptId)) return;
				if (meta.event === EVENTS.resync) {
					// The server may have lost events for this client. With a resync function the id
					// still marks where to resume, and the fetched list covers what came before; without
					// one the stream starts over from nothing, with the server's snapshot.
					if (resync) {
						if (meta.id !== undefined) keepEventId(meta.id);
					} else {
						lastEventId = undefined;
						validator = undefined;
					}
					dispatch({ type: 'message', attemptId });
					dispatch({ type: 'resync-asked', attemptId });
					return;
				}
				// Per the SSE spec an id persists across id-less events and an empty id resets it.
				if (meta.id !== undefined) keepEventId(meta.id);
				dispatch({ type: 'message', attemptId });
				// A validator describes the data the store holds: only data it took.
				const taken = guard(() => onMessage?.(data, meta));
				validator = taken === false ? undefined : meta.validator;
			},
			dropped(error) {
				if (!isCurrent(attemptId)) return;
				dispatch({ type: 'message', attemptId });
				guard(() => options.onDropped?.(error));
			},
			heartbeat: () => dispatch({ type: 'heartbeat', attemptId }),
			hint(hints) {
				if (!isCurrent(attemptId)) return;
				if (hints.lastEventId !== undefined) keepEventId(hints.lastEventId);
				dispatch({ type: 'hint', attemptId, hints });
			},
			failed: (error) => dispatch({ type: 'failed', attemptId, error: asTransportError(error) }),
			ended: (info) => dispatch({ type: 'ended', attemptId, final: info?.final === true })
		};
		try {
			const connection = transport.open(sink, {
				n,
				lastEventId,
				validator,
				signal: controller.signal,
				env
			});
			if (attempts.get(attemptId) === entry) entry.connection = connection;
			// Failed or superseded while opening: release what open() just created.
			else safeClose(connection);
		} catch (error) {
			dispatch({ type: 'failed', attemptId, error: asTransportError(error, transport.kind) });
		}
	}

	function keepEventId(id: string) {
		if (id.length <= maxEventIdLength) {
			lastEventId = id === '' ? undefined : id;
			return;
		}
		// Not kept: resuming from it would fail for good. The next attempt resumes from the last one kept.
		guard(() =>
			options.onWarning?.(new DecodeError(messages.idTooLong(id.length, maxEventIdLength), id))
		);
	}

	function closeAttempt(attemptId: number, reason?: TransportError) {
		const entry = attempts.get(attemptId);
		if (!entry) return;
		attempts.delete(attemptId);
		entry.controller.abort(reason);
		if (entry.connection) safeClose(entry.connection);
	}

	function runResync(attemptId: number) {
		if (!resync) return;
		resyncController?.abort();
		const controller = new AbortController();
		resyncController = controller;
		let running: Promise<void>;
		try {
			running = Promise.resolve(resync(controller.signal));
		} catch (error) {
			running = Promise.reject(error);
		}
		running.then(
			() => !controller.signal.aborted && dispatch({ type: 'resynced', attemptId, ok: true }),
			() => !controller.signal.aborted && dispatch({ type: 'resynced', attemptId, ok: false })
		);
	}

	const isUp = () => machine.status === 'live' || machine.status === 'stale';

	/** The live attempt's connection when it can send. */
	function sender(): TransportConnection<unknown> | undefined {
		if (!isUp() || !machine.bidirectional) return undefined;
		const connection = attempts.get(machine.attemptId)?.connection;
		return connection?.send ? connection : undefined;
	}

	function deliver(data: unknown, sendOptions: QueuedSendOptions): Promise<unknown> {
		const connection = sender();
		if (connection)
			return connection.send!(data, { ack: sendOptions.ack, timeoutMs: sendOptions.timeoutMs });
		if (sendOptions.otherwise) return sendOptions.otherwise();
		return Promise.reject(
			new TransportError(messages.oneWay(machine.transport ?? transport.kind), {
				code: 'unsupported',
				retryable: false,
				transport: machine.transport
			})
		);
	}

	function send(data: unknown, sendOptions: QueuedSendOptions = {}): Promise<unknown> {
		if (machine.status === 'idle' || machine.status === 'closed') {
			return Promise.reject(
				new TransportError(messages.closed(), { code: 'closed', retryable: false })
			);
		}
		if (machine.status === 'failed') return Promise.reject(machine.error);
		if (isUp()) {
			try {
				return deliver(data, sendOptions);
			} catch (error) {
				return Promise.reject(asTransportError(error, machine.transport));
			}
		}
		return outbox.push(data, sendOptions);
	}

	function listen() {
		if (unlisten) return;
		const offNetwork = env.onNetworkChange((online) => dispatch({ type: 'network', online }));
		const offVisibility = env.onVisibilityChange((visible) =>
			dispatch({ type: 'visibility', visible })
		);
		unlisten = () => {
			offNetwork();
			offVisibility();
			unlisten = undefined;
		};
	}

	return {
		start() {
			listen();
			dispatch({ type: 'start', online: env.isOnline(), visible: env.isVisible() });
		},
		stop() {
			dispatch({ type: 'stop' });
			resyncController?.abort();
			resyncController = undefined;
			cancelFrame?.();
			cancelFrame = undefined;
			unlisten?.();
		},
		retry: () => dispatch({ type: 'retry' }),
		pause: () => dispatch({ type: 'pause' }),
		resume() {
			listen();
			dispatch({ type: 'resume', online: env.isOnline(), visible: env.isVisible() });
		},
		getSnapshot: () => snapshot,
		subscribe(listener) {
			listeners.add(listener);
			return () => listeners.delete(listener);
		},
		get lastEventId() {
			return lastEventId;
		},
		send
	};
}

function toPublic(state: MachineState): ConnectionState {
	const view: Partial<Record<keyof ConnectionState, unknown>> = {};
	for (const key of PUBLIC_KEYS) view[key] = state[key];
	return view as ConnectionState;
}

/** Runs a user callback; what it throws is reported without stopping the engine. */
function guard<R>(callback: () => R): R | undefined {
	try {
		return callback();
	} catch (error) {
		reportLater(error);
		return undefined;
	}
}

function safeClose(connection: TransportConnection<unknown>) {
	try {
		connection.close();
	} catch {
		// A close that throws must not keep the engine from moving on.
	}
}

function asTransportError(error: unknown, kind?: string): TransportError {
	if (error instanceof TransportError) return error;
	const message = error instanceof Error ? error.message : String(error);
	return new TransportError(message, {
		code: 'protocol',
		retryable: false,
		transport: kind,
		cause: error
	});
}
