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

/** An event of an {@link EventLog}: its id is always a number. */
export type LoggedEvent = SseEvent & { id: number };

/** A bounded, ordered log of events with increasing numeric ids, that listeners can follow. */
export interface EventLog {
	/**
	 * Appends an event (assigning the next id), tells every listener, and returns it (frozen).
	 * @throws {TypeError} when the event name contains a line break or NUL, or `data` cannot be
	 * serialised; the log is then left unchanged.
	 */
	append(event: Omit<SseEvent, 'id'>): LoggedEvent;
	/**
	 * The events after `lastEventId`, or `undefined` when that id is unknown or no longer in the
	 * log (the caller then sends a full snapshot). An id equal to the latest returns `[]`; one that
	 * is not an integer ≥ 0 (or a string of digits) returns `undefined`.
	 */
	since(lastEventId: string | number): LoggedEvent[] | undefined;
	/** Calls `listener` for every appended event; returns the unsubscribe function. */
	subscribe(listener: (event: LoggedEvent) => void): () => void;
	/** The latest id (`startId` before any event). */
	readonly lastId: number;
	/** How many listeners are subscribed (for leak checks). */
	readonly listeners: number;
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
export function createEventLog(options: EventLogOptions = {}): EventLog {
	const { limit = 1000, startId = 0 } = options;
	if (!Number.isSafeInteger(limit) || limit < 1) throw invalid('limit', 'an integer ≥ 1', limit);
	if (!Number.isSafeInteger(startId) || startId < 0) {
		throw invalid('startId', 'an integer ≥ 0', startId);
	}
	const events: LoggedEvent[] = [];
	const listeners = new Set<(event: LoggedEvent) => void>();
	let lastId = startId;
	return {
		append(event) {
			const entry: LoggedEvent = Object.freeze({ ...event, id: lastId + 1 });
			frames.set(entry, encode(entry));
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
			const entry = (event: LoggedEvent) => listener(event);
			listeners.add(entry);
			return () => void listeners.delete(entry);
		},
		get lastId() {
			return lastId;
		},
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
	const ping = encoder.encode(`event: ping\ndata: {"interval":${Math.floor(heartbeat)}}\n\n`);
	const { signal } = request;
	const lastEventId =
		request.headers.get('Last-Event-ID') ?? new URL(request.url).searchParams.get('lastEventId');

	let controller!: ReadableStreamDefaultController<Uint8Array>;
	let released = false;
	let wrote = false;
	/** Live events held back until the replay or `initial` is written. */
	let pending: Array<{ event: SseEvent; id: number | undefined; frame: Uint8Array }> | undefined =
		[];
	let sent = 0;
	const stream = {
		get count() {
			return sent;
		},
		end: () => release()
	};
	let unsubscribe: (() => void) | undefined;
	let interval: unknown;

	const write = (frame: Uint8Array) => {
		if (released) return;
		try {
			controller.enqueue(frame);
			wrote = true;
		} catch {
			release();
		}
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
	const send = (event: SseEvent) => {
		const frame = encode(event); // throws to the sender for an invalid event
		if (pending) pending.push({ event, id: toId(event.id), frame });
		else writeEvent(event, frame);
	};
	/** Writes the replay or `initial`, then the live events held back meanwhile. */
	const flush = (first: Initial, after = -1) => {
		if (released) return;
		const held = pending ?? [];
		pending = undefined;
		for (const event of [first ?? []].flat()) {
			writeEvent(event, encode(event));
			after = Math.max(after, toId(event.id) ?? -1);
		}
		for (const { event, id, frame } of held) {
			if (id === undefined || id > after) writeEvent(event, frame);
		}
		// Announce the heartbeat now; without one, still send a first byte: headers often leave
		// only with it, and the client should see the stream open now.
		if (heartbeat > 0) write(ping);
		else if (!wrote) write(COMMENT);
	};

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
				if (replay) return flush(replay, toId(lastEventId));
				const first = initial?.();
				if (!(first instanceof Promise)) return flush(first);
				first.then(flush).catch(fail);
			} catch (error) {
				release();
				throw error;
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
