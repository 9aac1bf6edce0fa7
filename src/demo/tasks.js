// The demo's data: a `tasks` table in SQLite (better-sqlite3), created and seeded on first run,
// and an in-process change feed that the SSE route and the socket.io server both follow.
// Plain JavaScript so that the production server entry (`demo/server.js`) can load it as is.
// Several processes may share one database file (`npm run demo:cluster`): WAL lets them read
// while one writes, and every write waits its turn (busy_timeout, immediate transactions).
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { STORE, TaskError, parseChange } from './shared.js';

/**
 * @typedef {import('./shared.js').Task} Task
 * @typedef {import('./shared.js').Change} Change
 * @typedef {import('./shared.js').Faults} Faults
 */

/** Where the database lives: `$DEMO_DB`, or `.data/demo.db` in the working directory. */
export const databasePath = () => process.env.DEMO_DB ?? '.data/demo.db';

const SEED = [
	['t-101', 'Ship the release notes', 'Ada Lovelace', false],
	['t-102', 'Review the reconnect policy', 'Grace Hopper', true],
	['t-103', 'Fix flaky screenshot test', 'Alan Turing', false],
	['t-104', 'Translate the badge labels', 'Katherine Johnson', true],
	['t-105', 'Write the MSW scenario docs', 'Margaret Hamilton', false],
	['t-106', 'Profile the flood benchmark', 'Edsger Dijkstra', false],
	['t-107', 'Answer the accessibility audit', 'Barbara Liskov', false]
];

/**
 * How long a write waits for another process's write to finish before failing with SQLITE_BUSY.
 * One change holds the lock for well under a millisecond; this only has to outlast a burst.
 * (better-sqlite3's default is the same; set here because several processes depend on it.)
 */
const BUSY_TIMEOUT_MS = 5000;

/** @param {Database.Database} db */
function open(db) {
	db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
	// Two processes opening a new file at once: switching it to WAL takes a lock that the busy
	// timeout does not always wait for, so the loser tries again (the process is only starting).
	for (let tries = 0; ; tries++) {
		try {
			db.pragma('journal_mode = WAL');
			break;
		} catch (error) {
			if (/** @type {{ code?: string }} */ (error).code !== 'SQLITE_BUSY' || tries >= 100)
				throw error;
			Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
		}
	}
	db.pragma('synchronous = FULL');
	// One immediate transaction (the write lock first): two processes starting on a new file
	// must not both find it unseeded and both seed it.
	db.transaction(() => createAndSeed(db)).immediate();
}

/** @param {Database.Database} db */
function createAndSeed(db) {
	db.exec(`
		CREATE TABLE IF NOT EXISTS tasks (
			id TEXT PRIMARY KEY,
			title TEXT NOT NULL,
			actor TEXT NOT NULL,
			done INTEGER NOT NULL DEFAULT 0,
			version INTEGER NOT NULL DEFAULT 1,
			updated_at TEXT NOT NULL
		);
		CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
		CREATE TABLE IF NOT EXISTS mutations (
			id TEXT PRIMARY KEY,
			task_id TEXT NOT NULL,
			revision INTEGER NOT NULL
		);
	`);
	const seeded = db.prepare(`SELECT value FROM meta WHERE key = 'revision'`).get();
	if (!seeded) {
		const insert = db.prepare(
			`INSERT INTO tasks (id, title, actor, done, version, updated_at) VALUES (?, ?, ?, ?, 1, ?)`
		);
		SEED.forEach(([id, title, actor, done], i) =>
			insert.run(
				id,
				title,
				actor,
				done ? 1 : 0,
				new Date(Date.now() - (i + 1) * 7 * 60_000).toISOString()
			)
		);
		db.prepare(`INSERT INTO meta (key, value) VALUES ('revision', 1)`).run();
	}
}

/** @param {any} row @returns {Task} */
const toTask = (row) => ({
	id: row.id,
	title: row.title,
	actor: row.actor,
	done: row.done === 1,
	version: row.version,
	updatedAt: row.updated_at
});

/** @param {string} path */
function createTaskStore(path) {
	if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
	const db = new Database(path);
	open(db);
	const select = db.prepare(`SELECT * FROM tasks ORDER BY updated_at DESC, id`);
	const selectOne = db.prepare(`SELECT * FROM tasks WHERE id = ?`);
	const revisionOf = db.prepare(`SELECT value FROM meta WHERE key = 'revision'`);
	const bump = db.prepare(
		`UPDATE meta SET value = value + 1 WHERE key = 'revision' RETURNING value`
	);
	const seen = db.prepare(`SELECT task_id, revision FROM mutations WHERE id = ?`);
	const remember = db.prepare(`INSERT INTO mutations (id, task_id, revision) VALUES (?, ?, ?)`);
	const write = db.prepare(
		`UPDATE tasks SET done = coalesce(?, done), title = coalesce(?, title), actor = ?, version = version + 1,
		 updated_at = ? WHERE id = ? RETURNING *`
	);
	/** @type {Set<(change: Change) => void>} */
	const listeners = new Set();
	let faults = parseFaults(process.env.DEMO_FAULTS);
	/** @type {Set<(faults: Faults) => void>} */
	const faultListeners = new Set();

	/**
	 * Applies a change in one transaction (the row, the revision, the mutation id) or not at all.
	 * A mutation id seen before returns the task as it is, without applying the change twice.
	 * @param {string} id
	 * @param {{ done?: boolean; title?: string }} change
	 * @param {string} actor who makes the change: the row's `actor` from now on
	 * @param {string} [mutationId]
	 * @returns {{ task: Task; revision: number; replayed: boolean }}
	 */
	const applyTransaction = db.transaction((id, change, actor, mutationId) => {
		if (mutationId) {
			const before = /** @type {{ task_id: string; revision: number } | undefined} */ (
				seen.get(mutationId)
			);
			if (before) {
				if (before.task_id !== id)
					throw new TaskError(409, `Mutation ${mutationId} was for task ${before.task_id}`);
				return { task: toTask(selectOne.get(id)), revision: before.revision, replayed: true };
			}
		}
		const row = write.get(
			change.done === undefined ? null : change.done ? 1 : 0,
			change.title ?? null,
			actor,
			new Date().toISOString(),
			id
		);
		if (!row) throw new TaskError(404, `No task with id ${JSON.stringify(id)}`);
		const { value: revision } = /** @type {{ value: number }} */ (bump.get());
		if (mutationId) remember.run(mutationId, id, revision);
		return { task: toTask(row), revision, replayed: false };
	});
	// Immediate: the write lock is taken before the first read. A deferred transaction that has
	// read while another process commits cannot become a writer (SQLITE_BUSY at once, without
	// waiting for busy_timeout), since what it read is no longer the latest.
	/** @param {Parameters<typeof applyTransaction>} args */
	const applyChange = (...args) => applyTransaction.immediate(...args);

	return {
		db,
		/** @returns {Task[]} */
		list: () => select.all().map(toTask),
		/** The revision of the whole list: one more per change. */
		revision: () => /** @type {{ value: number }} */ (revisionOf.get()).value,
		/**
		 * Changes a task and tells every listener (once: a replayed mutation id tells no one). The
		 * row's `actor` becomes the signed-in name of whoever made the change; a request cannot set it.
		 * @param {string} id
		 * @param {unknown} body a change request, checked by {@link parseChange}
		 * @param {string} actor the signed-in name
		 * @returns {Task}
		 */
		update(id, body, actor) {
			if (typeof actor !== 'string' || actor.trim() === '')
				throw new TaskError(401, 'Sign in first: a change needs a signed-in name');
			const { change, mutationId } = parseChange(body);
			const { task, revision, replayed } = applyChange(id, change, actor, mutationId);
			if (!replayed) for (const listener of listeners) listener({ revision, task, mutationId });
			return task;
		},
		/** @param {(change: Change) => void} listener @returns {() => void} */
		subscribe(listener) {
			listeners.add(listener);
			return () => listeners.delete(listener);
		},
		get listeners() {
			return listeners.size;
		},
		/** Fault switches for demos and tests, off by default (`DEMO_FAULTS=stream,socket,slow`). */
		get faults() {
			return faults;
		},
		/**
		 * Flips fault switches; listeners (the SSE route, the socket server) cut what the switch
		 * breaks.
		 * @param {Partial<Faults>} next
		 */
		setFaults(next) {
			faults = { ...faults, ...next };
			for (const listener of faultListeners) listener(faults);
			return faults;
		},
		/** @param {(faults: Faults) => void} listener @returns {() => void} */
		onFaults(listener) {
			faultListeners.add(listener);
			return () => faultListeners.delete(listener);
		},
		close: () => db.close()
	};
}

/** @param {string | undefined} spec @returns {Faults} */
function parseFaults(spec) {
	const names = new Set(
		(spec ?? '')
			.split(',')
			.map((name) => name.trim())
			.filter(Boolean)
	);
	return {
		stream: names.has('stream'),
		socket: names.has('socket'),
		slow: names.has('slow') ? 1500 : 0
	};
}

/** @typedef {ReturnType<typeof createTaskStore>} TaskStore */

/**
 * The process's one task store, opened on first use. SvelteKit's server bundle finds it through
 * `globalThis` (see `shared.js`): the server entry opens it before the first request.
 * @returns {TaskStore}
 */
export function tasks() {
	const holder = /** @type {Record<symbol, TaskStore | undefined>} */ (
		/** @type {unknown} */ (globalThis)
	);
	return (holder[STORE] ??= createTaskStore(databasePath()));
}
