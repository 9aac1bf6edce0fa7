// P5: mount/unmount leaks. `<LiveSource transport={sse({ url })}><ActivityTimeline /></LiveSource>`
// is mounted and unmounted 100 times in Chromium against a real SSE endpoint (the kit's
// `sseResponse` and `createEventLog` on Node, one row changing every few milliseconds). Counted:
// connections open at the server and in the page, pending timers and animation frames in the page,
// and the JS heap.
import { newPage, servePages } from './browser.js';
import { kit, launchChromium, round, row, seededRandom, sleep } from './lib.js';
import { track } from './pages/leaks/track.js';

const SHORT_WARMUP = 5;
const WARMUP = 20;
const CYCLES = 100;
const ROWS = 50;
const CHANGE_EVERY_MS = 20;
const HEAP_GOAL = 5; // %
const FLASH_MS = 1600;

/**
 * A heap snapshot of the page summed up by node type and name: how many and how many bytes.
 * @param {import('playwright').CDPSession} cdp
 */
async function objects(cdp) {
	let json = '';
	/** @param {{ chunk: string }} event */
	const collect = (event) => void (json += event.chunk);
	cdp.on('HeapProfiler.addHeapSnapshotChunk', collect);
	await cdp.send('HeapProfiler.takeHeapSnapshot', { reportProgress: false });
	cdp.off('HeapProfiler.addHeapSnapshotChunk', collect);
	const { snapshot, nodes, strings } = JSON.parse(json);
	const fields = snapshot.meta.node_fields;
	const types = snapshot.meta.node_types[0];
	const [type, name, size] = ['type', 'name', 'self_size'].map((f) => fields.indexOf(f));
	/** @type {Map<string, { count: number; size: number }>} */
	const totals = new Map();
	for (let i = 0; i < nodes.length; i += fields.length) {
		const key = `${types[nodes[i + type]]}: ${String(strings[nodes[i + name]]).slice(0, 50)}`;
		const entry = totals.get(key) ?? { count: 0, size: 0 };
		entry.count++;
		entry.size += nodes[i + size];
		totals.set(key, entry);
	}
	return totals;
}

export default async function run() {
	const { createEventLog, sseResponse } = await kit('server/index.js');
	const log = createEventLog({ limit: 1000 });
	const rand = seededRandom(5);
	const tasks = Array.from({ length: ROWS }, (_, i) => ({
		id: `t${i}`,
		title: `Task ${i}`,
		actor: 'Ada',
		updatedAt: Date.now() - i * 60_000,
		version: 1
	}));
	const changer = setInterval(() => {
		const i = Math.floor(rand() * ROWS);
		const task = { ...tasks[i], version: tasks[i].version + 1, updatedAt: Date.now() };
		task.title = `Task ${i} · rev ${task.version}`;
		tasks[i] = task;
		log.append({ event: 'upsert', data: task });
	}, CHANGE_EVERY_MS);

	let streams = 0;
	let requests = 0;
	const server = await servePages((request) => {
		if (new URL(request.url).pathname !== '/stream') return undefined;
		requests++;
		streams++;
		request.signal.addEventListener('abort', () => streams--, { once: true });
		return sseResponse({
			request,
			log,
			retry: 1000,
			initial: () => ({ id: log.lastId, event: 'snapshot', data: tasks })
		});
	});
	const atServer = () => ({ streams, listeners: log.listeners });

	const browser = await launchChromium();
	/** @typedef {{ timeouts: number; intervals: number; frames: number; connections: number; details: string[] }} PageState */
	try {
		const { context, page, errors } = await newPage(browser, { initScript: track });
		const cdp = await context.newCDPSession(page);
		const heap = async () => {
			// A row flash (a 1.6 s Web Animation) holds its row until it ends, even once detached.
			await sleep(FLASH_MS + 400);
			// Twice: the first collection can leave objects that finalizers released.
			await cdp.send('HeapProfiler.collectGarbage');
			await cdp.send('HeapProfiler.collectGarbage');
			const { usedSize } = await cdp.send('Runtime.getHeapUsage');
			const dom = await cdp.send('Memory.getDOMCounters');
			return { used: usedSize, nodes: dom.nodes, listeners: dom.jsEventListeners };
		};
		/** @returns {Promise<PageState>} */
		const inPage = () => page.evaluate(() => /** @type {any} */ (window).tracker.snapshot());
		/** Waits up to 2 s for the page and the server to be back to `page0` and no stream. */
		const settle = async (/** @type {PageState} */ page0) => {
			const deadline = performance.now() + 2000;
			for (;;) {
				const now = await inPage();
				const quiet =
					streams === 0 &&
					log.listeners === 0 &&
					now.connections === page0.connections &&
					now.timeouts + now.intervals + now.frames <=
						page0.timeouts + page0.intervals + page0.frames;
				if (quiet || performance.now() > deadline) return now;
				await sleep(50);
			}
		};

		await page.goto(`${server.origin}/leaks/`);
		await page.waitForFunction(() => 'leaks' in window);
		await sleep(200);
		const before = { page: await inPage(), server: atServer(), heap: await heap() };

		let cycle = 0;
		let peakStreams = 0;
		const cycles = async (/** @type {number} */ count) => {
			for (let i = 0; i < count; i++, cycle++) {
				await page.evaluate((n) => /** @type {any} */ (window).leaks.cycle(n), cycle);
				peakStreams = Math.max(peakStreams, streams);
			}
		};
		await cycles(SHORT_WARMUP);
		const short = { heap: await heap() };
		await cycles(WARMUP - SHORT_WARMUP);
		await settle(before.page);
		const warm = { heap: await heap(), objects: await objects(cdp) };
		const t0 = performance.now();
		await cycles(CYCLES);
		const seconds = (performance.now() - t0) / 1000;
		const afterPage = await settle(before.page);
		const after = {
			page: afterPage,
			server: atServer(),
			heap: await heap(),
			objects: await objects(cdp)
		};
		if (errors.length) throw new Error(`page errors: ${errors.join('; ')}`);
		await context.close();

		const pageTimers = (/** @type {PageState} */ s) => s.timeouts + s.intervals + s.frames;
		const connectionsServer = after.server.streams - before.server.streams;
		const connectionsPage = after.page.connections - before.page.connections;
		const timers = pageTimers(after.page) - pageTimers(before.page);
		const growth = (100 * (after.heap.used - warm.heap.used)) / warm.heap.used;
		const shortGrowth = (100 * (after.heap.used - short.heap.used)) / short.heap.used;
		// What the heap holds more of after the cycles, largest first.
		const grown = [...after.objects]
			.map(([name, { count, size }]) => {
				const was = warm.objects.get(name) ?? { count: 0, size: 0 };
				return { name, count: count - was.count, size: size - was.size };
			})
			.filter((g) => g.size > 0)
			.sort((a, b) => b.size - a.size)
			.slice(0, 6);
		const kib = (/** @type {number} */ bytes) => `${round(bytes / 1024, 0)} KiB`;
		const rows = [
			row({
				id: 'P5',
				metric: `open connections at the server after ${CYCLES} cycles`,
				unit: 'connections',
				ours: connectionsServer,
				goal: '0',
				pass: connectionsServer === 0 && after.server.listeners === 0
			}),
			row({
				id: 'P5',
				metric: `open connections in the page after ${CYCLES} cycles`,
				unit: 'connections',
				ours: connectionsPage,
				goal: '0',
				pass: connectionsPage === 0
			}),
			row({
				id: 'P5',
				metric: `live timers in the page after ${CYCLES} cycles`,
				unit: 'timers',
				ours: timers,
				goal: '0',
				pass: timers === 0
			}),
			row({
				id: 'P5',
				metric: `heap growth over ${CYCLES} cycles after a ${WARMUP}-cycle warm-up`,
				unit: '%',
				ours: growth,
				goal: `≤ ${HEAP_GOAL} %`,
				pass: growth <= HEAP_GOAL
			})
		];
		const leftovers = after.page.details.filter((d) => !before.page.details.includes(d));
		return {
			rows,
			notes: [
				`Method: ${WARMUP} warm-up cycles, then ${CYCLES} cycles (${round(seconds, 1)} s) of mounting \`<LiveSource transport={sse({ url })} version><ActivityTimeline /></LiveSource>\` (a new adapter each time, EventSource mode) with Svelte's \`mount\`, waiting until the timeline is \`live\` with the snapshot's ${ROWS} rows and has rendered a later change (the server changes a row every ${CHANGE_EVERY_MS} ms through \`createEventLog\`/\`sseResponse\`), then \`unmount\`. Counts are taken when the page and server are quiet again (at most 2 s after the last cycle) and compared with the page before the first mount.`,
				`Connections: the server counts SSE requests not yet aborted (${requests} requests for ${WARMUP + CYCLES} mounts, at most ${peakStreams} open at once after a cycle; event-log listeners ${before.server.listeners} before, ${after.server.listeners} after). The page wraps EventSource and WebSocket (open = constructed, not closed, readyState not CLOSED): ${before.page.connections} before, ${after.page.connections} after.`,
				`Timers: the page wraps setTimeout/setInterval/clearTimeout/clearInterval and requestAnimationFrame/cancelAnimationFrame (an init script before any page code); pending = set and neither fired (timeouts, frames) nor cleared. Before: ${before.page.timeouts} timeouts, ${before.page.intervals} intervals, ${before.page.frames} frames; after: ${after.page.timeouts}, ${after.page.intervals}, ${after.page.frames}.${leftovers.length ? ` Left pending: ${leftovers.slice(0, 5).join('; ')}.` : ''}`,
				`Heap: ${round(FLASH_MS / 1000 + 0.4, 1)} s after the last cycle (a row flash, a 1.6 s Web Animation, keeps its row alive until it ends), CDP HeapProfiler.collectGarbage (twice), then Runtime.getHeapUsage: ${kib(before.heap.used)} before the first mount, ${kib(short.heap.used)} after ${SHORT_WARMUP} cycles, ${kib(warm.heap.used)} after the ${WARMUP}-cycle warm-up, ${kib(after.heap.used)} after the ${CYCLES} cycles. Growth measured from ${SHORT_WARMUP} cycles instead: ${round(shortGrowth, 1)} % (V8 still compiles and optimises the hot functions during the first dozens of cycles, hence the longer warm-up for the row). DOM nodes ${before.heap.nodes} / ${short.heap.nodes} / ${warm.heap.nodes} / ${after.heap.nodes}, JS event listeners ${before.heap.listeners} / ${short.heap.listeners} / ${warm.heap.listeners} / ${after.heap.listeners} (Memory.getDOMCounters, same points).`,
				`Heap snapshots after the warm-up and after the cycles; what grew most (type: name, objects, bytes): ${grown.map((g) => `${g.name} ${g.count >= 0 ? '+' : ''}${g.count}, +${g.size} B`).join('; ')}.`
			]
		};
	} finally {
		clearInterval(changer);
		await browser.close();
		await server.close();
	}
}
