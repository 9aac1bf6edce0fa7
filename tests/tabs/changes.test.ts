// Changes made in a follower tab: over socket.io they go through the leader's socket and the
// acknowledgement comes back to the tab that asked; over SSE the tab commits over HTTP itself. A
// change in flight while the leader closes is applied once at the server and settles anyway.
import type { Page } from 'playwright';
import { describe, expect, it } from 'vitest';
import { server, summary, tabs, until } from './setup.js';

const role = async (page: Page) => (await summary(page)).state.shared?.role;
const row = (page: Page, key: string) => page.evaluate((k) => window.tab.row(k), key);
const outcome = (page: Page, key: string) => page.evaluate((k) => window.tab.toggles[k], key);

async function shared(transport: 'sse' | 'socket.io', count: number, ackDelayMs = 0) {
	const s = await server({ ackDelayMs });
	const { pages } = await tabs(`${s.origin}/?transport=${transport}&share=tabs`, count);
	await until(async () => {
		const all = await Promise.all(pages.map(summary));
		return all.every((p) => p.state.status === 'live' && p.state.shared?.tabs === count);
	}, `${count} pages live and sharing`);
	s.emit(5);
	await until(
		async () => (await Promise.all(pages.map(summary))).every((p) => p.count === 5),
		'5 rows everywhere',
		20_000,
		{ explain: () => Promise.all(pages.map(summary)) }
	);
	const roles = await Promise.all(pages.map(role));
	const leader = pages[roles.indexOf('leader')]!;
	const followers = pages.filter((p) => p !== leader);
	return { s, pages, leader, followers };
}

/** Every page shows `key` done and settled. */
const settledEverywhere = (pages: Page[], key: string) =>
	until(async () => {
		const rows = await Promise.all(pages.map((p) => row(p, key)));
		return rows.every((r) => r?.done === true && r.status === 'settled');
	}, `${key} done and settled in every page`);

describe("a follower's change", () => {
	it('over socket.io goes through the leader; the ack settles it in the follower', async () => {
		const { s, pages, followers } = await shared('socket.io', 3);
		expect(s.sockets).toBe(1);
		const follower = followers[0]!;
		await follower.evaluate(() => window.tab.toggle('r2'));
		await until(async () => (await outcome(follower, 'r2')) === 'ok', 'the toggle resolved');
		await settledEverywhere(pages, 'r2');
		// Pending in the tab that made it until the leader's socket brought the ack back.
		expect(await follower.evaluate(() => window.tab.statuses.r2)).toEqual(['pending', 'settled']);
		const entries = [...s.mutations.values()];
		expect(entries).toEqual([{ received: 1, applied: 1, via: ['socket.io'] }]);
		expect(s.rows.get('r2')?.done).toBe(true);
		expect(s.peakSockets).toBe(1);
	});

	it('over SSE is committed by the follower itself (its own PATCH), settled by the echo', async () => {
		const { s, pages, followers } = await shared('sse', 3);
		const follower = followers[1]!;
		await follower.evaluate(() => window.tab.toggle('r3'));
		await until(async () => (await outcome(follower, 'r3')) === 'ok', 'the toggle resolved');
		await settledEverywhere(pages, 'r3');
		expect(await follower.evaluate(() => window.tab.statuses.r3)).toEqual(['pending', 'settled']);
		expect([...s.mutations.values()]).toEqual([{ received: 1, applied: 1, via: ['http'] }]);
		expect(s.streams).toBe(1);
	});

	it('in flight over socket.io while the leader closes: applied once, settled in the follower', async () => {
		const { s, leader, followers } = await shared('socket.io', 3, 800);
		const follower = followers[0]!;
		const received = s.nextReceipt();
		await follower.evaluate(() => window.tab.toggle('r4'));
		const mutationId = await received;
		// The server has it and answers in 800 ms: the leader goes before the answer.
		await leader.close();
		await until(
			async () => (await outcome(follower, 'r4')) === 'ok',
			'the toggle resolved',
			30_000
		);
		await settledEverywhere(followers, 'r4');
		expect(await follower.evaluate(() => window.tab.statuses.r4)).toEqual(['pending', 'settled']);
		const entry = s.mutations.get(mutationId)!;
		expect(entry.applied).toBe(1);
		// Sent again by the new leader with the same mutation id (or not at all): never applied twice.
		expect(entry.received).toBeLessThanOrEqual(2);
		expect(s.mutations.size).toBe(1);
		expect(s.sockets).toBe(1);
		console.log(`toggle in flight through a handoff: received ${entry.received}×, applied once`);
	});

	it('in flight over SSE (its PATCH) while the leader closes: applied once, settled by the replayed echo', async () => {
		const { s, leader, followers } = await shared('sse', 3, 800);
		const follower = followers[0]!;
		const received = s.nextReceipt();
		await follower.evaluate(() => window.tab.toggle('r5'));
		const mutationId = await received;
		await leader.close();
		await until(
			async () => (await outcome(follower, 'r5')) === 'ok',
			'the toggle resolved',
			30_000
		);
		await settledEverywhere(followers, 'r5');
		expect(await follower.evaluate(() => window.tab.statuses.r5)).toEqual(['pending', 'settled']);
		expect(s.mutations.get(mutationId)).toEqual({ received: 1, applied: 1, via: ['http'] });
		await until(() => s.streams === 1, 'one stream at the server');
	});
});
