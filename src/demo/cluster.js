// `npm run demo:cluster`: several demo servers (`server.js`) at once, as behind a load balancer,
// sharing one SQLite file (WAL) and one Redis: a change made on any of them reaches the clients of
// all of them, over socket.io (the Redis streams adapter) and SSE (the Redis event log), and an
// SSE client resumes on any of them. Each listens on its own port, from PORT up.
//
//   REDIS_URL=redis://127.0.0.1:6379 npm run demo:cluster
//
// DEMO_NODES (default 2) says how many. A node that dies is reported and the others keep serving;
// Ctrl-C stops them all.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { databasePath } from './tasks.js';

const redisUrl = process.env.REDIS_URL;
if (!redisUrl) {
	console.error(`The demo cluster needs a Redis: set REDIS_URL, for example

  redis-server --port 6379 --save '' --appendonly no
  # or: docker run --rm -p 6379:6379 redis:7
  REDIS_URL=redis://127.0.0.1:6379 npm run demo:cluster

(Without REDIS_URL, \`npm run demo\` runs one server on its own.)`);
	process.exit(1);
}

const nodes = Number(process.env.DEMO_NODES ?? 2);
const firstPort = Number(process.env.PORT ?? 4173);
const host = process.env.HOST ?? '127.0.0.1';
if (!Number.isInteger(nodes) || nodes < 1 || nodes > 16) {
	console.error(`DEMO_NODES must be a whole number from 1 to 16, got ${process.env.DEMO_NODES}`);
	process.exit(1);
}
if (!Number.isInteger(firstPort) || firstPort < 1 || firstPort + nodes - 1 > 65535) {
	console.error(
		`PORT must be a port number with room for ${nodes} ports after it, got ${process.env.PORT}`
	);
	process.exit(1);
}

const env = {
	...process.env,
	HOST: host,
	REDIS_URL: redisUrl,
	// One file for all (each process resolves a relative path against the same directory anyway).
	DEMO_DB: resolve(databasePath()),
	// The same key on every node: a session cookie signed by one is accepted by all.
	DEMO_SECRET: process.env.DEMO_SECRET || randomBytes(32).toString('base64url')
};

/** @type {Map<number, import('node:child_process').ChildProcess>} */
const children = new Map();
let stopping = false;

/** @param {number} port */
function start(port) {
	const child = spawn(process.execPath, [resolve(import.meta.dirname, 'server.js')], {
		env: { ...env, PORT: String(port) },
		stdio: ['ignore', 'pipe', 'pipe']
	});
	children.set(port, child);
	const prefix = `[${port}]`;
	createInterface({ input: child.stdout }).on('line', (line) => console.log(`${prefix} ${line}`));
	createInterface({ input: child.stderr }).on('line', (line) => console.error(`${prefix} ${line}`));
	child.once('exit', (code, signal) => {
		children.delete(port);
		if (stopping) {
			if (children.size === 0) process.exit(0);
			return;
		}
		// The others keep serving: that is what several nodes are for.
		const how = signal ? `was killed (${signal})` : `exited (${code})`;
		const left = [...children.keys()].join(', ');
		console.error(
			`${prefix} the node on port ${port} ${how}; ${children.size ? `still serving: ${left}` : 'no node left'}`
		);
		if (children.size === 0) process.exit(1);
	});
}

const ports = Array.from({ length: nodes }, (_, i) => firstPort + i);
for (const port of ports) start(port);
console.log(
	`Demo cluster: ${ports.map((port) => `http://${host}:${port}/activity`).join(', ')} (database: ${env.DEMO_DB}, Redis: ${redisUrl.replace(/\/\/([^@/]*):[^@/]*@/, '//$1:***@')})`
);

for (const signal of /** @type {const} */ (['SIGINT', 'SIGTERM'])) {
	process.on(signal, () => {
		if (stopping) return;
		stopping = true;
		if (children.size === 0) process.exit(0);
		console.log(`Stopping ${children.size} node${children.size === 1 ? '' : 's'}…`);
		for (const child of children.values()) child.kill(signal);
		// A node that does not stop within its own grace period is ended.
		setTimeout(() => {
			for (const child of children.values()) child.kill('SIGKILL');
		}, 5000).unref();
	});
}
