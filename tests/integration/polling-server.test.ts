/**
 * The polling transport against a real HTTP server on 127.0.0.1: conditional requests, status
 * handling and a server restart. Scenario numbers refer to ../shared/design/SCENARIOS.md.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { polling, type ConnectionState } from '../../src/lib/core/index.js';
import {
	closeAllServers,
	createTaskSource,
	serverList,
	startTaskServer,
	stopAllSources,
	taskId
} from './servers.js';

afterEach(async () => {
	stopAllSources();
	await closeAllServers();
});

const notModified = (server: Awaited<ReturnType<typeof startTaskServer>>) =>
	server.taskRequests().filter((r) => r.status === 304);

describe('polling against a real server', () => {
	it('ETag: an unchanged list costs 304 responses and no store notification', async () => {
		const server = await startTaskServer({ tasks: 5 });
		const source = createTaskSource(server, {
			transport: polling({ url: server.tasksUrl, interval: 50 })
		});
		source.start();
		await vi.waitFor(() => expect(source.sorted()).toEqual(serverList(server)));
		const state = source.connection.getSnapshot();
		expect(state.status).toBe('live');
		expect(state.transport).toBe('polling');
		expect(state.degraded).toBe(false);
		const publishes = source.publishes;
		expect(publishes).toBe(1);
		const snapshot = source.store.getSnapshot();

		await vi.waitFor(() => expect(notModified(server).length).toBeGreaterThanOrEqual(4));
		const [first, ...rest] = server.taskRequests();
		expect(first!.status).toBe(200);
		expect(first!.ifNoneMatch).toBeUndefined();
		for (const request of rest) {
			expect(request.ifNoneMatch).toMatch(/^"[0-9a-f]{16}"$/);
			expect(request.status).toBe(304);
		}
		expect(source.publishes).toBe(publishes);
		// Not even a new (equal) snapshot object: nothing for a UI to re-render.
		expect(source.store.getSnapshot()).toBe(snapshot);

		server.upsert(taskId(3), { done: true });
		await vi.waitFor(() => expect(source.sorted()).toEqual(serverList(server)));
		expect(source.publishes).toBe(publishes + 1);
		const changed = server.taskRequests().filter((r) => r.status === 200);
		expect(changed).toHaveLength(2);

		const before304 = notModified(server).length;
		await vi.waitFor(() => expect(notModified(server).length).toBeGreaterThan(before304 + 2));
		expect(source.publishes).toBe(publishes + 1);
		expect(source.connection.getSnapshot().status).toBe('live');
	});

	it('S29 one adapter object mounted again with a new store: the new store gets the whole list (200), not a 304', async () => {
		const server = await startTaskServer({ tasks: 4 });
		// Module-level, as the README encourages: every mount shares it.
		const transport = polling({ url: server.tasksUrl, interval: 50 });
		const first = createTaskSource(server, { transport });
		first.start();
		await vi.waitFor(() => expect(first.sorted()).toEqual(serverList(server)));
		// The first store's list is validated by 304s meanwhile.
		await vi.waitFor(() => expect(notModified(server).length).toBeGreaterThanOrEqual(2));
		first.stop();
		first.store.dispose();

		const before = server.taskRequests().length;
		const second = createTaskSource(server, { transport });
		second.start();
		await vi.waitFor(() => expect(second.store.getSnapshot().loaded).toBe(true), {
			timeout: 1000
		});
		expect(second.sorted()).toEqual(serverList(server));
		const next = server.taskRequests()[before]!;
		expect(next.ifNoneMatch).toBeUndefined();
		expect(next.status).toBe(200);
		expect(second.connection.getSnapshot().status).toBe('live');
		// From then on its own list is revalidated.
		await vi.waitFor(() =>
			expect(
				server
					.taskRequests()
					.slice(before + 1)
					.some((r) => r.status === 304)
			).toBe(true)
		);
	});

	it('S29 a new store whose initial rows are stale gets the server list, not a 304 that keeps them', async () => {
		const server = await startTaskServer({ tasks: 3 });
		const transport = polling({ url: server.tasksUrl, interval: 50 });
		const first = createTaskSource(server, { transport });
		first.start();
		await vi.waitFor(() => expect(first.sorted()).toEqual(serverList(server)));
		await vi.waitFor(() => expect(notModified(server).length).toBeGreaterThanOrEqual(1));
		first.stop();

		// Rows rendered from an older copy (a cache, a server-rendered page): one row renamed since,
		// one removed since. The server's list itself has not changed, so its ETag has not either.
		const stale = [
			{ id: taskId(1), title: 'old title', done: false, version: 0 },
			{ id: taskId(9), title: 'removed since', done: false, version: 1 }
		];
		const second = createTaskSource(server, { transport, initial: stale });
		second.start();
		await vi.waitFor(() => expect(second.sorted()).toEqual(serverList(server)), { timeout: 1000 });
	});

	it('S29 a reconnect of the same connection revalidates the list its store has: 304, the list kept', async () => {
		const server = await startTaskServer({ tasks: 3 });
		const source = createTaskSource(server, {
			transport: polling({ url: server.tasksUrl, interval: 50 })
		});
		source.start();
		await vi.waitFor(() => expect(source.sorted()).toEqual(serverList(server)));
		const publishes = source.publishes;
		await server.kill();
		await vi.waitFor(() => expect(source.connection.getSnapshot().status).toBe('reconnecting'));
		const before = server.taskRequests().length;
		await server.restart();
		await vi.waitFor(() => expect(source.connection.getSnapshot().status).toBe('live'), {
			timeout: 2000
		});
		const next = server.taskRequests()[before]!;
		expect(next.ifNoneMatch).toMatch(/^"[0-9a-f]{16}"$/);
		expect(next.status).toBe(304);
		expect(source.sorted()).toEqual(serverList(server));
		expect(source.publishes).toBe(publishes);
	});

	it('a first request whose answer never comes fails after `timeout` with code timeout, and is retried', async () => {
		const server = await startTaskServer({ tasks: 2 });
		// The list is sent 5 s late: longer than the request may take.
		server.tasksDelay = 5000;
		const source = createTaskSource(server, {
			transport: polling({ url: server.tasksUrl, interval: 50, timeout: 200 })
		});
		const states: ConnectionState[] = [];
		source.connection.subscribe((state) => states.push(state));
		const started = performance.now();
		source.start();
		const failure = await vi.waitFor(
			() => {
				const state = states.find((s) => s.error !== undefined);
				expect(state).toBeDefined();
				return state!;
			},
			{ timeout: 1000 }
		);
		expect(performance.now() - started).toBeGreaterThanOrEqual(190);
		// Retryable: a backoff and a next attempt, not `failed`.
		expect(failure.status).toBe('reconnecting');
		expect(failure.retryAt).toEqual(expect.any(Number));
		expect(failure.error).toMatchObject({ code: 'timeout', retryable: true, transport: 'polling' });
		server.tasksDelay = 0;
		await vi.waitFor(() => expect(source.sorted()).toEqual(serverList(server)), { timeout: 2000 });
		expect(source.connection.getSnapshot().status).toBe('live');
	});

	it('S03 polling: 404 is terminal, failed without a retry loop', async () => {
		const server = await startTaskServer();
		server.taskReplies.push({ kind: 'status', status: 404, body: 'gone' });
		const source = createTaskSource(server, {
			transport: polling({ url: server.tasksUrl, interval: 50 })
		});
		source.start();
		await vi.waitFor(() => expect(source.connection.getSnapshot().status).toBe('failed'));
		expect(source.connection.getSnapshot().error?.status).toBe(404);
		await sleep(400);
		expect(server.taskRequests()).toHaveLength(1);
	});

	it('S03 polling: 503 with Retry-After: 1 delays the next request by about a second', async () => {
		const server = await startTaskServer({ tasks: 2 });
		server.taskReplies.push({ kind: 'status', status: 503, headers: { 'Retry-After': '1' } });
		const source = createTaskSource(server, {
			transport: polling({ url: server.tasksUrl, interval: 50 })
		});
		source.start();
		await vi.waitFor(() => expect(server.taskRequests()).toHaveLength(2), { timeout: 2500 });
		const [first, second] = server.taskRequests();
		expect(first!.status).toBe(503);
		const gap = second!.at - first!.at;
		expect(gap).toBeGreaterThanOrEqual(998);
		expect(gap).toBeLessThan(1600);
		await vi.waitFor(() => expect(source.sorted()).toEqual(serverList(server)));
	});

	it('S04 polling: an HTML page instead of JSON fails with error.code "content-type"', async () => {
		const server = await startTaskServer();
		server.taskReplies.push({
			kind: 'status',
			status: 200,
			headers: { 'Content-Type': 'text/html' },
			body: '<!doctype html><title>Log in</title>'
		});
		const source = createTaskSource(server, {
			transport: polling({ url: server.tasksUrl, interval: 50 })
		});
		source.start();
		await vi.waitFor(() => expect(source.connection.getSnapshot().status).toBe('failed'));
		expect(source.connection.getSnapshot().error?.code).toBe('content-type');
		await sleep(300);
		expect(server.taskRequests()).toHaveLength(1);
	});

	it('S26 polling survives a server restart: changes made while down arrive, no resync needed', async () => {
		const server = await startTaskServer({ tasks: 6 });
		const source = createTaskSource(server, {
			transport: polling({ url: server.tasksUrl, interval: 50 })
		});
		source.start();
		await vi.waitFor(() => expect(source.sorted()).toEqual(serverList(server)));

		await server.kill();
		await vi.waitFor(() => expect(source.connection.getSnapshot().status).toBe('reconnecting'));
		expect(source.connection.getSnapshot().error?.code).toBe('network');
		server.upsert(taskId(1), { done: true });
		server.remove(taskId(2));
		server.upsert(taskId(7), { title: 'added while down' });
		await sleep(150);
		await server.restart();

		await vi.waitFor(() => expect(source.sorted()).toEqual(serverList(server)), {
			timeout: 2000
		});
		const state = source.connection.getSnapshot();
		expect(state.status).toBe('live');
		// Every poll is the whole list: that is proof enough, no resync.
		expect(state.continuity).toBe('resumed');
		expect(source.resyncs).toBe(0);
		expect(source.regressions).toEqual([]);
	});
});
