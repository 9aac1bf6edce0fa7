// The leader tab lost in the middle of a 10,000-event stream (closed, crashed, frozen, frozen
// without its `freeze` event reaching the page, or busy for seconds): another tab takes over and
// resumes from the last event id, and every remaining tab ends with every row once; a leader that
// comes back steps down.
import type { Page } from 'playwright';
import { describe, expect, it } from 'vitest';
import {
	browserContext,
	compare,
	recovery,
	server,
	summary,
	tabs,
	until,
	type Step
} from './setup.js';

const PAGES = 4;
const EVENTS = 10_000;
const BURST = 250;
const BURST_EVERY_MS = 40;

type Fault = 'close' | 'crash' | 'freeze' | 'freeze-unannounced' | 'busy';

/** How long the `busy` leader's main thread runs one task. */
const BUSY_MS = 4000;

/**
 * Keeps the `freeze` event from the page's own listeners (a capturing listener on `window` runs
 * first): the page is frozen without warning, as where browsers have no such event.
 */
const swallowFreeze = () =>
	window.addEventListener('freeze', (event) => event.stopImmediatePropagation(), true);

const steps = (page: Page): Promise<Step[]> => page.evaluate(() => window.tab.steps);

async function leaderLost(fault: Fault) {
	const s = await server();
	const { pages, crashed } = await tabs(`${s.origin}/?transport=sse&share=tabs`, PAGES, {
		init: fault === 'freeze-unannounced' ? swallowFreeze : undefined
	});
	await until(async () => {
		const all = await Promise.all(pages.map(summary));
		return all.every((p) => p.state.status === 'live' && p.state.shared?.tabs === PAGES);
	}, `every page live, sharing with ${PAGES} tabs`);
	const roles = await Promise.all(pages.map(async (p) => (await summary(p)).state.shared?.role));
	const leader = pages[roles.indexOf('leader')]!;
	const rest = pages.filter((p) => p !== leader);
	const cdp = await browserContext().newCDPSession(leader);

	// The stream runs in bursts while the fault happens, halfway.
	let faultAt = 0;
	const stream = (async () => {
		for (let sent = 0; sent < EVENTS; sent += BURST) {
			if (sent === EVENTS / 2) {
				faultAt = Date.now();
				if (fault === 'close') void leader.close();
				else if (fault === 'crash') cdp.send('Page.crash').catch(() => {});
				else if (fault === 'busy') {
					void leader.evaluate((ms) => {
						const end = Date.now() + ms;
						while (Date.now() < end);
					}, BUSY_MS);
				} else await cdp.send('Page.setWebLifecycleState', { state: 'frozen' });
			}
			s.emit(BURST);
			await new Promise((done) => setTimeout(done, BURST_EVERY_MS));
		}
	})();
	await stream;
	if (fault === 'crash') await until(() => crashed.has(leader), 'the leader page crashed');

	let back: ReturnType<typeof recovery>;
	await until(
		async () => (back = recovery(await Promise.all(rest.map(steps)), faultAt)) !== undefined,
		'the remaining pages live again'
	).catch(async (error) => {
		const seen = await Promise.all(
			rest.map(async (p) => ({
				...(await summary(p)),
				steps: (await steps(p)).map((x) => ({ ...x, t: x.t - faultAt }))
			}))
		);
		console.log(JSON.stringify(seen));
		throw error;
	});
	await until(
		async () => (await Promise.all(rest.map(summary))).every((p) => p.count === EVENTS),
		`${EVENTS} rows in every remaining page`
	);
	console.log(
		`leader ${fault}: followers live again after ${back!.ms} ms (each: ${back!.each.join(', ')} ms)`
	);

	const all = await Promise.all(rest.map(summary));
	expect(all.filter((p) => p.state.shared?.role === 'leader')).toHaveLength(1);
	for (const [i, page] of rest.entries()) {
		const { lost, wrong } = await compare(page, s.rows);
		expect({ page: i, lost: lost.length, wrong, duplicates: all[i]!.duplicates }).toEqual({
			page: i,
			lost: 0,
			wrong: [],
			duplicates: []
		});
		// Resumed, not resynced: no tab got a second snapshot.
		expect(all[i]!.snapshots).toBeLessThanOrEqual(1);
	}
	// The new leader resumed from an event id.
	expect(s.streamRequests[0]).toBeNull();
	expect(s.streamRequests.slice(1).every((id) => id !== null && /^\d+$/.test(id))).toBe(true);
	return { s, pages, leader, rest, crashed, cdp, back: back! };
}

describe('the leader tab lost during a 10,000-event stream', () => {
	it('closed: another tab leads, 0 lost and 0 duplicated in every remaining page', async () => {
		const { s, crashed } = await leaderLost('close');
		expect(crashed.size).toBe(0);
		expect(s.streams).toBe(1);
	});

	it('crashed (Page.crash): only that page crashed; 0 lost, 0 duplicated', async () => {
		const { s, crashed, leader, rest } = await leaderLost('crash');
		expect([...crashed]).toEqual([leader]);
		await until(
			async () => {
				const all = await Promise.all(rest.map(summary));
				return all.every((p) => p.state.shared?.tabs === PAGES - 1);
			},
			`the remaining pages count ${PAGES - 1} tabs`
		);
		expect(s.streams).toBe(1);
	});

	/** The old leader, back (thawed or done with its long task): it follows and has every row. */
	async function comesBack(s: Awaited<ReturnType<typeof leaderLost>>['s'], leader: Page) {
		await until(async () => {
			const p = await summary(leader);
			return p.state.shared?.role === 'follower' && p.state.status === 'live';
		}, 'the old leader follows');
		await until(
			async () => (await summary(leader)).count === EVENTS,
			'the old leader has every row'
		);
		const { lost, wrong } = await compare(leader, s.rows);
		const { duplicates, twice } = await summary(leader);
		if (duplicates.length > 0) {
			console.log(
				`old leader decoded ${duplicates.length} ids twice (${duplicates[0]}…${duplicates.at(-1)}), by role: ${JSON.stringify(twice)}`
			);
		}
		expect({ lost: lost.length, wrong, duplicates }).toEqual({
			lost: 0,
			wrong: [],
			duplicates: []
		});
		// Its own stream closed once it stepped down.
		await until(() => s.streams === 1, 'one stream at the server');
	}

	it('frozen: another tab leads; thawed, the old leader follows with the same rows', async () => {
		const { s, leader, cdp, crashed } = await leaderLost('freeze');
		expect(crashed.size).toBe(0);
		await cdp.send('Page.setWebLifecycleState', { state: 'active' });
		await comesBack(s, leader);
	});

	it('frozen without a freeze event: the followers steal; thawed, the old leader steps down', async () => {
		const { s, leader, cdp } = await leaderLost('freeze-unannounced');
		await cdp.send('Page.setWebLifecycleState', { state: 'active' });
		await comesBack(s, leader);
	});

	it(`busy for ${BUSY_MS / 1000} s (one long task): the followers steal; the old leader steps down`, async () => {
		const { s, leader } = await leaderLost('busy');
		await comesBack(s, leader);
	});
});
