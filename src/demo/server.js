// The demo's production server: SvelteKit's adapter-node handler and socket.io on one port.
// `npm run demo` builds the app and starts this; HOST and PORT choose where it listens.
import { createServer } from 'node:http';
import { attachRealtime } from './realtime.js';
import { tasks, databasePath } from './tasks.js';

const host = process.env.HOST ?? '127.0.0.1';
const port = Number(process.env.PORT ?? 4173);

// Open the database before the first request: the bundled routes find it on globalThis.
tasks();
// Built by `vite build` (adapter-node): looked up at run time.
const { handler } = await import(new URL('../../build/handler.js', import.meta.url).href);
const server = createServer(handler);
attachRealtime(server);
server.listen(port, host, () => {
	const address = server.address();
	const bound = typeof address === 'object' && address ? address.port : port;
	console.log(`Demo on http://${host}:${bound}/activity (database: ${databasePath()})`);
});

for (const signal of ['SIGINT', 'SIGTERM']) {
	process.once(signal, () => {
		server.close();
		server.closeAllConnections();
		tasks().close();
		process.exit(0);
	});
}
