// The event log on a Redis stream, shared by every server process: ids are stream entry ids
// (ordered across processes) prefixed with an epoch, each process runs one blocking reader that
// fans out to all of its streams, and a reconnecting client replays with XRANGE from its id.
import { createHash } from 'node:crypto';
import { EVENTS } from '../core/protocol.js';
import { keepFrame, type EventLog, type LoggedEvent, type SseEvent } from './sse.js';

/**
 * The part of a Redis client the log uses: node-redis (`redis` / `@redis/client`, v4 to v6) has
 * it. The log sends raw commands, so the client's reply types and RESP version do not matter.
 */
export interface RedisClientLike {
	sendCommand(args: string[]): Promise<unknown>;
	/** A new connection with the same options, for the blocking reader. */
	duplicate(overrides?: Record<string, unknown>): RedisClientLike;
	connect(): Promise<unknown>;
	readonly isOpen: boolean;
	readonly isReady: boolean;
	// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any listener: only 'error' is used
	on(event: string, listener: (...args: any[]) => void): unknown;
	/** node-redis 5 and later. */
	close?(): Promise<unknown>;
	/** node-redis 4. */
	quit?(): Promise<unknown>;
	destroy?(): unknown;
	disconnect?(): Promise<unknown>;
}

export interface RedisEventLogOptions {
	/**
	 * A node-redis client (connected or not; the log connects it). The log also opens one more
	 * connection from it (`duplicate()`) for its blocking reader. Pass this or `url`.
	 */
	client?: RedisClientLike;
	/** Instead of `client`: the log creates one with the `redis` package (an optional peer). */
	url?: string;
	/**
	 * The stream's key; the epoch is kept at `<key>:epoch`. One Redis (replicated or not) behind one
	 * address: node-redis's cluster client is not supported.
	 * @defaultValue `'srk:events'`
	 */
	key?: string;
	/**
	 * About how many events the stream keeps (`XADD … MAXLEN ~`), which is also the longest replay:
	 * a client further behind gets a snapshot.
	 * @defaultValue `1000`
	 */
	limit?: number;
	/** How long one blocking read waits (ms); the epoch is checked at least this often. @defaultValue `5000` */
	block?: number;
	/** How long any other command may take (ms) before Redis counts as unreachable. @defaultValue `2000` */
	timeout?: number;
	/**
	 * Told about Redis going away (once per outage), coming back, and entries it could not read.
	 * @defaultValue a `console.warn`
	 */
	onError?: (error: Error) => void;
}

/** What {@link RedisEventLog.health} reports. */
export interface RedisLogHealth {
	ok: boolean;
	redis: 'up' | 'down';
	epoch: string | undefined;
	lastId: string;
	listeners: number;
	/** Why Redis counts as unreachable. */
	error?: string;
}

/** An {@link EventLog} on a Redis stream. Ids look like `<epoch>:<stream entry id>`. */
export interface RedisEventLog extends EventLog<LoggedEvent<string>> {
	/** Appends with `XADD` (in a script that also keeps the epoch); rejects when Redis is unreachable. */
	append(event: Omit<SseEvent, 'id'>): Promise<LoggedEvent<string>>;
	/**
	 * The events after `lastEventId` (`XRANGE`), or `undefined` (send a snapshot) for an id that is
	 * malformed, of another epoch, or whose entry was trimmed; rejects when Redis is unreachable.
	 */
	since(lastEventId: string | number): Promise<LoggedEvent<string>[] | undefined>;
	/**
	 * Resolves once Redis answered and the epoch is known. Rejects when that takes longer than
	 * `wait` ms (the log keeps trying in the background: call it again), or the log was closed.
	 * @param wait @defaultValue `timeout`, at least 5000
	 */
	ready(wait?: number): Promise<void>;
	/** Whether Redis answers now (a `PING`), for a health check endpoint. */
	health(): Promise<RedisLogHealth>;
	/** Stops the reader and closes its connection (and the client, if the log created it). */
	close(): Promise<void>;
	readonly epoch: string | undefined;
	/** `false` until ready, and while the reader has lost Redis. */
	readonly available: boolean;
	compare(a: string | number, b: string | number): number;
}

const ID = /^([A-Za-z0-9_-]{1,64}):(\d{1,20})-(\d{1,20})$/;
const MAX_PART = 2n ** 64n - 1n;

/**
 * Makes sure the stream has an epoch and at least one entry (a marker, `m`), and returns the
 * epoch and the last entry id. A stream that was flushed or deleted gets a new epoch here.
 * KEYS: stream, epoch key. ARGV: a new epoch, maxlen.
 */
const ENSURE = `
local epoch = redis.call('GET', KEYS[2])
if not epoch or redis.call('EXISTS', KEYS[1]) == 0 then
  epoch = ARGV[1]
  redis.call('SET', KEYS[2], epoch)
  redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', 'e', epoch, 'm', '1')
end
local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
return {epoch, last[1][1]}
`;

/**
 * Appends an entry tagged with the epoch (creating one after a flush), in one step.
 * KEYS: stream, epoch key. ARGV: a new epoch, maxlen, then field/value pairs.
 */
const APPEND = `
local epoch = redis.call('GET', KEYS[2])
if not epoch or redis.call('EXISTS', KEYS[1]) == 0 then
  epoch = ARGV[1]
  redis.call('SET', KEYS[2], epoch)
  redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', 'e', epoch, 'm', '1')
end
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', 'e', epoch, unpack(ARGV, 3))
return {epoch, id}
`;

const sha1 = (text: string) => createHash('sha1').update(text).digest('hex');
const SCRIPTS = { ensure: [ENSURE, sha1(ENSURE)], append: [APPEND, sha1(APPEND)] } as const;

const preview = (value: unknown) =>
	typeof value === 'string' ? JSON.stringify(value) : String(value);
const invalid = (name: string, expected: string, got: unknown) =>
	new TypeError(`Invalid option \`${name}\`: expected ${expected}, got ${preview(got)}`);
const positive = (value: unknown): value is number =>
	typeof value === 'number' && Number.isSafeInteger(value) && value >= 1;

const newEpoch = () =>
	createHash('sha1').update(`${Math.random()}${Date.now()}`).digest('base64url').slice(0, 10);

/** A stream id as a pair of numbers (both fit: ms since 1970 and a per-ms sequence). */
function parts(streamId: string): [number, number] {
	const at = streamId.indexOf('-');
	return [Number(streamId.slice(0, at)), Number(streamId.slice(at + 1))];
}

function compareStreamIds(a: string, b: string): number {
	const [am, as] = parts(a);
	const [bm, bs] = parts(b);
	return am - bm || as - bs;
}

type Entry = { id: string; fields: Map<string, string> };

/** Entries of an XRANGE reply, or of one stream in an XREAD reply (RESP2 arrays or RESP3 maps). */
function entriesOf(reply: unknown): Entry[] {
	if (!Array.isArray(reply)) return [];
	const entries: Entry[] = [];
	for (const raw of reply) {
		if (!Array.isArray(raw)) continue;
		const [id, flat] = raw as [unknown, unknown];
		const fields = new Map<string, string>();
		if (Array.isArray(flat)) {
			for (let i = 0; i + 1 < flat.length; i += 2) fields.set(String(flat[i]), String(flat[i + 1]));
		}
		entries.push({ id: String(id), fields });
	}
	return entries;
}

function streamOf(reply: unknown): unknown {
	if (reply === null || reply === undefined) return undefined;
	if (reply instanceof Map) return [...reply.values()][0];
	// RESP2 `[[key, entries]]`, or RESP3 with maps as flat arrays: `[key, entries]`.
	if (Array.isArray(reply)) {
		return typeof reply[0] === 'string' ? reply[1] : (reply[0] as unknown[] | undefined)?.[1];
	}
	if (typeof reply === 'object') return Object.values(reply)[0];
	return undefined;
}

/** Runs `callback` after the I/O that is ready now has been handled (Node's check phase). */
const afterIo = (callback: () => void) =>
	typeof setImmediate === 'function' ? setImmediate(callback) : setTimeout(callback, 0);

class Unreachable extends Error {
	override name = 'RedisUnavailableError';
	/** Refused before sending (the connection is down): it repeats the known cause, adds none. */
	guard = false;
}

const warn = (error: Error) => console.warn(`[svelte-realtime-kit] ${error.message}`);

/**
 * Creates the {@link EventLog} of `svelte-realtime-kit/server/redis`: events in a Redis stream that
 * every server process appends to and reads, so a client on any process sees every change and
 * resumes on any process with `Last-Event-ID`. Pass it to `sseResponse` like the in-memory log.
 *
 * @example
 * import { createClient } from 'redis';
 * import { sseResponse } from 'svelte-realtime-kit/server';
 * import { createRedisEventLog } from 'svelte-realtime-kit/server/redis';
 *
 * const log = createRedisEventLog({ client: createClient({ url: process.env.REDIS_URL }) });
 * export const GET = ({ request }) =>
 *   sseResponse({
 *     request,
 *     log,
 *     initial: () => ({ id: log.lastId, event: 'snapshot', data: tasks.list() })
 *   });
 * // after each change is committed: await log.append({ event: 'upsert', data: task });
 * @throws {TypeError} for invalid options.
 */
export function createRedisEventLog(options: RedisEventLogOptions): RedisEventLog {
	const { key = 'srk:events', limit = 1000, block = 5000, timeout = 2000 } = options ?? {};
	const onError = options?.onError ?? warn;
	if (!options || !options.client === !options.url) {
		throw new TypeError(
			`Invalid options \`client\` and \`url\`: expected one of them, got ${options?.client ? 'both' : 'neither'}`
		);
	}
	if (options.client && typeof options.client.sendCommand !== 'function') {
		throw invalid(
			'client',
			'a node-redis client (createClient() of the redis package)',
			options.client
		);
	}
	if (options.url !== undefined && typeof options.url !== 'string') {
		throw invalid('url', 'a redis:// URL', options.url);
	}
	if (typeof key !== 'string' || key === '') throw invalid('key', 'a non-empty string', key);
	if (!positive(limit)) throw invalid('limit', 'an integer ≥ 1', limit);
	if (!positive(block)) throw invalid('block', 'a number of ms ≥ 1', block);
	if (!positive(timeout)) throw invalid('timeout', 'a number of ms ≥ 1', timeout);
	if (typeof onError !== 'function') throw invalid('onError', 'a function', onError);
	const epochKey = `${key}:epoch`;

	const owned = !options.client;
	let base: RedisClientLike | undefined = options.client;
	let reader: RedisClientLike | undefined;
	const listeners = new Set<(event: LoggedEvent<string>) => void>();
	let epoch: string | undefined;
	/** The last entry the reader delivered (or skipped past with a resync). */
	let position = '0-0';
	let up = false;
	let closed = false;
	/** An append failed while Redis was away: everyone must resync once it is back. */
	let owed = false;
	let lastCheck = 0;
	/** The run id of the Redis server the reader last talked to. */
	let serverRun: string | undefined;
	let lastError: string | undefined;
	let reported = false;
	const startedAt = Date.now();
	let settleReady: { resolve: () => void; reject: (error: Error) => void } | undefined;
	const readyPromise = new Promise<void>((resolve, reject) => (settleReady = { resolve, reject }));
	// Nobody may await it; its rejection on close must not be unhandled.
	readyPromise.catch(() => {});

	const fieldsOf = (event: Omit<SseEvent, 'id'>): string[] => {
		const fields: string[] = [];
		if (event.event !== undefined) fields.push('n', event.event);
		const data = JSON.stringify(event.data);
		if (data !== undefined) fields.push('d', data);
		return fields;
	};
	const format = (streamId: string) => `${epoch}:${streamId}`;

	/**
	 * Rejects when `promise` takes longer than `ms`, counted the way a busy process needs: from
	 * when the client has had its turn to write the command (a loop that stalls right after the
	 * call writes it late), and only once the replies that arrived meanwhile were read (a loop
	 * that was busy runs its timers before it reads its sockets, and the answer may be there).
	 */
	function withTimeout<T>(promise: Promise<T>, ms = timeout): Promise<T> {
		let timer: ReturnType<typeof setTimeout> | undefined;
		let settled = false;
		return Promise.race([
			promise,
			new Promise<never>((_, reject) => {
				afterIo(() => {
					if (settled) return;
					timer = setTimeout(
						() => afterIo(() => reject(new Unreachable(`Redis did not answer within ${ms} ms`))),
						ms
					);
				});
			})
		]).finally(() => {
			settled = true;
			clearTimeout(timer);
		});
	}

	/** Sends a command, failing at once when its connection is down (never queued for later). */
	function command(args: string[], client = base, ms = timeout): Promise<unknown> {
		if (!client?.isReady) {
			const error = new Unreachable(`Redis is unreachable${lastError ? ` (${lastError})` : ''}`);
			error.guard = true;
			return Promise.reject(error);
		}
		return withTimeout(client.sendCommand(args), ms);
	}

	async function script(name: keyof typeof SCRIPTS, args: string[], client = base) {
		const [source, hash] = SCRIPTS[name];
		const keys = ['2', key, epochKey];
		try {
			return await command(['EVALSHA', hash, ...keys, ...args], client);
		} catch (error) {
			if (!(error instanceof Error) || !/NOSCRIPT/.test(error.message)) throw error;
			return command(['EVAL', source, ...keys, ...args], client);
		}
	}

	function tell(event: LoggedEvent<string>) {
		for (const listener of [...listeners]) {
			try {
				listener(event);
			} catch (error) {
				onError(error instanceof Error ? error : new Error(String(error)));
			}
		}
	}

	function resync(reason: string) {
		const event = Object.freeze({
			id: format(position),
			event: EVENTS.resync,
			data: Object.freeze({ reason })
		});
		keepFrame(event);
		tell(event);
	}

	/** The logged event of an entry; `undefined` for markers and entries that are not the log's. */
	function toEvent(entry: Entry): LoggedEvent<string> | undefined {
		if (entry.fields.has('m')) return undefined;
		if (entry.fields.has('r')) {
			return { id: format(entry.id), event: EVENTS.resync, data: { reason: 'lost' } };
		}
		const data = entry.fields.get('d');
		const name = entry.fields.get('n');
		try {
			const event: LoggedEvent<string> = {
				id: format(entry.id),
				...(name !== undefined ? { event: name } : {}),
				data: data === undefined ? undefined : JSON.parse(data)
			};
			return event;
		} catch {
			onError(new Error(`Skipped entry ${entry.id} of ${key}: its data is not JSON`));
			return undefined;
		}
	}

	/** Learns the epoch and the last entry; a new epoch (or lost entries) means a resync for all. */
	/** The Redis server's run id: a new one means it restarted. */
	async function runId(client: RedisClientLike) {
		const info = String(await command(['INFO', 'server'], client));
		return /run_id:(\w+)/.exec(info)?.[1];
	}

	async function recover(client: RedisClientLike) {
		const reply = (await script('ensure', [newEpoch(), String(limit)], client)) as [string, string];
		const [now, last] = [String(reply[0]), String(reply[1])];
		lastCheck = Date.now();
		if (epoch === undefined) {
			epoch = now;
			position = last;
		} else if (now !== epoch) {
			epoch = now;
			position = last;
			resync('epoch');
		} else if (!up) {
			// Back after an outage in the same epoch. A Redis that restarted from its files may have
			// lost its newest entries: resync. Otherwise catch up from our position if its entry is
			// still there (trimming removes the oldest first, so everything after it is there too).
			const restarted = serverRun !== undefined && (await runId(client)) !== serverRun;
			if (restarted || !(await kept(client, position))) {
				position = last;
				resync(restarted ? 'restarted' : 'trimmed');
			}
		}
		serverRun ??= await runId(client);
		if (owed) {
			// An append failed meanwhile: its event reached no process, and another process may have
			// resynced before it failed. Tell every process's clients (once more, at worst).
			owed = false;
			try {
				await command(
					['XADD', key, 'MAXLEN', '~', String(limit), '*', 'e', epoch, 'r', '1'],
					client
				);
			} catch (error) {
				owed = true;
				throw error;
			}
		}
		if (!up) {
			up = true;
			if (reported) onError(new Error(`Redis is reachable again (${key})`));
			reported = false;
			lastError = undefined;
			settleReady?.resolve();
		}
	}

	function lost(error: unknown) {
		if (closed) return;
		const message = error instanceof Error ? error.message : String(error);
		// Once per outage; at start, only once connecting has taken longer than `timeout`.
		if (up || (!reported && Date.now() - startedAt >= timeout)) {
			reported = true;
			onError(new Unreachable(`Redis is unreachable (${key}): ${message}`));
		}
		up = false;
		if (!(error instanceof Unreachable && error.guard)) lastError = message;
	}

	/** Ends a connection the log opened, whatever state it is in. */
	async function shut(client: RedisClientLike | undefined) {
		if (!client) return;
		try {
			if (client.destroy) client.destroy();
			else await client.disconnect?.();
		} catch {
			// not open, or already closed
		}
	}

	async function connect(client: RedisClientLike, ours: boolean) {
		client.on('error', () => {
			// Reported through the reader's failures, once per outage; node-redis reconnects.
		});
		if (!client.isOpen) await client.connect();
		// Connected only after close(): nobody will use it.
		if (closed && ours) await shut(client);
	}

	/** Whether the entry at `id` is still in the stream (so nothing after it was trimmed). */
	async function kept(client: RedisClientLike, id: string) {
		return entriesOf(await command(['XRANGE', key, id, id], client)).length > 0;
	}

	function openReader(from: RedisClientLike) {
		if (closed) return;
		reader = from.duplicate({ disableOfflineQueue: true });
		void connect(reader, true).catch(lost);
	}

	async function run() {
		let delay = 100;
		try {
			if (!base) {
				// A variable specifier: the optional peer need not be installed to build an app that
				// passes its own `client`; it is loaded only for `url`.
				const peer = 'redis';
				const loaded: unknown = await import(/* @vite-ignore */ peer).catch(() => {
					throw new Error(
						'createRedisEventLog({ url }) needs the "redis" package: npm install redis'
					);
				});
				const { createClient } = loaded as {
					createClient(options: { url: string }): RedisClientLike;
				};
				if (closed) return;
				base = createClient({ url: options.url! });
			}
			void connect(base, owned).catch(lost);
			openReader(base);
		} catch (error) {
			closed = true;
			settleReady?.reject(error instanceof Error ? error : new Error(String(error)));
			return;
		}
		while (!closed) {
			try {
				const current = reader!;
				if (!up || Date.now() - lastCheck >= block) await recover(current);
				const reply = await command(
					['XREAD', 'COUNT', '1000', 'BLOCK', String(block), 'STREAMS', key, position],
					current,
					block + timeout
				).catch((error) => {
					// No answer on a connection that looks open: it is dead without knowing it.
					if (error instanceof Unreachable && current.isReady && !closed) {
						void shut(current);
						openReader(base!);
					}
					throw error;
				});
				delay = 100;
				const entries = entriesOf(streamOf(reply));
				// Whether the read started where this reader left off: checked after the batch is
				// delivered, so that the check costs no latency. (Entries of a new epoch are another
				// matter, seen below: the stream was flushed.)
				const read = epoch;
				const from = entries[0]?.fields.get('e') === epoch ? position : undefined;
				for (const entry of entries) {
					if (closed) return;
					if (entry.fields.get('e') !== epoch) {
						// The stream was flushed and someone appended since: start over from its end.
						const was = epoch;
						await recover(current);
						if (epoch !== was) break;
						// Not an entry of this log (written by something else): step over it.
						position = entry.id;
						onError(new Error(`Skipped entry ${entry.id} of ${key}: not written by this log`));
						continue;
					}
					position = entry.id;
					const event = toEvent(entry);
					if (!event) continue;
					Object.freeze(event);
					keepFrame(event);
					tell(event);
				}
				if (from !== undefined && epoch === read && !closed && !(await kept(current, from))) {
					// Gone: flushed (a new epoch, which resyncs by itself), or trimmed past this reader
					// while it was busy, and what fell off before this batch reached nobody here.
					const was = epoch;
					await recover(current);
					if (epoch === was) resync('trimmed');
				}
			} catch (error) {
				if (closed) return;
				lost(error);
				await new Promise((resolve) => {
					// The backoff alone must not keep the process alive.
					const timer = setTimeout(resolve, delay * (0.5 + Math.random()));
					(timer as { unref?: () => void }).unref?.();
				});
				delay = Math.min(delay * 2, 2000);
			}
		}
	}

	void run();

	const log: RedisEventLog = {
		async append(event) {
			if (typeof event !== 'object' || event === null) {
				throw new TypeError(`Invalid event: expected { event?, data }, got ${preview(event)}`);
			}
			// Checked before anything is sent: a bad event name or unserialisable data leaves the log as it was.
			keepFrame({ event: event.event, data: event.data });
			const fields = fieldsOf(event);
			if (!up && !closed && epoch === undefined) await withTimeout(readyPromise).catch(() => {});
			try {
				const reply = (await script('append', [newEpoch(), String(limit), ...fields])) as [
					string,
					string
				];
				const id = `${String(reply[0])}:${String(reply[1])}`;
				return Object.freeze({ ...event, id });
			} catch (error) {
				owed = true;
				throw error instanceof Unreachable
					? error
					: new Unreachable(
							`Could not append to ${key}: ${error instanceof Error ? error.message : String(error)}`
						);
			}
		},
		async since(lastEventId) {
			const match = ID.exec(String(lastEventId));
			if (!match || epoch === undefined || match[1] !== epoch) return undefined;
			// Redis refuses parts past 64 bits: such an id is not one of this log's.
			if (BigInt(match[2]!) > MAX_PART || BigInt(match[3]!) > MAX_PART) return undefined;
			const streamId = `${match[2]}-${match[3]}`;
			let reply: unknown;
			try {
				reply = await command(['XRANGE', key, streamId, '+', 'COUNT', String(limit + 2)]);
			} catch (error) {
				if (error instanceof Unreachable) throw error;
				// Redis answered with an error (the key holds something else?): a snapshot, not a loop
				// of failing reconnects.
				onError(
					new Error(
						`Could not replay from ${key}: ${error instanceof Error ? error.message : String(error)}`
					)
				);
				return undefined;
			}
			const entries = entriesOf(reply);
			// The client's own entry must still be there: if it was trimmed, so may be what followed.
			if (entries[0]?.id !== streamId || entries.length > limit + 1) return undefined;
			const events: LoggedEvent<string>[] = [];
			for (const entry of entries.slice(1)) {
				if (entry.fields.get('e') !== epoch) return undefined;
				const event = toEvent(entry);
				if (event) events.push(Object.freeze(event));
			}
			return events;
		},
		subscribe(listener) {
			const entry = (event: LoggedEvent<string>) => listener(event);
			listeners.add(entry);
			return () => void listeners.delete(entry);
		},
		ready(wait = Math.max(timeout, 5000)) {
			if (up || closed) return readyPromise;
			return withTimeout(readyPromise, wait).catch((error: unknown) => {
				throw error instanceof Unreachable
					? new Unreachable(
							`Redis is unreachable (${key})${lastError ? `: ${lastError}` : ''}; the log keeps trying`
						)
					: error;
			});
		},
		async health() {
			try {
				await command(['PING']);
				return {
					ok: up,
					redis: 'up',
					epoch,
					lastId: log.lastId,
					listeners: listeners.size,
					...(up ? {} : { error: 'The reader has not caught up with Redis yet' })
				};
			} catch (error) {
				return {
					ok: false,
					redis: 'down',
					epoch,
					lastId: log.lastId,
					listeners: listeners.size,
					error: error instanceof Error ? error.message : String(error)
				};
			}
		},
		async close() {
			if (closed) return;
			closed = true;
			up = false;
			settleReady?.reject(new Error(`The event log on ${key} was closed`));
			await shut(reader);
			if (owned) await shut(base);
		},
		get lastId() {
			return epoch === undefined ? '' : format(position);
		},
		get epoch() {
			return epoch;
		},
		get listeners() {
			return listeners.size;
		},
		get available() {
			return up && !closed && base?.isReady === true;
		},
		compare(a, b) {
			const x = ID.exec(String(a));
			const y = ID.exec(String(b));
			if (!x || !y) throw new TypeError(`Not ids of this log: ${preview(a)}, ${preview(b)}`);
			if (x[1] !== y[1]) throw new TypeError(`Ids of two epochs: ${preview(a)}, ${preview(b)}`);
			return compareStreamIds(`${x[2]}-${x[3]}`, `${y[2]}-${y[3]}`);
		}
	};
	return log;
}
