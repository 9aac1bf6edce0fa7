/**
 * S57: a server node killed (SIGKILL) in the middle of a 10,000-event stream written through two
 * nodes that share one Redis stream and one SQLite file, while clients also drop their streams at
 * random points. Every client resumes on the surviving node with its Last-Event-ID and ends with
 * every event exactly once, in order. Cut points come from a seeded PRNG: SEED=<n> repeats them.
 */
import { afterAll, afterEach, describe, expect, it, onTestFailed, vi } from 'vitest';
import { createLiveSource, sse, type LiveSourceHandle } from '../../src/lib/core/index.js';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';
import {
	getList,
	killAllNodes,
	openRaw,
	prng,
	sharedDb,
	startNode,
	streamEvents,
	write,
	type Item,
	type RawAttempt,
	type RawEvent,
	type ServerNode
} from './node-server.spawn.js';

let redis: RedisServer | undefined;
afterEach(killAllNodes);
afterAll(async () => {
	await redis?.stop();
});

/** Orders two wire ids `<epoch>:<ms>-<seq>` of one epoch. */
function compareIds(a: string, b: string): number {
	const [am, as] = a
		.slice(a.indexOf(':') + 1)
		.split('-')
		.map(Number) as [number, number];
	const [bm, bs] = b
		.slice(b.indexOf(':') + 1)
		.split('-')
		.map(Number) as [number, number];
	return am - bm || as - bs;
}

/** Lost, duplicated and out-of-order events of a client, against the log's events after `from`. */
function audit(received: RawEvent[], truth: Array<{ id: string; data: unknown }>, from: string) {
	const expected = truth.filter((event) => compareIds(event.id, from) > 0);
	const seen = new Map<string, number>();
	let outOfOrder = 0;
	let wrongData = 0;
	const byId = new Map(truth.map((event) => [event.id, event]));
	let previous = from;
	for (const event of received) {
		const id = event.id ?? '';
		seen.set(id, (seen.get(id) ?? 0) + 1);
		if (compareIds(id, previous) <= 0) outOfOrder++;
		previous = id;
		if (JSON.stringify(byId.get(id)?.data) !== event.data) wrongData++;
	}
	const lost = expected.filter((event) => !seen.has(event.id));
	const duplicated = [...seen].filter(([, count]) => count > 1);
	return {
		lost: lost.length,
		duplicated: duplicated.length,
		outOfOrder,
		wrongData,
		firstLost: lost[0]?.id,
		firstDuplicated: duplicated[0]?.[0]
	};
}

describe('S57 a node killed mid-stream', () => {
	it('S37 S57 SIGKILL of a node during 10,000 events, with random cuts: every client gets each event once, in order', async () => {
		const seed = Number(process.env.SEED ?? Math.floor(Math.random() * 2 ** 31));
		onTestFailed(() => console.error(`S57 failed with SEED=${seed}`));
		const rand = prng(seed);
		redis = await startRedis();
		const key = 'srk:kill';
		const env = { REDIS_URL: redis.url, DB_PATH: sharedDb(), LOG_KEY: key, LOG_LIMIT: '20000' };
		const [a, b] = await Promise.all([startNode('A', env), startNode('B', env)]);
		const TOTAL = 10_000;
		const killAt = rand.int(1500, 7000);

		const stop = new AbortController();
		const alive = () => (a.exited ? [b] : [a, b]);

		// Raw readers: four start on A, two on B; each drops its stream at its own random points
		// and reconnects to a random live node with the last id it received.
		type Client = { attempts: RawAttempt[]; received: RawEvent[]; lastId?: string; from?: string };
		const clients: Client[] = [];
		const runClient = async (client: Client, first: ServerNode, cuts: ReturnType<typeof prng>) => {
			let node = first;
			while (!stop.signal.aborted) {
				const cutAfter = cuts.next() < 0.9 ? cuts.int(1, 500) : undefined;
				const attempt = await openRaw(node, {
					lastEventId: client.lastId,
					cutAfter,
					signal: stop.signal,
					onEvent(event) {
						if (event.event === 'snapshot') client.from ??= event.id;
						else client.received.push(event);
						if (event.id) client.lastId = event.id;
					}
				});
				client.attempts.push(attempt);
				const live = alive();
				node = live[cuts.int(0, live.length - 1)]!;
			}
		};
		const running = [a, a, a, a, b, b].map((node, i) => {
			const client: Client = { attempts: [], received: [] };
			clients.push(client);
			return runClient(client, node, prng(seed + i + 1));
		});

		// Two engine clients (the kit's own), resumable, on whichever node is alive.
		const engines: LiveSourceHandle<Item>[] = [0, 1].map(() =>
			createLiveSource<Item>({
				transport: sse({
					url: () => `${alive()[0]!.origin}/stream`,
					mode: 'fetch',
					resumable: true
				}),
				resync: (signal) => fetch(`${alive()[0]!.origin}/list`, { signal }).then((r) => r.json()),
				version: (item) => item.version,
				retry: { baseDelay: 20, maxDelay: 200, minDelay: 10 }
			})
		);
		for (const engine of engines) engine.start();

		await vi.waitFor(
			() => {
				for (const client of clients) expect(client.from).toBeDefined();
				for (const engine of engines) {
					const state = engine.connection.getSnapshot();
					expect(state.status, String(state.error?.message)).toBe('live');
				}
			},
			{ timeout: 10_000 }
		);

		// Two writers, one per node (A's moves to B once A is gone); A is killed while a write to
		// it is under way, after about `killAt` events.
		let written = 0;
		let killing: Promise<void> | undefined;
		const writer = async (home: ServerNode) => {
			while (written < TOTAL) {
				const target = home.exited ? b : home;
				const n = Math.min(rand.int(1, 150), TOTAL - written);
				if (target === a && !killing && written >= killAt) {
					const pending = write(a, 200).catch(() => undefined);
					await new Promise((resolve) => setTimeout(resolve, rand.int(0, 5)));
					killing = a.kill();
					await killing;
					await pending;
					continue;
				}
				const result = await write(target, n).catch(() => ({ ok: false, events: [] }));
				written += result.events.length;
			}
		};
		await Promise.all([writer(a), writer(b)]);
		expect(a.exited, `A was killed (SEED=${seed})`).toBe(true);

		const truth = await streamEvents(redis.url, key);
		expect(truth.length).toBeGreaterThanOrEqual(TOTAL);
		const last = truth.at(-1)!.id;
		// Bounded wait for delivery; the assertions below are about content, not time.
		await vi.waitFor(
			() => {
				for (const client of clients) expect(client.lastId).toBe(last);
			},
			{ timeout: 30_000, interval: 100 }
		);
		stop.abort();
		await Promise.all(running);

		const expectedList = await getList(b);
		await vi.waitFor(
			() => {
				for (const engine of engines) {
					const items = [...engine.store.getSnapshot().items].sort((x, y) =>
						x.id < y.id ? -1 : 1
					);
					expect(items).toEqual(expectedList);
				}
			},
			{ timeout: 10_000 }
		);

		console.info(
			`S57 SEED=${seed}: ${truth.length} events, A killed after ${killAt}; attempts per client ${clients.map((c) => c.attempts.length).join(', ')}`
		);
		for (const [i, client] of clients.entries()) {
			const report = audit(client.received, truth, client.from!);
			expect(
				report,
				`client ${i} (SEED=${seed}, ${client.attempts.length} attempts)`
			).toMatchObject({ lost: 0, duplicated: 0, outOfOrder: 0, wrongData: 0 });
			// Only the first attempt had no id: every later one replayed, never a snapshot or a resync.
			const odd = client.attempts.flatMap((attempt, n) =>
				(attempt.lastEventId === undefined ? [] : attempt.events)
					.filter((event) => event.event !== 'upsert')
					.map((event) => ({
						attempt: n + 1,
						node: attempt.node,
						lastEventId: attempt.lastEventId,
						event: event.event,
						id: event.id
					}))
			);
			expect(odd, `client ${i} (SEED=${seed})`).toEqual([]);
			expect(client.attempts.filter((attempt) => !attempt.lastEventId)).toHaveLength(1);
		}
		// The clients that started on A really moved: an attempt on B after one on A that failed.
		for (const client of clients.slice(0, 4)) {
			expect(client.attempts.some((attempt) => attempt.node === 'B')).toBe(true);
		}
		for (const engine of engines) {
			expect(engine.connection.getSnapshot().status).toBe('live');
			engine.stop();
		}
		// The survivor logged nothing it should not have.
		expect(b.output).not.toMatch(/UNCAUGHT|UNHANDLED|HANDLER/);
	});
});
