// P9: bytes on the wire while polling a list that does not change, for 60 s: the kit's polling
// adapter (ETag / If-None-Match → 304) against a plain setInterval fetch of the same URL at the
// same interval. Each client has its own server, whose sockets count every byte.
import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { kit, round, row, sleep, startServer } from './lib.js';
import { countBytes } from './live-helpers.js';

const DURATION_MS = 60_000;
/** The kit's default interval, and a faster one. */
const INTERVALS = [5000, 1000];
const TASKS = 50;
const GOAL_RATIO = 0.1;

/** Fifty task records with the fields a task list usually carries. */
function makeTasks() {
	const people = ['ada', 'grace', 'linus', 'margaret', 'ken'];
	const verbs = ['Review', 'Fix', 'Write', 'Deploy', 'Triage', 'Refactor', 'Document', 'Test'];
	const things = ['login flow', 'billing export', 'search index', 'release notes', 'cache layer'];
	const epoch = Date.UTC(2025, 0, 6, 9, 0, 0);
	return Array.from({ length: TASKS }, (_, i) => ({
		id: `task-${String(i + 1).padStart(3, '0')}`,
		title: `${verbs[i % verbs.length]} the ${things[i % things.length]} (#${1200 + i})`,
		description: `Follow-up from the weekly sync: ${things[(i + 2) % things.length]} needs attention before the next release.`,
		actor: people[i % people.length],
		assignee: people[(i + 2) % people.length],
		done: i % 3 === 0,
		priority: ['low', 'normal', 'high'][i % 3],
		tags: [['backend'], ['frontend', 'ux'], ['ops'], ['docs', 'good first issue']][i % 4],
		createdAt: new Date(epoch + i * 3_600_000).toISOString(),
		updatedAt: new Date(epoch + i * 3_600_000 + 1_800_000).toISOString(),
		version: 1 + (i % 4)
	}));
}

/**
 * A server for one client: the list as JSON with a strong ETag, 304 when If-None-Match matches.
 * Records each response's status and the socket bytes it took (request and response).
 * @param {string} body
 */
async function listServer(body) {
	const etag = `"${createHash('sha1').update(body).digest('hex').slice(0, 16)}"`;
	/** @type {{ status: number; bytes: number }[]} */
	const responses = [];
	/** @type {WeakMap<import('node:net').Socket, number>} */
	const seen = new WeakMap();
	const srv = await startServer((req, res) => {
		res.on('finish', () => {
			const socket = req.socket;
			const now = socket.bytesRead + socket.bytesWritten;
			responses.push({ status: res.statusCode, bytes: now - (seen.get(socket) ?? 0) });
			seen.set(socket, now);
		});
		if (req.headers['if-none-match'] === etag) {
			res.writeHead(304, { ETag: etag, 'Cache-Control': 'no-cache' }).end();
			return;
		}
		res
			.writeHead(200, {
				'Content-Type': 'application/json',
				ETag: etag,
				'Cache-Control': 'no-cache'
			})
			.end(body);
	});
	const bytes = countBytes(srv.server);
	return { ...srv, url: `${srv.origin}/api/tasks`, responses, bytes };
}

export default async function run() {
	const { createLiveSource, polling } = await kit('core/index.js');
	const body = JSON.stringify(makeTasks());

	/** @type {Array<() => void>} */
	const stops = [];
	/** @type {Array<() => Promise<unknown>>} */
	const closes = [];
	/** @type {{ interval: number; ours: Awaited<ReturnType<typeof listServer>>; base: Awaited<ReturnType<typeof listServer>>; errors: { ours: number; base: number } }[]} */
	const runs = [];
	try {
		for (const interval of INTERVALS) {
			const ours = await listServer(body);
			const base = await listServer(body);
			closes.push(ours.close, base.close);
			runs.push({ interval, ours, base, errors: { ours: 0, base: 0 } });
		}
		// All clients at once: the four servers are separate origins, so no socket is shared.
		for (const r of runs) {
			const live = createLiveSource({
				transport: polling({ url: r.ours.url, interval: r.interval })
			});
			live.connection.subscribe((/** @type {{ status: string }} */ s) => {
				if (s.status === 'reconnecting' || s.status === 'failed') r.errors.ours++;
			});
			live.start();
			stops.push(() => {
				live.stop();
				live.store.dispose();
			});
			// The plain client: loads at once, like the kit, then on a fixed interval.
			const get = () =>
				fetch(r.base.url)
					.then((response) => response.json())
					.catch(() => r.errors.base++);
			get();
			const timer = setInterval(get, r.interval);
			stops.push(() => clearInterval(timer));
		}
		const t0 = performance.now();
		await sleep(DURATION_MS);
		for (const stop of stops.splice(0)) stop();
		const elapsed = performance.now() - t0;
		// Responses already under way finish and are counted.
		await sleep(500);

		const rows = [];
		const notes = [
			`A list of ${TASKS} task records (${body.length} bytes of JSON, uncompressed) that never changes, served with a strong ETag and \`Cache-Control: no-cache\`; If-None-Match with that ETag gets a 304 with no body. The kit: createLiveSource({ transport: polling({ url, interval }) }), otherwise defaults. The baseline: fetch(url).then(r => r.json()) at once and then from setInterval at the same interval. Both run at the same time for ${round(elapsed / 1000, 1)} s, each against its own server (own port, so undici never shares a socket between them).`,
			'Bytes are counted on the server: bytesRead + bytesWritten of every socket (request and response lines, headers and bodies; TCP/IP overhead excluded).'
		];
		for (const r of runs) {
			const ours = r.ours.bytes.total;
			const base = r.base.bytes.total;
			const label = r.interval === 5000 ? `${r.interval} ms (kit default)` : `${r.interval} ms`;
			rows.push(
				row({
					id: 'P9',
					metric: `bytes for 60 s of polling an unchanged list, interval ${label}`,
					unit: 'bytes',
					ours,
					baseline: base,
					baselineName: 'setInterval fetch, same URL and interval',
					goal: `≥ ${100 * (1 - GOAL_RATIO)} % fewer (ratio ≤ ${GOAL_RATIO})`,
					pass: base > 0 && ours / base <= GOAL_RATIO
				})
			);
			const later = (/** @type {{ status: number; bytes: number }[]} */ list) => list.slice(1);
			const mean = (/** @type {{ status: number; bytes: number }[]} */ list) =>
				list.length ? list.reduce((s, x) => s + x.bytes, 0) / list.length : Number.NaN;
			const statuses = (/** @type {{ status: number; bytes: number }[]} */ list) => {
				/** @type {Record<number, number>} */
				const counts = {};
				for (const x of list) counts[x.status] = (counts[x.status] ?? 0) + 1;
				return Object.entries(counts)
					.map(([status, count]) => `${count} × ${status}`)
					.join(', ');
			};
			const oursLater = mean(later(r.ours.responses));
			const baseLater = mean(later(r.base.responses));
			if (r.interval === INTERVALS.at(-1)) {
				rows.push(
					row({
						id: 'P9',
						metric: `bytes per poll after the first response, interval ${label}`,
						unit: 'bytes',
						ours: round(oursLater, 0),
						baseline: round(baseLater, 0),
						baselineName: 'setInterval fetch, same URL and interval',
						goal: 'comparison',
						pass: null
					})
				);
			}
			notes.push(
				`Interval ${label}: kit ${ours} bytes (${statuses(r.ours.responses)}; first response ${r.ours.responses[0]?.bytes ?? '—'} bytes, then ${round(oursLater, 0)} per poll; ${connections(r.ours.bytes.connections)}${r.errors.ours ? `; ${r.errors.ours} failed polls` : ''}), baseline ${base} bytes (${statuses(r.base.responses)}; ${round(baseLater, 0)} per poll after the first; ${connections(r.base.bytes.connections)}${r.errors.base ? `; ${r.errors.base} failed fetches` : ''}): ${round(100 * (1 - ours / base), 1)} % fewer.`
			);
		}
		const slow = runs[0];
		const slowOurs = slow.ours.bytes.total;
		const slowBase = slow.base.bytes.total;
		if (slowOurs / slowBase > GOAL_RATIO && slow.ours.responses.length > 1) {
			const first = slow.ours.responses[0].bytes;
			const polls = slow.ours.responses.length - 1;
			const budget = (GOAL_RATIO * slowBase - first) / polls;
			notes.push(
				`Why the default interval misses: in 60 s at 5 s both sides poll about 12 times and both must download the list once. That first response alone is ${round((100 * first) / slowBase, 1)} % of the baseline's bytes, and the kit's ${polls} conditional round trips (${round(mean304(slow.ours.responses), 0)} bytes each, nearly all request and response headers) add ${round((100 * (slowOurs - first)) / slowBase, 1)} %. ${budget > 0 ? `Under ${round(100 * GOAL_RATIO, 0)} % would need round trips under ${round(budget, 0)} bytes, a longer window or a shorter interval.` : 'The first response alone is over the goal.'} Per poll after the first the kit sends ${round(100 * (1 - mean304(slow.ours.responses) / mean304(slow.base.responses)), 1)} % fewer bytes.`
			);
		}
		return { rows, notes };
	} finally {
		for (const stop of stops) stop();
		for (const close of closes) await close();
	}
}

/** @param {number} n */
const connections = (n) => `${n} TCP connection${n === 1 ? '' : 's'}`;

/** Mean bytes per response after the first. @param {{ status: number; bytes: number }[]} list */
function mean304(list) {
	const later = list.slice(1);
	return later.reduce((s, x) => s + x.bytes, 0) / later.length;
}
