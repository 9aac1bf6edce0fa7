// P12, one server node (a child process of p12-fanout.js): an HTTP server on 127.0.0.1 that serves
// either the kit's SSE stream on a Redis event log (`kit`) or socket.io with its Redis adapter
// (`socket.io`). The parent talks to it over IPC; node A also runs the writer.
//   node bench/p12-node.js <kit | socket.io> <redis url> <stream key>
import { performance } from 'node:perf_hooks';
import { createClient } from 'redis';
import { kit, sleep, startServer } from './lib.js';
import { pipeResponse, toRequest } from './live-helpers.js';

const [mode, url, key] = process.argv.slice(2);
if (!process.send) throw new Error('p12-node.js runs as a child of p12-fanout.js (it needs IPC)');
if (mode !== 'kit' && mode !== 'socket.io') throw new Error(`Unknown mode ${mode}`);
const send = /** @type {(message: unknown) => void} */ (process.send.bind(process));
// A parent that went away (crashed, killed) takes this node with it.
process.on('disconnect', () => process.exit(0));
/**
 * Promises that a library left without a handler and that rejected: counted and reported, not
 * fatal. (@socket.io/redis-adapter does not handle the promise of its PUBLISH, and node-redis 6
 * rejects any command after 5 s by default: a node that falls seconds behind would crash.)
 */
const unhandled = { count: 0, /** @type {string[]} */ messages: [] };
process.on('unhandledRejection', (reason) => {
	unhandled.count++;
	// node-redis's TimeoutError has an empty message and the name 'Error': its class says more.
	const message =
		reason instanceof Error
			? `${reason.constructor.name}${reason.message ? `: ${reason.message}` : ''}`
			: String(reason);
	if (!unhandled.messages.includes(message) && unhandled.messages.length < 3) {
		unhandled.messages.push(message);
	}
});

/** Epoch ms with sub-ms precision, comparable across the processes of one machine. */
const now = () => performance.timeOrigin + performance.now();

/** @type {(event: { s: number; t: number; p: string }) => unknown} */
let emit;
/** @type {() => Promise<void>} */
let shutdown;

if (mode === 'kit') {
	const { sseResponse } = await kit('server/index.js');
	const { createRedisEventLog } = await kit('server/redis.js');
	const log = createRedisEventLog({
		client: createClient({ url }),
		key,
		onError: (/** @type {Error} */ error) => send({ type: 'log-error', message: error.message })
	});
	await log.ready();
	const http = await startServer((req, res) => {
		const response = sseResponse({
			request: toRequest(req, res),
			log,
			initial: () => ({ id: log.lastId, event: 'snapshot', data: [] })
		});
		pipeResponse(response, req, res);
	});
	// Every append goes to Redis; this node's own streams get it back through its reader, as any
	// other node's do (the log never short-cuts its own appends).
	emit = (event) => log.append({ event: 'e', data: event });
	shutdown = async () => {
		await http.close();
		await log.close();
	};
	send({ type: 'ready', port: http.port });
} else {
	const { Server } = await import('socket.io');
	const { createAdapter } = await import('@socket.io/redis-adapter');
	const pub = createClient({ url });
	const sub = pub.duplicate();
	pub.on('error', () => {});
	sub.on('error', () => {});
	await Promise.all([pub.connect(), sub.connect()]);
	const http = await startServer((_, res) => res.writeHead(404).end());
	const io = new Server(http.server, { transports: ['websocket'] });
	io.adapter(createAdapter(pub, sub));
	// io.emit() writes to this node's sockets at once and PUBLISHes for the other nodes.
	emit = (event) => io.emit('e', event);
	shutdown = async () => {
		io.close();
		await http.close();
		await Promise.all([pub.quit(), sub.quit()]).catch(() => {});
	};
	send({ type: 'ready', port: http.port });
}

const PAD = 'x';

/**
 * Sends `count` events numbered from `first`: `rate` per second on a fixed schedule (a late
 * timer sends what is due at once, so the rate holds), or all at once when `rate` is 0.
 * @param {{ first: number; count: number; rate: number; size: number }} job
 */
async function write({ first, count, rate, size }) {
	const pad = PAD.repeat(size);
	/** @type {unknown[]} */
	const pending = [];
	let failed = 0;
	/** @type {string | undefined} */
	let failure;
	const fail = (/** @type {unknown} */ error) => {
		failed++;
		failure ??= error instanceof Error ? error.message : String(error);
	};
	const start = performance.now();
	for (let i = 0; i < count; i++) {
		if (rate > 0) {
			const wait = start + (i * 1000) / rate - performance.now();
			if (wait > 0) await sleep(wait);
		}
		try {
			pending.push(Promise.resolve(emit({ s: first + i, t: now(), p: pad })).catch(fail));
		} catch (error) {
			fail(error);
		}
	}
	// The kit's appends resolve once Redis took them (a rejected one is counted: the event may
	// still have been appended); socket.io's emit returns at once.
	await Promise.all(pending);
	return { ms: performance.now() - start, failed, failure };
}

process.on('message', async (/** @type {any} */ message) => {
	try {
		if (message.type === 'write')
			send({ type: 'written', id: message.id, ...(await write(message)) });
		else if (message.type === 'stop') {
			const cpu = process.cpuUsage();
			await shutdown();
			send({ type: 'stopped', cpuMs: (cpu.user + cpu.system) / 1000, unhandled });
			process.exit(0);
		}
	} catch (error) {
		send({ type: 'error', message: error instanceof Error ? error.stack : String(error) });
	}
});
