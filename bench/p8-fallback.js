// P8: fallback(websocket, sse, polling) where the WebSocket is blocked. Time from start() to the
// first items in the store, (a) when the upgrade is refused at once and (b) when the connection is
// accepted and the upgrade never answered (a proxy that swallows it).
import { performance } from 'node:perf_hooks';
import { kit, median, round, row, startServer } from './lib.js';
import { makeTasks, nodeEnv, pipeResponse, toRequest, waitFor } from './live-helpers.js';

const REPS = 5;
const GOAL_MS = 3000;

export default async function run() {
	const core = await kit('core/index.js');
	const server = await kit('server/index.js');
	const env = nodeEnv(core);
	const tasks = makeTasks(20);
	const log = server.createEventLog();
	const body = JSON.stringify(tasks);
	/** @type {Record<string, number>} */
	const hits = { stream: 0, tasks: 0 };
	const srv = await startServer((req, res) => {
		const { pathname } = new URL(req.url ?? '/', 'http://127.0.0.1');
		if (pathname === '/stream') {
			hits.stream++;
			const response = server.sseResponse({
				request: toRequest(req, res),
				log,
				initial: () => ({ id: log.lastId, event: 'snapshot', data: tasks })
			});
			return void pipeResponse(response, req, res);
		}
		if (pathname === '/tasks') {
			hits.tasks++;
			return void res.writeHead(200, { 'Content-Type': 'application/json' }).end(body);
		}
		res.writeHead(404).end();
	});
	/** @type {Set<import('node:stream').Duplex>} */
	const hanging = new Set();
	srv.server.on('upgrade', (req, socket) => {
		const { pathname } = new URL(req.url ?? '/', 'http://127.0.0.1');
		if (pathname === '/ws-refuse') {
			// A proxy or server that forbids the upgrade.
			socket.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
			return;
		}
		// A proxy that accepts the connection and never answers the upgrade.
		hanging.add(socket);
		socket.on('close', () => hanging.delete(socket));
		socket.on('error', () => {});
	});

	/** @type {Array<() => void>} */
	const stops = [];
	/**
	 * Starts one chain; resolves with the time to the first items and the transport they came over.
	 * @param {string} wsPath
	 */
	async function once(wsPath) {
		const live = core.createLiveSource({
			transport: core.fallback(
				core.websocket({ url: `ws://127.0.0.1:${srv.port}${wsPath}` }),
				core.sse({ url: `${srv.origin}/stream` }),
				core.polling({ url: `${srv.origin}/tasks` })
			),
			env
		});
		const stop = () => {
			live.stop();
			live.store.dispose();
		};
		stops.push(stop);
		/** @type {number | undefined} */
		let firstAt;
		live.store.subscribe((/** @type {{ items: readonly unknown[] }} */ s) => {
			if (s.items.length > 0) firstAt ??= performance.now();
		});
		const t0 = performance.now();
		live.start();
		await waitFor(() => firstAt !== undefined, 20_000);
		const state = live.connection.getSnapshot();
		stop();
		return {
			ms: firstAt === undefined ? undefined : firstAt - t0,
			via: `${state.transport}${state.degraded ? ' (degraded)' : ''}`
		};
	}

	try {
		// Refused: one chain at a time. Never answered: the reps side by side (each waits out its own
		// timer, so running them together changes nothing but the wall time).
		const refused = [];
		for (let i = 0; i < REPS; i++) refused.push(await once('/ws-refuse'));
		const hang = await Promise.all(Array.from({ length: REPS }, () => once('/ws-hang')));

		const summary = (/** @type {{ ms: number | undefined; via: string }[]} */ results) => {
			const times = results.flatMap((r) => (r.ms === undefined ? [] : [r.ms]));
			return {
				median: times.length === results.length ? median(times) : undefined,
				list: results.map((r) => (r.ms === undefined ? 'none' : round(r.ms, 0))).join(', '),
				via: [...new Set(results.map((r) => r.via))].join(', ')
			};
		};
		const a = summary(refused);
		const b = summary(hang);
		const msRow = (/** @type {string} */ metric, /** @type {ReturnType<typeof summary>} */ s) =>
			row({
				id: 'P8',
				metric,
				unit: 'ms',
				ours: s.median === undefined ? null : round(s.median, 0),
				goal: `≤ ${GOAL_MS} ms`,
				pass: s.median !== undefined && s.median <= GOAL_MS
			});
		const rows = [
			msRow('WebSocket refused (403) → first data, defaults', a),
			msRow('WebSocket upgrade never answered → first data, defaults (worst case)', b)
		];
		const notes = [
			`fallback(websocket, sse, polling) with default options; sse in its default EventSource mode, the eventsource package standing in for the browser's EventSource and ws for its WebSocket. Measured from start() to the first store snapshot with items; median of ${REPS} (the never-answered reps side by side).`,
			`Samples (ms): refused ${a.list}, via ${a.via}; never answered ${b.list}, via ${b.via}. Server hits: ${hits.stream} SSE, ${hits.tasks} polling.`,
			"A refused upgrade fails the WebSocket attempt at once (close 1006, retryable) and the chain moves to SSE after that one failure (moveAfter 1). An upgrade that is never answered fails only when the WebSocket adapter's connectTimeout runs out; the chain does not start the next member before then, so that timeout is the worst-case delay."
		];
		return { rows, notes };
	} finally {
		for (const stop of stops) stop();
		for (const socket of hanging) socket.destroy();
		await srv.close();
	}
}
