// The change log that the SSE route streams from and replays with `Last-Event-ID`: one per process,
// opened on first use (hooks.server.ts opens it at start). Loaded by the bundled routes only (it
// imports the kit from `$lib`); the server entry and the socket server reach it through
// `globalThis` (see `shared.js`).
//
// Without REDIS_URL: in memory, its ids the database's revisions (one process: `npm run demo`).
// With REDIS_URL: a Redis stream that every process appends its own changes to and reads
// everyone's from (`npm run demo:cluster`), so a client sees every change whichever process made
// it, and resumes on any process.
import { createEventLog } from '$lib/server/index.js';
import { createRedisEventLog } from '$lib/server/redis.js';
import { EVENTS, resyncListeners, taskStore } from './shared.js';

/** The Redis stream's key (the log keeps its epoch at `<key>:epoch`). */
export const REDIS_KEY = 'demo:tasks:events';

/** How many changes a reconnecting client can catch up on; further behind, it gets a snapshot. */
const LIMIT = 500;

/** How long the server waits at start for Redis before serving anyway (the log keeps trying). */
const READY_TIMEOUT_MS = 5000;

/**
 * @typedef {import('$lib/server/index.js').EventLog} EventLog
 * @typedef {import('$lib/server/redis.js').RedisEventLog} RedisEventLog
 * @typedef {{ ok: true; redis: 'off' } | import('$lib/server/redis.js').RedisLogHealth} Health
 * @typedef {{
 *   log: EventLog;
 *   redis: RedisEventLog | undefined;
 *   cut: AbortSignal;
 *   ready(): Promise<void>;
 *   health(): Promise<Health>;
 *   close(): Promise<void>;
 * }} TaskEvents
 */

/** This process's change log, opened on first use. @returns {TaskEvents} */
export function taskEvents() {
	const holder = /** @type {Record<symbol, TaskEvents | undefined>} */ (
		/** @type {unknown} */ (globalThis)
	);
	return (holder[EVENTS] ??= open());
}

/** @returns {TaskEvents} */
function open() {
	const store = taskStore();
	const url = process.env.REDIS_URL;
	const redis = url
		? createRedisEventLog({
				url,
				key: REDIS_KEY,
				limit: LIMIT,
				onError: (error) => console.warn(`[demo] ${error.message}`)
			})
		: undefined;
	/** @type {EventLog} */
	const log = redis ?? createEventLog({ limit: LIMIT, startId: store.revision() });

	// This process's changes go to the log; with Redis every process's reader then hears them.
	const offChanges = store.subscribe(({ task, mutationId }) => {
		const event = { event: 'upsert', data: { item: task, ...(mutationId ? { mutationId } : {}) } };
		const appended = log.append(event);
		if (appended instanceof Promise) {
			// The change is saved; it only reaches no stream. The log tells every process's clients
			// to resync once Redis is back, so nobody keeps the old row.
			appended.catch((error) =>
				console.warn(`[demo] change to ${task.id} not streamed: ${error.message}`)
			);
		}
	});
	// Streams get a resync from sseResponse itself; the socket server's clients are told here.
	const offResync = log.subscribe((event) => {
		if (event.event !== 'resync') return;
		for (const listener of resyncListeners()) listener(String(event.id));
	});

	// The `stream` fault switch ends this process's open streams; new ones get a 503 while it is on.
	let cut = new AbortController();
	const offFaults = store.onFaults((faults) => {
		if (!faults.stream) return;
		cut.abort();
		cut = new AbortController();
	});

	return {
		log,
		redis,
		get cut() {
			return cut.signal;
		},
		async ready() {
			if (!redis) return;
			/** @type {ReturnType<typeof setTimeout> | undefined} */
			let timer;
			const late = new Promise((resolve) => (timer = setTimeout(resolve, READY_TIMEOUT_MS)));
			// Rejects only when the log is closed meanwhile: nothing to wait for then.
			const ready = redis.ready().then(
				() => true,
				() => true
			);
			const answered = await Promise.race([ready, late]).finally(() => clearTimeout(timer));
			if (!answered) {
				console.warn(
					`[demo] Redis at ${url} did not answer within ${READY_TIMEOUT_MS / 1000} s; serving anyway (streams answer 503 until it does)`
				);
			}
		},
		async health() {
			if (!redis) return { ok: true, redis: 'off' };
			return redis.health();
		},
		async close() {
			offChanges();
			offResync();
			offFaults();
			cut.abort();
			await redis?.close();
		}
	};
}
