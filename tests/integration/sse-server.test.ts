/**
 * The SSE transport, the engine and the store against a real HTTP server on 127.0.0.1.
 * Real timers and sockets throughout; scenario numbers refer to ../shared/design/SCENARIOS.md.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createLiveSource, fallback, polling, sse } from '../../src/lib/core/index.js';
import {
	closeAllServers,
	createTaskSource,
	serverList,
	startTaskServer,
	stopAllSources,
	taskId,
	type TaskServer,
	type TaskSource
} from './servers.js';

afterEach(async () => {
	stopAllSources();
	await closeAllServers();
});

const waitLive = (source: TaskSource, timeout = 2000) =>
	vi.waitFor(() => expect(source.connection.getSnapshot().status).toBe('live'), { timeout });

/** Waits until the client shows exactly the server's list. */
const waitConverged = (source: TaskSource, server: TaskServer, timeout = 2000) =>
	vi.waitFor(() => expect(source.sorted()).toEqual(serverList(server)), { timeout });

function expectNoDuplicates(source: TaskSource) {
	const keys = source.store.getSnapshot().rows.map((row) => row.key);
	expect(new Set(keys).size).toBe(keys.length);
}

describe('SSE against a real server', () => {
	it('S01 stream ends cleanly mid-way: reconnects with Last-Event-ID, no lost and no duplicate rows', async () => {
		const server = await startTaskServer({ tasks: 5 });
		const source = createTaskSource(server);
		source.start();
		await waitConverged(source, server);
		expect(server.streamRequests()[0]!.lastEventId).toBeUndefined();

		for (let i = 1; i <= 5; i++) server.upsert(taskId(i), { title: `first pass ${i}` });
		await waitConverged(source, server);
		const lastDelivered = String(server.db.seq);

		expect(server.dropStreams()).toBe(1);
		// Made while the client is between attempts: only a replay can bring them.
		for (let i = 1; i <= 5; i++) server.upsert(taskId(i), { done: true });
		server.upsert(taskId(6), { title: 'created while disconnected' });

		await vi.waitFor(() => expect(server.streamRequests()).toHaveLength(2));
		const second = server.streamRequests()[1]!;
		expect(second.lastEventId).toBe(lastDelivered);
		expect(second.replayed).toBe(6);
		await waitLive(source);

		for (let i = 2; i <= 6; i += 2) server.upsert(taskId(i), { title: `after ${i}` });
		await waitConverged(source, server);

		const items = source.sorted();
		expect(items).toHaveLength(6);
		expectNoDuplicates(source);
		for (const task of serverList(server)) {
			expect(items.find((item) => item.id === task.id)?.version).toBe(task.version);
		}
		expect(source.regressions).toEqual([]);
		expect(source.connection.lastEventId).toBe(String(server.db.seq));
		// Not `resumable`: the engine cannot know the replay was complete, so it resyncs once.
		expect(source.resyncs).toBe(1);
		await vi.waitFor(() => expect(source.connection.getSnapshot().continuity).toBe('resynced'));
		expect(server.streamRequests()).toHaveLength(2);
	});

	it('S01 resumable stream: the replay alone restores the list, continuity "resumed", no resync', async () => {
		const server = await startTaskServer({ tasks: 4 });
		const source = createTaskSource(server, {
			transport: sse({ url: server.streamUrl, mode: 'fetch', resumable: true })
		});
		source.start();
		await waitConverged(source, server);

		server.upsert(taskId(1), { title: 'live' });
		await waitConverged(source, server);
		server.dropStreams();
		server.upsert(taskId(2), { done: true });
		server.upsert(taskId(3), { done: true });
		server.remove(taskId(4));
		server.upsert(taskId(5), { title: 'new' });

		await vi.waitFor(() => expect(server.streamRequests()).toHaveLength(2));
		expect(server.streamRequests()[1]!.replayed).toBe(4);
		await waitConverged(source, server);
		expect(source.connection.getSnapshot().continuity).toBe('resumed');
		expect(source.resyncs).toBe(0);
		expect(server.taskRequests()).toHaveLength(0);
		expectNoDuplicates(source);
	});

	it('S07 partial event at disconnect is discarded and replayed in full after reconnect', async () => {
		const server = await startTaskServer({ tasks: 2 });
		const source = createTaskSource(server, {
			transport: sse({ url: server.streamUrl, mode: 'fetch', resumable: true })
		});
		source.start();
		await waitConverged(source, server);
		server.upsert(taskId(1), { title: 'complete' });
		await waitConverged(source, server);
		const before = String(server.db.seq);

		const cut = server.upsertCut(taskId(2), { title: 'cut off' });
		await vi.waitFor(() => expect(server.streamRequests()).toHaveLength(2));
		const second = server.streamRequests()[1]!;
		// Had the partial event been dispatched, its id would be the Last-Event-ID.
		expect(second.lastEventId).toBe(before);
		expect(second.replayed).toBe(1);
		await waitConverged(source, server);
		const shownAt = source.firstSeen.get(`${cut.id}@${cut.version}`);
		expect(shownAt).toBeGreaterThan(second.at);
		expect(source.store.getSnapshot().dropped).toBe(0);
	});

	it.each([204, 205])(
		'S02 HTTP %i on the stream: closed for good, no retry loop',
		async (status) => {
			const server = await startTaskServer();
			server.defaultStream = { kind: 'status', status };
			const source = createTaskSource(server);
			source.start();
			await vi.waitFor(() => expect(source.connection.getSnapshot().status).toBe('closed'));
			// Several times the longest backoff (200 ms): a retry loop would have shown by now.
			await sleep(500);
			expect(server.streamRequests()).toHaveLength(1);
			expect(source.connection.getSnapshot().status).toBe('closed');
			expect(source.statuses).not.toContain('reconnecting');
		}
	);

	it.each([401, 403, 404, 410])(
		'S03 HTTP %i is terminal: failed with the status, no retry loop',
		async (status) => {
			const server = await startTaskServer();
			server.defaultStream = { kind: 'status', status, body: 'nope' };
			const source = createTaskSource(server);
			source.start();
			await vi.waitFor(() => expect(source.connection.getSnapshot().status).toBe('failed'));
			const { error } = source.connection.getSnapshot();
			expect(error?.code).toBe('http');
			expect(error?.status).toBe(status);
			expect(error?.retryable).toBe(false);
			await sleep(500);
			expect(server.streamRequests()).toHaveLength(1);
			expect(source.statuses).not.toContain('reconnecting');
		}
	);

	it.each([503, 429])(
		'S03 HTTP %i with Retry-After: 1 waits about a second before the next request',
		async (status) => {
			const server = await startTaskServer();
			server.streamReplies.push({
				kind: 'status',
				status,
				headers: { 'Retry-After': '1', 'Content-Type': 'text/plain' },
				body: 'maintenance'
			});
			const source = createTaskSource(server);
			source.start();
			await vi.waitFor(() => expect(source.connection.getSnapshot().status).toBe('reconnecting'));
			const { error, retryAt } = source.connection.getSnapshot();
			expect(error?.status).toBe(status);
			expect(error?.retryAfterMs).toBe(1000);
			expect(retryAt! - Date.now()).toBeGreaterThan(700);

			await vi.waitFor(() => expect(server.streamRequests()).toHaveLength(2), { timeout: 2500 });
			const [first, second] = server.streamRequests();
			const gap = second!.at - first!.at;
			// Not sooner (a 2 ms allowance for timer rounding), and not much later either.
			expect(gap).toBeGreaterThanOrEqual(998);
			expect(gap).toBeLessThan(1600);
			await waitConverged(source, server);
		}
	);

	it('S03 HTTP 503 without Retry-After retries with the engine backoff (well under a second)', async () => {
		const server = await startTaskServer();
		server.streamReplies.push({ kind: 'status', status: 503 }, { kind: 'status', status: 502 });
		const source = createTaskSource(server);
		source.start();
		await vi.waitFor(() => expect(server.streamRequests()).toHaveLength(3));
		const [a, b, c] = server.streamRequests();
		expect(b!.at - a!.at).toBeLessThan(400);
		expect(c!.at - b!.at).toBeLessThan(400);
		await waitConverged(source, server);
	});

	it('S04 captive portal (HTML 200): failed fast with error.code "content-type"', async () => {
		const server = await startTaskServer();
		server.defaultStream = { kind: 'html' };
		const source = createTaskSource(server);
		source.start();
		await vi.waitFor(() => expect(source.connection.getSnapshot().status).toBe('failed'));
		const { error } = source.connection.getSnapshot();
		expect(error?.code).toBe('content-type');
		expect(error?.retryable).toBe(false);
		expect(error?.message).toContain('text/html');
		await sleep(300);
		expect(server.streamRequests()).toHaveLength(1);
		expect(source.store.getSnapshot().loaded).toBe(false);
	});

	it('S04 JSON error page with status 200: failed with error.code "content-type"', async () => {
		const server = await startTaskServer();
		server.defaultStream = {
			kind: 'status',
			status: 200,
			headers: { 'Content-Type': 'application/json' },
			body: '{"error":"login required"}'
		};
		const source = createTaskSource(server);
		source.start();
		await vi.waitFor(() => expect(source.connection.getSnapshot().status).toBe('failed'));
		expect(source.connection.getSnapshot().error?.code).toBe('content-type');
		expect(source.store.getSnapshot().items).toEqual([]);
	});

	it('S04 captive portal with fallback(sse, polling): the list arrives by polling, degraded', async () => {
		const server = await startTaskServer({ tasks: 4 });
		server.defaultStream = { kind: 'html' };
		const source = createTaskSource(server, {
			transport: fallback(
				sse({ url: server.streamUrl, mode: 'fetch' }),
				polling({ url: server.tasksUrl, interval: 100 })
			)
		});
		source.start();
		await waitConverged(source, server);
		const state = source.connection.getSnapshot();
		expect(state.status).toBe('live');
		expect(state.transport).toBe('polling');
		expect(state.degraded).toBe(true);
		expect(state.error).toBeUndefined();

		server.upsert(taskId(2), { done: true });
		await waitConverged(source, server);
		expect(server.streamRequests()).toHaveLength(1);
		expect(source.statuses).not.toContain('failed');
	});

	it('S04 fallback probes back up to SSE once the portal is gone', async () => {
		const server = await startTaskServer({ tasks: 3 });
		server.streamReplies.push({ kind: 'html' });
		const source = createTaskSource(server, {
			transport: fallback(
				[
					sse({ url: server.streamUrl, mode: 'fetch' }),
					polling({ url: server.tasksUrl, interval: 100 })
				],
				{ probeInterval: 300 }
			)
		});
		source.start();
		await vi.waitFor(() => expect(source.connection.getSnapshot().transport).toBe('polling'));
		await vi.waitFor(
			() => {
				const state = source.connection.getSnapshot();
				expect(state.transport).toBe('sse');
				expect(state.degraded).toBe(false);
				expect(state.status).toBe('live');
			},
			{ timeout: 2000 }
		);
		expect(server.openStreams).toBe(1);
		// Polling stopped after the switch.
		const polls = server.taskRequests().length;
		server.upsert(taskId(1), { title: 'via sse' });
		await waitConverged(source, server);
		await sleep(300);
		expect(server.taskRequests().length).toBeLessThanOrEqual(polls + 1);
	});

	it('S06 half-open stream (headers, then silence): stale after staleAfter, then a forced reconnect', async () => {
		const server = await startTaskServer({ tasks: 2 });
		server.streamReplies.push({ kind: 'stall' });
		const source = createTaskSource(server, { staleAfter: 200 });
		const started = performance.now();
		source.start();
		await waitLive(source);
		expect(source.store.getSnapshot().loaded).toBe(false);

		await vi.waitFor(() => expect(source.connection.getSnapshot().status).toBe('stale'));
		const staleAt = performance.now() - started;
		expect(staleAt).toBeGreaterThanOrEqual(190);
		expect(server.streamRequests()).toHaveLength(1);

		await vi.waitFor(() => expect(server.streamRequests()).toHaveLength(2));
		expect(source.statuses).toEqual(
			expect.arrayContaining(['connecting', 'live', 'stale', 'reconnecting'])
		);
		expect(source.statuses.indexOf('stale')).toBeLessThan(source.statuses.indexOf('reconnecting'));
		await waitConverged(source, server);
		await waitLive(source);
		// The dead stream was released by the client.
		await vi.waitFor(() => expect(server.openStreams).toBe(1));
	});

	it('S06 heartbeats (": ping" comments) keep a quiet stream live', async () => {
		const server = await startTaskServer({ tasks: 1 });
		const source = createTaskSource(server, { staleAfter: 200 });
		source.start();
		await waitConverged(source, server);
		for (let i = 0; i < 12; i++) {
			expect(server.ping()).toBe(1);
			await sleep(50);
		}
		expect(source.statuses).not.toContain('stale');
		expect(server.streamRequests()).toHaveLength(1);
		// Then silence: stale, then dropped.
		await vi.waitFor(() => expect(source.connection.getSnapshot().status).toBe('stale'));
		await vi.waitFor(() => expect(server.streamRequests()).toHaveLength(2));
	});

	it('S08 chunk boundaries: byte-by-byte writes, CRLF, split UTF-8 and a BOM give the same events', async () => {
		const server = await startTaskServer({ tasks: 0 });
		server.defaultStream = { kind: 'stall' };
		const source = createTaskSource(server);
		source.start();
		await vi.waitFor(() => expect(server.openStreams).toBe(1));
		const tasks = [
			{ id: 'u1', title: 'Grüße 👋 naïve café', done: false, version: 1 },
			{ id: 'u2', title: '日本語 ✓ — “quotes”', done: true, version: 3 }
		];
		const text =
			'\uFEFF' +
			tasks
				.map((task, i) => `id: ${i + 1}\r\nevent: upsert\r\ndata: ${JSON.stringify(task)}\r\n\r\n`)
				.join('');
		const bytes = Buffer.from(text, 'utf8');
		for (const byte of bytes) {
			expect(server.writeStalled(Buffer.from([byte]))).toBe(1);
			await sleep(0);
		}
		await vi.waitFor(() => expect(source.sorted()).toEqual(tasks));
		expect(source.store.getSnapshot().dropped).toBe(0);
		expect(source.connection.lastEventId).toBe('2');
	});

	it('S11 malformed JSON and unknown event types are dropped; the stream and the list stay intact', async () => {
		const server = await startTaskServer({ tasks: 2 });
		const errors: unknown[] = [];
		const source = createTaskSource(server, { onError: (error) => errors.push(error) });
		source.start();
		await waitConverged(source, server);
		server.writeRaw('id: 900\nevent: upsert\ndata: {"id":"t001",\n\n');
		server.writeRaw('id: 901\nevent: teleport\ndata: {}\n\n');
		server.upsert(taskId(2), { title: 'still flowing' });
		await waitConverged(source, server);
		expect(source.store.getSnapshot().dropped).toBe(2);
		expect(errors).toHaveLength(2);
		expect(source.connection.getSnapshot().status).toBe('live');
		expect(server.streamRequests()).toHaveLength(1);
	});

	it('S13 stop() releases the stream: the server sees the connection close, nothing reconnects', async () => {
		const server = await startTaskServer();
		const source = createTaskSource(server);
		source.start();
		await waitConverged(source, server);
		expect(server.openStreams).toBe(1);
		source.stop();
		expect(source.connection.getSnapshot().status).toBe('closed');
		await vi.waitFor(() => expect(server.openStreams).toBe(0));
		await sleep(300);
		expect(server.streamRequests()).toHaveLength(1);
	});

	it('S12 stop() while connecting (the server has not answered yet) releases the request', async () => {
		const server = await startTaskServer();
		server.streamReplies.push({ kind: 'hang' });
		const source = createTaskSource(server);
		source.start();
		await vi.waitFor(() => expect(server.openRequests).toBe(1));
		expect(source.connection.getSnapshot().status).toBe('connecting');
		source.stop();
		source.stop();
		expect(source.connection.getSnapshot().status).toBe('closed');
		await vi.waitFor(() => expect(server.openRequests).toBe(0));
		await sleep(300);
		expect(server.streamRequests()).toHaveLength(1);
		expect(source.statuses.filter((status) => status === 'closed')).toHaveLength(1);
	});

	it('S14 rapid start/stop x20 ends with exactly one open stream on the server', async () => {
		const server = await startTaskServer({ tasks: 2 });
		const source = createTaskSource(server);
		for (let i = 0; i < 20; i++) {
			source.start();
			if (i % 4 === 0) await sleep(1);
			source.stop();
		}
		source.start();
		await waitConverged(source, server);
		await vi.waitFor(() => expect(server.openRequests).toBe(1));
		await sleep(300);
		expect(server.openStreams).toBe(1);
		expect(server.openRequests).toBe(1);
		expect(source.connection.getSnapshot().status).toBe('live');
		server.upsert(taskId(1), { title: 'one stream only' });
		await waitConverged(source, server);
		expectNoDuplicates(source);
	});
});

describe('SSE ids and timeouts against a real server', () => {
	/** A server whose nth stream request is answered by `replies[n]` (the last one repeats). */
	async function streamServer(replies: Array<(res: ServerResponse) => void>) {
		const requests: IncomingMessage[] = [];
		const server = createServer((req, res) => {
			requests.push(req);
			res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' });
			replies[Math.min(requests.length, replies.length) - 1]!(res);
		});
		await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
		const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/stream`;
		cleanups.push(async () => {
			server.closeAllConnections();
			await new Promise((resolve) => server.close(resolve));
		});
		return { url, requests };
	}
	const cleanups: Array<() => unknown> = [];
	afterEach(async () => {
		for (const cleanup of cleanups.splice(0)) await cleanup();
	});

	/** The header's bytes as they came over the wire (Node reads header bytes as Latin-1). */
	const rawLastEventId = (req: IncomingMessage) => {
		const value = req.headers['last-event-id'];
		return value === undefined ? undefined : Buffer.from(String(value), 'latin1');
	};

	it('S30 a non-ASCII id round-trips through a real reconnect as UTF-8; an id-only block moves it too', async () => {
		const id = 'ключ-日本-😀';
		const { url, requests } = await streamServer([
			(res) => res.end(`id: ${id}\nevent: snapshot\ndata: [{"id":"a","version":1}]\n\n`),
			(res) => res.end('event: upsert\ndata: {"id":"b","version":1}\n\nid: 新しい\n\n'),
			() => {}
		]);
		const live = createLiveSource<{ id: string; version: number }>({
			transport: sse({ url, mode: 'fetch' }),
			version: (item) => item.version,
			retry: { baseDelay: 20, minDelay: 10, maxDelay: 40 }
		});
		live.start();
		cleanups.push(() => live.stop());
		await vi.waitFor(() => expect(requests).toHaveLength(3));
		expect(rawLastEventId(requests[0]!)).toBeUndefined();
		expect(rawLastEventId(requests[1]!)).toEqual(Buffer.from(id, 'utf8'));
		expect(rawLastEventId(requests[2]!)?.toString('utf8')).toBe('新しい');
		expect(live.connection.lastEventId).toBe('新しい');
		expect(
			live.store
				.getSnapshot()
				.items.map((item) => item.id)
				.sort()
		).toEqual(['a', 'b']);
	});

	it('S28 response headers that never come: the attempt times out (error.code "timeout") and the engine retries', async () => {
		const server = await startTaskServer({ tasks: 2 });
		server.streamReplies.push({ kind: 'hang' });
		const source = createTaskSource(server, {
			transport: sse({ url: server.streamUrl, mode: 'fetch', connectTimeout: 150 })
		});
		const started = performance.now();
		source.start();
		await vi.waitFor(() => expect(source.connection.getSnapshot().status).toBe('reconnecting'));
		expect(performance.now() - started).toBeGreaterThanOrEqual(140);
		expect(source.connection.getSnapshot().error).toMatchObject({
			code: 'timeout',
			retryable: true,
			transport: 'sse'
		});
		// The hung request was released, and the next attempt gets the list.
		await waitConverged(source, server);
		await vi.waitFor(() => expect(server.openRequests).toBe(1));
	});

	it('S28 fallback(sse, polling) with a stream whose headers never come: the list arrives by polling', async () => {
		const server = await startTaskServer({ tasks: 3 });
		server.defaultStream = { kind: 'hang' };
		const source = createTaskSource(server, {
			transport: fallback(
				sse({ url: server.streamUrl, mode: 'fetch', connectTimeout: 200 }),
				polling({ url: server.tasksUrl, interval: 100 })
			)
		});
		source.start();
		await waitConverged(source, server, 3000);
		expect(source.connection.getSnapshot()).toMatchObject({ transport: 'polling', degraded: true });
	});
});
