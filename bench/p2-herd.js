// P2: the reconnect herd. 1,000 clients of each library are connected to one server; at t = 0 the
// server drops every TCP connection at once. Each client's first reconnect attempt is timed where
// the library starts it: socket.io-client's `reconnect_attempt`, and for the WebSocket libraries the
// construction of the next WebSocket. What counts is the delay the library's delay function chose
// (the timer that led to the attempt), not when a busy event loop got to it: 1,000 clients in one
// process see the drop one after another and run late behind each other, which would hide a herd
// or make one. Separate machines see a dropped server at about the same time, so the attempts are
// placed at t = 0 plus each chosen delay. The result is the largest share of clients whose attempt
// falls within any 100 ms window.
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Server as SocketIoServer } from 'socket.io';
import { WebSocket, WebSocketServer } from 'ws';
import { kit, median, row, sleep, startServer } from './lib.js';

const CLIENTS = 1000;
const WINDOW_MS = 100;
const GOAL = 10; // % of clients

const require = createRequire(import.meta.url);

/**
 * The delay of the timer whose callback (or whose promise reactions) is running now. Node drains
 * microtasks after each timer callback, so a reconnect started from a promise that a timer
 * resolved still sees its timer's delay.
 * @type {number | undefined}
 */
let timerDelay;
const nativeSetTimeout = globalThis.setTimeout;
/** Installed before the libraries load: socket.io-client keeps the `setTimeout` it finds then. */
function recordTimerDueTimes() {
	globalThis.setTimeout = /** @type {any} */ (
		(
			/** @type {(...args: any[]) => void} */ callback,
			/** @type {number} */ ms = 0,
			/** @type {any[]} */ ...args
		) => {
			return nativeSetTimeout(() => {
				timerDelay = Math.max(0, ms);
				callback(...args);
			}, ms);
		}
	);
}

/** The largest number of times within any window of `width` ms. @param {number[]} times */
export function peakInWindow(times, width = WINDOW_MS) {
	const sorted = [...times].sort((a, b) => a - b);
	let peak = 0;
	for (let start = 0, end = 0; end < sorted.length; end++) {
		while (sorted[end] - sorted[start] >= width) start++;
		peak = Math.max(peak, end - start + 1);
	}
	return peak;
}

async function startHerdServer() {
	/** @type {Set<import('node:net').Socket>} */
	const sockets = new Set();
	const http = await startServer((_, res) => res.writeHead(404).end());
	http.server.on('connection', (socket) => {
		sockets.add(socket);
		socket.on('close', () => sockets.delete(socket));
	});
	const wss = new WebSocketServer({ noServer: true });
	wss.on('connection', (ws) => ws.send('[]'));
	const sio = new SocketIoServer(http.server, { transports: ['websocket'] });
	http.server.on('upgrade', (request, socket, head) => {
		if (request.url?.startsWith('/ws'))
			wss.handleUpgrade(request, socket, head, (ws) => wss.emit('connection', ws, request));
	});
	return {
		wsUrl: `ws://127.0.0.1:${http.port}/ws`,
		origin: http.origin,
		/** Cuts every TCP connection, as a crashed server or a failed load balancer would. */
		drop() {
			for (const socket of sockets) socket.destroy();
		},
		async close() {
			sio.close();
			wss.close();
			await http.close();
		}
	};
}

/** A `ws` WebSocket that records when it was made. */
function recordingWebSocket(/** @type {number[]} */ created) {
	return class extends WebSocket {
		/** @param {ConstructorParameters<typeof WebSocket>} args */
		constructor(...args) {
			super(...args);
			created.push(performance.now());
		}
	};
}

/**
 * Connects `CLIENTS` clients with `connect`, drops them all and returns the first reconnect attempt
 * of each, in ms after the drop.
 * @param {(index: number, onAttempt: () => void) => Promise<{ ready: Promise<unknown>; close: () => void }>} connect
 * @param {() => void} drop
 */
async function herd(connect, drop) {
	let t0 = Number.POSITIVE_INFINITY;
	/** @type {(number | undefined)[]} */
	const firstAttempt = [];
	const clients = [];
	for (let i = 0; i < CLIENTS; i++) {
		clients.push(
			await connect(i, () => {
				if (performance.now() >= t0 && firstAttempt[i] === undefined) firstAttempt[i] = timerDelay;
			})
		);
	}
	await Promise.all(clients.map((c) => c.ready));
	await sleep(300);
	t0 = performance.now();
	drop();
	const deadline = t0 + 8000;
	while (
		performance.now() < deadline &&
		firstAttempt.filter((t) => t !== undefined).length < CLIENTS
	)
		await sleep(50);
	for (const client of clients) client.close();
	await sleep(200);
	return /** @type {number[]} */ (firstAttempt.filter((t) => t !== undefined));
}

export default async function run() {
	recordTimerDueTimes();
	const { io: socketIoClient } = await import('socket.io-client');
	const server = await startHerdServer();
	const { createEnv, createLiveSource, websocket } = await kit('core/index.js');
	const partysocketUrl = import.meta.resolve('partysocket/ws');
	const rwsUrl = pathToFileURL(
		require.resolve('reconnecting-websocket').replace(/-cjs\.js$/, '-mjs.js')
	).href;

	/** @type {Record<string, number[]>} */
	const attempts = {};
	try {
		attempts.kit = await herd(async (_, onAttempt) => {
			let opened = 0;
			const created = [];
			const Recording = recordingWebSocket(created);
			const env = createEnv({
				WebSocket: /** @type {any} */ (
					class extends Recording {
						/** @param {any[]} args */
						constructor(...args) {
							super(.../** @type {[any]} */ (args));
							if (opened++ > 0) onAttempt();
						}
					}
				)
			});
			const live = createLiveSource({ transport: websocket({ url: server.wsUrl }), env });
			live.start();
			const ready = new Promise((done) => {
				const stop = live.connection.subscribe((/** @type {any} */ state) => {
					if (state.status === 'live') {
						done(undefined);
						queueMicrotask(() => stop?.());
					}
				});
			});
			return { ready, close: () => live.stop() };
		}, server.drop);

		attempts['socket.io-client'] = await herd(async (_, onAttempt) => {
			const socket = socketIoClient(server.origin, { forceNew: true, transports: ['websocket'] });
			socket.io.on('reconnect_attempt', onAttempt);
			const ready = new Promise((done) => socket.once('connect', () => done(undefined)));
			return { ready, close: () => socket.disconnect() };
		}, server.drop);

		// Each client gets its own copy of the module, as each browser tab would: reconnecting-websocket
		// draws its minimum delay once per module load.
		for (const [name, url] of [
			['partysocket', partysocketUrl],
			['reconnecting-websocket', rwsUrl]
		]) {
			attempts[name] = await herd(async (i, onAttempt) => {
				const module = await import(`${url}?client=${i}`);
				const ReconnectingWebSocket = module.default ?? module.ReconnectingWebSocket;
				let opened = 0;
				const Recording = recordingWebSocket([]);
				const socket = new ReconnectingWebSocket(server.wsUrl, [], {
					WebSocket: class extends Recording {
						/** @param {any[]} args */
						constructor(...args) {
							super(.../** @type {[any]} */ (args));
							if (opened++ > 0) onAttempt();
						}
					}
				});
				const ready = new Promise((done) =>
					socket.addEventListener('open', () => done(undefined), { once: true })
				);
				return { ready, close: () => socket.close() };
			}, server.drop);
		}
	} finally {
		await server.close();
		globalThis.setTimeout = nativeSetTimeout;
	}

	const share = (/** @type {number[]} */ times) => (100 * peakInWindow(times)) / CLIENTS;
	const ours = share(attempts.kit);
	const rows = [];
	for (const name of ['socket.io-client', 'partysocket', 'reconnecting-websocket']) {
		rows.push(
			row({
				id: 'P2',
				metric: `peak first reconnects in any ${WINDOW_MS} ms`,
				unit: '% of clients',
				ours,
				baseline: share(attempts[name]),
				baselineName: name,
				goal: `≤ ${GOAL} %`,
				pass: ours <= GOAL
			})
		);
	}
	for (const name of ['socket.io-client', 'partysocket', 'reconnecting-websocket']) {
		rows.push(
			row({
				id: 'P2',
				metric: 'median first reconnect delay',
				unit: 'ms',
				ours: median(attempts.kit),
				baseline: median(attempts[name]),
				baselineName: name,
				goal: 'comparison',
				pass: null
			})
		);
	}
	const counted = Object.entries(attempts)
		.map(([name, t]) => `${name} ${t.length}`)
		.join(', ');
	return {
		rows,
		notes: [
			`${CLIENTS} clients per library on one 127.0.0.1 server, all TCP connections destroyed at t = 0; clients that attempted within 8 s: ${counted}.`,
			"Attempts are placed at each client's chosen delay after t = 0 (the timer that led to the attempt), as if every client saw the drop at the same instant; a spread comes only from the jitter.",
			'Each library with its default options. reconnecting-websocket and partysocket are loaded once per client, as in separate tabs (reconnecting-websocket draws its minimum delay once per module load; partysocket has no jitter: every client waits 3 s).',
			"The kit's first delay is uniform in [minDelay, baseDelay] = [100, 1600] ms; socket.io-client's is 1000 ms ± 50 %."
		]
	};
}
