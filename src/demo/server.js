// The demo's production server: SvelteKit's adapter-node handler and socket.io on one port.
// `npm run demo` builds the app and starts this; HOST and PORT choose where it listens.
import { createServer } from 'node:http';
import { attachRealtime } from './realtime.js';
import { tasks, databasePath } from './tasks.js';

const host = process.env.HOST ?? '127.0.0.1';
const port = Number(process.env.PORT ?? 4173);

// Open the database before the first request: the bundled routes find it on globalThis.
tasks();
/** @type {import('node:http').RequestListener} */
let app = (_request, response) => void response.writeHead(503).end();
const server = createServer((request, response) => app(request, response));
attachRealtime(server);
await new Promise((resolve) => server.listen(port, host, () => resolve(undefined)));
const address = server.address();
const origin = `http://${host}:${typeof address === 'object' && address ? address.port : port}`;
// adapter-node checks form posts against ORIGIN (and assumes https without it). It reads ORIGIN
// when its handler loads, so the handler (built by `vite build`) loads once the port is known.
process.env.ORIGIN ??= origin;
({ handler: app } = await import(new URL('../../build/handler.js', import.meta.url).href));
console.log(`Demo on ${origin}/activity (database: ${databasePath()})`);

for (const signal of ['SIGINT', 'SIGTERM']) {
	process.once(signal, () => {
		server.close();
		server.closeAllConnections();
		tasks().close();
		process.exit(0);
	});
}
