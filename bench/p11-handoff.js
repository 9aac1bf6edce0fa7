// P11: the leader tab lost → the other tabs live again. Four Chromium tabs of one profile share one
// SSE stream (`share: 'tabs'`); in the middle of a stream of events the leader tab is closed,
// crashed (CDP Page.crash) or frozen (CDP Page.setWebLifecycleState, with or without its `freeze`
// event reaching the page), and, beyond the issue's
// three, busy (one long task). Measured: from the fault until every remaining tab is live again
// (the new leader's stream open, the followers told so), and the events lost and decoded twice
// in the remaining tabs.
import { ensureChromium } from '../scripts/chromium.js';
import {
	bundlePage,
	compare,
	launchTabs,
	openPages,
	recovery,
	startTabsServer,
	summary,
	until
} from '../tests/tabs/harness.js';
import { kit, percentile, round, row, sleep } from './lib.js';

const TABS = 4;
const RUNS = 5;
const BURST = 100;
const BURSTS = 60;
const BURST_EVERY_MS = 50;
/** The fault comes after this many bursts. */
const FAULT_AT = 20;
const BUSY_MS = 4000;

/** @typedef {'close' | 'crash' | 'freeze' | 'freeze-unannounced' | 'busy'} Fault */

/** Keeps the `freeze` event from the page's own listeners: frozen without warning. */
const swallowFreeze = () =>
	window.addEventListener('freeze', (event) => event.stopImmediatePropagation(), true);

/**
 * @param {Awaited<ReturnType<typeof launchTabs>>} chromium
 * @param {{ dir: string }} bundle
 * @param {any} server the kit's server entry
 * @param {Fault} fault
 */
async function once(chromium, bundle, server, fault) {
	const s = await startTabsServer({ kit: server, dir: bundle.dir });
	const { pages, crashed, close } = await openPages(
		chromium.context,
		`${s.origin}/?transport=sse&share=tabs`,
		TABS,
		{ init: fault === 'freeze-unannounced' ? swallowFreeze : undefined }
	);
	try {
		await until(async () => {
			const all = await Promise.all(pages.map(summary));
			return all.every((p) => p.state.status === 'live' && p.state.shared?.tabs === TABS);
		}, 'every tab live and sharing');
		const roles = await Promise.all(pages.map(async (p) => (await summary(p)).state.shared?.role));
		const leader = pages[roles.indexOf('leader')];
		if (!leader) throw new Error('no leader');
		const rest = pages.filter((p) => p !== leader);
		const cdp = await chromium.context.newCDPSession(leader);
		let faultAt = 0;
		for (let burst = 0; burst < BURSTS; burst++) {
			if (burst === FAULT_AT) {
				faultAt = Date.now();
				if (fault === 'close') void leader.close();
				else if (fault === 'crash') cdp.send('Page.crash').catch(() => {});
				else if (fault === 'freeze')
					await cdp.send('Page.setWebLifecycleState', { state: 'frozen' });
				else {
					void leader
						.evaluate((ms) => {
							const end = Date.now() + ms;
							while (Date.now() < end);
						}, BUSY_MS)
						.catch(() => {});
				}
			}
			s.emit(BURST);
			await sleep(BURST_EVERY_MS);
		}
		/** @type {ReturnType<typeof recovery>} */
		let back;
		await until(
			async () =>
				(back = recovery(
					await Promise.all(rest.map((p) => p.evaluate(() => window.tab.steps))),
					faultAt
				)) !== undefined,
			'the remaining tabs live again',
			30_000
		);
		const total = BURST * BURSTS;
		await until(
			async () => (await Promise.all(rest.map(summary))).every((p) => p.count === total),
			'every row in every remaining tab',
			30_000
		).catch(() => {});
		let lost = 0;
		let duplicated = 0;
		for (const page of rest) {
			lost += (await compare(page, s.rows)).lost.length;
			duplicated += (await summary(page)).duplicates.length;
		}
		if (fault === 'crash' && (crashed.size !== 1 || !crashed.has(leader))) {
			throw new Error(`expected only the leader to crash, ${crashed.size} tabs crashed`);
		}
		// A leader that comes back (thawed, or done with its task) follows: what did it apply twice?
		let again = null;
		if (fault !== 'close' && fault !== 'crash') {
			if (fault !== 'busy') await cdp.send('Page.setWebLifecycleState', { state: 'active' });
			await until(async () => {
				const p = await summary(leader);
				return p.state.shared?.role === 'follower' && p.count === total;
			}, 'the old leader following with every row').catch(() => {});
			again = (await summary(leader)).duplicates.length;
		}
		return { ms: /** @type {NonNullable<typeof back>} */ (back).ms, lost, duplicated, again };
	} finally {
		await close();
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
	const samples = [];
	const goals = { close: 1000, crash: 3000, freeze: 3000, 'freeze-unannounced': 3000, busy: 3000 };
	const labels = {
		close: 'closed',
		crash: 'crashed',
		freeze: 'frozen',
		'freeze-unannounced': 'frozen without a freeze event',
		busy: `busy (one ${BUSY_MS / 1000} s task)`
	};
	try {
		for (const fault of /** @type {Fault[]} */ ([
			'close',
			'crash',
			'freeze',
			'freeze-unannounced',
			'busy'
		])) {
			/** @type {number[]} */
			const times = [];
			let lost = 0;
			let duplicated = 0;
			/** @type {number | null} */
			let again = null;
			let failed = 0;
			for (let i = 0; i < RUNS; i++) {
				try {
					const r = await once(chromium, bundle, server, fault);
					times.push(r.ms);
					console.log(
						`    ${fault} ${i + 1}: live again after ${r.ms} ms, lost ${r.lost}, twice ${r.duplicated}`
					);
					lost += r.lost;
					duplicated += r.duplicated;
					if (r.again !== null) again = (again ?? 0) + r.again;
				} catch (error) {
					failed++;
					samples.push(`${fault} run ${i + 1} failed: ${String(error).split('\n')[0]}`);
				}
			}
			const p50 = times.length ? percentile(times, 50) : null;
			const p95 = times.length ? percentile(times, 95) : null;
			const goal = goals[fault];
			const label = `leader ${labels[fault]}`;
			rows.push(
				row({
					id: 'P11',
					metric: `${label} → tabs live again, p50`,
					unit: 'ms',
					ours: p50,
					goal: `≤ ${goal} ms`,
					pass: p50 !== null && p50 <= goal && failed === 0
				}),
				row({
					id: 'P11',
					metric: `${label} → tabs live again, p95`,
					unit: 'ms',
					ours: p95,
					goal: 'comparison',
					pass: null
				}),
				row({
					id: 'P11',
					metric: `${label}: events lost in the remaining tabs`,
					unit: 'events',
					ours: lost,
					goal: '0',
					pass: lost === 0 && failed === 0
				}),
				row({
					id: 'P11',
					metric: `${label}: events decoded twice in the remaining tabs`,
					unit: 'events',
					ours: duplicated,
					goal: '0',
					pass: duplicated === 0 && failed === 0
				})
			);
			if (again !== null) {
				rows.push(
					row({
						id: 'P11',
						metric: `${label}: events the old leader decoded twice once back`,
						unit: 'events',
						ours: again,
						goal: '0',
						pass: again === 0 && failed === 0
					})
				);
			}
			samples.push(
				`${fault}: ${times.map((t) => round(t, 0)).join(', ')} ms${failed ? `; ${failed} of ${RUNS} runs did not recover` : ''}.`
			);
		}
	} finally {
		await chromium.close();
		bundle.remove();
	}
	return {
		rows,
		notes: [
			`Method: ${TABS} tabs of one Chromium profile (one window: the last tab visible, the others hidden; Chromium started by the benchmark and attached over CDP without Playwright's focus emulation, which would keep every tab visible and make freezing a no-op) share one SSE stream (\`share: 'tabs'\`, \`sse({ url, resumable: true })\`, the kit from dist/ bundled with esbuild) from a Node server (\`sseResponse\` over \`createEventLog\`, room for every event). The server emits ${BURST * BURSTS} events, ${BURST} every ${BURST_EVERY_MS} ms, each the upsert of a new row; after ${FAULT_AT} bursts the leader tab is closed (\`page.close()\`), crashed (CDP \`Page.crash\`, its renderer process only: \`--renderer-process-limit\` and ProcessPerSiteUpToMainFrameThreshold off), frozen (CDP \`Page.setWebLifecycleState\` \`frozen\`, which fires \`freeze\` first), frozen with that event kept from the page's listeners (a capturing \`window\` listener stops it: as in browsers without the event) or kept busy by one ${BUSY_MS / 1000} s task (its event loop blocked, no \`freeze\` event: the followers must notice the silence, probe and steal). ${RUNS} runs each, a new server and new tabs per run.`,
			'"Live again": from the fault until every remaining tab reports `live` after having left it, or, for a tab that never left `live`, until the new leader is live (from the state changes each tab recorded with their times). Lost: rows of the server missing in a remaining tab once the stream is over. Decoded twice: event ids the store decoded more than once in one tab (a `decode` option wrapping defaultDecode counts them).',
			'No baseline: no client this kit compares itself with shares a connection across tabs, so none has a leader to lose (each tab keeps its own connection, see P10).',
			...samples
		]
	};
}
