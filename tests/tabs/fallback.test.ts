// Where tabs cannot share (no Web Locks, no BroadcastChannel, HTTP/2 with `share: 'auto'`), each
// tab connects on its own and everything else works; a malformed message on the channel is dropped
// and reported, never applied.
import fc from 'fast-check';
import type { Page } from 'playwright';
import { describe, expect, it } from 'vitest';
import { bundled, compare, server, summary, tabs, until } from './setup.js';

const PAGES = 4;

/** Served paths of the sharing code's chunk (the lazy `share/tabs` module). */
function shareChunk() {
	const files = bundled().files.filter((file) => /^chunks\/tabs-/.test(file));
	expect(files).toHaveLength(1);
	return `/${files[0]}`;
}

async function ownConnections(init: () => void, check: (page: Page) => Promise<unknown>) {
	const s = await server();
	const { pages } = await tabs(`${s.origin}/?transport=sse&share=tabs`, PAGES, { init });
	for (const page of pages) expect(await check(page)).toBe(false);
	await until(
		async () => (await Promise.all(pages.map(summary))).every((p) => p.state.status === 'live'),
		'every page live',
		20_000,
		{ explain: async () => (await Promise.all(pages.map(summary))).map((p) => p.state.status) }
	);
	expect(s.streams).toBe(PAGES);
	s.emit(1000);
	// Four pages with a stream each, three of them hidden, on a loaded machine: room to catch up, and
	// the counts said if they do not.
	await until(
		async () => (await Promise.all(pages.map(summary))).every((p) => p.count === 1000),
		'1,000 rows in every page',
		60_000,
		{ explain: async () => (await Promise.all(pages.map(summary))).map((p) => p.count) }
	);
	for (const page of pages) {
		const p = await summary(page);
		expect(p.state.shared).toBeUndefined();
		expect(p.duplicates).toEqual([]);
		expect(p.errors).toEqual([]);
		expect(await compare(page, s.rows)).toEqual({ lost: [], wrong: [], count: 1000 });
	}
	expect(s.streams).toBe(PAGES);
}

// Longer than both waits in ownConnections together, so that a wait that runs out says why.
const OWN_TIMEOUT = 100_000;

describe('tabs that cannot share connect on their own', () => {
	it(
		'without Web Locks: one stream per tab, the whole list in each',
		{ timeout: OWN_TIMEOUT },
		async () => {
			await ownConnections(
				() => void delete (Navigator.prototype as { locks?: unknown }).locks,
				(page) => page.evaluate(() => 'locks' in navigator)
			);
		}
	);

	it(
		'without BroadcastChannel: one stream per tab, the whole list in each',
		{ timeout: OWN_TIMEOUT },
		async () => {
			await ownConnections(
				() => void delete (globalThis as { BroadcastChannel?: unknown }).BroadcastChannel,
				(page) => page.evaluate(() => 'BroadcastChannel' in globalThis)
			);
		}
	);
});

describe("share: 'auto'", () => {
	it('shares over this HTTP/1.1 server', async () => {
		const s = await server();
		const { pages } = await tabs(`${s.origin}/?transport=sse&share=auto`, 3);
		expect(
			await pages[0]!.evaluate(
				() =>
					(performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming)
						.nextHopProtocol
			)
		).toBe('http/1.1');
		await until(async () => {
			const all = await Promise.all(pages.map(summary));
			return all.every((p) => p.state.status === 'live' && p.state.shared?.tabs === 3);
		}, 'every page live and sharing');
		expect(s.streams).toBe(1);
		expect(s.served[shareChunk()]).toBe(3);
	});

	it('does not share when the page came over HTTP/2', async () => {
		const s = await server();
		const { pages } = await tabs(`${s.origin}/?transport=sse&share=auto`, 3, {
			init: () => {
				const real = performance.getEntriesByType.bind(performance);
				performance.getEntriesByType = (type: string) =>
					type === 'navigation'
						? ([{ nextHopProtocol: 'h2' }] as unknown as PerformanceEntryList)
						: real(type);
			}
		});
		await until(
			async () => (await Promise.all(pages.map(summary))).every((p) => p.state.status === 'live'),
			'every page live'
		);
		for (const page of pages) expect((await summary(page)).state.shared).toBeUndefined();
		expect(s.streams).toBe(3);
	});

	it('share off: the sharing code is never loaded', async () => {
		const s = await server();
		const { pages } = await tabs(`${s.origin}/?transport=sse&share=off`, 2);
		await until(
			async () => (await Promise.all(pages.map(summary))).every((p) => p.state.status === 'live'),
			'both pages live'
		);
		expect(s.streams).toBe(2);
		expect(s.served['/page.js']).toBe(2);
		expect(s.served[shareChunk()]).toBeUndefined();
	});
});

describe('the channel', () => {
	it('drops and reports malformed messages; the list stays as it was', async () => {
		const s = await server();
		const { pages } = await tabs(`${s.origin}/?transport=sse&share=tabs`, 3);
		await until(async () => {
			const all = await Promise.all(pages.map(summary));
			return all.every((p) => p.state.status === 'live' && p.state.shared?.tabs === 3);
		}, 'every page live and sharing');
		s.emit(10);
		await until(
			async () => (await Promise.all(pages.map(summary))).every((p) => p.count === 10),
			'10 rows everywhere'
		);
		const name = await pages[0]!.evaluate(() => window.tab.shareName());
		expect(name).toMatch(/^srk1 /);
		// Posted by a channel object of the test's own: every tab's channel receives them.
		const malformed = await pages[0]!.evaluate((channelName) => {
			const junk: unknown[] = [
				'junk',
				null,
				42,
				{ t: 'nope', e: 1 },
				{ t: 'm', e: 'one', s: 1, a: '{}', b: {} },
				{ t: 'm', e: 1, s: -1, a: '{}', b: {} },
				{ t: 'm', e: 1, s: 1, a: '{"id":"evil"}', b: { id: 7 } },
				{ t: 'a', e: 1, s: 1, a: 'rows' },
				{ t: 'st', e: 1, a: { status: 'exploded' } },
				{ t: 'st', e: 1 }
			];
			const channel = new BroadcastChannel(channelName!);
			for (const message of junk) channel.postMessage(message);
			channel.close();
			return junk.length;
		}, name);
		await until(
			async () => (await Promise.all(pages.map(summary))).every((p) => p.dropped === malformed),
			`${malformed} dropped in every page`,
			10_000,
			{ explain: () => Promise.all(pages.map(summary)) }
		);
		for (const page of pages) {
			const p = await summary(page);
			expect(p.errors).toHaveLength(malformed);
			expect(p.state.status).toBe('live');
			expect(await compare(page, s.rows)).toEqual({ lost: [], wrong: [], count: 10 });
		}
		// Still sharing, still applying the stream.
		s.emit(10);
		await until(
			async () => (await Promise.all(pages.map(summary))).every((p) => p.count === 20),
			'20 rows everywhere'
		);
		for (const page of pages) {
			expect(await compare(page, s.rows)).toEqual({ lost: [], wrong: [], count: 20 });
		}
		expect(s.streams).toBe(1);
	});

	it('drops generated junk: any value that is not a message, and messages with a broken field', async () => {
		const s = await server();
		const { pages } = await tabs(`${s.origin}/?transport=sse&share=tabs`, 2);
		await until(async () => {
			const all = await Promise.all(pages.map(summary));
			return all.every((p) => p.state.status === 'live' && p.state.shared?.tabs === 2);
		}, 'both pages live and sharing');
		s.emit(10);
		await until(
			async () => (await Promise.all(pages.map(summary))).every((p) => p.count === 10),
			'10 rows in both'
		);
		const name = await pages[0]!.evaluate(() => window.tab.shareName());
		const types = ['hi', 'probe', 'lead', 'm', 'x', 'g', 'a', 'st', 'ack', 'mut', 'retry', 'at'];
		const notNumber = fc.oneof(fc.string(), fc.boolean(), fc.constant(null), fc.object());
		// Cloneable values whose `t` (if any) is no message type of the kit.
		const anything = fc
			.anything({ withBigInt: true, withDate: true, withMap: true, withSet: true })
			.filter(
				(v) => !(typeof v === 'object' && v !== null && types.includes((v as { t?: string }).t!))
			);
		// A numbered message whose epoch, sequence number or meta is of the wrong type.
		const broken = fc.oneof(
			fc.record({ t: fc.constantFrom('m', 'x', 'g', 'a'), e: notNumber, s: fc.constant(1) }),
			fc.record({
				t: fc.constantFrom('m', 'x', 'g', 'a'),
				e: fc.constant(1),
				s: fc.oneof(fc.integer({ max: 0 }), fc.double({ noInteger: true }), notNumber)
			}),
			fc.record({
				t: fc.constant('m'),
				e: fc.constant(1),
				s: fc.constant(1),
				a: fc.string(),
				b: fc.oneof(fc.constant(null), fc.string(), fc.record({ id: fc.integer() }))
			})
		);
		const junk = fc.sample(fc.oneof(anything, broken), { numRuns: 60, seed: 18 });
		await pages[0]!.evaluate(
			({ channelName, messages }) => {
				const channel = new BroadcastChannel(channelName!);
				for (const message of messages) channel.postMessage(message);
				channel.close();
			},
			{ channelName: name, messages: junk }
		);
		await until(
			async () => (await Promise.all(pages.map(summary))).every((p) => p.dropped === junk.length),
			`${junk.length} dropped in both pages`,
			10_000,
			{ explain: async () => (await Promise.all(pages.map(summary))).map((p) => p.dropped) }
		);
		for (const page of pages) {
			expect((await summary(page)).state.status).toBe('live');
			expect(await compare(page, s.rows)).toEqual({ lost: [], wrong: [], count: 10 });
		}
	});
});
