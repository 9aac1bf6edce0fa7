/**
 * The polling transport against a real HTTP server on 127.0.0.1: conditional requests, status
 * handling and a server restart. Scenario numbers refer to ../shared/design/SCENARIOS.md.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { polling } from '../../src/lib/core/index.js';
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
