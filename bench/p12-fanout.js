// P12: fan-out across two server nodes through Redis. One writer on node A, 1,000 clients split
// 500/500 over nodes A and B, each client a connection of its own: the kit's SSE streams on its
// Redis Streams event log (createRedisEventLog + sseResponse) against socket.io with its Redis
// adapter (@socket.io/redis-adapter, pub/sub). Both run on one real redis-server in the same run,
// with the same events (a steady rate, then a burst) and the same payload. Each event carries its
// number and its send time; each client records receive − send time and whether it saw every
// number in order. Phases: a light rate, the main rate (200 events/s), a burst; three rounds.
import { fork, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findRedisServer, missingRedisServerMessage } from '../scripts/redis.js';
import { median, round, row, sleep } from './lib.js';

const CLIENTS = 1000;
/** Client processes; each holds half of every node's clients (2 cores: two is plenty). */
const CLIENT_PROCESSES = 2;
/**
 * The phases, in this order: a light rate that leaves the machine room to spare, the main rate
 * (200 events/s to 1,000 clients is 200,000 deliveries/s on two shared cores: near what the
 * machine can do), and a burst written in one go (`rate` 0).
 */
const PHASES = [
	{ name: 'light', count: 300, rate: 50 },
	{ name: 'steady', count: 2000, rate: 200 },
	{ name: 'burst', count: 500, rate: 0 }
];
const TOTAL = PHASES.reduce((sum, p) => sum + p.count, 0);
/** The warm-up's rate, and the pause before each phase so that the one before it has drained. */
const WARM_RATE = 200;
const PAUSE_MS = 1000;
/** Bytes of padding in each event, besides its number and send time. */
const PAYLOAD = 100;
/** Rounds of both sides; the order alternates (kit first in even rounds), the median round counts. */
const ROUNDS = 3;
/** How long the clients may take to receive everything after the writer is done. */
const DRAIN_MS = 20_000;
/** …or until no client has received anything for this long. */
const STALL_MS = 3000;
const BASELINE = '@socket.io/redis-adapter 8.3.0 (pub/sub) + socket.io-client, WebSocket';

/** @type {Set<import('node:child_process').ChildProcess>} */
const children = new Set();
let exitHook = false;
/** Killed when this process exits, however the benchmark ended. */
function track(/** @type {import('node:child_process').ChildProcess} */ child) {
	children.add(child);
	child.once('exit', () => children.delete(child));
	if (exitHook) return;
	exitHook = true;
	process.on('exit', () => {
		for (const c of children) c.kill('SIGKILL');
	});
}

/** A port nothing listens on at the moment on 127.0.0.1. */
function freePort() {
	return new Promise((resolve, reject) => {
		const server = createServer();
		server.once('error', reject);
		server.listen(0, '127.0.0.1', () => {
			const address = /** @type {import('node:net').AddressInfo} */ (server.address());
			server.close(() => resolve(address.port));
		});
	});
}

/**
 * A redis-server on a free port of 127.0.0.1 without persistence. A shell waits on a pipe from
 * this process and kills it when this process is gone, even by a signal ('exit' handlers do not
 * run then).
 */
async function startRedis() {
	const binary = findRedisServer();
	if (!binary) throw new Error(missingRedisServerMessage());
	const dir = mkdtempSync(join(tmpdir(), 'srk-bench-redis-'));
	const port = await freePort();
	const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
	const child = spawn(binary, [...args, '--daemonize', 'no', '--dir', dir], {
		stdio: ['ignore', 'pipe', 'pipe']
	});
	track(child);
	const watchdog = spawn(
		'/bin/sh',
		['-c', 'read _; kill -9 "$1" 2>/dev/null; rm -rf "$2"', 'sh', String(child.pid), dir],
		{ stdio: ['pipe', 'ignore', 'ignore'] }
	);
	watchdog.on('error', () => {});
	watchdog.unref();
	/** @type {any} */ (watchdog.stdin)?.unref?.();
	let output = '';
	await new Promise((resolve, reject) => {
		const timer = setTimeout(() => reject(new Error(`redis-server not ready:\n${output}`)), 10_000);
		const onData = (/** @type {Buffer} */ chunk) => {
			output += chunk;
			if (!/Ready to accept connections/.test(output)) return;
			clearTimeout(timer);
			child.stdout.resume();
			child.stderr.resume();
			resolve(undefined);
		};
		child.stdout.on('data', onData);
		child.stderr.on('data', onData);
		child.once('exit', (code) => reject(new Error(`redis-server exited (${code}):\n${output}`)));
	});
	return {
		url: `redis://127.0.0.1:${port}`,
		stop() {
			child.kill('SIGKILL');
			watchdog.kill('SIGKILL');
			rmSync(dir, { recursive: true, force: true });
		}
	};
}

/**
 * A child process with an IPC channel; `request` sends a message and resolves with the first
 * reply of the given type.
 * @param {string} script @param {string[]} args
 */
function child(script, args) {
	const proc = fork(new URL(script, import.meta.url), args, {
		serialization: 'advanced',
		stdio: ['ignore', 'inherit', 'inherit', 'ipc']
	});
	track(proc);
	// A message to a child that just died fails with an 'error' event: its exit already failed
	// what was waiting for it.
	proc.on('error', () => {});
	/** @type {any[]} */
	const inbox = [];
	/** @type {{ type: string; done: (m: any) => void; fail: (e: Error) => void }[]} */
	const waiting = [];
	/** @type {string[]} */
	const logErrors = [];
	proc.on('message', (/** @type {any} */ message) => {
		if (message.type === 'log-error') return void logErrors.push(message.message);
		const at = waiting.findIndex((w) => w.type === message.type || message.type === 'error');
		if (at === -1) return void inbox.push(message);
		const [w] = waiting.splice(at, 1);
		if (message.type === 'error') w.fail(new Error(`${script}: ${message.message}`));
		else w.done(message);
	});
	proc.once('exit', (code, signal) => {
		for (const w of waiting.splice(0)) w.fail(new Error(`${script} exited (${signal ?? code})`));
	});
	/** @param {string} type @param {number} [timeoutMs] @returns {Promise<any>} */
	const next = (type, timeoutMs = 30_000) => {
		const at = inbox.findIndex((m) => m.type === type);
		if (at !== -1) return Promise.resolve(inbox.splice(at, 1)[0]);
		if (proc.exitCode !== null || proc.signalCode !== null) {
			return Promise.reject(new Error(`${script} is not running`));
		}
		return new Promise((done, fail) => {
			const timer = setTimeout(() => fail(new Error(`${script}: no ${type} in time`)), timeoutMs);
			waiting.push({
				type,
				done: (m) => (clearTimeout(timer), done(m)),
				fail: (e) => (clearTimeout(timer), fail(e))
			});
		});
	};
	return {
		proc,
		logErrors,
		next,
		/** @param {object} message @param {string} reply @param {number} [timeoutMs] */
		request(message, reply, timeoutMs) {
			const answer = next(reply, timeoutMs);
			if (proc.connected) proc.send(message);
			return answer;
		},
		kill: () => proc.kill('SIGKILL')
	};
}

/**
 * One side once: two nodes, the client processes, warm-up, the steady phase, the burst.
 * @param {'kit' | 'socket.io'} mode @param {string} redisUrl @param {string} key
 */
async function runSide(mode, redisUrl, key) {
	const nodes = [
		child('./p12-node.js', [mode, redisUrl, key]),
		child('./p12-node.js', [mode, redisUrl, key])
	];
	/** @type {ReturnType<typeof child>[]} */
	let clientProcs = [];
	/** @type {({ cpuMs: number; unhandled: { count: number; messages: string[] } } | undefined)[] | undefined} */
	let stopped;
	let result;
	try {
		const ports = (await Promise.all(nodes.map((n) => n.next('ready')))).map((m) => m.port);
		const perProcess = CLIENTS / CLIENT_PROCESSES / ports.length;
		const config = (/** @type {number[]} */ p) => ({
			mode,
			targets: p.map((port) => ({ port, count: perProcess })),
			phases: PHASES.map((phase) => phase.count)
		});
		clientProcs = Array.from({ length: CLIENT_PROCESSES }, () =>
			child('./p12-clients.js', [JSON.stringify(config(ports))])
		);
		await Promise.all(clientProcs.map((c) => c.next('started')));
		const status = async () => {
			const all = await Promise.all(
				clientProcs.map((c) => c.request({ type: 'status' }, 'status'))
			);
			return {
				connected: all.reduce((s, m) => s + m.connected, 0),
				warm: all.reduce((s, m) => s + m.warm, 0),
				complete: all.reduce((s, m) => s + m.complete, 0),
				received: all.reduce((s, m) => s + m.received, 0)
			};
		};
		const connectStart = performance.now();
		while ((await status()).connected < CLIENTS) {
			if (performance.now() - connectStart > 30_000) {
				throw new Error(
					`${mode}: only ${(await status()).connected} of ${CLIENTS} clients connected`
				);
			}
			await sleep(50);
		}
		const connectMs = performance.now() - connectStart;

		// Warm-up: numbered below 0, every 50 ms until every client has one (both nodes subscribed,
		// every path through Redis working), then a second of them at the steady rate.
		const writer = nodes[0];
		let warmups = 0;
		/** @type {Record<string, number>} rejected appends/emits per phase (and the first reason) */
		const writeFailures = {};
		/** @type {string | undefined} */
		let writeFailure;
		const warmStart = performance.now();
		while ((await status()).warm < CLIENTS) {
			if (performance.now() - warmStart > 15_000) throw new Error(`${mode}: clients not warm`);
			await writer.request(
				{ type: 'write', first: -1_000_000 + warmups++, count: 1, rate: 0, size: PAYLOAD },
				'written'
			);
			await sleep(50);
		}
		await writer.request(
			{ type: 'write', first: -500_000, count: WARM_RATE, rate: WARM_RATE, size: PAYLOAD },
			'written'
		);

		let first = 0;
		for (const { name, count, rate } of PHASES) {
			await sleep(PAUSE_MS);
			const written = await writer.request(
				{ type: 'write', first, count, rate, size: PAYLOAD },
				'written',
				count * (1000 / (rate || 1000)) + 30_000
			);
			first += count;
			if (written.failed) writeFailures[name] = written.failed;
			writeFailure ??= written.failure;
		}
		// Until every client has every event, or nothing more arrived for STALL_MS (events that
		// never left the writer's node), at most DRAIN_MS.
		let drained = false;
		let received = -1;
		let progressAt = performance.now();
		for (const end = performance.now() + DRAIN_MS; !drained && performance.now() < end;) {
			const s = await status();
			drained = s.complete >= CLIENTS;
			if (s.received !== received) [received, progressAt] = [s.received, performance.now()];
			else if (performance.now() - progressAt > STALL_MS) break;
			if (!drained) await sleep(50);
		}

		const reports = await Promise.all(
			clientProcs.map((c) => c.request({ type: 'report' }, 'report', 60_000))
		);
		/** @param {number} i @param {number} [node] both nodes' clients, or those of node 0 / 1 */
		const phase = (i, node) => {
			/** @type {number[]} */
			const latencies = [];
			for (const r of reports) {
				r.phases[i].latencies.forEach((/** @type {Float32Array} */ l, /** @type {number} */ n) => {
					if (node === undefined || node === n) for (const v of l) latencies.push(v);
				});
			}
			// Sorted once here: a million deliveries per phase are too many to copy for each percentile.
			latencies.sort((a, b) => a - b);
			const rank = (/** @type {number} */ p) =>
				latencies[
					Math.min(latencies.length - 1, Math.max(0, Math.ceil((p / 100) * latencies.length) - 1))
				] ?? Number.NaN;
			const firstSent = Math.min(...reports.map((r) => r.phases[i].firstSent));
			const lastReceived = Math.max(...reports.map((r) => r.phases[i].lastReceived));
			return {
				p50: rank(50),
				p99: rank(99),
				max: rank(100),
				deliveries: latencies.length,
				perSecond: latencies.length / ((lastReceived - firstSent) / 1000)
			};
		};
		/** @type {Record<string, ReturnType<typeof phase> & { nodes: ReturnType<typeof phase>[] }>} */
		const phases = {};
		PHASES.forEach(
			({ name }, i) => (phases[name] = { ...phase(i), nodes: [phase(i, 0), phase(i, 1)] })
		);
		const sum = (/** @type {string} */ field) => reports.reduce((s, r) => s + r[field], 0);
		result = {
			...phases,
			gaps: sum('gaps'),
			duplicated: sum('duplicated'),
			dropped: sum('dropped'),
			resyncs: sum('resyncs'),
			errors: reports.flatMap((r) => r.errors).slice(0, 3),
			logErrors: nodes.flatMap((n) => n.logErrors).slice(0, 3),
			drained,
			connectMs,
			clientCpuMs: sum('cpuMs'),
			writeFailures,
			writeFailure
		};
	} finally {
		for (const c of clientProcs) c.kill();
		stopped = await Promise.all(
			nodes.map((n) =>
				n.request({ type: 'stop' }, 'stopped', 5000).catch(() => {
					n.kill();
					return undefined;
				})
			)
		);
		await sleep(200);
	}
	return {
		...result,
		serverCpuMs: (stopped ?? []).reduce((s, n) => s + (n?.cpuMs ?? Number.NaN), 0),
		unhandled: (stopped ?? []).reduce((s, n) => s + (n?.unhandled.count ?? 0), 0),
		unhandledMessages: [...new Set((stopped ?? []).flatMap((n) => n?.unhandled.messages ?? []))]
	};
}

/** The open-file limit this process (and so its children) has, or undefined if unknown. */
function fileLimit() {
	const result = spawnSync('/bin/sh', ['-c', 'ulimit -n'], { encoding: 'utf8' });
	const value = result.stdout?.trim();
	return value === 'unlimited' ? Number.POSITIVE_INFINITY : Number(value) || undefined;
}

export default async function run() {
	// Each client process holds CLIENTS / CLIENT_PROCESSES sockets, each node half of CLIENTS.
	const needed = CLIENTS / Math.min(CLIENT_PROCESSES, 2) + 100;
	const limit = fileLimit();
	if (limit !== undefined && limit < needed) {
		throw new Error(
			`The open-file limit is ${limit}; P12 needs about ${needed} per process: run \`ulimit -n 4096\` first`
		);
	}
	const redis = await startRedis();
	/** @type {Record<'kit' | 'socket.io', Awaited<ReturnType<typeof runSide>>[]>} */
	const results = { kit: [], 'socket.io': [] };
	try {
		for (let round = 0; round < ROUNDS; round++) {
			/** @type {('kit' | 'socket.io')[]} */
			const order = round % 2 === 0 ? ['kit', 'socket.io'] : ['socket.io', 'kit'];
			for (const mode of order) {
				const result = await runSide(mode, redis.url, `p12:${round}:events`);
				const line = PHASES.map(({ name }) => {
					const p = result[name];
					return `${name} p50 ${p.p50.toFixed(1)} / p99 ${p.p99.toFixed(1)} ms, ${p.perSecond.toFixed(0)}/s`;
				});
				console.log(`  round ${round + 1} ${mode}: ${line.join('; ')}; gaps ${result.gaps}`);
				results[mode].push(result);
			}
		}
	} finally {
		redis.stop();
	}

	/**
	 * A measure's median over the rounds, e.g. `over('kit', 'steady', 'p99')`.
	 * @param {'kit' | 'socket.io'} side @param {string} phase @param {'p50' | 'p99' | 'perSecond'} measure
	 */
	const over = (side, phase, measure) => median(results[side].map((r) => r[phase][measure]));
	/** @param {string} phase @param {'p50' | 'p99' | 'perSecond'} measure */
	const pair = (phase, measure, digits = 2) => ({
		ours: round(over('kit', phase, measure), digits),
		baseline: round(over('socket.io', phase, measure), digits)
	});
	const gapsOurs = Math.max(...results.kit.map((r) => r.gaps));
	const gapsBase = Math.max(...results['socket.io'].map((r) => r.gaps));
	const ms = (/** @type {number} */ v) => round(v, 2);
	const [light, steady, burst] = PHASES;
	const at = (/** @type {{ rate: number }} */ p) =>
		`${p.rate} events/s to ${CLIENTS} clients on 2 nodes`;
	const common = { id: 'P12', baselineName: BASELINE };
	const rows = [];
	for (const [phase, name] of /** @type {const} */ ([
		[steady, 'steady'],
		[light, 'light']
	])) {
		rows.push(
			row({
				...common,
				metric: `end-to-end latency p99, ${at(phase)}`,
				unit: 'ms',
				...pair(name, 'p99'),
				// The goal is set at the main rate; the light rate shows the path with cores to spare.
				...(name === 'steady'
					? {
							goal: '≤ socket.io (ratio ≤ 1)',
							pass: over('kit', name, 'p99') <= over('socket.io', name, 'p99')
						}
					: { goal: 'comparison', pass: null })
			}),
			row({
				...common,
				metric: `end-to-end latency p50, ${at(phase)}`,
				unit: 'ms',
				...pair(name, 'p50'),
				goal: 'comparison',
				pass: null
			})
		);
	}
	rows.push(
		row({
			...common,
			metric: `clients with a gap (worst of ${ROUNDS} rounds, ${TOTAL} events each)`,
			unit: 'clients',
			ours: gapsOurs,
			baseline: gapsBase,
			goal: '0',
			pass: gapsOurs === 0
		}),
		row({
			...common,
			metric: `delivered events per second at the clients, ${at(steady)}`,
			unit: 'events/s',
			...pair('steady', 'perSecond', 0),
			goal: 'comparison',
			pass: null
		}),
		row({
			...common,
			metric: `burst of ${burst.count} events at once: latency p99`,
			unit: 'ms',
			...pair('burst', 'p99'),
			goal: 'comparison',
			pass: null
		}),
		row({
			...common,
			metric: `burst of ${burst.count} events at once: delivered events per second`,
			unit: 'events/s',
			...pair('burst', 'perSecond', 0),
			goal: 'comparison',
			pass: null
		})
	);

	/** @param {{ p50: number; p99: number; perSecond: number; nodes: { p50: number; p99: number }[] }} p */
	const stats = (p) =>
		`p50 ${ms(p.p50)} / p99 ${ms(p.p99)} ms (node A ${ms(p.nodes[0].p50)} / ${ms(p.nodes[0].p99)}, node B ${ms(p.nodes[1].p50)} / ${ms(p.nodes[1].p99)}), ${round(p.perSecond, 0)}/s`;
	const describe = (/** @type {typeof results.kit} */ list) =>
		list
			.map(
				(r, i) =>
					`round ${i + 1}: ${PHASES.map(({ name }) => `${name} ${stats(r[name])}`).join('; ')}; gaps ${r.gaps}, duplicated ${r.duplicated}, dropped ${r.dropped}, resyncs ${r.resyncs}${r.drained ? '' : ', NOT all delivered in time'}; ${CLIENTS} connected in ${round(r.connectMs, 0)} ms; CPU of the run (s): both nodes ${round(r.serverCpuMs / 1000, 1)}, clients ${round(r.clientCpuMs / 1000, 1)}` +
					(Object.keys(r.writeFailures).length
						? `; writes rejected: ${Object.entries(r.writeFailures)
								.map(([phase, n]) => `${n} in ${phase}`)
								.join(', ')} (${r.writeFailure})`
						: '') +
					(r.unhandled
						? `; ${r.unhandled} unhandled rejections in the nodes (${r.unhandledMessages.join(' | ')})`
						: '') +
					(r.errors.length ? `; client errors: ${r.errors.join(' | ')}` : '') +
					(r.logErrors.length ? `; log errors: ${r.logErrors.join(' | ')}` : '')
			)
			.join('. ');
	const notes = [
		`Two server node processes (node:http on 127.0.0.1) and one redis-server (no persistence) on this machine; ${CLIENTS} clients split ${CLIENTS / 2}/${CLIENTS / 2} over the nodes, in ${CLIENT_PROCESSES} client processes (each holds half of each node's clients), each client on a connection of its own.`,
		`Kit: sseResponse({ request, log, initial }) on createRedisEventLog (node-redis 6 client, XADD by script, one XREAD BLOCK reader per node). Its clients are raw SSE streams (http.get and a minimal frame parser), as cheap a client as can be, so the client side is not what is measured; socket.io's are socket.io-client 4 with transports: ['websocket'], which costs more per message (WebSocket frame, engine.io and socket.io packet decoding). socket.io: new Server() with createAdapter(pub, sub) of @socket.io/redis-adapter 8.3.0 (node-redis clients, PUBLISH/PSUBSCRIBE).`,
		`The writer runs in node A: log.append({ event: 'e', data }) for the kit, io.emit('e', data) for socket.io. Node A's clients get the kit's events back from Redis (the log's reader), socket.io's directly (io.emit writes to local sockets before it publishes): for socket.io only node B's half crosses Redis.`,
		`Each event is { s: number, t: send time, p: ${PAYLOAD} bytes of padding }; the send time is epoch ms with sub-ms precision (performance.timeOrigin + performance.now(), one clock for every process of the machine), taken just before append/emit. Latency = the time the client's handler has the parsed event − t, over every delivery to every client.`,
		`Per side and round: connect ${CLIENTS} clients; warm up (an event every 50 ms until every client has one, then 1 s at ${WARM_RATE}/s); then, each after a ${PAUSE_MS / 1000} s pause, ${light.count} events at ${light.rate}/s, ${steady.count} at ${steady.rate}/s, and ${burst.count} appended/emitted in one go. Events per second = deliveries ÷ (last receive − first send) of the phase. A client has a gap if it skipped a number or did not get all ${TOTAL} by the end (${DRAIN_MS / 1000} s after the last send, or ${STALL_MS / 1000} s after the last delivery to any client).`,
		`${ROUNDS} rounds, the order alternating (kit first in odd rounds); each row shows the median of its ${ROUNDS} rounds per side (the gap row: the worst round). ${steady.rate} events/s is ${(steady.rate * CLIENTS).toLocaleString('en')} deliveries/s on 2 cores shared by both nodes, the clients and Redis (and whatever else runs): latency there is mostly queueing behind busy cores. At ${light.rate}/s the cores have room to spare and latency is mostly the fan-out itself (one event written to ${CLIENTS / 2} sockets per node: the last socket waits for the others) plus the hop through Redis. Compare ratios, and the rounds below for the spread.`,
		`Kit: ${describe(results.kit)}.`,
		`socket.io: ${describe(results['socket.io'])}.`,
		...(results['socket.io'].some((r) => r.unhandled)
			? [
					"Unhandled rejections in socket.io's nodes: @socket.io/redis-adapter does not handle the promise of its PUBLISH, and node-redis 6 rejects a command after 5 s by default (its commandOptions.timeout); a node whose event loop is that far behind loses those events for the other node (its clients' gaps), and a real server would exit, Node's default for an unhandled rejection. Here they are counted instead."
				]
			: []),
		`Open-file limit (ulimit -n): ${limit ?? 'unknown'}; each client process holds ${CLIENTS / CLIENT_PROCESSES} sockets, each node ${CLIENTS / 2} plus its Redis connections.`
	];
	return { rows, notes };
}
