// Eight real tabs (pages of one Chromium profile) against a real SSE server: one stream for all of
// them, one leader, and the server's list in every tab.
import { describe, expect, it } from 'vitest';
import { compare, server, summary, tabs, until } from './setup.js';

describe('tabs share one connection', () => {
	it('8 pages: 1 stream at the server, 1 leader and 7 followers, all with the 1,000 rows', async () => {
		const s = await server();
		const { pages } = await tabs(`${s.origin}/?transport=sse&share=tabs`, 8);
		await until(async () => {
			const all = await Promise.all(pages.map(summary));
			return all.every((p) => p.state.status === 'live' && p.state.shared?.tabs === 8);
		}, 'every page live, sharing with 8 tabs');
		expect(s.streams).toBe(1);
		for (let burst = 0; burst < 10; burst++) {
			s.emit(100);
			await new Promise((done) => setTimeout(done, 20));
		}
		await until(
			async () => (await Promise.all(pages.map(summary))).every((p) => p.count === 1000),
			'1,000 rows in every page'
		);
		const all = await Promise.all(pages.map(summary));
		expect(all.filter((p) => p.state.shared?.role === 'leader')).toHaveLength(1);
		expect(all.filter((p) => p.state.shared?.role === 'follower')).toHaveLength(7);
		for (const [i, page] of pages.entries()) {
			const { lost, wrong, count } = await compare(page, s.rows);
			expect({ page: i, lost, wrong, count, duplicates: all[i]!.duplicates }).toEqual({
				page: i,
				lost: [],
				wrong: [],
				count: 1000,
				duplicates: []
			});
		}
		expect(s.streams).toBe(1);
		expect(s.peakStreams).toBe(1);
		expect(s.streamRequests).toEqual([null]);
	});
});
