// P12, one client process (a child of p12-fanout.js): many clients of one kind, each on its own
// connection to one of the server nodes: raw SSE streams read with a small parser (`kit`), or
// socket.io-client sockets over WebSocket (`socket.io`). Every client checks that the numbered
// events arrive in order without a gap and records each one's latency (receive − send time).
//   node bench/p12-clients.js '<json config>'
import { get } from 'node:http';
import { performance } from 'node:perf_hooks';

/**
 * @typedef {{
 *   mode: 'kit' | 'socket.io';
 *   targets: { port: number; count: number }[];
 *   phases: number[];
 * }} Config
 * The events of phase 0 are numbered 0 … phases[0] − 1, those of phase 1 follow, and so on;
 * negative numbers are warm-up events, which only tell that a client's path through Redis works.
 */

/** @type {Config} */
const config = JSON.parse(process.argv[2] ?? '{}');
if (!process.send)
	throw new Error('p12-clients.js runs as a child of p12-fanout.js (it needs IPC)');
const send = /** @type {(message: unknown) => void} */ (process.send.bind(process));
process.on('disconnect', () => process.exit(0));

/** Epoch ms with sub-ms precision, comparable across the processes of one machine. */
const now = () => performance.timeOrigin + performance.now();

const { mode, targets } = config;
const total = config.phases.reduce((sum, n) => sum + n, 0);
/** The first number after each phase. */
const ends = config.phases.map((_, i) => config.phases.slice(0, i + 1).reduce((a, b) => a + b, 0));

/**
 * @typedef {{ next: number; received: number; gap: boolean; duplicated: boolean; warm: boolean;
 *   open: boolean; dropped: boolean; target: number }} Client
 */
/** @type {Client[]} */
const clients = [];
let connected = 0;
let warm = 0;
let complete = 0;
let resyncs = 0;
/** @type {string[]} */
const errors = [];

/** Each phase's latencies (per node the clients are on) and its delivery window. */
const phases = config.phases.map((events) => ({
	latencies: targets.map(({ count }) => new Float32Array(Math.max(1, events * count))),
	counts: targets.map(() => 0),
	firstSent: Number.POSITIVE_INFINITY,
	lastReceived: 0
}));

/** @param {Client} client @param {{ s: number; t: number }} event */
function receive(client, event) {
	const at = now();
	const { s, t } = event;
	if (s < 0) {
		if (!client.warm) {
			client.warm = true;
			warm++;
		}
		return;
	}
	if (s < client.next) client.duplicated = true;
	else {
		if (s > client.next) client.gap = true;
		client.next = s + 1;
		if (++client.received === total) complete++;
	}
	let index = 0;
	while (index < ends.length - 1 && s >= ends[index]) index++;
	const phase = phases[index];
	const latencies = phase.latencies[client.target];
	const count = phase.counts[client.target];
	if (count < latencies.length) {
		latencies[count] = at - t;
		phase.counts[client.target]++;
	}
	if (t < phase.firstSent) phase.firstSent = t;
	if (at > phase.lastReceived) phase.lastReceived = at;
}

/** @param {number} target @returns {Client} */
function newClient(target) {
	const client = {
		target,
		next: 0,
		received: 0,
		gap: false,
		duplicated: false,
		warm: false,
		open: false,
		dropped: false
	};
	clients.push(client);
	return client;
}

/** @param {Client} client */
function opened(client) {
	if (client.open) return;
	client.open = true;
	connected++;
}

/** @param {Client} client @param {string} why */
function dropped(client, why) {
	if (client.dropped) return;
	client.dropped = true;
	if (errors.length < 5) errors.push(why);
}

/**
 * A raw SSE stream: http.get and a parser for what sseResponse writes (`id:`, `event:`, one or
 * more `data:` lines, a blank line). Cheaper than an EventSource, so that 500 of them in one
 * process measure the server rather than the client.
 * @param {number} port @param {number} target
 */
function sseClient(port, target) {
	const client = newClient(target);
	const request = get(
		{
			host: '127.0.0.1',
			port,
			path: '/events',
			agent: false,
			headers: { accept: 'text/event-stream' }
		},
		(res) => {
			if (res.statusCode !== 200) {
				dropped(client, `HTTP ${res.statusCode}`);
				res.resume();
				return;
			}
			res.setEncoding('utf8');
			let buffer = '';
			res.on('data', (/** @type {string} */ chunk) => {
				buffer += chunk;
				for (let end = buffer.indexOf('\n\n'); end !== -1; end = buffer.indexOf('\n\n')) {
					frame(buffer.slice(0, end));
					buffer = buffer.slice(end + 2);
				}
			});
			res.on('close', () => dropped(client, 'stream closed'));
		}
	);
	request.on('error', (error) => dropped(client, error.message));

	/** @param {string} text */
	function frame(text) {
		let name = 'message';
		let data = '';
		for (const line of text.split('\n')) {
			if (line.startsWith('data: ')) data += (data ? '\n' : '') + line.slice(6);
			else if (line.startsWith('event: ')) name = line.slice(7);
		}
		if (name === 'e') receive(client, JSON.parse(data));
		else if (name === 'snapshot') opened(client);
		else if (name === 'resync') resyncs++;
	}
}

/** @type {import('socket.io-client').io | undefined} */
let io;
/** @param {number} port @param {number} target */
function socketIoClient(port, target) {
	const client = newClient(target);
	const socket = /** @type {NonNullable<typeof io>} */ (io)(`http://127.0.0.1:${port}`, {
		forceNew: true,
		transports: ['websocket']
	});
	socket.on('connect', () => opened(client));
	socket.on('e', (/** @type {{ s: number; t: number }} */ event) => receive(client, event));
	socket.on('disconnect', (reason) => dropped(client, `disconnect: ${reason}`));
	socket.on('connect_error', (error) => dropped(client, `connect_error: ${error.message}`));
}

if (mode === 'socket.io') ({ io } = await import('socket.io-client'));
const connect = mode === 'kit' ? sseClient : socketIoClient;
// A few dozen at a time, so that connecting is not itself a herd.
const BATCH = 50;
let started = 0;
for (const [target, { port, count }] of targets.entries()) {
	for (let i = 0; i < count; i++) {
		connect(port, target);
		if (++started % BATCH === 0) await new Promise((done) => setTimeout(done, 10));
	}
}

process.on('message', (/** @type {any} */ message) => {
	if (message.type === 'status') {
		const received = clients.reduce((sum, c) => sum + c.received, 0);
		send({ type: 'status', connected, warm, complete, received, clients: clients.length });
	} else if (message.type === 'report') {
		const cpu = process.cpuUsage();
		send({
			type: 'report',
			cpuMs: (cpu.user + cpu.system) / 1000,
			clients: clients.length,
			// A client with a gap: a number skipped, or fewer than all of them by the end.
			gaps: clients.filter((c) => c.gap || c.next !== total).length,
			duplicated: clients.filter((c) => c.duplicated).length,
			dropped: clients.filter((c) => c.dropped).length,
			resyncs,
			errors,
			phases: phases.map((p) => ({
				latencies: p.latencies.map((l, i) => l.slice(0, p.counts[i])),
				firstSent: p.firstSent,
				lastReceived: p.lastReceived
			}))
		});
	}
});
send({ type: 'started' });
