// P10: connections the server holds for 1, 4, 8 and 16 tabs of one browser profile. Ours: the kit
// with `share: 'tabs'` (one leader tab connects, the others follow over a BroadcastChannel).
// Baseline: one connection per tab, which is what the kit without `share` does, and what
// EventSource, socket.io-client and every other client does. Real Chromium tabs (one window),
// against a real Node server (the kit's `sseResponse`, and socket.io) over HTTP/1.1.
import { ensureChromium } from '../scripts/chromium.js';
import { bundlePage, launchTabs, startTabsServer, summary, until } from '../tests/tabs/harness.js';
import { kit, row, sleep } from './lib.js';

const COUNTS = [1, 4, 8, 16];
const BASELINE = 'one connection per tab (no share, as EventSource, socket.io-client …)';
/** How long a tab may take to go live before the count is taken as it stands. */
const SETTLE_MS = 8000;

/**
 * `promise`'s value, or undefined once `ms` have passed.
 * @template T
 * @param {Promise<T>} promise
 * @param {number} ms
 * @returns {Promise<T | undefined>}
 */
const bounded = (promise, ms) => Promise.race([promise, sleep(ms).then(() => undefined)]);

/**
 * @param {Awaited<ReturnType<typeof launchTabs>>} chromium
 * @param {{ dir: string }} bundle
 * @param {any} server the kit's server entry
 * @param {'sse' | 'socket.io'} transport
 * @param {'tabs' | 'off'} share
 * @param {number} count
 */
async function measure(chromium, bundle, server, transport, share, count) {
	const s = await startTabsServer({ kit: server, dir: bundle.dir });
	try {
		const url = `${s.origin}/?transport=${transport}&share=${share}`;
		// Beyond six streams a tab's own page load can wait for a free connection: wait 3 s at most.
		/** @type {import('playwright').Page[]} */
		const pages = [];
		let stuck = 0;
		for (let i = 0; i < count; i++) {
			const page = await bounded(chromium.context.newPage(), 10_000);
			if (!page) {
				stuck++;
				continue;
			}
			pages.push(page);
			// `commit`: a tab whose page load waits for a free connection is left waiting.
			await bounded(
				page.goto(url, { waitUntil: 'commit', timeout: 3000 }).catch(() => {}),
				5000
			);
		}
		if (stuck) console.log(`    ${stuck} new tabs did not open within 10 s`);
		const close = () =>
			bounded(Promise.all(pages.map((page) => page.close().catch(() => {}))), 10_000);
		const live = async () => {
			let n = 0;
			for (const page of pages) {
				const p = await Promise.race([summary(page).catch(() => undefined), sleep(500)]);
				if (p && typeof p === 'object' && p.state.status === 'live') n++;
			}
			return n;
		};
		await until(async () => (await live()) === count, 'every tab live', SETTLE_MS).catch(() => {});
		await sleep(300);
		const held = transport === 'sse' ? s.streams : s.sockets;
		const liveTabs = await live();
		const tcp = await new Promise((done) => s.server.getConnections((_, n) => done(n)));
		await close();
		return { held, peak: transport === 'sse' ? s.peakStreams : s.peakSockets, liveTabs, tcp };
	} finally {
		await s.close();
	}
}

export default async function run() {
	const server = await kit('server/index.js');
	const bundle = await bundlePage({ from: 'dist', minify: true });
	const chromium = await launchTabs(ensureChromium());
	/** @type {import('./lib.js').Row[]} */
	const rows = [];
	/** @type {string[]} */
	const seen = [];
	try {
		for (const transport of /** @type {const} */ (['sse', 'socket.io'])) {
			for (const count of COUNTS) {
				const ours = await measure(chromium, bundle, server, transport, 'tabs', count);
				console.log(`    ${transport}, ${count} tabs, shared: ${JSON.stringify(ours)}`);
				const base = await measure(chromium, bundle, server, transport, 'off', count);
				console.log(`    ${transport}, ${count} tabs, one per tab: ${JSON.stringify(base)}`);
				const what = transport === 'sse' ? 'SSE streams' : 'socket.io connections';
				rows.push(
					row({
						id: 'P10',
						metric: `${what} at the server, ${count} tab${count > 1 ? 's' : ''}`,
						unit: 'connections',
						ours: ours.held,
						baseline: base.held,
						baselineName: BASELINE,
						goal: '1',
						pass: ours.held === 1 && ours.liveTabs === count
					})
				);
				seen.push(
					`${what}, ${count} tab${count > 1 ? 's' : ''}: shared ${ours.held} open (peak ${ours.peak}), ${ours.liveTabs} of ${count} tabs live, ${ours.tcp} TCP connections; one per tab ${base.held} open (peak ${base.peak}), ${base.liveTabs} of ${count} tabs live, ${base.tcp} TCP connections.`
				);
			}
		}
	} finally {
		await chromium.close();
		bundle.remove();
	}
	return {
		rows,
		notes: [
			`Method: ${COUNTS.join(', ')} tabs of one Chromium profile opened one after the other (one window: the last tab visible, the others hidden), each loading a page with a live list (\`createLiveSource\`, \`sse({ url, resumable: true })\` or \`socketIo({ url, options: { transports: ['websocket'] } })\`) against a Node server on 127.0.0.1 over HTTP/1.1 (\`sseResponse\` over \`createEventLog\`; socket.io 4). Counted at the server ${SETTLE_MS / 1000} s at most after the last tab opened, or once every tab said \`live\`: SSE responses still open, socket.io sockets connected. The page is bundled with esbuild from dist/ (the sharing code a lazy chunk).`,
			'Over HTTP/1.1 a browser opens at most six connections per host: without sharing, tabs beyond the sixth wait for a free connection (their streams, and even their page loads, stall), which the baseline rows show as 6 streams for 8 and 16 tabs with only 6 tabs live. WebSocket connections are not under that limit.',
			...seen
		]
	};
}
