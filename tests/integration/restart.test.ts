/**
 * A real SSE server killed while clients are live and restarted on the same port without its
 * event log, so `Last-Event-ID` cannot be replayed and only a resync closes the gap.
 * Scenario numbers refer to ../shared/design/SCENARIOS.md.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Commit } from '../../src/lib/core/index.js';
import {
	closeAllServers,
	createTaskSource,
	patchCommit,
	serverList,
	startTaskServer,
	stopAllSources,
	taskId,
	type Task,
	type TaskServer,
	type TaskSource
} from './servers.js';

afterEach(async () => {
	stopAllSources();
	await closeAllServers();
});

const waitConverged = (sources: TaskSource[], server: TaskServer, timeout = 3000) =>
	vi.waitFor(
		() => {
			for (const source of sources) expect(source.sorted()).toEqual(serverList(server));
		},
		{ timeout }
	);

function expectExactly(source: TaskSource, server: TaskServer) {
	const rows = source.store.getSnapshot().rows;
	const expected = serverList(server);
	expect(rows).toHaveLength(expected.length);
	expect(new Set(rows.map((row) => row.key)).size).toBe(rows.length);
	for (const task of expected) {
		const row = rows.find((r) => r.key === task.id);
		expect(row?.item.version, task.id).toBe(task.version);
		expect(row?.status).toBe('settled');
	}
	expect(source.regressions).toEqual([]);
}

/** An HTTP commit, as an app would write it for a one-way transport. */
const commitTo = (server: TaskServer): Commit<Task> => patchCommit(server.origin);

describe('server restart while clients are live', () => {
	it('S20 S26 restart that loses the event log: three pages recover, resync once each, converge', async () => {
		const server = await startTaskServer({ tasks: 8 });
		const pages = [createTaskSource(server), createTaskSource(server), createTaskSource(server)];
		for (const page of pages) page.start();
		await waitConverged(pages, server);
		server.upsert(taskId(1), { title: 'before the restart' });
		await waitConverged(pages, server);
		const lastBefore = String(server.db.seq);
		for (const page of pages) expect(page.connection.lastEventId).toBe(lastBefore);

		await server.kill();
		await vi.waitFor(() => {
			for (const page of pages) {
				const state = page.connection.getSnapshot();
				expect(state.status).toBe('reconnecting');
				expect(['network', 'closed']).toContain(state.error?.code);
			}
		});
		// Changes while the server is down (written straight to its database).
		server.upsert(taskId(2), { done: true });
		server.upsert(taskId(3), { title: 'renamed while down' });
		server.upsert(taskId(3), { done: true });
		server.remove(taskId(4));
		server.upsert(taskId(9), { title: 'created while down' });
		await sleep(250);
		const requestsWhileDown = server.streamRequests().length;
		expect(requestsWhileDown).toBe(3);
		for (const page of pages) expect(page.resyncs).toBe(0);

		await server.restart();
		await waitConverged(pages, server);
		const after = server.streamRequests().slice(requestsWhileDown);
		expect(after).toHaveLength(3);
		for (const request of after) {
			expect(request.lastEventId).toBe(lastBefore);
			// The log is gone: nothing could be replayed.
			expect(request.replayed).toBe(0);
		}
		for (const page of pages) {
			await vi.waitFor(() => expect(page.connection.getSnapshot().continuity).toBe('resynced'));
			expect(page.connection.getSnapshot().status).toBe('live');
			expect(page.resyncs).toBe(1);
			expectExactly(page, server);
		}

		server.upsert(taskId(5), { title: 'after the restart' });
		server.upsert(taskId(10), { title: 'created after the restart' });
		await waitConverged(pages, server);
		for (const page of pages) {
			expectExactly(page, server);
			expect(page.resyncs).toBe(1);
		}
		expect(server.streamRequests()).toHaveLength(requestsWhileDown + 3);
	});

	it('S20 no update lost or duplicated across a restart: many upserts before, during and after', async () => {
		const server = await startTaskServer({ tasks: 20 });
		const source = createTaskSource(server);
		source.start();
		await waitConverged([source], server);

		let n = 0;
		const burst = async (count: number) => {
			for (let i = 0; i < count; i++) {
				n++;
				const id = taskId((n % 25) + 1); // 21..25 are created along the way
				server.upsert(id, { title: `change ${n}`, done: n % 3 === 0 });
				if (i % 10 === 9) await sleep(1);
			}
		};

		await burst(60);
		await waitConverged([source], server);
		await server.kill();
		await burst(60);
		await sleep(100);
		await server.restart();
		// Some right away, racing the reconnect and the resync; the rest once it is live.
		await burst(30);
		await vi.waitFor(() => expect(source.connection.getSnapshot().status).toBe('live'));
		await burst(60);

		await waitConverged([source], server);
		expectExactly(source, server);
		expect(source.resyncs).toBe(1);
		await vi.waitFor(() => expect(source.connection.getSnapshot().continuity).toBe('resynced'));
		expect(source.connection.lastEventId).toBe(String(server.db.seq));
	});

	it('S26 a toggle made during the outage is not lost: marked failed, then retried after the restart', async () => {
		const server = await startTaskServer({ tasks: 3 });
		const pages = [
			createTaskSource(server, { commit: commitTo(server) }),
			createTaskSource(server, { commit: commitTo(server) })
		];
		for (const page of pages) page.start();
		await waitConverged(pages, server);

		// Online: the toggle is committed and echoed to every page.
		await pages[0]!.store.toggle(taskId(1));
		await waitConverged(pages, server);
		expect(server.db.tasks.get(taskId(1))!.done).toBe(true);

		await server.kill();
		await vi.waitFor(() => expect(pages[0]!.connection.getSnapshot().status).toBe('reconnecting'));
		await expect(pages[0]!.store.toggle(taskId(2))).rejects.toThrow();
		await vi.waitFor(() => {
			const row = pages[0]!.store.getSnapshot().rows.find((r) => r.key === taskId(2));
			expect(row?.status).toBe('failed');
			// Rolled back: the server never saw it.
			expect(row?.item.done).toBe(false);
		});
		expect(server.db.tasks.get(taskId(2))!.done).toBe(false);

		await server.restart();
		await vi.waitFor(() => expect(pages[0]!.connection.getSnapshot().status).toBe('live'));
		const saved = await pages[0]!.store.retryMutation(taskId(2));
		expect(saved.done).toBe(true);
		expect(server.db.tasks.get(taskId(2))!.done).toBe(true);
		await waitConverged(pages, server);
		for (const page of pages) expectExactly(page, server);
	});

	it('S26 restart that also restarts event ids at 1: new events are not dropped as duplicates', async () => {
		const server = await startTaskServer({ tasks: 3 });
		const source = createTaskSource(server);
		source.start();
		await waitConverged([source], server);
		for (let i = 0; i < 6; i++) server.upsert(taskId((i % 3) + 1), { title: `before ${i}` });
		await waitConverged([source], server);
		expect(server.db.seq).toBe(6);

		await server.kill();
		await sleep(100);
		// An in-memory id counter: after the restart the ids begin again at 1.
		await server.restart({ resetIds: true });
		await vi.waitFor(() => expect(source.connection.getSnapshot().continuity).toBe('resynced'));
		await waitConverged([source], server);

		// Ids 1..3 again, now for different changes.
		server.upsert(taskId(1), { title: 'after 1', done: true });
		server.upsert(taskId(2), { title: 'after 2', done: true });
		server.upsert(taskId(4), { title: 'created after the restart' });
		expect(server.db.seq).toBe(3);
		await waitConverged([source], server, 1500);
		expectExactly(source, server);
	});

	it('S21 a resync snapshot older than a streamed update keeps the newer row (and a row created meanwhile)', async () => {
		const server = await startTaskServer({ tasks: 4 });
		const source = createTaskSource(server);
		source.start();
		await waitConverged([source], server);

		await server.kill();
		server.upsert(taskId(2), { done: true });
		// The list is read when the resync arrives and sent 300 ms later.
		server.tasksDelay = 300;
		await server.restart();
		await vi.waitFor(() => expect(server.taskRequests()).toHaveLength(1));
		const staleFor = server.db.tasks.get(taskId(1))!.version;
		const newer = server.upsert(taskId(1), { title: 'newer than the snapshot' });
		const created = server.upsert(taskId(7), { title: 'not in the snapshot' });
		await vi.waitFor(() => expect(source.store.getSnapshot().items).toContainEqual(newer));
		await vi.waitFor(() => expect(source.connection.getSnapshot().continuity).toBe('resynced'));
		// The snapshot carried taskId(1) at an older version and lacked taskId(7).
		expect(staleFor).toBeLessThan(newer.version);
		expect(source.store.getSnapshot().items).toContainEqual(created);
		expectExactly(source, server);
	});

	it('S20 a failed resync leaves continuity "unknown" and the stream keeps flowing', async () => {
		const server = await startTaskServer({ tasks: 3 });
		const source = createTaskSource(server);
		source.start();
		await waitConverged([source], server);
		await server.kill();
		await server.restart();
		server.taskReplies.push({ kind: 'status', status: 500, body: 'oops' });
		await vi.waitFor(() => expect(source.resyncs).toBe(1));
		await vi.waitFor(() => expect(source.connection.getSnapshot().continuity).toBe('unknown'));
		expect(source.connection.getSnapshot().status).toBe('live');
		server.upsert(taskId(3), { title: 'still live' });
		await waitConverged([source], server);
		expect(source.connection.getSnapshot().continuity).toBe('unknown');
	});
});
