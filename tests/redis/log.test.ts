/**
 * S63: createRedisEventLog in this process against a real redis-server: it behaves as the
 * in-memory log does (a differential test on generated sequences), its ids increase, close()
 * leaves nothing open, bad options are refused by name, and two logs on one key (two "nodes")
 * see the same events in the same order.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import fc from 'fast-check';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createEventLog, type LoggedEvent } from '../../src/lib/server/index.js';
import { createRedisEventLog } from '../../src/lib/server/redis.js';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';
import { buildServer } from './setup/build-server.js';

let redis: RedisServer;
const clients: Array<{ readonly isOpen: boolean; destroy(): void }> = [];
beforeAll(async () => {
	redis = await startRedis();
});
afterAll(async () => {
	for (const client of clients) if (client.isOpen) client.destroy();
	await redis.stop();
});

function client() {
	const c = createClient({ url: redis.url });
	c.on('error', () => {});
	clients.push(c);
	return c;
}

/** An event without its id, with data as JSON gives it back: what both logs must agree on. */
const shape = (event: LoggedEvent) => ({
	event: event.event,
	data: event.data === undefined ? undefined : JSON.parse(JSON.stringify(event.data))
});

const clientCount = async () => (await redis.cli('CLIENT', 'LIST')).trim().split('\n').length;

const commands = fc.array(
	fc.oneof(
		{
			weight: 5,
			arbitrary: fc.record({
				type: fc.constant('append' as const),
				event: fc.option(fc.constantFrom('upsert', 'remove', 'note'), { nil: undefined }),
				data: fc.jsonValue({ maxDepth: 2 })
			})
		},
		{ weight: 2, arbitrary: fc.record({ type: fc.constant('since' as const), at: fc.nat() }) },
		{
			weight: 1,
			arbitrary: fc.record({ type: fc.constant('sinceRandom' as const), id: fc.string() })
		},
		{ weight: 1, arbitrary: fc.record({ type: fc.constant('subscribe' as const) }) }
	),
	{ maxLength: 40 }
);

describe('S63 the Redis event log against a real Redis', () => {
	it('S63 agrees with the in-memory log on generated appends, replays and subscriptions; ids increase', async () => {
		let run = 0;
		await fc.assert(
			fc.asyncProperty(commands, async (sequence) => {
				const key = `srk:diff:${run++}`;
				const memory = createEventLog();
				const log = createRedisEventLog({ client: client(), key });
				try {
					await log.ready();
					// The id before the first event, in each log.
					const memoryIds: number[] = [memory.lastId];
					const redisIds: string[] = [log.lastId];
					const heard: Array<{ memory: unknown[]; redis: unknown[] }> = [];
					for (const command of sequence) {
						if (command.type === 'append') {
							const event = {
								...(command.event !== undefined ? { event: command.event } : {}),
								data: command.data
							};
							const m = memory.append(event);
							const r = await log.append(event);
							expect(shape(r)).toEqual(shape(m));
							memoryIds.push(m.id);
							redisIds.push(r.id);
						} else if (command.type === 'since') {
							const at = command.at % memoryIds.length;
							const m = memory.since(memoryIds[at]!);
							const r = await log.since(redisIds[at]!);
							expect(r?.map(shape)).toEqual(m?.map(shape));
							expect(r?.map((event) => event.id)).toEqual(redisIds.slice(at + 1));
						} else if (command.type === 'sinceRandom') {
							// Not an id of this log's epoch: a snapshot, never a replay or an error.
							const id = command.id.startsWith(`${log.epoch}:`) ? `x${command.id}` : command.id;
							expect(await log.since(id)).toBeUndefined();
						} else {
							// The reader delivers on its own time: a listener added now would still hear the
							// appends it has not read yet. Subscribe once it has caught up, as the memory log is.
							await vi.waitFor(() => expect(log.lastId).toBe(redisIds.at(-1)));
							const ears = { memory: [] as unknown[], redis: [] as unknown[] };
							heard.push(ears);
							memory.subscribe((event) => ears.memory.push(shape(event)));
							log.subscribe((event) => ears.redis.push(shape(event)));
						}
					}
					for (let i = 1; i < redisIds.length; i++) {
						expect(log.compare(redisIds[i - 1]!, redisIds[i]!)).toBeLessThan(0);
						expect(log.compare(redisIds[i]!, redisIds[i - 1]!)).toBeGreaterThan(0);
					}
					// The reader delivers asynchronously: wait until it has caught up, then compare.
					await vi.waitFor(() => expect(log.lastId).toBe(redisIds.at(-1)));
					for (const ears of heard) expect(ears.redis).toEqual(ears.memory);
					expect(await log.since(log.lastId)).toEqual([]);
				} finally {
					await log.close();
				}
			}),
			{ numRuns: Number(process.env.FUZZ_RUNS ?? 30) }
		);
	});

	it('S63 two logs on one key (two nodes) both hear every event, in the same order as the stream', async () => {
		const key = 'srk:two';
		const [a, b] = [
			createRedisEventLog({ client: client(), key }),
			createRedisEventLog({ client: client(), key })
		];
		await Promise.all([a.ready(), b.ready()]);
		expect(a.epoch).toBe(b.epoch);
		const heard = { a: [] as LoggedEvent[], b: [] as LoggedEvent[] };
		a.subscribe((event) => heard.a.push(event));
		b.subscribe((event) => heard.b.push(event));
		// Interleaved appends through both, several at a time.
		const appended: LoggedEvent[] = [];
		for (let round = 0; round < 20; round++) {
			const batch = await Promise.all(
				Array.from({ length: 10 }, (_, i) =>
					(i % 2 ? a : b).append({ event: 'upsert', data: { round, i } })
				)
			);
			appended.push(...batch);
		}
		await vi.waitFor(() => {
			expect(heard.a).toHaveLength(200);
			expect(heard.b).toHaveLength(200);
		});
		const order = [...appended].sort((x, y) => a.compare(x.id, y.id)).map((event) => event.id);
		expect(heard.a.map((event) => event.id)).toEqual(order);
		expect(heard.b.map((event) => event.id)).toEqual(order);
		expect(heard.a.map(shape)).toEqual(heard.b.map(shape));
		expect(new Set(order).size).toBe(200);
		// Either can replay what the other appended.
		expect((await b.since(order[0]!))?.map((event) => event.id)).toEqual(order.slice(1));
		await Promise.all([a.close(), b.close()]);
	});

	it('S63 an append whose answer waits behind a busy event loop resolves, and owes no resync', async () => {
		const log = createRedisEventLog({ client: client(), key: 'srk:busy', timeout: 200 });
		await log.ready();
		const heard: string[] = [];
		log.subscribe((event) => heard.push(String(event.event)));
		const appended = log.append({ event: 'upsert', data: { n: 1 } });
		// Longer than `timeout`, with the answer arriving meanwhile (a large fan-out does this).
		const until = Date.now() + 500;
		while (Date.now() < until) {
			// busy
		}
		await expect(appended).resolves.toMatchObject({ event: 'upsert', data: { n: 1 } });
		await log.append({ event: 'upsert', data: { n: 2 } });
		await vi.waitFor(() => expect(heard).toEqual(['upsert', 'upsert']), { timeout: 3000 });
		// A failed append would make the next epoch check add a resync for every process.
		await new Promise((resolve) => setTimeout(resolve, 300));
		expect(heard).toEqual(['upsert', 'upsert']);
		await log.close();
	});

	it('S63 steps over an entry another program wrote into the stream, and goes on', async () => {
		const errors: string[] = [];
		const log = createRedisEventLog({
			client: client(),
			key: 'srk:foreign',
			onError: (error) => errors.push(error.message)
		});
		await log.ready();
		const heard: unknown[] = [];
		log.subscribe((event) => heard.push(event.data));
		await redis.cli('XADD', 'srk:foreign', '*', 'foo', 'bar');
		await log.append({ event: 'upsert', data: { n: 1 } });
		await vi.waitFor(() => expect(heard).toEqual([{ n: 1 }]), { timeout: 3000 });
		expect(errors.join('\n')).toMatch(/not written by this log/);
		await log.close();
	});

	it('S60 a reader trimmed past while it was busy resyncs instead of skipping events silently', async () => {
		const log = createRedisEventLog({ client: client(), key: 'srk:lag', limit: 10 });
		await log.ready();
		const heard: string[] = [];
		log.subscribe((event) => heard.push(String(event.event)));
		// 300 entries in one step, trimmed to about 10 before the reader wakes.
		await redis.cli(
			'EVAL',
			"for i = 1, 300 do redis.call('XADD', KEYS[1], 'MAXLEN', '~', '10', '*', 'e', ARGV[1], 'n', 'upsert', 'd', tostring(i)) end",
			'1',
			'srk:lag',
			log.epoch!
		);
		await vi.waitFor(() => expect(heard).toContain('resync'), { timeout: 3000 });
		await log.append({ event: 'upsert', data: 'after' });
		await vi.waitFor(() => expect(heard.at(-1)).toBe('upsert'), { timeout: 3000 });
		await log.close();
	});

	it('S63 close() leaves no connection open: CLIENT LIST is back to what it was', async () => {
		const before = await clientCount();
		const owned = createRedisEventLog({ url: redis.url, key: 'srk:close' });
		await owned.ready();
		await owned.append({ event: 'upsert', data: 1 });
		const off = owned.subscribe(() => {});
		// Its own client and its reader.
		expect(await clientCount()).toBe(before + 2);
		off();
		await owned.close();
		await vi.waitFor(async () => expect(await clientCount()).toBe(before));
		expect(owned.available).toBe(false);

		// With a client of the caller's: only the reader is closed; the client stays the caller's.
		const mine = client();
		const shared = createRedisEventLog({ client: mine, key: 'srk:close' });
		await shared.ready();
		expect(await clientCount()).toBe(before + 2);
		await shared.close();
		await vi.waitFor(async () => expect(await clientCount()).toBe(before + 1));
		expect(mine.isReady).toBe(true);
		mine.destroy();
		await vi.waitFor(async () => expect(await clientCount()).toBe(before));
	});

	it('S63 close() before the log is ready: ready() rejects, and no connection opens afterwards', async () => {
		const before = await clientCount();
		const early = createRedisEventLog({ url: redis.url, key: 'srk:close' });
		await early.close();
		await expect(early.ready()).rejects.toThrow(/closed/);
		const mine = client();
		const shared = createRedisEventLog({ client: mine, key: 'srk:close' });
		await shared.close();
		await expect(shared.ready()).rejects.toThrow(/closed/);
		// Long enough for a connection started before close() to have opened (a bound, not a timing).
		await new Promise((resolve) => setTimeout(resolve, 500));
		mine.destroy();
		await vi.waitFor(async () => expect(await clientCount()).toBe(before), { timeout: 3000 });
	});

	it('S63 a process that closes its log exits by itself (no handle left open)', async () => {
		const kit = await buildServer();
		const module = pathToFileURL(join(kit, 'redis.js')).href;
		const script = `
			const { createRedisEventLog } = await import(${JSON.stringify(module)});
			const log = createRedisEventLog({ url: process.env.REDIS_URL, key: 'srk:exit', block: 60000 });
			await log.ready();
			const off = log.subscribe(() => {});
			const event = await log.append({ event: 'upsert', data: { id: 1 } });
			await log.since(event.id);
			off();
			await log.close();
			console.log('closed');
		`;
		const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
			env: { ...process.env, REDIS_URL: redis.url },
			stdio: ['ignore', 'pipe', 'pipe']
		});
		let output = '';
		child.stdout.on('data', (chunk) => (output += chunk));
		child.stderr.on('data', (chunk) => (output += chunk));
		// A bound, not a measurement: a process with an open handle would never exit.
		const exit = await new Promise<number | string>((resolve) => {
			const timer = setTimeout(() => {
				child.kill('SIGKILL');
				resolve('still running after 15 s');
			}, 15_000);
			child.once('exit', (code, signal) => {
				clearTimeout(timer);
				resolve(code ?? String(signal));
			});
		});
		expect(exit, output).toBe(0);
		expect(output.trim()).toBe('closed');
	});

	it('S63 bad options throw a TypeError naming the option', () => {
		const c = client();
		const cases: Array<[unknown, RegExp]> = [
			[undefined, /`client` and `url`/],
			[{}, /`client` and `url`/],
			[{ client: c, url: redis.url }, /`client` and `url`/],
			[{ client: {} }, /`client`/],
			[{ url: 5 }, /`url`/],
			[{ client: c, key: '' }, /`key`/],
			[{ client: c, key: 7 }, /`key`/],
			[{ client: c, limit: 0 }, /`limit`/],
			[{ client: c, limit: 1.5 }, /`limit`/],
			[{ client: c, limit: '10' }, /`limit`/],
			[{ client: c, block: 0 }, /`block`/],
			[{ client: c, block: Number.NaN }, /`block`/],
			[{ client: c, timeout: -1 }, /`timeout`/],
			[{ client: c, timeout: Infinity }, /`timeout`/],
			[{ client: c, onError: 'log' }, /`onError`/]
		];
		for (const [options, name] of cases) {
			let thrown: unknown;
			try {
				createRedisEventLog(options as Parameters<typeof createRedisEventLog>[0]);
			} catch (error) {
				thrown = error;
			}
			expect(thrown, JSON.stringify(options)).toBeInstanceOf(TypeError);
			expect((thrown as Error).message).toMatch(name);
		}
		// Nothing was started for any of them: the client was never connected.
		expect(c.isOpen).toBe(false);
	});
});
