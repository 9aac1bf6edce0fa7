// The demo's production server: SvelteKit's adapter-node handler and socket.io on one port.
// `npm run demo` builds the app and starts this; HOST and PORT choose where it listens. With
// REDIS_URL, several of these share one database and one Redis (`npm run demo:cluster`).
import { createServer } from 'node:http';
import { attachRealtime } from './realtime.js';
import { closeTaskEvents, pause } from './shared.js';
import { tasks, databasePath } from './tasks.js';

const host = process.env.HOST ?? '127.0.0.1';
const port = Number(process.env.PORT ?? 4173);

// Open the database before the first request: the bundled routes find it on globalThis.
tasks();
/** @type {import('node:http').RequestListener} */
let app = (_request, response) => void response.writeHead(503).end();
const server = createServer((request, response) => app(request, response));
const io = attachRealtime(server);
await new Promise((resolve) => server.listen(port, host, () => resolve(undefined)));
const address = server.address();
const origin = `http://${host}:${typeof address === 'object' && address ? address.port : port}`;
// adapter-node checks form posts against ORIGIN (and assumes https without it). It reads ORIGIN
// when its handler loads, so the handler (built by `vite build`) loads once the port is known.
process.env.ORIGIN ??= origin;
({ handler: app } = await import(new URL('../../build/handler.js', import.meta.url).href));
const redis = process.env.REDIS_URL ? `, Redis: ${withoutPassword(process.env.REDIS_URL)}` : '';
console.log(`Demo on ${origin}/activity (database: ${databasePath()}${redis})`);

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM']) {
	// `on` with a guard, not `once`: Ctrl-C on `npm run demo:cluster` reaches a node twice (from the
	// terminal and forwarded), and a second signal must not cut the shutdown short.
	process.on(signal, async () => {
		if (stopping) return;
		stopping = true;
		server.close();
		server.closeAllConnections();
		// The sockets, the socket.io adapter's and the change log's Redis connections; a Redis
		// that does not answer does not hold the exit up for long.
		await Promise.race([Promise.allSettled([io.close(), closeTaskEvents()]), pause(2000)]);
		tasks().close();
		process.exit(0);
	});
}

/** A Redis URL fit for a log line. @param {string} url */
function withoutPassword(url) {
	try {
		const parsed = new URL(url);
		if (parsed.password) parsed.password = '***';
		return parsed.href;
	} catch {
		return '(an invalid URL)';
	}
}
