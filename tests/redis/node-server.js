// A server node for the Redis fault tests, run as its own process: the kit's real `sseResponse`
// and `createRedisEventLog` (from the bundle in KIT_DIR) over node:http, with a list of items
// `{ id, version }` in a SQLite file that every node shares, so the list outlives Redis.
//
// Env: PORT, REDIS_URL, DB_PATH, KIT_DIR; optional LOG_KEY, LOG_LIMIT, LOG_BLOCK, LOG_TIMEOUT,
// ITEMS (how many items to seed), HEARTBEAT (ms). Prints `ready <port>` once it listens.
// Routes: GET /stream (SSE), GET /list, POST /write?n=K, GET /health.
import Database from 'better-sqlite3';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createClient } from 'redis';
import { pipeResponse, toRequest } from '../../bench/live-helpers.js';

/** @param {string} name */
function env(name) {
	const value = process.env[name];
	if (!value) throw new Error(`node-server: the ${name} environment variable is required`);
	return value;
}
/** @param {string} name @param {number} fallback */
const number = (name, fallback) => (process.env[name] ? Number(process.env[name]) : fallback);

// Anything thrown and not caught is a bug the tests must see: say so loudly, and stop.
process.on('uncaughtException', (error) => {
	console.error('UNCAUGHT', error);
	process.exit(70);
});
process.on('unhandledRejection', (error) => {
	console.error('UNHANDLED', error);
	process.exit(70);
});

const kit = env('KIT_DIR');
/** @type {typeof import('../../src/lib/server/index.js')} */
const { sseResponse } = await import(pathToFileURL(join(kit, 'index.js')).href);
/** @type {typeof import('../../src/lib/server/redis.js')} */
const { createRedisEventLog } = await import(pathToFileURL(join(kit, 'redis.js')).href);

const db = new Database(env('DB_PATH'));
db.pragma('busy_timeout = 10000');
// Two nodes opening a new file at once: switching it to WAL takes a lock that the busy timeout
// does not always wait for, so the loser tries again.
for (let tries = 0; ; tries++) {
	try {
		db.pragma('journal_mode = WAL');
		break;
	} catch (error) {
		if (/** @type {{ code?: string }} */ (error).code !== 'SQLITE_BUSY' || tries >= 100)
			throw error;
		await new Promise((resolve) => setTimeout(resolve, 50));
	}
}
db.exec('CREATE TABLE IF NOT EXISTS items (id TEXT PRIMARY KEY, version INTEGER NOT NULL)');
const seed = db.prepare('INSERT OR IGNORE INTO items (id, version) VALUES (?, 1)');
const items = number('ITEMS', 40);
db.transaction(() => {
	for (let i = 1; i <= items; i++) seed.run(`item-${String(i).padStart(3, '0')}`);
})();
const listItems = db.prepare('SELECT id, version FROM items ORDER BY id');
const ids = /** @type {string[]} */ (db.prepare('SELECT id FROM items').pluck().all());
const bump = db.prepare(
	'UPDATE items SET version = version + 1 WHERE id = ? RETURNING id, version'
);

const client = createClient({ url: env('REDIS_URL') });
const log = createRedisEventLog({
	client,
	key: process.env.LOG_KEY ?? 'srk:test:events',
	limit: number('LOG_LIMIT', 1000),
	block: number('LOG_BLOCK', 1000),
	timeout: number('LOG_TIMEOUT', 1000),
	// One line per report, so the tests can read what the log said.
	onError: (error) => console.error(`log: ${error.message}`)
});
const heartbeat = number('HEARTBEAT', 2000);

/** @param {import('node:http').ServerResponse} res @param {number} status @param {unknown} body */
function json(res, status, body) {
	res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
	res.end(JSON.stringify(body));
}

const server = createServer(async (req, res) => {
	const url = new URL(req.url ?? '/', 'http://127.0.0.1');
	try {
		if (req.method === 'GET' && url.pathname === '/stream') {
			const response = sseResponse({
				request: toRequest(req, res),
				log,
				heartbeat,
				retryAfter: 1,
				initial: () => ({ id: log.lastId, event: 'snapshot', data: listItems.all() })
			});
			return void pipeResponse(response, req, res);
		}
		if (req.method === 'GET' && url.pathname === '/list') return json(res, 200, listItems.all());
		if (req.method === 'GET' && url.pathname === '/health') {
			const health = await log.health();
			return json(res, health.ok ? 200 : 503, health);
		}
		if (req.method === 'POST' && url.pathname === '/write') {
			const n = Number(url.searchParams.get('n') ?? '1');
			if (!Number.isSafeInteger(n) || n < 1) return json(res, 400, { error: 'n: an integer ≥ 1' });
			const events = [];
			for (let i = 0; i < n; i++) {
				const item = bump.get(ids[Math.floor(Math.random() * ids.length)]);
				try {
					events.push(await log.append({ event: 'upsert', data: item }));
				} catch (error) {
					// The change is in SQLite but its event reached nobody: the log owes a resync.
					const message = error instanceof Error ? error.message : String(error);
					return json(res, 503, { error: message, events });
				}
			}
			return json(res, 200, { events });
		}
		json(res, 404, { error: 'not found' });
	} catch (error) {
		console.error('HANDLER', error);
		if (!res.headersSent) json(res, 500, { error: 'internal' });
		else res.end();
	}
});
server.keepAliveTimeout = 1000;
server.listen(number('PORT', 0), '127.0.0.1', () => {
	const address = server.address();
	console.log(`ready ${typeof address === 'object' && address ? address.port : ''}`);
});

// A clean stop for SIGTERM; the tests mostly use SIGKILL, as a crash.
process.once('SIGTERM', () => {
	server.closeAllConnections();
	server.close();
	void log.close().finally(() => client.destroy());
});
