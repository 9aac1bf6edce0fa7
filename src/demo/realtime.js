// socket.io on the `/realtime` namespace: `task:update` in (validated, written, acknowledged),
// `task:sync` out to every client for every change, whoever made it (SSE and HTTP clients too,
// through the store's change feed). With REDIS_URL, through Redis to the clients of every server
// process (`npm run demo:cluster`).
import { createAdapter } from '@socket.io/redis-streams-adapter';
import { createClient } from 'redis';
import { Server } from 'socket.io';
import { pause, resyncListeners, sessionUser, TaskError } from './shared.js';
import { tasks } from './tasks.js';

/**
 * socket.io's Redis adapter for several server processes, or `undefined` without REDIS_URL.
 * The streams adapter rather than the pub/sub one (`@socket.io/redis-adapter`): it keeps its
 * messages in a Redis stream and resumes reading from its last position after a disconnection
 * from Redis, where pub/sub drops whatever was published meanwhile; and it supports socket.io's
 * connection state recovery, should the server enable it. node-redis 6 (RESP3 by default) works
 * with it as is: its stream replies keep the shape the adapter reads.
 * @param {string | undefined} url
 */
function redisAdapter(url) {
	if (!url) return undefined;
	const client = createClient({ url });
	let down = false;
	client.on('error', (/** @type {Error} */ error) => {
		// node-redis reconnects by itself; say so once per outage, not on every retry.
		if (down) return;
		down = true;
		console.warn(`[demo] socket.io's Redis connection: ${error.message}`);
	});
	client.on('ready', () => {
		if (down) console.warn(`[demo] socket.io's Redis connection is back`);
		down = false;
	});
	// Commands sent while it connects wait in node-redis's queue; the adapter's own readers are
	// duplicates of this client that connect themselves.
	client.connect().catch(() => {});
	return { adapter: createAdapter(client), close: () => client.destroy() };
}

/**
 * Attaches the realtime server to an HTTP server (the production entry's, or Vite's in dev).
 * @param {import('node:http').Server} httpServer
 */
export function attachRealtime(httpServer) {
	const store = tasks();
	const redis = redisAdapter(process.env.REDIS_URL);
	const io = new Server(httpServer, {
		serveClient: false,
		...(redis ? { adapter: redis.adapter } : {})
	});
	const realtime = io.of('/realtime');

	// Signed-in readers only, like the page and the API (a signed session cookie; see shared.js).
	// The name is kept with the socket: every change made over it is recorded as theirs.
	realtime.use((socket, next) => {
		const user = sessionUser(socket.request.headers.cookie);
		if (!user) return next(new Error('Sign in first'));
		socket.data.user = user;
		next();
	});
	// The `socket` fault switch: refuse new sockets, drop the open ones.
	realtime.use((_socket, next) =>
		store.faults.socket ? next(new Error('The realtime socket is switched off')) : next()
	);
	const offFaults = store.onFaults((faults) => {
		if (faults.socket) for (const socket of realtime.sockets.values()) socket.conn.close();
	});
	// Each process emits its own changes; the adapter carries them to the other processes' sockets.
	const offChanges = store.subscribe(({ task, mutationId }) =>
		realtime.emit('task:sync', { item: task, ...(mutationId ? { mutationId } : {}) })
	);
	// The shared change log says this process may have missed changes (Redis came back empty):
	// this process's own clients fetch the list again. `local`: every process tells its own.
	const onResync = () => void realtime.local.emit('task:resync');
	resyncListeners().add(onResync);

	realtime.on('connection', (socket) => {
		socket.emit('task:snapshot', store.list());
		socket.on('task:update', async (payload, ack) => {
			const reply = typeof ack === 'function' ? ack : () => {};
			try {
				if (store.faults.slow) await pause(store.faults.slow);
				// The kit sends { type, mutationId, key, item }; a plain { id, done } works too.
				const { key, id: plainId, item, mutationId, type: _type, ...plain } = payload ?? {};
				const id = key ?? plainId ?? item?.id;
				if (typeof id !== 'string')
					throw new TaskError(400, 'Expected the task id as "key" or "id"');
				const change = item ? { done: item.done, title: item.title } : plain;
				const body = Object.fromEntries(
					Object.entries({ ...change, mutationId }).filter(([, value]) => value !== undefined)
				);
				reply({ ok: true, result: store.update(id, body, socket.data.user) });
			} catch (error) {
				reply({ ok: false, error: error instanceof Error ? error.message : String(error) });
			}
		});
	});

	httpServer.once('close', () => {
		offFaults();
		offChanges();
		resyncListeners().delete(onResync);
		redis?.close();
	});
	return io;
}
