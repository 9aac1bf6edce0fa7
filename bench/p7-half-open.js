// P7: a stream that goes silent while its TCP connection stays open (a half-open stream behind a
// proxy or NAT). How long after the server's last byte does the kit notice (status `stale`), and
// when does it drop the stream and reconnect? Compared with the heartbeat interval.
import { performance } from 'node:perf_hooks';
import { WebSocketServer } from 'ws';
import { kit, median, round, row, sleep, startServer } from './lib.js';
import { makeTasks, nodeEnv, pipeResponse, toRequest, waitFor } from './live-helpers.js';

/** The heartbeat interval of the short runs. */
const H = 1000;
/** The WebSocket runs that configure the engine: stale after 1.5 heartbeats. */
const WS_STALE_AFTER = 1.5 * H;
const REPS = 5;
/** Heartbeats that flow before the stream goes silent. */
const BEATS_BEFORE = 3;
/** sseResponse's default heartbeat, and the kit's default staleAfter (docs/API.md). */
const DEFAULT_HEARTBEAT = 15_000;
const DEFAULT_STALE_AFTER = 45_000;

/** @typedef {{ stale: number | undefined; dropped: number | undefined; falseAlarms: number }} Rep */

export default async function run() {
	const core = await kit('core/index.js');
	const server = await kit('server/index.js');
	const env = nodeEnv(core);
	const tasks = makeTasks(10);
	const log = server.createEventLog();

	/** The first response of each stream id (`?id=`), so that a run can silence its own stream. */
	/** @type {Map<string, import('./live-helpers.js').StreamHandle>} */
	const streams = new Map();
	const srv = await startServer((req, res) => {
		const url = new URL(req.url ?? '/', 'http://127.0.0.1');
		const hb = url.searchParams.get('hb');
		const response = server.sseResponse({
			request: toRequest(req, res),
			log,
			heartbeat: hb === null ? undefined : Number(hb),
			initial: () => ({ id: log.lastId, event: 'snapshot', data: tasks })
		});
		const handle = pipeResponse(response, req, res);
		const id = url.searchParams.get('id') ?? '';
		if (!streams.has(id)) streams.set(id, handle);
	});

	// WebSocket: a snapshot on connect, a pong for every ping until the run silences the socket.
	/** @type {Map<string, { silent: boolean; lastSentAt: number }>} */
	const sockets = new Map();
	const wss = new WebSocketServer({ server: srv.server });
	wss.on('connection', (socket, req) => {
		const id = new URL(req.url ?? '/', 'http://127.0.0.1').searchParams.get('id') ?? '';
		const state = sockets.get(id) ?? { silent: false, lastSentAt: performance.now() };
		if (!sockets.has(id)) sockets.set(id, state);
		const send = (/** @type {unknown} */ message) => {
			if (state.silent) return;
			socket.send(JSON.stringify(message));
			state.lastSentAt = performance.now();
		};
		send({ type: 'snapshot', items: tasks });
		socket.on('message', (data) => {
			if (JSON.parse(String(data)).type === 'ping') send({ type: 'pong' });
		});
	});

	/** A stream URL; without `hb` the server uses sseResponse's default heartbeat. */
	const sseUrl = (/** @type {string} */ id, /** @type {number} */ hb = 0) =>
		`${srv.origin}/stream?id=${id}${hb > 0 ? `&hb=${hb}` : ''}`;
	const wsTransport = (/** @type {string} */ id) =>
		core.websocket({
			url: `ws://127.0.0.1:${srv.port}/ws?id=${id}`,
			heartbeat: { interval: H, isPong: (/** @type {any} */ m) => m?.type === 'pong' }
		});

	/** @type {Array<{ stop: () => void }>} */
	const started = [];
	const open = (/** @type {any} */ options) => {
		const live = core.createLiveSource({ env, ...options });
		/** @type {{ status: string; at: number }[]} */
		const history = [];
		live.connection.subscribe((/** @type {{ status: string }} */ state) => {
			if (history.at(-1)?.status !== state.status)
				history.push({ status: state.status, at: performance.now() });
		});
		const client = {
			live,
			history,
			/** @param {string} status @param {number} after */
			firstAt: (status, after) => history.find((h) => h.status === status && h.at >= after)?.at,
			/** Status changes away from `live` since `after`. @param {number} after */
			alarms: (after) => history.filter((h) => h.at >= after && h.status !== 'live'),
			stop() {
				live.stop();
				live.store.dispose();
			}
		};
		started.push(client);
		live.start();
		return client;
	};
	const loaded = async (/** @type {ReturnType<typeof open>} */ client) => {
		const ok = await waitFor(
			() =>
				client.live.connection.getSnapshot().status === 'live' &&
				client.live.store.getSnapshot().items.length > 0,
			5000
		);
		if (!ok) throw new Error('P7: a client did not connect within 5 s');
	};
	/** Silences a stream or socket; returns when the server wrote its last byte. */
	const silence = (/** @type {'sse' | 'ws'} */ kind, /** @type {string} */ id) => {
		if (kind === 'ws') {
			const state = /** @type {{ silent: boolean; lastSentAt: number }} */ (sockets.get(id));
			state.silent = true;
			return state.lastSentAt;
		}
		const handle = /** @type {import('./live-helpers.js').StreamHandle} */ (streams.get(id));
		handle.silent = true;
		return /** @type {number} */ (handle.lastWriteAt);
	};

	/**
	 * One short run: heartbeats every H for a while, then silence. Returns the times from the
	 * server's last byte to `stale` and to `reconnecting`, and any alarm raised while beats flowed.
	 * @param {'eventsource' | 'fetch' | 'ws'} kind @param {number} i
	 * @returns {Promise<Rep>}
	 */
	async function rep(kind, i) {
		const id = `${kind}-${i}`;
		const client = open(
			kind === 'ws'
				? { transport: wsTransport(id), staleAfter: WS_STALE_AFTER }
				: {
						transport: core.sse(
							kind === 'fetch' ? { url: sseUrl(id, H), mode: 'fetch' } : { url: sseUrl(id, H) }
						)
					}
		);
		try {
			await loaded(client);
			const beatsFrom = performance.now();
			await sleep(BEATS_BEFORE * H + H / 3);
			const falseAlarms = client.alarms(beatsFrom).length;
			const lastByte = silence(kind === 'ws' ? 'ws' : 'sse', id);
			await waitFor(() => client.firstAt('reconnecting', lastByte) !== undefined, 10 * H);
			const staleAt = client.firstAt('stale', lastByte);
			const droppedAt = client.firstAt('reconnecting', lastByte);
			return {
				stale: staleAt === undefined ? undefined : staleAt - lastByte,
				dropped: droppedAt === undefined ? undefined : droppedAt - lastByte,
				falseAlarms
			};
		} finally {
			client.stop();
		}
	}

	/**
	 * The long runs, beside the short ones: everything at its default (sseResponse's heartbeat, the
	 * kit's staleAfter, EventSource mode) with one stream silenced right after it opened and two
	 * healthy ones (EventSource and fetch mode) watched as long; and a WebSocket with the heartbeat
	 * option at H but the default staleAfter.
	 */
	async function defaults() {
		const silenced = open({ transport: core.sse({ url: sseUrl('default-silent') }) });
		const healthy = open({ transport: core.sse({ url: sseUrl('default-healthy') }) });
		const healthyFetch = open({
			transport: core.sse({ url: sseUrl('default-healthy-fetch'), mode: 'fetch' })
		});
		const socket = open({ transport: wsTransport('ws-default') });
		for (const c of [silenced, healthy, healthyFetch, socket]) await loaded(c);
		const lastByte = silence('sse', 'default-silent');
		const from = performance.now();
		await sleep(2 * H);
		const wsLastByte = silence('ws', 'ws-default');
		await waitFor(
			() =>
				silenced.firstAt('stale', lastByte) !== undefined &&
				socket.firstAt('stale', wsLastByte) !== undefined,
			DEFAULT_STALE_AFTER + 5000,
			50
		);
		// The healthy streams had as long as the silenced one (plus a moment) to raise an alarm.
		await sleep(500);
		const staleAt = silenced.firstAt('stale', lastByte);
		const wsStaleAt = socket.firstAt('stale', wsLastByte);
		const describe = (/** @type {ReturnType<typeof open>} */ c) =>
			c.alarms(from).map((h) => `${h.status} at ${((h.at - from) / 1000).toFixed(1)} s`);
		const result = {
			stale: staleAt === undefined ? undefined : staleAt - lastByte,
			wsStale: wsStaleAt === undefined ? undefined : wsStaleAt - wsLastByte,
			watchedMs: performance.now() - from,
			healthyChunks: streams.get('default-healthy')?.chunks ?? 0,
			healthy: describe(healthy),
			healthyFetch: describe(healthyFetch)
		};
		for (const c of [silenced, healthy, healthyFetch, socket]) c.stop();
		return result;
	}

	try {
		const long = defaults();
		/** @type {Record<'eventsource' | 'fetch' | 'ws', Rep[]>} */
		const reps = { eventsource: [], fetch: [], ws: [] };
		await Promise.all(
			/** @type {const} */ (['eventsource', 'fetch', 'ws']).map(async (kind) => {
				for (let i = 0; i < REPS; i++) reps[kind].push(await rep(kind, i));
			})
		);
		const def = await long;

		const values = (
			/** @type {keyof typeof reps} */ kind,
			/** @type {'stale' | 'dropped'} */ key
		) => reps[kind].flatMap((r) => (r[key] === undefined ? [] : [r[key]]));
		const missing = (/** @type {keyof typeof reps} */ kind) =>
			reps[kind].filter((r) => r.stale === undefined || r.dropped === undefined).length;
		const alarms = (/** @type {keyof typeof reps} */ kind) =>
			reps[kind].reduce((sum, r) => sum + r.falseAlarms, 0);
		const list = (/** @type {keyof typeof reps} */ kind, /** @type {'stale' | 'dropped'} */ key) =>
			values(kind, key)
				.map((v) => round(v, 0))
				.join(', ');
		/** A detection row: ms against the heartbeat, goal ≤ 2 heartbeats. */
		const detection = (
			/** @type {string} */ metric,
			/** @type {number | undefined} */ ms,
			/** @type {number} */ heartbeat,
			/** @type {string} */ baselineName,
			/** @type {boolean} */ complete
		) =>
			row({
				id: 'P7',
				metric,
				unit: 'ms',
				ours: ms === undefined ? null : round(ms, 0),
				baseline: heartbeat,
				baselineName,
				goal: '≤ 2× heartbeat',
				pass: complete && ms !== undefined && ms / heartbeat <= 2
			});
		const short = (/** @type {keyof typeof reps} */ kind) => {
			const v = values(kind, 'stale');
			return v.length ? median(v) : undefined;
		};

		const rows = [
			detection(
				`silent SSE → stale, defaults (EventSource mode), server heartbeat ${H} ms`,
				short('eventsource'),
				H,
				'heartbeat interval',
				missing('eventsource') === 0
			),
			detection(
				`silent SSE → stale, defaults (fetch mode), server heartbeat ${H} ms`,
				short('fetch'),
				H,
				'heartbeat interval',
				missing('fetch') === 0
			),
			row({
				id: 'P7',
				metric: `silent SSE → dropped, reconnecting, defaults (EventSource mode), heartbeat ${H} ms`,
				unit: 'ms',
				ours: round(median(values('eventsource', 'dropped')), 0),
				baseline: H,
				baselineName: 'heartbeat interval',
				goal: 'comparison',
				pass: null
			}),
			detection(
				'silent SSE → stale, all defaults (heartbeat 15 s, EventSource mode)',
				def.stale,
				DEFAULT_HEARTBEAT,
				'sseResponse default heartbeat',
				true
			),
			row({
				id: 'P7',
				metric: `alarms on a healthy quiet stream, all defaults (EventSource mode), ${round(def.watchedMs / 1000, 0)} s`,
				unit: 'status changes',
				ours: def.healthy.length,
				goal: '0',
				pass: def.healthy.length === 0
			}),
			detection(
				`silent WebSocket → stale, heartbeat option ${H} ms, staleAfter ${WS_STALE_AFTER} ms`,
				short('ws'),
				H,
				'heartbeat interval',
				missing('ws') === 0
			),
			detection(
				`silent WebSocket → stale, heartbeat option ${H} ms, default staleAfter`,
				def.wsStale,
				H,
				'heartbeat interval',
				true
			)
		];
		const notes = [
			`Short runs: the server sends heartbeats every ${H} ms for ${BEATS_BEFORE} beats, then writes nothing more while the TCP connection stays open. SSE: sseResponse({ heartbeat: ${H} }) and the kit with default options, in EventSource mode (the default; the eventsource package stands in for the browser's) and in fetch mode. WebSocket: the kit's \`heartbeat: { interval: ${H} }\` sends \`{ type: 'ping' }\`, the server answers \`{ type: 'pong' }\`; staleAfter ${WS_STALE_AFTER} ms. Measured from the server's last byte to the kit's status \`stale\`, and to \`reconnecting\` (it dropped the stream). ${REPS} runs of each, the three kinds side by side.`,
			`Samples (ms): SSE EventSource mode stale ${list('eventsource', 'stale')}, dropped ${list('eventsource', 'dropped')}; fetch mode stale ${list('fetch', 'stale')}, dropped ${list('fetch', 'dropped')}; WebSocket stale ${list('ws', 'stale')}, dropped ${list('ws', 'dropped')}. Alarms while heartbeats flowed: EventSource mode ${alarms('eventsource')}, fetch mode ${alarms('fetch')}, WebSocket ${alarms('ws')}.${missing('eventsource') + missing('fetch') + missing('ws') > 0 ? ` Runs without a detection: EventSource mode ${missing('eventsource')}, fetch mode ${missing('fetch')}, WebSocket ${missing('ws')}.` : ''}`,
			`All defaults (sseResponse's ${DEFAULT_HEARTBEAT / 1000} s heartbeat, no kit options), measured beside the short runs; the stream went silent right after its opening events: stale after ${def.stale === undefined ? 'no detection' : `${round(def.stale / 1000, 1)} s`} (${def.stale === undefined ? '—' : round(def.stale / DEFAULT_HEARTBEAT, 2)}× the heartbeat). Healthy streams watched as long (${round(def.watchedMs / 1000, 1)} s; ${def.healthyChunks} chunks written to the EventSource-mode one): EventSource mode ${def.healthy.length === 0 ? 'stayed live' : def.healthy.join(', ')}; fetch mode ${def.healthyFetch.length === 0 ? 'stayed live' : def.healthyFetch.join(', ')}.`,
			`WebSocket: with \`heartbeat.isPong\` the adapter tells the engine the ping interval, which then counts 1.5 silent intervals as stale, whatever staleAfter says if that is longer: with staleAfter set to ${WS_STALE_AFTER} ms, stale after ${short('ws') === undefined ? '—' : round(/** @type {number} */ (short('ws')), 0)} ms; left at its default (${DEFAULT_STALE_AFTER / 1000} s), stale after ${def.wsStale === undefined ? 'no detection' : `${round(def.wsStale / 1000, 1)} s`} (${def.wsStale === undefined ? '—' : round(def.wsStale / H, 1)}× the heartbeat).`
		];
		return { rows, notes };
	} finally {
		for (const c of started) c.stop();
		for (const client of wss.clients) client.terminate();
		wss.close();
		await srv.close();
	}
}
