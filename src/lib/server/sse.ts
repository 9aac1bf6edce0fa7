import { EVENTS } from '../core/protocol.js';

/** One Server-Sent Event. */
export interface SseEvent {
	/** The event's id (`id:` line); the client sends the last one back as `Last-Event-ID`. */
	id?: string | number;
	/** The event name (`event:` line); omitted → `message`. */
	event?: string;
	/**
	 * A string is sent as is (split on line breaks into several `data:` lines, which the client
	 * joins with `\n`); anything else as JSON. `undefined` sends an empty `data:` line.
	 */
	data: unknown;
}

/** An event of an {@link EventLog}: it always has an id. */
export type LoggedEvent<Id extends string | number = string | number> = SseEvent & { id: Id };

/** What {@link EventLog.since} gives: the events to replay, or `undefined` for "send a snapshot". */
export type Replay<Event extends LoggedEvent = LoggedEvent> = Event[] | undefined;

/**
 * An ordered log of events that a reconnecting client can replay from its `Last-Event-ID`, and that
 * every open stream follows. {@link createEventLog} keeps it in this process's memory;
 * `createRedisEventLog` (`svelte-realtime-kit/server/redis`) keeps it in a Redis stream that every
 * server process shares. Write your own for another store: {@link sseResponse} needs only this.
 */
export interface EventLog<Event extends LoggedEvent = LoggedEvent> {
	/** Appends an event (assigning its id) and returns it. Listeners hear of it, in log order. */
	append(event: Omit<SseEvent, 'id'>): Event | Promise<Event>;
	/**
	 * The events after `lastEventId`, or `undefined` when the log cannot prove it has all of them:
	 * an unknown, malformed or foreign id, or one older than what the log keeps. The caller then
	 * sends a full snapshot. An id equal to the latest gives `[]`. Bad input never throws; a log
	 * whose store is unreachable may reject.
	 */
	since(lastEventId: string | number): Replay<Event> | Promise<Replay<Event>>;
	/**
	 * Calls `listener` for every event of the log, in order, and with a `resync` event (not in the
	 * log; `data: { reason }`) when this process may have missed some: its clients must fetch the
	 * list again. Returns the unsubscribe function.
	 */
	subscribe(listener: (event: Event) => void): () => void;
	/** The latest id this process has seen: a snapshot taken now is at least this new. */
	readonly lastId: Event['id'];
	/** Changes whenever ids may have been reused or history lost; ids of another epoch replay nothing. */
	readonly epoch?: string;
	/** How many listeners are subscribed (for leak checks). */
	readonly listeners: number;
	/**
	 * `false` while the log cannot serve (its store unreachable, or not ready yet): {@link sseResponse}
	 * then answers 503 with `Retry-After` instead of opening a stream. Absent means always available.
	 */
	readonly available?: boolean;
	/**
	 * Orders two ids of this log (negative, zero, positive), so that a live event already covered by
	 * a replay or a snapshot is not sent twice. Absent: ids are compared as numbers.
	 */
	compare?(a: string | number, b: string | number): number;
}

/** The in-memory {@link EventLog}: numeric ids, and every method synchronous. */
export interface MemoryEventLog extends EventLog<LoggedEvent<number>> {
	/**
	 * Appends an event (assigning the next id), tells every listener, and returns it (frozen).
	 * @throws {TypeError} when the event name contains a line break or NUL, or `data` cannot be
	 * serialised; the log is then left unchanged.
	 */
	append(event: Omit<SseEvent, 'id'>): LoggedEvent<number>;
	/**
	 * The events after `lastEventId`, or `undefined` when that id is unknown or no longer in the
	 * log (the caller then sends a full snapshot). An id equal to the latest returns `[]`; one that
	 * is not an integer ≥ 0 (or a string of digits) returns `undefined`.
	 */
	since(lastEventId: string | number): LoggedEvent<number>[] | undefined;
	/** The latest id (`startId` before any event). */
	readonly lastId: number;
	readonly epoch: string;
}

export interface EventLogOptions {
	/** How many events are kept for replay; older ones are dropped. @defaultValue `1000` */
	limit?: number;
	/**
	 * The id before the first event: the first appended event gets `startId + 1`. Start above the
	 * ids of a previous process (e.g. `Date.now()`) so that ids from before a restart are unknown.
	 * @defaultValue `0`
	 */
	startId?: number;
}

type Initial = SseEvent | SseEvent[] | undefined;

export interface SseResponseOptions {
	/**
	 * The incoming request: its `signal` ends the stream when the client goes away, and its
	 * `Last-Event-ID` header (or a `lastEventId` query parameter, which EventSource polyfills use)
	 * asks for a replay. The header wins over the query parameter.
	 */
	request: Request;
	/**
	 * Where the events come from; the stream subscribes when it starts and unsubscribes when it
	 * ends (client gone or stream cancelled). Pass either `log` or `subscribe`.
	 */
	log?: EventLog;
	/** Instead of `log`: subscribes `send` to a source and returns the unsubscribe function. */
	subscribe?: (send: (event: SseEvent) => void) => () => void;
	/**
	 * What to send first when there is nothing to replay (a new client, or an id the log no longer
	 * has): usually a `snapshot` event with the whole list, with `id: log.lastId` so the client
	 * can resume from it. Called after subscribing, so nothing falls in between: events arriving
	 * meanwhile follow it, except those with a numeric id up to the highest id it sent.
	 */
	initial?: () => Initial | Promise<Initial>;
	/**
	 * The interval (ms) of `ping` events, which keep proxies from closing an idle stream and tell
	 * clients the stream is alive; `0` disables them. Each is `event: ping` with the data
	 * `{"interval":<ms>}`, and the first follows the opening events: the kit's `sse()` then knows
	 * how soon silence means trouble (an `EventSource` never sees `:` comments).
	 * @defaultValue `15000`
	 */
	heartbeat?: number;
	/** The reconnection delay (ms, rounded down) sent first as `retry:`; omitted → none. */
	retry?: number;
	/** Extra response headers; they override the defaults. */
	headers?: HeadersInit;
	/**
	 * Ends the stream when it aborts, as the client leaving does: the body closes cleanly and
	 * everything is released, so an `EventSource` reconnects and resumes with `Last-Event-ID`. One
	 * signal shared by every stream ends them all (a server shutting down or restarting).
	 */
	signal?: AbortSignal;
	/**
	 * Called after each event this stream writes (replayed, `initial` or live; not `retry:` or
	 * heartbeats), with how many it has written and a function that ends the stream as `signal`
	 * does: for metrics, or to end a stream after some events (moving clients to another server
	 * node; a test that drops streams). If it throws, the stream ends with that error.
	 */
	onSent?: (event: SseEvent, stream: { readonly count: number; end(): void }) => void;
	/**
	 * The `Retry-After` (seconds) of the 503 that answers while `log.available` is `false` (its
	 * store unreachable): the client tries again then, as after any failed attempt.
	 * @defaultValue `2`
	 */
	retryAfter?: number;
	/** Timer functions (tests pass fakes). @defaultValue `globalThis.setInterval` / `clearInterval` */
	timers?: {
		setInterval(cb: () => void, ms: number): unknown;
		clearInterval(handle: unknown): void;
	};
}

const encoder = new TextEncoder();
/** Opens the stream when there is nothing else to send and no heartbeat. */
const COMMENT = encoder.encode(': ping\n\n');
/** The encoded frames of logged events: each is serialised once, however many streams send it. */
const frames = new WeakMap<object, Uint8Array>();

const preview = (value: unknown) =>
	typeof value === 'string' ? JSON.stringify(value) : String(value);
const invalid = (name: string, expected: string, got: unknown) =>
	new TypeError(`Invalid option \`${name}\`: expected ${expected}, got ${preview(got)}`);

/** A safe integer ≥ 0, from a number or a string of digits. */
function toId(value: unknown): number | undefined {
	const n = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
	return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

function checkField(name: string, value: string | number | undefined) {
	if (typeof value === 'string' && /[\r\n\0]/.test(value)) {
		throw new TypeError(
			`Invalid SSE \`${name}\`: it must not contain a line break or NUL, got ${preview(value)}`
		);
	}
}

/** Serialises a logged event once: every stream that sends it sends these bytes. */
export function keepFrame(event: Readonly<SseEvent>): void {
	frames.set(event, encode(event));
}

/** An event as the bytes of an SSE frame (a logged event's are serialised once). */
function encode(event: SseEvent): Uint8Array {
	const cached = frames.get(event);
	if (cached) return cached;
	checkField('id', event.id);
	checkField('event', event.event);
	const data = typeof event.data === 'string' ? event.data : (JSON.stringify(event.data) ?? '');
	let text = event.id !== undefined ? `id: ${event.id}\n` : '';
	if (event.event !== undefined) text += `event: ${event.event}\n`;
	for (const line of data.split(/\r\n|\r|\n/)) text += `data: ${line}\n`;
	return encoder.encode(text + '\n');
}

/**
 * Creates an {@link EventLog}: the memory that lets {@link sseResponse} replay what a reconnecting
 * client missed.
 *
 * @example
 * const log = createEventLog({ limit: 500 });
 * log.append({ event: 'upsert', data: task }); // { id: 1, event: 'upsert', data: task }
 * log.since(0); // [that event]
 * @throws {TypeError} when `limit` is not an integer ≥ 1 or `startId` not an integer ≥ 0.
 */
export function createEventLog(options: EventLogOptions = {}): MemoryEventLog {
	const { limit = 1000, startId = 0 } = options;
	if (!Number.isSafeInteger(limit) || limit < 1) throw invalid('limit', 'an integer ≥ 1', limit);
	if (!Number.isSafeInteger(startId) || startId < 0) {
		throw invalid('startId', 'an integer ≥ 0', startId);
	}
	const events: LoggedEvent<number>[] = [];
	const listeners = new Set<(event: LoggedEvent<number>) => void>();
	let lastId = startId;
	const epoch = Math.random().toString(36).slice(2, 10);
	return {
		append(event) {
			const entry: LoggedEvent<number> = Object.freeze({ ...event, id: lastId + 1 });
			keepFrame(entry);
			lastId = entry.id;
			if (events.push(entry) > limit) events.shift();
			// A throwing listener must not keep the event from the others: they are all told first.
			let failure: { error: unknown } | undefined;
			for (const listener of [...listeners]) {
				try {
					listener(entry);
				} catch (error) {
					failure ??= { error };
				}
			}
			if (failure) throw failure.error;
			return entry;
		},
		since(lastEventId) {
			const n = toId(lastEventId);
			if (n === undefined || n > lastId) return undefined;
			if (n === lastId) return [];
			const first = events[0];
			return first && n >= first.id - 1 ? events.slice(n - first.id + 1) : undefined;
		},
		subscribe(listener) {
			const entry = (event: LoggedEvent<number>) => listener(event);
			listeners.add(entry);
			return () => void listeners.delete(entry);
		},
		get lastId() {
			return lastId;
		},
		epoch,
		get listeners() {
			return listeners.size;
		}
	};
}

const defaultTimers: NonNullable<SseResponseOptions['timers']> = {
	setInterval: (cb, ms) => setInterval(cb, ms),
	clearInterval: (handle) => clearInterval(handle as ReturnType<typeof setInterval>)
};

/**
 * Answers a request with a `text/event-stream` response that follows a {@link EventLog} (or any
 * source): it replays what a reconnecting client missed, or sends `initial`, then every new event,
 * with `ping` heartbeat events. Headers: `Content-Type: text/event-stream`, `Cache-Control:
 * no-cache` and `X-Accel-Buffering: no` (nginx). The stream ends, releasing its subscription and
 * timer, when the request's signal or `signal` aborts, `onSent` ends it, or the body is
 * cancelled; later events are then ignored.
 *
 * @example
 * // src/routes/tasks/events/+server.ts
 * import { createEventLog, sseResponse } from 'svelte-realtime-kit/server';
 *
 * const log = createEventLog();
 * export const GET: RequestHandler = ({ request }) =>
 *   sseResponse({
 *     request,
 *     log,
 *     retry: 2000,
 *     initial: () => ({ id: log.lastId, event: 'snapshot', data: tasks.list() })
 *   });
 * // elsewhere: log.append({ event: 'upsert', data: task });
 * @throws {TypeError} when the options are invalid, or `subscribe`/`initial` throw or give an
 * invalid event synchronously (nothing is left subscribed).
 */
export function sseResponse(options: SseResponseOptions): Response {
	const { request, log, subscribe, initial, heartbeat = 15_000, retry, onSent } = options;
	const { retryAfter = 2 } = options;
	const serverSignal = options.signal;
	const timers = options.timers ?? defaultTimers;
	if (!log === !subscribe) {
		const got = log ? 'both' : 'neither';
		throw new TypeError(
			`Invalid options \`log\` and \`subscribe\`: expected one of them, got ${got}`
		);
	}
	if (typeof heartbeat !== 'number' || !Number.isFinite(heartbeat) || heartbeat < 0) {
		throw invalid('heartbeat', 'a number of ms ≥ 0 (0 disables)', heartbeat);
	}
	if (retry !== undefined && (typeof retry !== 'number' || !Number.isFinite(retry) || retry < 0)) {
		throw invalid('retry', 'a number of ms ≥ 0', retry);
	}
	if (typeof retryAfter !== 'number' || !Number.isFinite(retryAfter) || retryAfter < 0) {
		throw invalid('retryAfter', 'a number of seconds ≥ 0', retryAfter);
	}
	if (onSent !== undefined && typeof onSent !== 'function') {
		throw invalid('onSent', 'a function', onSent);
	}
	if (
		serverSignal !== undefined &&
		(typeof serverSignal?.addEventListener !== 'function' ||
			typeof serverSignal.aborted !== 'boolean')
	) {
		throw invalid('signal', 'an AbortSignal', serverSignal);
	}
	if (log?.available === false) {
		const unavailable = new Headers({
			'Content-Type': 'text/plain; charset=utf-8',
			'Cache-Control': 'no-store',
			'Retry-After': String(Math.ceil(retryAfter))
		});
		new Headers(options.headers).forEach((value, name) => unavailable.set(name, value));
		return new Response('The event stream is unavailable for a moment; try again.', {
			status: 503,
			headers: unavailable
		});
	}
	/** Whether `id` comes after `than` in the log (when it cannot tell: yes, send it). */
	const isAfter = (id: string | number, than: string | number) => {
		try {
			if (log?.compare) return log.compare(id, than) > 0;
		} catch {
			return true;
		}
		const a = toId(id);
		const b = toId(than);
		return a === undefined || b === undefined || a > b;
	};
	const ping = encoder.encode(`event: ping\ndata: {"interval":${Math.floor(heartbeat)}}\n\n`);
	const { signal } = request;
	const lastEventId =
		request.headers.get('Last-Event-ID') ?? new URL(request.url).searchParams.get('lastEventId');

	let controller!: ReadableStreamDefaultController<Uint8Array>;
	let released = false;
	let wrote = false;
	/** Live events held back until the replay or `initial` is written. */
	let pending: Array<{ event: SseEvent; frame: Uint8Array }> | undefined = [];
	let sent = 0;
	const stream = {
		get count() {
			return sent;
		},
		end: () => release()
	};
	let unsubscribe: (() => void) | undefined;
	let interval: unknown;

	/**
	 * Frames written in this turn, sent as one chunk at its end: a burst of events (a log's reader
	 * delivers a batch at once) costs each stream one write, not one per event.
	 */
	let batch: Uint8Array[] = [];
	const chunk = () => {
		const frames = batch;
		batch = [];
		if (frames.length < 2) return frames[0];
		const joined = new Uint8Array(frames.reduce((total, frame) => total + frame.length, 0));
		let at = 0;
		for (const frame of frames) {
			joined.set(frame, at);
			at += frame.length;
		}
		return joined;
	};
	const drain = () => {
		const bytes = chunk();
		if (released || !bytes) return;
		try {
			controller.enqueue(bytes);
		} catch {
			release();
		}
	};
	const write = (frame: Uint8Array) => {
		if (released) return;
		wrote = true;
		if (batch.push(frame) === 1) queueMicrotask(drain);
	};
	function release() {
		if (released) return;
		released = true;
		// `request` is referenced here on purpose: a Request that is garbage-collected can stop
		// forwarding its caller's abort to `signal`, and the stream would then never be released.
		void request;
		pending = undefined;
		signal.removeEventListener('abort', release);
		serverSignal?.removeEventListener('abort', release);
		if (interval !== undefined) timers.clearInterval(interval);
		try {
			unsubscribe?.();
		} finally {
			try {
				// What was written before the end still goes out (a server shutting down).
				const rest = chunk();
				if (rest) controller.enqueue(rest);
			} catch {
				// Cancelled or failed: nobody reads it.
			}
			try {
				controller.close();
			} catch {
				// Already closed or cancelled.
			}
		}
	}
	/** Ends the stream with `error` (the reader sees it), releasing everything. */
	const fail = (error: unknown) => {
		if (released) return;
		controller.error(error);
		release();
	};
	const writeEvent = (event: SseEvent, frame: Uint8Array) => {
		write(frame);
		if (released) return;
		sent++;
		if (!onSent) return;
		try {
			onSent(event, stream);
		} catch (error) {
			fail(error);
		}
	};
	/**
	 * The highest id the replay or `initial` sent. A log's reader may still be delivering events
	 * up to it after the stream opened (a replay read from a shared store can be ahead of this
	 * process's reader): they are dropped until the first event past it.
	 */
	let floor: string | number | undefined;
	const covered = (event: SseEvent) =>
		floor !== undefined &&
		event.id !== undefined &&
		// A resync always goes out: it says the log itself may be missing events.
		event.event !== EVENTS.resync &&
		!isAfter(event.id, floor);
	const send = (event: SseEvent) => {
		const frame = encode(event); // throws to the sender for an invalid event
		if (pending) return void pending.push({ event, frame });
		if (floor !== undefined) {
			if (covered(event)) return;
			// A log delivers in order: nothing after this one can be covered.
			if (event.id !== undefined && event.event !== EVENTS.resync) floor = undefined;
		}
		writeEvent(event, frame);
	};
	/** Writes the replay or `initial`, then the live events held back meanwhile. */
	const flush = (first: Initial, after?: string | number) => {
		if (released) return;
		const held = pending ?? [];
		pending = undefined;
		for (const event of [first ?? []].flat()) {
			writeEvent(event, encode(event));
			const { id } = event;
			if (id !== undefined && (after === undefined || isAfter(id, after))) after = id;
		}
		floor = after;
		for (const { event, frame } of held) if (!covered(event)) writeEvent(event, frame);
		// A custom source promises no order: only a log's later events are checked.
		if (!log) floor = undefined;
		// Announce the heartbeat now; without one, still send a first byte: headers often leave
		// only with it, and the client should see the stream open now.
		if (heartbeat > 0) write(ping);
		else if (!wrote) write(COMMENT);
	};

	/** Sends `initial` (what a client without a usable `Last-Event-ID` gets). */
	function opening() {
		if (released) return;
		let first: Initial | Promise<Initial>;
		try {
			first = initial?.();
		} catch (error) {
			// Thrown while the stream starts: to the caller of sseResponse; later: ends the stream.
			if (!started) throw error;
			return fail(error);
		}
		if (!(first instanceof Promise)) return flush(first);
		first.then(flush).catch(fail);
	}
	let started = false;

	const body = new ReadableStream<Uint8Array>({
		start(c) {
			controller = c;
			if (signal.aborted || serverSignal?.aborted) return release();
			signal.addEventListener('abort', release);
			serverSignal?.addEventListener('abort', release);
			try {
				if (retry !== undefined) write(encoder.encode(`retry: ${Math.floor(retry)}\n\n`));
				unsubscribe = log ? log.subscribe(send) : subscribe!(send);
				if (heartbeat > 0) interval = timers.setInterval(() => write(ping), heartbeat);
				const replay = log && lastEventId !== null ? log.since(lastEventId) : undefined;
				if (!(replay instanceof Promise)) return replay ? flush(replay, lastEventId!) : opening();
				// A log that cannot answer (its store went away) ends the stream: the client retries.
				replay
					.then((events) => (events ? flush(events, lastEventId!) : opening()), release)
					// `initial` threw, or gave an event that cannot be sent: end with that error.
					.catch(fail);
			} catch (error) {
				release();
				throw error;
			} finally {
				started = true;
			}
		},
		cancel: release
	});
	const responseHeaders = new Headers({
		'Content-Type': 'text/event-stream',
		'Cache-Control': 'no-cache',
		'X-Accel-Buffering': 'no'
	});
	new Headers(options.headers).forEach((value, name) => responseHeaders.set(name, value));
	return new Response(body, { headers: responseHeaders });
}
