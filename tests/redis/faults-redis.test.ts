/**
 * S58–S62: Redis itself failing under server nodes that share one Redis stream and one SQLite
 * file (the list outlives Redis): restarted empty or flushed mid-stream, history trimmed past a
 * client, down when a node starts, and Last-Event-IDs that are malformed or of another epoch.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createLiveSource, sse, type LiveSourceHandle } from '../../src/lib/core/index.js';
import { freePort, startRedis, type RedisServer } from '../helpers/redis-server.js';
import {
	getList,
	killAllNodes,
	openRaw,
	sharedDb,
	startNode,
	write,
	type Item,
	type RawEvent,
	type ServerNode
} from './node-server.spawn.js';

const servers: RedisServer[] = [];
afterEach(async () => {
	await killAllNodes();
	await Promise.all(servers.splice(0).map((server) => server.stop()));
});
async function redisServer(options?: { port?: number }) {
	const server = await startRedis(options);
	servers.push(server);
	return server;
}

const byId = (items: readonly Item[]) => [...items].sort((a, b) => (a.id < b.id ? -1 : 1));

/** A kit engine on one node, resyncing from that node's /list; counts its resyncs. */
function engineOn(node: ServerNode) {
	let resyncs = 0;
	const live: LiveSourceHandle<Item> = createLiveSource<Item>({
		transport: sse({ url: `${node.origin}/stream`, mode: 'fetch', resumable: true }),
		resync: (signal) => {
			resyncs++;
			return fetch(`${node.origin}/list`, { signal }).then((r) => r.json() as Promise<Item[]>);
		},
		version: (item) => item.version,
		retry: { baseDelay: 20, maxDelay: 300, minDelay: 10 }
	});
	live.start();
	return {
		live,
		node,
		get resyncs() {
			return resyncs;
		},
		items: () => byId(live.store.getSnapshot().items)
	};
}

/** Writes batches through the nodes in turn until stopped; failed writes (Redis away) are counted. */
function writer(nodes: ServerNode[]) {
	let stopped = false;
	let ok = 0;
	let failed = 0;
	const done = (async () => {
		for (let turn = 0; !stopped; turn++) {
			const result = await write(nodes[turn % nodes.length]!, 1 + (turn % 7)).catch(() => ({
				ok: false,
				events: []
			}));
			ok += result.events.length;
			if (!result.ok) failed++;
			// While Redis is away the writes fail fast: do not spin.
			if (!result.ok) await new Promise((resolve) => setTimeout(resolve, 20));
		}
	})();
	return {
		get ok() {
			return ok;
		},
		get failed() {
			return failed;
		},
		stop: () => ((stopped = true), done)
	};
}

async function resyncScenario(fault: (redis: RedisServer) => Promise<unknown>, maxResyncs: number) {
	const redis = await redisServer();
	const env = {
		REDIS_URL: redis.url,
		DB_PATH: sharedDb(),
		LOG_KEY: 'srk:resync',
		LOG_BLOCK: '500'
	};
	const [a, b] = await Promise.all([startNode('A', env), startNode('B', env)]);
	const engines = [engineOn(a), engineOn(a), engineOn(b), engineOn(b)];
	// A raw reader per node: it sees the resync event itself.
	const stop = new AbortController();
	const raw = [a, b].map((node) => {
		const events: RawEvent[] = [];
		const attempt = openRaw(node, { signal: stop.signal, onEvent: (event) => events.push(event) });
		return { node, events, attempt };
	});
	await vi.waitFor(
		() => {
			for (const engine of engines)
				expect(engine.live.connection.getSnapshot().status).toBe('live');
			for (const reader of raw) expect(reader.events[0]?.event).toBe('snapshot');
		},
		{ timeout: 10_000 }
	);
	const before = engines.map((engine) => engine.resyncs);

	const writes = writer([a, b]);
	await vi.waitFor(() => expect(writes.ok).toBeGreaterThanOrEqual(300), { timeout: 20_000 });
	await fault(redis);
	const okAtFault = writes.ok;
	// Every open stream is told, and every engine fetches the list again.
	await vi.waitFor(
		() => {
			for (const reader of raw) {
				expect(reader.events.some((event) => event.event === 'resync')).toBe(true);
			}
			for (const [i, engine] of engines.entries()) {
				expect(engine.resyncs).toBeGreaterThan(before[i]!);
				expect(engine.live.connection.getSnapshot().continuity).toBe('resynced');
			}
		},
		{ timeout: 20_000 }
	);
	// Writes resume, then stop; everyone ends with the list as SQLite has it.
	await vi.waitFor(() => expect(writes.ok).toBeGreaterThanOrEqual(okAtFault + 300), {
		timeout: 20_000
	});
	await writes.stop();
	const list = byId(await getList(a));
	await vi.waitFor(
		() => {
			for (const engine of engines) expect(engine.items()).toEqual(list);
		},
		{ timeout: 15_000 }
	);
	for (const engine of engines) {
		expect(engine.live.connection.getSnapshot().status).toBe('live');
		engine.live.stop();
	}
	stop.abort();
	await Promise.all(raw.map((reader) => reader.attempt));
	const reasons = raw.map((reader) =>
		reader.events
			.filter((event) => event.event === 'resync')
			.map((event) => (JSON.parse(event.data) as { reason: string }).reason)
			.join('+')
	);
	console.info(`resync events per node: ${reasons.join(', ')}`);
	// One for the fault, and one more for each episode of appends that failed meanwhile (a failed
	// change must reach every client, even one whose node resynced before it failed).
	for (const [i, engine] of engines.entries()) {
		expect(engine.resyncs - before[i]!).toBeGreaterThanOrEqual(1);
		expect(engine.resyncs - before[i]!).toBeLessThanOrEqual(maxResyncs);
	}
	for (const reader of raw) {
		const resyncs = reader.events.filter((event) => event.event === 'resync');
		expect(resyncs.length).toBeGreaterThanOrEqual(1);
		expect(resyncs.length).toBeLessThanOrEqual(maxResyncs);
		expect(JSON.parse(resyncs[0]!.data)).toHaveProperty('reason');
		// The stream stayed open across the fault: one attempt, the snapshot first.
		expect((await reader.attempt).events[0]!.event).toBe('snapshot');
	}
	for (const node of [a, b]) expect(node.output).not.toMatch(/UNCAUGHT|UNHANDLED|HANDLER/);
	return { engines, raw, writes };
}

describe('S58–S59 Redis loses the stream under live clients', () => {
	it('S38 S58 Redis restarted empty mid-stream: every client gets a resync and converges to the list', async () => {
		const { engines, raw } = await resyncScenario(
			(redis) => redis.restart(),
			// The new epoch, then one per episode of failed appends on a node (each node's base
			// connection and reader come back at their own pace): a few, never a storm.
			6
		);
		const reasons = raw.map((reader) =>
			reader.events
				.filter((event) => event.event === 'resync')
				.map((event) => (JSON.parse(event.data) as { reason: string }).reason)
				.join('+')
		);
		console.info(
			`S58 resyncs per engine: ${engines.map((e) => e.resyncs).join(', ')}; resync events per node: ${reasons.join(', ')}`
		);
	});

	it('S38 S59 FLUSHALL mid-stream: every client gets a resync and converges to the list', async () => {
		const { engines } = await resyncScenario((redis) => redis.cli('FLUSHALL'), 1);
		console.info(`S59 resyncs per engine: ${engines.map((e) => e.resyncs).join(', ')}`);
	});
});

describe('S60 history trimmed past a client', () => {
	it('S38 S60 a reconnect with an id trimmed from the stream gets a snapshot first, not a gap', async () => {
		const redis = await redisServer();
		const env = { REDIS_URL: redis.url, DB_PATH: sharedDb(), LOG_KEY: 'srk:trim', LOG_LIMIT: '20' };
		const node = await startNode('A', env);
		const first = await openRaw(node, { cutAfter: 1 });
		expect(first.events[0]!.event).toBe('snapshot');
		const { events } = await write(node, 5);
		const old = events.at(-1)!.id;
		// While the client is away, far more than the log keeps.
		const later = await write(node, 200);
		expect(later.ok).toBe(true);
		// A snapshot is as new as what this node's reader has read: let it read everything first.
		const newest = later.events.at(-1)!.id;
		await vi.waitFor(
			async () =>
				expect(
					((await (await fetch(`${node.origin}/health`)).json()) as { lastId: string }).lastId
				).toBe(newest),
			{ timeout: 5000 }
		);

		const back = await openRaw(node, { lastEventId: old, cutAfter: 1 });
		expect(back.status).toBe(200);
		expect(back.events[0]!.event).toBe('snapshot');
		expect(byId(JSON.parse(back.events[0]!.data) as Item[])).toEqual(byId(await getList(node)));
		// The snapshot's id resumes from the newest event.
		expect(back.events[0]!.id).toBe(newest);

		// A client only a few events behind still gets a replay, not a snapshot.
		const recent = later.events.at(-6)!.id;
		const resumed = await openRaw(node, { lastEventId: recent, cutAfter: 5 });
		expect(resumed.events.map((event) => event.id)).toEqual(
			later.events.slice(-5).map((event) => event.id)
		);
		expect(node.output).not.toMatch(/UNCAUGHT|UNHANDLED|HANDLER/);
	});
});

describe('S61 Redis down when a node starts', () => {
	it('S61 the stream answers 503 with Retry-After at once, health says down; once Redis is up the stream opens', async () => {
		const port = await freePort();
		const env = {
			REDIS_URL: `redis://127.0.0.1:${port}`,
			DB_PATH: sharedDb(),
			LOG_KEY: 'srk:down'
		};
		const node = await startNode('A', env, { healthy: false });
		const engine = engineOn(node);

		// A hung request fails here instead of waiting (the bound is not the assertion).
		const stream = await fetch(`${node.origin}/stream`, { signal: AbortSignal.timeout(5000) });
		expect(stream.status).toBe(503);
		expect(stream.headers.get('retry-after')).toBe('1');
		const text = await stream.text();
		expect(text).not.toMatch(/ECONNREFUSED|ERR|127\.0\.0\.1/);
		const health = await fetch(`${node.origin}/health`, { signal: AbortSignal.timeout(5000) });
		expect(health.status).toBe(503);
		expect(await health.json()).toMatchObject({ ok: false, redis: 'down' });
		const writeDown = await fetch(`${node.origin}/write?n=1`, {
			method: 'POST',
			signal: AbortSignal.timeout(5000)
		});
		expect(writeDown.status).toBe(503);
		expect(engine.live.connection.getSnapshot().status).not.toBe('live');

		await redisServer({ port });
		await vi.waitFor(
			async () => {
				const response = await fetch(`${node.origin}/health`);
				expect(response.status).toBe(200);
			},
			{ timeout: 20_000, interval: 100 }
		);
		const opened = await openRaw(node, { cutAfter: 1, signal: AbortSignal.timeout(5000) });
		expect(opened.status).toBe(200);
		expect(opened.events[0]!.event).toBe('snapshot');
		// The engine that started during the outage goes live by itself and follows new writes.
		await vi.waitFor(() => expect(engine.live.connection.getSnapshot().status).toBe('live'), {
			timeout: 20_000
		});
		expect((await write(node, 10)).ok).toBe(true);
		const list = byId(await getList(node));
		await vi.waitFor(() => expect(engine.items()).toEqual(list), { timeout: 10_000 });
		engine.live.stop();
		expect(node.output).not.toMatch(/UNCAUGHT|UNHANDLED|HANDLER/);
	});
});

/** Whether fetch can send `value` as a header as it is (a ByteString without CR, LF, NUL or edge spaces). */
const headerSafe = (value: string) =>
	/^[\x21-\x7e\x80-\xff]([\x20-\x7e\x80-\xff]*[\x21-\x7e\x80-\xff])?$/.test(value);

describe('S62 malformed and foreign Last-Event-IDs', () => {
	it('S39 S62 each gets a snapshot with 200; no exception on the server, no Redis error text to the client', async () => {
		const redis = await redisServer();
		const env = { REDIS_URL: redis.url, DB_PATH: sharedDb(), LOG_KEY: 'srk:ids' };
		const node = await startNode('A', env);
		await write(node, 20);
		const { epoch } = (await (await fetch(`${node.origin}/health`)).json()) as { epoch: string };
		const ms = Date.now();
		const otherEpoch = fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/).filter((e) => e !== epoch);
		const streamId = fc.tuple(
			fc.bigInt({ min: 0n, max: 10n ** 20n - 1n }),
			fc.bigInt({ min: 0n, max: 10n ** 20n - 1n })
		);
		const ids = fc.oneof(
			fc.string(),
			fc.string({ unit: 'binary', maxLength: 80 }),
			fc.constantFrom(
				'garbage',
				'1234',
				'abc:1-0',
				'',
				'x'.repeat(5000),
				`${epoch}:${'9'.repeat(5000)}`,
				`${epoch}:0-0`,
				`${epoch}:1-0`,
				`${epoch}:99999999999999999999-0`,
				`${epoch}:18446744073709551616-0`,
				`${epoch}:${ms}-18446744073709551616`,
				`${epoch}:${ms + 86_400_000}-0`,
				`${epoch}: 1-0`,
				`${epoch}:-1-0`,
				`${epoch}:1-0\u0000`,
				`${epoch}:1-0:1-0`,
				`${epoch}😀:1-0`,
				'ümlaut:1-0',
				'*',
				'$',
				'+',
				'-'
			),
			// Valid-looking ids of other epochs (a previous Redis, another app's log).
			fc.tuple(otherEpoch, streamId).map(([e, [m, s]]) => `${e}:${m}-${s}`),
			// This epoch with stream ids that are out of range or never existed.
			streamId.map(([m, s]) => `${epoch}:${m}-${s}`)
		);
		let checked = 0;
		await fc.assert(
			fc.asyncProperty(ids, async (id) => {
				const header = headerSafe(id);
				const attempt = await openRaw(node, {
					...(header ? { lastEventId: id } : { query: `?lastEventId=${encodeURIComponent(id)}` }),
					cutAfter: 1,
					signal: AbortSignal.timeout(5000)
				});
				checked++;
				expect(attempt.status, JSON.stringify(id).slice(0, 200)).toBe(200);
				expect(attempt.events[0]?.event, JSON.stringify(id).slice(0, 200)).toBe('snapshot');
				for (const event of attempt.events) expect(event.data).not.toMatch(/ERR|Redis|Invalid/);
			}),
			{ numRuns: 150 }
		);
		expect(checked).toBeGreaterThanOrEqual(150);
		// The process said nothing but its ready line.
		expect(node.output.trim().split('\n')).toEqual([`ready ${node.port}`]);
	});
});
