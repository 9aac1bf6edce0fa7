// P6: (1) a 200 ms server blip: time until an SSE client is live again, the kit against a bare
// EventSource; (2) 10,000 numbered events over streams cut at random points: how many numbers
// reached the application zero times (lost) or more than once (duplicated).
import { performance } from 'node:perf_hooks';
import { EventSource } from 'eventsource';
import { kit, median, percentile, round, row, sleep, startServer } from './lib.js';
import {
	makeTasks,
	nodeEnv,
	pipeResponse,
	seededRandom,
	toRequest,
	waitFor
} from './live-helpers.js';

const BASELINE = 'eventsource 4 (WHATWG EventSource for Node), direct';

/**
 * Blips, and clients connected through each: kit clients of each mode (their delay is random, so
 * many samples keep the p50 steady) and bare EventSources (a fixed delay, so few suffice).
 */
const BLIPS = 15;
const PER_BLIP_KIT = 20;
const PER_BLIP_BASE = 2;
const BLIP_MS = 200;
/** How long a client stays connected before the blip. */
const SETTLE_MS = 300;

const EVENTS = 10_000;
/** Events appended per tick of about 5 ms: some 2,000 events per second. */
const BATCH = 10;
/**
 * How long a lossy stream lives before it is cut: uniform in this range (ms), seeded. The cut falls
 * in the middle of the next event frame written after that time, so streams that carry no events
 * (a client that caught up after the last event) are left alone.
 */
const CUT_AFTER_MS = [10, 200];
const MAX_CUTS = 50;
/**
 * The lossy run only: some 30 cuts with the default backoff (up to 1.6 s, doubling while a
 * connection lives under 5 s) would take minutes, so both sides reconnect after 100 ms. The
 * EventSource learns it from the server's `retry:` field; the kit in EventSource mode cannot read
 * that field (the EventSource keeps it), so it is given the same as its retry options.
 */
const LOSSY_RETRY_MS = 100;
const LOSSY_KIT_RETRY = { baseDelay: LOSSY_RETRY_MS, minDelay: LOSSY_RETRY_MS, minUptime: 0 };
const SEED = 0x5eed6;
const ID = 'i'.charCodeAt(0);

export default async function run() {
	const core = await kit('core/index.js');
	const server = await kit('server/index.js');
	// Node has no EventSource: the kit's default mode gets the same implementation as the baseline.
	const env = nodeEnv(core);

	const blip = await blipRun(core, server, env);
	const lossy = await lossyRun(core, server, env);

	const retry = core.defaultRetryOptions;
	const expected = expectedP50(core.retryDelay, retry);
	const ms = (/** @type {number[]} */ v, /** @type {number} */ p) => round(percentile(v, p), 0);
	const rows = [
		row({
			id: 'P6',
			metric: 'blip → live again, p50 (kit defaults, EventSource mode)',
			unit: 'ms',
			ours: ms(blip.ours, 50),
			baseline: ms(blip.base, 50),
			baselineName: BASELINE,
			goal: '≤ 1000 ms',
			pass: median(blip.ours) <= 1000 && blip.unrecovered.ours === 0
		}),
		row({
			id: 'P6',
			metric: 'blip → live again, p95 (kit defaults, EventSource mode)',
			unit: 'ms',
			ours: ms(blip.ours, 95),
			baseline: ms(blip.base, 95),
			baselineName: BASELINE,
			goal: 'comparison',
			pass: null
		}),
		row({
			id: 'P6',
			metric: 'blip → live again, p50 (fetch mode)',
			unit: 'ms',
			ours: ms(blip.fetch, 50),
			baseline: ms(blip.base, 50),
			baselineName: BASELINE,
			goal: '≤ 1000 ms',
			pass: median(blip.fetch) <= 1000 && blip.unrecovered.fetch === 0
		})
	];
	for (const [kind, label] of /** @type {const} */ ([
		['ours', 'EventSource mode'],
		['fetch', 'fetch mode']
	])) {
		const ours = lossy.clients[kind];
		const base = lossy.clients.base;
		rows.push(
			row({
				id: 'P6',
				metric: `lost of ${EVENTS} events, random cuts (${label})`,
				unit: 'events',
				ours: ours.lost,
				baseline: base.lost,
				baselineName: BASELINE,
				goal: '0',
				pass: ours.lost === 0
			}),
			row({
				id: 'P6',
				metric: `duplicated of ${EVENTS} events, random cuts (${label})`,
				unit: 'events',
				ours: ours.duplicated,
				baseline: base.duplicated,
				baselineName: BASELINE,
				goal: '0',
				pass: ours.duplicated === 0
			})
		);
	}

	const describe = (/** @type {keyof typeof lossy.clients} */ name) => {
		const c = lossy.clients[name];
		return `${name === 'base' ? 'EventSource' : name === 'ours' ? 'kit (EventSource mode)' : 'kit (fetch mode)'}: ${c.cuts} cuts, ${c.requests} requests, done in ${(c.doneMs / 1000).toFixed(1)} s${c.finished ? '' : ' (timed out: missing events counted as lost)'}`;
	};
	const notes = [
		`Blip: ${BLIPS} blips; through each, ${PER_BLIP_KIT} kit clients with default options in EventSource mode (the default: the browser's EventSource, here the eventsource package's), ${PER_BLIP_KIT} in fetch mode and ${PER_BLIP_BASE} bare EventSource clients, all connected ${SETTLE_MS} ms before. The server then destroys every socket and resets every new connection for ${BLIP_MS} ms. Measured from the blip to the kit's status \`live\` (the response headers of a new attempt) or the EventSource's \`open\` event; no \`retry:\` field is sent.`,
		`Clients connect anew for each blip: a connection up for ${SETTLE_MS} ms has the same backoff state as a long-lived one (no failure counted; minUptime, ${retry.minUptime} ms, only resets a count), and this keeps ${BLIPS} blips in seconds rather than minutes.`,
		`Blip samples (ms): kit EventSource mode ${fmt(blip.ours)}; fetch mode ${fmt(blip.fetch)}; EventSource ${fmt(blip.base)}.` +
			(blip.unrecovered.ours + blip.unrecovered.fetch + blip.unrecovered.base > 0
				? ` Not live again within 20 s: kit ${blip.unrecovered.ours}, fetch mode ${blip.unrecovered.fetch}, EventSource ${blip.unrecovered.base}.`
				: ''),
		`The kit waits a random delay in [minDelay, baseDelay] = [${retry.minDelay}, ${retry.baseDelay}] ms after the first failure; a retry that falls inside the ${BLIP_MS} ms blip fails again and waits up to ${2 * retry.baseDelay} ms more. Drawing from the kit's own retryDelay, that policy alone puts the p50 at about ${round(expected, 0)} ms (100,000 draws, connect time left out), and the successful attempt's timer lag and connect time (from its planned start to \`live\`: p50 ${round(percentile(blip.connectMs, 50), 0)} ms here) comes on top, so the measured p50 sits close to the 1 s goal by design; ${PER_BLIP_KIT * BLIPS} samples per mode keep its sampling spread to some tens of ms. The EventSource waits a fixed 3 s (its default reconnection time).`,
		`Lossy: the server (createEventLog with room for all ${EVENTS} events, sseResponse) appends ${EVENTS} numbered \`upsert\` events in batches of ${BATCH} about every 5 ms. Each stream of each client is cut after a random time (uniform in [${CUT_AFTER_MS[0]}, ${CUT_AFTER_MS[1]}] ms, seeded, the same sequence for every client; at most ${MAX_CUTS} cuts per client) in the middle of the next event frame: part of it is written, then the socket is destroyed. Clients resume with Last-Event-ID (the kit's EventSource mode puts it in the \`lastEventId\` query parameter, which sseResponse reads).`,
		`Lossy, reconnect delay: ${LOSSY_RETRY_MS} ms for every client (the server's \`retry: ${LOSSY_RETRY_MS}\` field; for the kit also retry options { baseDelay: ${LOSSY_RETRY_MS}, minDelay: ${LOSSY_RETRY_MS}, minUptime: 0 }, since its EventSource mode never sees that field), so that the run's cuts take seconds rather than minutes.`,
		"Lossy, counted where the application sees events: for the kit, in the record store's decoder (a `decode` option wrapping defaultDecode), i.e. after the transport, the engine's attempt filter and the store's event-id dedupe; for the EventSource, in its `upsert` listener.",
		`Lossy: ${describe('ours')}; ${describe('fetch')}; ${describe('base')}.`
	];
	return { rows, notes };
}

/**
 * The p50 of the time to reconnect that the retry policy alone gives after a blip: the first
 * delay, plus the second when the first retry lands inside the blip (and fails).
 * @param {(failures: number, options: any, random: number) => number} retryDelay
 * @param {any} options
 */
function expectedP50(retryDelay, options) {
	const random = seededRandom(SEED);
	const draws = [];
	for (let i = 0; i < 100_000; i++) {
		let total = 0;
		for (let failures = 1; ; failures++) {
			const delay = retryDelay(failures, options, random());
			total += delay;
			if (total >= BLIP_MS) break;
		}
		draws.push(total);
	}
	return percentile(draws, 50);
}

/** @param {number[]} values */
function fmt(values) {
	return `p50 ${round(percentile(values, 50), 0)}, p95 ${round(percentile(values, 95), 0)}, min ${round(Math.min(...values), 0)}, max ${round(Math.max(...values), 0)}, n ${values.length}`;
}

/**
 * @param {any} core
 * @param {any} server
 * @param {any} env
 */
async function blipRun(core, server, env) {
	const { createLiveSource, sse } = core;
	const { createEventLog, sseResponse } = server;
	const log = createEventLog();
	const tasks = makeTasks(20);
	let blocked = false;
	/** @type {Set<import('node:net').Socket>} */
	const sockets = new Set();
	const srv = await startServer((req, res) => {
		const response = sseResponse({
			request: toRequest(req, res),
			log,
			initial: () => ({ id: log.lastId, event: 'snapshot', data: tasks })
		});
		pipeResponse(response, req, res);
	});
	srv.server.on('connection', (socket) => {
		// During the blip: a reset for every new connection, as from a host that is restarting.
		if (blocked) return void socket.resetAndDestroy();
		sockets.add(socket);
		socket.on('close', () => sockets.delete(socket));
	});
	const url = `${srv.origin}/stream`;
	/** @type {{ ours: number[]; fetch: number[]; base: number[] }} */
	const samples = { ours: [], fetch: [], base: [] };
	const unrecovered = { ours: 0, fetch: 0, base: 0 };
	/** @type {number[]} */
	const connectMs = [];
	try {
		for (let b = 0; b < BLIPS; b++) {
			/** @type {BlipClient[]} */
			const clients = [];
			for (let i = 0; i < PER_BLIP_KIT; i++) {
				clients.push(kitClient('ours', createLiveSource({ transport: sse({ url }), env })));
				clients.push(
					kitClient('fetch', createLiveSource({ transport: sse({ url, mode: 'fetch' }), env }))
				);
			}
			for (let i = 0; i < PER_BLIP_BASE; i++) clients.push(eventSourceClient(url));
			try {
				if (!(await waitFor(() => clients.every((c) => c.ready()), 5000))) {
					throw new Error('P6: the clients did not connect within 5 s');
				}
				await sleep(SETTLE_MS);
				blocked = true;
				const t0 = performance.now();
				for (const c of clients) c.armed = true;
				for (const socket of sockets) socket.destroy();
				await sleep(BLIP_MS);
				blocked = false;
				await waitFor(() => clients.every((c) => c.upAt !== undefined), 20_000);
				for (const c of clients) {
					if (c.upAt === undefined) unrecovered[c.kind]++;
					else samples[c.kind].push(c.upAt - t0);
					if (c.connectMs !== undefined) connectMs.push(c.connectMs);
				}
			} finally {
				for (const c of clients) c.stop();
			}
		}
	} finally {
		await srv.close();
	}
	return { ...samples, unrecovered, connectMs };
}

/**
 * @typedef {{
 *   kind: 'ours' | 'fetch' | 'base';
 *   armed: boolean;
 *   downAt: number | undefined;
 *   upAt: number | undefined;
 *   connectMs?: number;
 *   ready: () => boolean;
 *   stop: () => void;
 * }} BlipClient
 */

/**
 * @param {'ours' | 'fetch'} kind
 * @param {any} live a LiveSourceHandle
 * @returns {BlipClient}
 */
function kitClient(kind, live) {
	/** @type {BlipClient} */
	const client = {
		kind,
		armed: false,
		downAt: undefined,
		upAt: undefined,
		ready: () => live.connection.getSnapshot().status === 'live' && live.store.getSnapshot().loaded,
		stop() {
			live.stop();
			live.store.dispose();
		}
	};
	/** @type {number | undefined} */
	let retryAt;
	live.connection.subscribe(
		(/** @type {{ status: string; retryAt: number | undefined }} */ state) => {
			if (!client.armed) return;
			const now = performance.now();
			if (state.status !== 'live') {
				client.downAt ??= now;
				if (state.retryAt !== undefined) retryAt = state.retryAt;
			} else if (client.downAt !== undefined && client.upAt === undefined) {
				client.upAt = now;
				// Planned start of the attempt that succeeded → `live`: timer lag and connect time.
				if (retryAt !== undefined) client.connectMs = Date.now() - retryAt;
			}
		}
	);
	live.start();
	return client;
}

/** @param {string} url @returns {BlipClient} */
function eventSourceClient(url) {
	const source = new EventSource(url);
	let loaded = false;
	/** @type {BlipClient} */
	const client = {
		kind: 'base',
		armed: false,
		downAt: undefined,
		upAt: undefined,
		ready: () => loaded && source.readyState === EventSource.OPEN,
		stop: () => source.close()
	};
	source.addEventListener('snapshot', () => (loaded = true));
	source.addEventListener('error', () => {
		if (client.armed) client.downAt ??= performance.now();
	});
	source.addEventListener('open', () => {
		if (client.armed && client.downAt !== undefined) client.upAt ??= performance.now();
	});
	return client;
}

/**
 * @param {any} core
 * @param {any} server
 * @param {any} env
 */
async function lossyRun(core, server, env) {
	const { createLiveSource, sse, defaultDecode } = core;
	const { createEventLog, sseResponse } = server;
	const log = createEventLog({ limit: EVENTS + 100 });
	const names = /** @type {const} */ (['ours', 'fetch', 'base']);
	/** @type {Record<string, { random: () => number; cuts: number; requests: number }>} */
	const streams = {};
	for (const name of names) streams[name] = { random: seededRandom(SEED), cuts: 0, requests: 0 };

	const srv = await startServer((req, res) => {
		const name = new URL(req.url ?? '/', 'http://127.0.0.1').searchParams.get('client') ?? '';
		const state = streams[name];
		if (!state) return void res.writeHead(404).end();
		state.requests++;
		// Drawn up front, so that the n-th stream of every client gets the same cut.
		const due =
			performance.now() + CUT_AFTER_MS[0] + state.random() * (CUT_AFTER_MS[1] - CUT_AFTER_MS[0]);
		const share = state.random();
		const response = sseResponse({
			request: toRequest(req, res),
			log,
			retry: LOSSY_RETRY_MS,
			initial: () => ({ id: log.lastId, event: 'snapshot', data: [] })
		});
		pipeResponse(response, req, res, {
			onChunk(chunk, handle) {
				// Event frames start with their `id:` line; `retry:` and heartbeat frames pass.
				if (state.cuts >= MAX_CUTS || performance.now() < due || chunk[0] !== ID) return true;
				state.cuts++;
				// Part of this frame goes out, then the connection is gone.
				const keep = Math.max(1, Math.floor(share * chunk.length));
				handle.cut(chunk.subarray(0, Math.min(keep, chunk.length - 1)));
				return false;
			}
		});
	});

	/** @type {Record<string, { counts: Uint16Array; done: () => boolean; stop: () => void }>} */
	const clients = {};
	const kitLossy = (/** @type {'ours' | 'fetch'} */ name) => {
		const counts = new Uint16Array(EVENTS + 1);
		const url = `${srv.origin}/events?client=${name}`;
		const live = createLiveSource({
			transport: sse(name === 'fetch' ? { url, mode: 'fetch' } : { url }),
			env,
			retry: LOSSY_KIT_RETRY,
			decode: (/** @type {unknown} */ data, /** @type {any} */ meta) => {
				const update = defaultDecode(data, meta);
				if (update?.type === 'upsert') for (const item of update.items) counts[item.n]++;
				return update;
			}
		});
		live.start();
		return {
			counts,
			ready: () => live.connection.getSnapshot().status === 'live',
			done: () => live.connection.lastEventId === String(EVENTS),
			stop() {
				live.stop();
				live.store.dispose();
			}
		};
	};
	const ours = kitLossy('ours');
	const fetchMode = kitLossy('fetch');
	const baseCounts = new Uint16Array(EVENTS + 1);
	const source = new EventSource(`${srv.origin}/events?client=base`);
	let baseLast = 0;
	source.addEventListener('upsert', (event) => {
		const { n } = JSON.parse(event.data);
		baseCounts[n]++;
		baseLast = Number(event.lastEventId);
	});
	clients.ours = ours;
	clients.fetch = fetchMode;
	clients.base = {
		counts: baseCounts,
		done: () => baseLast === EVENTS,
		stop: () => source.close()
	};

	/** @type {Record<string, { lost: number; duplicated: number; cuts: number; requests: number; doneMs: number; finished: boolean }>} */
	const result = {};
	try {
		const connected = await waitFor(
			() => ours.ready() && fetchMode.ready() && source.readyState === EventSource.OPEN,
			5000
		);
		if (!connected) throw new Error('P6: the lossy clients did not connect within 5 s');
		const t0 = performance.now();
		/** @type {Record<string, number>} */
		const doneAt = {};
		const check = () => {
			for (const name of names)
				if (doneAt[name] === undefined && clients[name].done()) doneAt[name] = performance.now();
			return names.every((name) => doneAt[name] !== undefined);
		};
		const watch = setInterval(check, 5);
		for (let n = 1; n <= EVENTS;) {
			for (let k = 0; k < BATCH && n <= EVENTS; k++, n++) {
				log.append({
					event: 'upsert',
					data: { id: `task-${(n % 50) + 1}`, n, title: `Task ${(n % 50) + 1}`, version: n }
				});
			}
			await sleep(5);
		}
		await waitFor(check, 40_000);
		clearInterval(watch);
		// Anything still in flight (a duplicate right behind the last event) gets a moment to arrive.
		await sleep(300);
		for (const name of names) {
			const { counts } = clients[name];
			let lost = 0;
			let duplicated = 0;
			for (let n = 1; n <= EVENTS; n++) {
				if (counts[n] === 0) lost++;
				else if (counts[n] > 1) duplicated++;
			}
			result[name] = {
				lost,
				duplicated,
				cuts: streams[name].cuts,
				requests: streams[name].requests,
				doneMs: (doneAt[name] ?? performance.now()) - t0,
				finished: doneAt[name] !== undefined
			};
		}
	} finally {
		for (const name of names) clients[name]?.stop();
		await srv.close();
	}
	return { clients: result };
}
