/**
 * The WebSocket transport, the engine and the store end to end through `createLiveSource`, against
 * the real task server of ./servers.ts (its `/ws` endpoint beside `GET /tasks` and
 * `PATCH /tasks/:id`). Real timers and sockets throughout; scenario numbers refer to
 * ../shared/design/SCENARIOS.md.
 */
import { once } from 'node:events';
import { createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { WebSocket } from 'ws';
import {
	createEnv,
	fallback,
	MutationError,
	polling,
	sse,
	TransportError,
	websocket,
	type Commit,
	type ConnectionState,
	type LiveSourceOptions
} from '../../src/lib/core/index.js';
import {
	closeAllServers,
	createTaskSource,
	patchCommit as patchTo,
	serverList,
	startTaskServer,
	stopAllSources,
	taskId,
	type Task,
	type TaskServer,
	type TaskSource
} from './servers.js';

const env = createEnv({ WebSocket: WebSocket as unknown as typeof globalThis.WebSocket });

/** A TCP server that accepts connections and never answers: a WebSocket handshake that hangs. */
async function startBlackhole() {
	const sockets = new Set<Socket>();
	let accepted = 0;
	const server = createNetServer((socket) => {
		accepted++;
		sockets.add(socket);
		socket.on('close', () => sockets.delete(socket));
		socket.on('error', () => {});
		socket.resume();
	});
	server.listen(0, '127.0.0.1');
	await once(server, 'listening');
	const { port } = server.address() as AddressInfo;
	blackholes.push(async () => {
		for (const socket of sockets) socket.destroy();
		await new Promise<void>((resolve) => server.close(() => resolve()));
	});
	return {
		url: `ws://127.0.0.1:${port}/ws`,
		get accepted() {
			return accepted;
		}
	};
}

const blackholes: Array<() => Promise<void>> = [];

/** A page: a live list over the server's WebSocket, started. */
function createClient(
	server: TaskServer,
	options: Partial<LiveSourceOptions<Task>> = {}
): TaskSource {
	const client = createTaskSource(server, {
		transport: websocket({ url: server.wsUrl }),
		env,
		...options
	});
	client.start();
	return client;
}

afterEach(async () => {
	stopAllSources();
	await closeAllServers();
	await Promise.all(blackholes.splice(0).map((close) => close()));
});

const waitConverged = (list: TaskSource[], server: TaskServer, timeout = 2000) =>
	vi.waitFor(
		() => {
			for (const client of list) {
				expect(client.sorted()).toEqual(serverList(server));
				expect(client.store.getSnapshot().rows.every((row) => row.status === 'settled')).toBe(true);
			}
		},
		{ timeout }
	);

const waitStatus = (client: TaskSource, statuses: string[], timeout = 2000) =>
	vi.waitFor(() => expect(statuses).toContain(client.connection.getSnapshot().status), {
		timeout
	});

/** An HTTP commit for a one-way transport, as an app would write it. */
const patchCommit = (server: TaskServer, calls: string[]): Commit<Task> =>
	patchTo(server.origin, calls);

/** A task as the server has it now. */
const taskOf = (server: TaskServer, id: string) => server.db.tasks.get(id);

// ---------------------------------------------------------------------------------------------

describe('WebSocket end to end against a real task server', () => {
	it('two clients: a toggle in one reaches the other over the socket', async () => {
		const server = await startTaskServer({ tasks: 3 });
		const a = createClient(server);
		const b = createClient(server);
		await waitConverged([a, b], server);
		expect(a.connection.getSnapshot()).toMatchObject({
			status: 'live',
			transport: 'websocket',
			degraded: false,
			bidirectional: true
		});

		const saved = await a.store.toggle(taskId(2));
		expect(saved).toEqual({ id: taskId(2), title: 'Task 2', done: true, version: 2 });
		expect(taskOf(server, taskId(2))).toEqual(saved);
		await vi.waitFor(() => expect(b.row(taskId(2))?.item).toEqual(saved));
		await waitConverged([a, b], server);
		expect(server.mutations).toHaveLength(1);
		expect(server.mutations[0]).toMatchObject({ key: taskId(2), item: { done: true } });
		expect(server.patches).toBe(0);
	});

	it.each([
		{ label: 'ack (with the item) then echo', order: 'ack-first', ackDelay: 0, result: true },
		{ label: 'echo, then ack with the item', order: 'echo-first', ackDelay: 300, result: true },
		{ label: 'echo, then a bare ack', order: 'echo-first', ackDelay: 300, result: false }
	] as const)(
		'S19 the echo of one own change is applied once ($label): version +1, leaves pending, no flicker',
		async ({ order, ackDelay, result }) => {
			const server = await startTaskServer({ tasks: 3 });
			server.replies = { order, ackDelay, result };
			const a = createClient(server);
			const b = createClient(server);
			await waitConverged([a, b], server);
			const from = a.published.length;

			const toggled = a.store.toggle(taskId(1));
			// Optimistic at once (the store publishes on the next frame; flush shows it now).
			a.store.flush();
			expect(a.row(taskId(1))).toMatchObject({
				status: 'pending',
				item: { done: true, version: 1 }
			});
			// B shows the echo: A has received it too. It carries A's mutationId, so A is settled
			// by it at once, whether or not the ack is there yet.
			await vi.waitFor(() => expect(b.row(taskId(1))?.item.version).toBe(2));
			await vi.waitFor(
				() =>
					expect(a.row(taskId(1))).toMatchObject({
						status: 'settled',
						item: { done: true, version: 2 }
					}),
				// Echo first: settled before the ack, which is still 300 ms away.
				{ timeout: ackDelay > 0 ? 200 : 1000 }
			);
			const saved = await toggled;
			expect(saved).toMatchObject({ id: taskId(1), done: true });
			// Give any late duplicate time to land.
			await sleep(100);
			await waitConverged([a, b], server);

			const row = a.row(taskId(1))!;
			expect(row.status).toBe('settled');
			expect(row.item).toEqual({ id: taskId(1), title: 'Task 1', done: true, version: 2 });
			expect(taskOf(server, taskId(1))!.version).toBe(2);
			expect(server.mutations).toHaveLength(1);
			expect(server.mutations[0]!.mutationId).toMatch(/.+/);
			expect(typeof server.mutations[0]!.ref).toBe('string');

			// What A's listeners saw for this change: optimistic, then settled; never back to
			// undone, never a version other than 1 and 2, and a handful of publishes.
			const seen = a.published.slice(from).map((rows) => rows.find((r) => r.key === taskId(1))!);
			expect(seen[0]).toMatchObject({ status: 'pending', item: { done: true, version: 1 } });
			expect(seen.at(-1)).toMatchObject({ status: 'settled', item: { done: true, version: 2 } });
			expect(seen.map((r) => r.item.done)).toEqual(seen.map(() => true));
			for (const r of seen) expect([1, 2]).toContain(r.item.version);
			expect(seen.length).toBeLessThanOrEqual(3);
			// Other rows were untouched throughout.
			for (const rows of a.published.slice(from)) {
				expect(rows.find((r) => r.key === taskId(2))?.item).toEqual(taskOf(server, taskId(2)));
			}
		}
	);

	it('S18 a nack rolls the row back and marks it failed; retryMutation succeeds; sent once per attempt', async () => {
		const server = await startTaskServer({ tasks: 3 });
		const a = createClient(server);
		const b = createClient(server);
		await waitConverged([a, b], server);
		server.mode = 'nack';

		const error: unknown = await a.store.toggle(taskId(3)).catch((e) => e);
		expect(error).toBeInstanceOf(MutationError);
		expect((error as MutationError).message).toContain('conflict');
		expect((error as MutationError).cause).toBeInstanceOf(TransportError);
		expect((error as MutationError).cause).toMatchObject({ code: 'nack' });
		await vi.waitFor(() => expect(a.row(taskId(3))?.status).toBe('failed'));
		const failed = a.row(taskId(3))!;
		// Rolled back to the server's row.
		expect(failed.item).toEqual({ id: taskId(3), title: 'Task 3', done: false, version: 1 });
		expect(failed.error).toBeInstanceOf(MutationError);
		expect(failed.error?.message).toContain('conflict');
		expect(taskOf(server, taskId(3))!.version).toBe(1);
		expect(server.mutations).toHaveLength(1);

		server.mode = 'ack';
		const saved = await a.store.retryMutation(taskId(3));
		expect(saved).toEqual({ id: taskId(3), title: 'Task 3', done: true, version: 2 });
		await waitConverged([a, b], server);
		expect(a.row(taskId(3))).toMatchObject({ status: 'settled', item: saved });
		expect(a.row(taskId(3))?.error).toBeUndefined();
		await sleep(150);
		// Once per attempt, never doubled: two mutations, two different ids and refs.
		expect(server.mutations).toHaveLength(2);
		expect(server.mutations.map((m) => m.key)).toEqual([taskId(3), taskId(3)]);
		expect(new Set(server.mutations.map((m) => m.mutationId)).size).toBe(2);
		expect(new Set(server.mutations.map((m) => m.ref)).size).toBe(2);
		expect(taskOf(server, taskId(3))!.version).toBe(2);
	});

	it('S18 a stalled ack times out after ackTimeout: rolled back, failed, sent once', async () => {
		const server = await startTaskServer({ tasks: 3 });
		const a = createClient(server, { ackTimeout: 200 });
		await waitConverged([a], server);
		server.mode = 'stall';

		const started = performance.now();
		const error: unknown = await a.store.toggle(taskId(1)).catch((e) => e);
		const elapsed = performance.now() - started;
		expect(error).toBeInstanceOf(MutationError);
		expect((error as MutationError).cause).toMatchObject({ code: 'timeout' });
		expect(elapsed).toBeGreaterThanOrEqual(190);
		expect(elapsed).toBeLessThan(1500);
		await vi.waitFor(() => expect(a.row(taskId(1))?.status).toBe('failed'));
		expect(a.row(taskId(1))?.item).toEqual(taskOf(server, taskId(1)));
		expect(a.row(taskId(1))?.item.done).toBe(false);
		await sleep(100);
		expect(server.mutations).toHaveLength(1);
		// The socket survives a missing ack.
		expect(a.connection.getSnapshot().status).toBe('live');
	});

	it('S17 messages sent while disconnected wait in order, bounded by maxQueue, and go out once on reconnect', async () => {
		const server = await startTaskServer({ tasks: 2 });
		const a = createClient(server, { maxQueue: 3 });
		await waitConverged([a], server);
		await a.connection.send({ type: 'note', n: 0 });
		await vi.waitFor(() => expect(server.socketMessages).toEqual([{ type: 'note', n: 0 }]));

		await server.kill();
		await waitStatus(a, ['reconnecting', 'connecting']);
		const outcomes: Array<string | undefined> = [];
		const track = (p: Promise<unknown>, i: number) =>
			p.then(
				(value) => (outcomes[i] = `resolved ${JSON.stringify(value)}`),
				(error: unknown) => (outcomes[i] = `rejected ${(error as TransportError).code}`)
			);
		const queued = [
			track(a.connection.send({ type: 'note', n: 1 }), 1),
			track(a.connection.send({ type: 'note', n: 2 }, { ack: true }), 2),
			track(a.connection.send({ type: 'note', n: 3 }), 3)
		];
		const overflow = a.connection.send({ type: 'note', n: 4 });
		track(overflow, 4);
		// The overflow rejects at once; the queued ones wait.
		await sleep(0);
		expect(outcomes[4]).toBe('rejected queue-full');
		await expect(overflow).rejects.toBeInstanceOf(TransportError);
		expect(outcomes.slice(1, 4)).toEqual([undefined, undefined, undefined]);

		// Several failed reconnects while down: nothing leaves, nothing is dropped.
		await sleep(300);
		expect(outcomes.slice(1, 4)).toEqual([undefined, undefined, undefined]);
		expect(server.socketMessages).toHaveLength(1);

		await server.restart();
		await Promise.all(queued);
		expect(outcomes.slice(1)).toEqual([
			'resolved undefined',
			'resolved {"received":2}',
			'resolved undefined',
			'rejected queue-full'
		]);
		await vi.waitFor(() => expect(server.socketMessages).toHaveLength(4));
		// Once the queue is gone, sends go straight out, after the flushed ones.
		await a.connection.send({ type: 'note', n: 5 });
		await vi.waitFor(() => expect(server.socketMessages).toHaveLength(5));
		await sleep(200);
		expect(server.socketMessages.map((m) => (m as { n: number }).n)).toEqual([0, 1, 2, 3, 5]);
		expect(server.socketMessages[2]).toMatchObject({ type: 'note', n: 2, ref: expect.any(String) });
		expect(server.socketMessages[1]).not.toHaveProperty('ref');
	});

	it('S17 a queued message whose signal aborts is removed and frees its place', async () => {
		const server = await startTaskServer({ tasks: 1 });
		const a = createClient(server, { maxQueue: 2 });
		await waitConverged([a], server);
		await server.kill();
		await waitStatus(a, ['reconnecting', 'connecting']);
		const controller = new AbortController();
		const kept = a.connection.send({ type: 'note', n: 1 });
		const aborted = a.connection.send({ type: 'note', n: 2 }, { signal: controller.signal });
		await expect(a.connection.send({ type: 'note', n: 3 })).rejects.toMatchObject({
			code: 'queue-full'
		});
		controller.abort(new Error('not needed any more'));
		await expect(aborted).rejects.toThrow('not needed any more');
		const third = a.connection.send({ type: 'note', n: 4 });
		await server.restart();
		await Promise.all([kept, third]);
		await vi.waitFor(() => expect(server.socketMessages).toHaveLength(2));
		await sleep(100);
		expect(server.socketMessages.map((m) => (m as { n: number }).n)).toEqual([1, 4]);
	});

	it('S26 server restarts while three clients are open: toggles made during the outage reach it once, all converge', async () => {
		const server = await startTaskServer({ tasks: 5 });
		const pages = [createClient(server), createClient(server), createClient(server)];
		await waitConverged(pages, server);
		const [a, b, c] = pages as [TaskSource, TaskSource, TaskSource];

		await server.kill();
		for (const page of pages) await waitStatus(page, ['reconnecting', 'connecting']);
		const toggles = [
			a.store.toggle(taskId(1)),
			a.store.toggle(taskId(2)),
			b.store.toggle(taskId(4))
		];
		for (const [page, id] of [
			[a, taskId(1)],
			[a, taskId(2)],
			[b, taskId(4)]
		] as const) {
			await vi.waitFor(() => expect(page.row(id)?.status).toBe('pending'));
			expect(page.row(id)?.item).toMatchObject({ done: true, version: 1 });
		}
		// Several failed reconnects while down: the changes still wait, unsent, still pending.
		await sleep(300);
		expect(server.mutations).toHaveLength(0);
		expect(a.row(taskId(1))?.status).toBe('pending');
		expect(b.row(taskId(4))?.status).toBe('pending');
		expect(c.row(taskId(1))?.item.done).toBe(false);

		await server.restart();
		const saved = await Promise.all(toggles);
		expect(saved.map((t) => [t.id, t.done, t.version])).toEqual([
			[taskId(1), true, 2],
			[taskId(2), true, 2],
			[taskId(4), true, 2]
		]);
		await waitConverged(pages, server, 3000);
		for (const page of pages) {
			expect(page.connection.getSnapshot().status).toBe('live');
			expect(page.store.getSnapshot().rows.some((row) => row.status !== 'settled')).toBe(false);
		}
		await sleep(200);
		expect(server.mutations.map((m) => m.key).sort()).toEqual([taskId(1), taskId(2), taskId(4)]);
		expect(taskOf(server, taskId(3))).toMatchObject({ done: false, version: 1 });
		expect(taskOf(server, taskId(5))).toMatchObject({ done: false, version: 1 });
		for (const page of pages) expect(page.sorted()).toEqual(serverList(server));
	});

	it('dropped connections (1006) reconnect, resync and converge with changes made meanwhile', async () => {
		const server = await startTaskServer({ tasks: 3 });
		const a = createClient(server);
		const b = createClient(server);
		await waitConverged([a, b], server);
		const before = server.socketConnections;
		expect(server.dropSockets()).toBe(2);
		// A change the clients cannot hear about over the socket: only the reconnect shows it.
		server.db.tasks.set(taskId(2), {
			...taskOf(server, taskId(2))!,
			title: 'changed offline',
			version: 2
		});
		await vi.waitFor(() => expect(server.socketConnections).toBe(before + 2));
		await waitConverged([a, b], server);
		for (const client of [a, b]) {
			await vi.waitFor(() => expect(client.connection.getSnapshot().continuity).toBe('resynced'));
			expect(client.row(taskId(2))?.item.title).toBe('changed offline');
		}
		await a.store.toggle(taskId(3));
		await waitConverged([a, b], server);
	});

	it('a handshake that never completes fails after connectTimeout with code timeout, retryable: the engine backs off and tries again', async () => {
		const server = await startTaskServer({ tasks: 1 });
		const blackhole = await startBlackhole();
		const states: ConnectionState[] = [];
		const a = createTaskSource(server, {
			transport: websocket({ url: blackhole.url, connectTimeout: 300 }),
			env
		});
		a.connection.subscribe((state) => states.push(state));
		const started = performance.now();
		a.start();
		const failure = await vi.waitFor(
			() => {
				const state = states.find((s) => s.error !== undefined);
				expect(state).toBeDefined();
				return state!;
			},
			{ timeout: 1500 }
		);
		expect(performance.now() - started).toBeGreaterThanOrEqual(290);
		expect(failure.status).toBe('reconnecting');
		expect(failure.retryAt).toEqual(expect.any(Number));
		expect(failure.error).toMatchObject({
			code: 'timeout',
			retryable: true,
			transport: 'websocket'
		});
		await vi.waitFor(() => expect(blackhole.accepted).toBeGreaterThanOrEqual(2), { timeout: 2000 });
	});

	it('S22 WebSocket blocked (handshake never completes) → SSE refused → polling: first data within 3 s, degraded; a toggle goes through commit once', async () => {
		const server = await startTaskServer({ tasks: 3 });
		// No stream here: 404, which moves the chain on at once.
		server.defaultStream = { kind: 'status', status: 404, body: 'no stream here' };
		const blackhole = await startBlackhole();
		const commits: string[] = [];
		const started = performance.now();
		const a = createClient(server, {
			transport: fallback(
				websocket({ url: blackhole.url, connectTimeout: 1000 }),
				sse({ url: `${server.origin}/stream`, mode: 'fetch' }),
				polling({ url: server.tasksUrl, interval: 200 })
			),
			commit: patchCommit(server, commits)
		});
		await vi.waitFor(() => expect(a.store.getSnapshot().loaded).toBe(true), { timeout: 3000 });
		const firstData = performance.now() - started;
		expect(firstData).toBeLessThan(3000);
		// It did wait for the socket first.
		expect(firstData).toBeGreaterThanOrEqual(950);
		expect(blackhole.accepted).toBe(1);
		expect(a.sorted()).toEqual(serverList(server));
		expect(a.connection.getSnapshot()).toMatchObject({
			status: 'live',
			transport: 'polling',
			degraded: true,
			bidirectional: false
		});

		const saved = await a.store.toggle(taskId(2));
		expect(saved).toEqual({ id: taskId(2), title: 'Task 2', done: true, version: 2 });
		expect(commits).toEqual([taskId(2)]);
		expect(server.patches).toBe(1);
		expect(server.mutations).toHaveLength(0);
		expect(server.socketConnections).toBe(0);
		// A few polls later: settled, the same as the server, and still one PATCH.
		await sleep(450);
		await waitConverged([a], server);
		expect(server.patches).toBe(1);
		expect(commits).toHaveLength(1);
		expect(a.connection.getSnapshot().transport).toBe('polling');
	});
});
