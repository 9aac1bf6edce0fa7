// socket.io on the `/realtime` namespace: `task:update` in (validated, written, acknowledged),
// `task:sync` out to every client for every change, whoever made it (SSE and HTTP clients too,
// through the store's change feed).
import { Server } from 'socket.io';
import { pause, sessionUser, TaskError } from './shared.js';
import { tasks } from './tasks.js';

/**
 * Attaches the realtime server to an HTTP server (the production entry's, or Vite's in dev).
 * @param {import('node:http').Server} httpServer
 */
export function attachRealtime(httpServer) {
	const store = tasks();
	const io = new Server(httpServer, { serveClient: false });
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
	const offChanges = store.subscribe(({ task, mutationId }) =>
		realtime.emit('task:sync', { item: task, ...(mutationId ? { mutationId } : {}) })
	);

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
	});
	return io;
}
