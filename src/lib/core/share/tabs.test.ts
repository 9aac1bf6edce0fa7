import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { Sim, type Tab } from '../../../../tests/helpers/fake-tabs.js';

beforeAll(async () => {
	// Loaded once, so that each tab's lazy import resolves at once.
	await import('./tabs.js');
});

const serverIds = (sim: Sim) =>
	[...sim.server.rows.values()].map((row) => row.n).sort((a, b) => a - b);
const leaders = (sim: Sim) => sim.alive.filter((tab) => tab.role === 'leader');

async function openTabs(sim: Sim, count: number, options = {}) {
	const tabs: Tab[] = [];
	for (let i = 0; i < count; i++) {
		const tab = sim.open(options);
		tab.start();
		tabs.push(tab);
		await sim.advance(50);
	}
	await sim.advance(1000);
	return tabs;
}

describe('sharing a connection across tabs', () => {
	it('opens one stream for several tabs, and every tab shows the list', async () => {
		const sim = new Sim(1);
		sim.server.emit(5);
		const tabs = await openTabs(sim, 4);
		expect(sim.server.connections.size).toBe(1);
		expect(leaders(sim)).toHaveLength(1);
		sim.server.emit(100);
		await sim.advance(1000);
		for (const tab of tabs) {
			expect(tab.ids()).toEqual(serverIds(sim));
			expect(tab.duplicates()).toEqual([]);
			expect(tab.state_.status).toBe('live');
			expect(tab.state_.shared?.tabs).toBe(4);
		}
	});

	it('S51 hands over when the leader is gone, and loses nothing', async () => {
		const sim = new Sim(2);
		const tabs = await openTabs(sim, 3);
		sim.server.emit(10);
		await sim.advance(10);
		const [leader] = leaders(sim);
		leader!.kill();
		sim.server.emit(10);
		await sim.advance(3000);
		sim.server.emit(10);
		await sim.advance(1000);
		expect(leaders(sim)).toHaveLength(1);
		expect(sim.server.connections.size).toBe(1);
		for (const tab of tabs.filter((t) => t !== leader)) {
			expect(tab.ids()).toEqual(serverIds(sim));
			expect(tab.duplicates()).toEqual([]);
		}
	});

	it('S52 S53 takes over from a frozen leader, which steps down when it wakes', async () => {
		const sim = new Sim(3);
		const tabs = await openTabs(sim, 3);
		sim.server.emit(10);
		await sim.advance(10);
		const [leader] = leaders(sim);
		leader!.freeze();
		sim.server.emit(10);
		await sim.advance(4000);
		const next = leaders(sim).filter((tab) => tab !== leader);
		expect(next).toHaveLength(1);
		sim.server.emit(10);
		await sim.advance(1000);
		leader!.thaw();
		await sim.advance(3000);
		expect(leaders(sim)).toEqual(next);
		expect(sim.server.connections.size).toBe(1);
		for (const tab of tabs) {
			expect(tab.ids()).toEqual(serverIds(sim));
			expect(tab.duplicates()).toEqual([]);
		}
	});
});

type Step =
	| { type: 'emit'; count: number }
	| { type: 'wait'; ms: number }
	| { type: 'open' }
	| {
			type: 'kill' | 'freeze' | 'thaw' | 'stop' | 'toggle' | 'pause' | 'resume';
			tab: number;
			row?: number;
	  };

const step: fc.Arbitrary<Step> = fc.oneof(
	{
		weight: 4,
		arbitrary: fc.record({
			type: fc.constant('emit' as const),
			count: fc.integer({ min: 1, max: 15 })
		})
	},
	{
		weight: 4,
		arbitrary: fc.record({
			type: fc.constant('wait' as const),
			ms: fc.integer({ min: 1, max: 3500 })
		})
	},
	{ weight: 2, arbitrary: fc.record({ type: fc.constant('open' as const) }) },
	...(['kill', 'freeze', 'thaw', 'stop', 'toggle', 'pause', 'resume'] as const).map((type) => ({
		weight: type === 'toggle' ? 3 : 1,
		arbitrary: fc.record({ type: fc.constant(type), tab: fc.nat(7), row: fc.nat(50) })
	}))
);

const RUNS = Number(process.env.FUZZ_RUNS ?? 60);

describe('sharing across tabs under generated closes, crashes, freezes and changes', () => {
	for (const twoWay of [false, true]) {
		it(`S51–S54 ends with one leader, one stream, every row once in every tab (${twoWay ? 'two-way: changes through the leader' : 'SSE + commit'}; each tab remembers 8 event ids)`, async () => {
			await fc.assert(
				fc.asyncProperty(
					fc.integer({ min: 1 }),
					fc.array(step, { maxLength: 30 }),
					async (seed, steps) => {
						const sim = new Sim(seed);
						sim.server.emit(3);
						const outcomes: { tab: Tab; mutation: Promise<string> }[] = [];
						for (let i = 0; i < 3; i++) {
							sim.open({ twoWay, dedupeWindow: 8 }).start();
							await sim.advance(20);
						}
						for (const s of steps) {
							const tab = 'tab' in s ? sim.tabs[s.tab % sim.tabs.length]! : undefined;
							switch (s.type) {
								case 'emit':
									sim.server.emit(s.count);
									break;
								case 'wait':
									await sim.advance(s.ms);
									break;
								case 'open':
									if (sim.tabs.length < 8) sim.open({ twoWay, dedupeWindow: 8 }).start();
									break;
								case 'kill':
									tab!.kill();
									break;
								case 'freeze':
									tab!.freeze();
									break;
								case 'thaw':
									tab!.thaw();
									break;
								case 'stop':
									if (tab!.started) tab!.stop();
									break;
								case 'pause':
								case 'resume':
									if (tab!.started) {
										const method = s.type;
										sim.task(tab!, 0, () => tab!.source.connection[method]());
									}
									break;
								case 'toggle': {
									if (!tab!.started || tab!.state === 'gone') break;
									const mutation = new Promise<string>((resolve) =>
										sim.task(tab!, 0, () => {
											// A row this tab shows (it may not have every row yet).
											const rows = tab!.source.store.getSnapshot().items;
											if (rows.length === 0) return resolve('ok');
											tab!.source.store.toggle(rows[s.row! % rows.length]!.id).then(
												() => resolve('ok'),
												(error: Error) => resolve(error.message)
											);
										})
									);
									outcomes.push({ tab: tab!, mutation });
									break;
								}
							}
							await sim.advance(1);
						}
						for (const tab of sim.tabs) {
							tab.thaw();
							if (tab.started) sim.task(tab, 0, () => tab.source.connection.resume());
						}
						await sim.advance(8000);
						sim.server.emit(1);
						await sim.advance(2000);

						const alive = sim.alive;
						if (alive.length === 0) return;
						expect(leaders(sim)).toHaveLength(1);
						expect(sim.server.connections.size).toBe(1);
						for (const tab of alive) {
							expect(tab.ids(), `rows of ${tab.id}`).toEqual(serverIds(sim));
							expect(tab.duplicates(), `duplicates in ${tab.id}`).toEqual([]);
							expect(tab.state_.status).toBe('live');
							expect(tab.state_.shared?.tabs).toBe(alive.length);
							expect(tab.errors).toEqual([]);
							expect(
								tab.source.store.getSnapshot().rows.filter((row) => row.status !== 'settled')
							).toEqual([]);
						}
						// Every change made in a tab that is still open went through, applied once.
						for (const { tab, mutation } of outcomes) {
							if (!tab.started) continue;
							expect(await mutation).toBe('ok');
						}
						for (const count of sim.server.applied.values()) expect(count).toBe(1);
					}
				),
				{ numRuns: RUNS }
			);
		}, 120_000);
	}
});

describe('sharing: input it refuses, and where it cannot share', () => {
	it('S55 drops and reports a message on the channel that is not one of the kit’s, and applies nothing', async () => {
		const sim = new Sim(7);
		sim.server.emit(3);
		const tabs = await openTabs(sim, 2);
		const follower = tabs.find((tab) => tab.role === 'follower')!;
		const name = [...sim.channels.keys()][0]!;
		const before = follower.ids();
		const intruder = sim.open();
		const garbage: unknown[] = [
			null,
			'hello',
			{ t: 'm' },
			{ t: 'm', e: Number.NaN, s: 1, a: '{}', b: {} },
			{ t: 'm', e: 9e15, s: 0, a: '{"id":"x","n":99}', b: { id: '99' } },
			{ t: 'm', e: 9e15, s: 1, a: '{"id":"x","n":99}', b: 'meta' },
			{ t: 'st', e: 9e15, a: { status: 'exploded' } },
			{ t: 'a', e: 9e15, s: 1, a: { items: 'nope', ids: [] } },
			{ t: 'nonsense', e: 1 },
			{ t: 'hi', f: 42 },
			{ t: 'mut', f: 'x', i: {}, d: { type: 'mutation' }, o: {} },
			{ t: 'mut', f: 'x', i: 'm1', d: { type: 'mutation' } },
			{ t: 'ack', e: 9e15, to: 7, i: 'm1' }
		];
		const channel = new intruder.env.BroadcastChannel!(name);
		for (const message of garbage) channel.postMessage(message);
		await sim.advance(100);
		expect(follower.errors).toHaveLength(garbage.length);
		expect(follower.source.store.getSnapshot().dropped).toBe(garbage.length);
		expect(follower.ids()).toEqual(before);
		expect(follower.role).toBe('follower');
		expect(leaders(sim)).toHaveLength(1);
	});

	it('S56 connects each tab on its own where Web Locks or BroadcastChannel are missing', async () => {
		const native = Object.getOwnPropertyDescriptor(globalThis, 'BroadcastChannel');
		for (const missing of ['locks', 'BroadcastChannel'] as const) {
			const sim = new Sim(8);
			sim.server.emit(2);
			// Node has a BroadcastChannel of its own: gone for this run.
			if (missing === 'BroadcastChannel')
				Object.defineProperty(globalThis, 'BroadcastChannel', {
					value: undefined,
					configurable: true
				});
			const tabs = [0, 1, 2].map(() => {
				const tab = sim.open();
				Object.defineProperty(tab.env, missing, { value: undefined });
				tab.start();
				return tab;
			});
			await sim.advance(500);
			if (native) Object.defineProperty(globalThis, 'BroadcastChannel', native);
			expect(sim.server.connections.size).toBe(3);
			for (const tab of tabs) {
				expect(tab.state_.status).toBe('live');
				expect(tab.state_.shared).toBeUndefined();
				expect(tab.ids()).toEqual(serverIds(sim));
			}
		}
	});

	it('refuses a bad share or shareKey, and a transport that does not say what it receives', async () => {
		const { createLiveSource } = await import('../live-source.js');
		const { sse } = await import('../transports/sse.js');
		const transport = sse({ url: '/stream' });
		expect(() => createLiveSource({ transport, share: 'yes' as never })).toThrow(/share/);
		expect(() => createLiveSource({ transport, share: 'tabs', shareKey: 7 as never })).toThrow(
			/shareKey/
		);
		const perAttempt = sse({ url: () => '/stream' });
		expect(() => createLiveSource({ transport: perAttempt, share: 'tabs' })).toThrow(/shareKey/);
		expect(() =>
			createLiveSource({ transport: { kind: 'mine', open: () => ({ close() {} }) }, share: 'auto' })
		).toThrow(/identity/);
		expect(() =>
			createLiveSource({ transport: perAttempt, share: 'tabs', shareKey: 'user-1' })
		).not.toThrow();
		expect(() => createLiveSource({ transport, share: false })).not.toThrow();
		// The engine's own options are checked at once too, shared or not.
		expect(() => createLiveSource({ transport, share: 'tabs', staleAfter: -1 })).toThrow(
			/staleAfter/
		);
	});

	it('keeps tabs apart whose transports or keys differ', async () => {
		const sim = new Sim(9);
		const a = sim.open();
		const b = sim.open();
		a.start();
		b.start();
		await sim.advance(500);
		expect(sim.channels.size).toBe(1);
		const { createLiveSource } = await import('../live-source.js');
		const names = new Set<string>();
		for (const [url, shareKey] of [
			['/a', undefined],
			['/b', undefined],
			['/a', 'user-1'],
			['/a', 'user-2']
		] as const) {
			const tab = sim.open();
			const source = createLiveSource({
				transport: { ...sim.server.transport(tab, false), identity: { url } },
				env: tab.env,
				share: 'tabs',
				shareKey
			});
			sim.task(tab, 0, () => source.start());
			await sim.advance(50);
			for (const channelName of sim.channels.keys()) names.add(channelName);
			sim.task(tab, 0, () => source.stop());
		}
		// the first two tabs' channel, and one per distinct transport and key
		expect(names.size).toBe(5);
	});
});
