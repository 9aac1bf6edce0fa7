/**
 * The WebSocket transport, the engine and the store end to end through `createLiveSource`, against
 * a small real task server on 127.0.0.1 (a `ws` WebSocketServer on a node:http server that also
 * answers `GET /tasks` and `PATCH /tasks/:id`). Real timers and sockets throughout; scenario numbers
 * refer to ../shared/design/SCENARIOS.md.
 */
import { once } from 'node:events';
import {
	createServer,
	type IncomingMessage,
	type Server as HttpServer,
	type ServerResponse
} from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import {
	createEnv,
	createLiveSource,
	fallback,
	MutationError,
	polling,
	sse,
	TransportError,
	websocket,
	type Commit,
	type LiveSourceHandle,
	type LiveSourceOptions,
	type Row
} from '../../src/lib/core/index.js';
import { patchCommit as patchTo } from './servers.js';

interface Task {
	id: string;
	title: string;
	done: boolean;
	version: number;
}

const env = createEnv({ WebSocket: WebSocket as unknown as typeof globalThis.WebSocket });

const taskId = (n: number) => `t${n}`;

// ---------------------------------------------------------------------------------------------
// The server

interface ReceivedMutation {
	mutationId: string;
	key: string;
	item: Task;
	ref: string | undefined;
}

interface WsTaskServer {
	readonly db: Map<string, Task>;
	readonly port: number;
	readonly origin: string;
	readonly wsUrl: string;
	readonly tasksUrl: string;
	/** How mutations are answered: applied and acked, refused, or never answered (not applied). */
	mode: 'ack' | 'nack' | 'stall';
	/**
	 * How an accepted mutation is answered: the ack first (default) or the echo first, the ack
	 * `ackDelay` ms after the echo, with the saved item as `result` (default) or without one.
	 */
	replies: { order: 'ack-first' | 'echo-first'; ackDelay: number; result: boolean };
	/** Every mutation received, in order, across restarts. */
	readonly mutations: ReceivedMutation[];
	/** Every other message received, in order, across restarts. */
	readonly messages: unknown[];
	/** How many `PATCH /tasks/:id` requests arrived. */
	readonly patches: number;
	/** How many WebSocket connections were accepted in total. */
	readonly connections: number;
	/** WebSocket connections open now. */
	readonly openSockets: number;
	list(): Task[];
	/** Cuts every WebSocket connection (no close frame: the clients see 1006). */
	dropAll(): number;
	/** Stops listening and cuts every connection; the data survives. */
	stop(): Promise<void>;
	/** Listens again on the same port, with the same data. */
	restart(): Promise<void>;
}

const servers = new Set<WsTaskServer>();

async function startWsTaskServer(count = 3): Promise<WsTaskServer> {
	const db = new Map<string, Task>();
	for (let i = 1; i <= count; i++) {
		db.set(taskId(i), { id: taskId(i), title: `Task ${i}`, done: false, version: 1 });
	}
	const mutations: ReceivedMutation[] = [];
	const messages: unknown[] = [];
	let patches = 0;
	let connections = 0;
	let port = 0;
	let http: HttpServer | undefined;
	let wss: WebSocketServer | undefined;

	const list = () => [...db.values()].map((task) => ({ ...task }));

	function apply(key: string, change: Partial<Task>): Task {
		const current = db.get(key)!;
		const next: Task = {
			...current,
			...(typeof change.title === 'string' ? { title: change.title } : {}),
			...(typeof change.done === 'boolean' ? { done: change.done } : {}),
			version: current.version + 1
		};
		db.set(key, next);
		return { ...next };
	}

	function broadcast(payload: unknown) {
		const text = JSON.stringify(payload);
		for (const client of wss?.clients ?? []) {
			if (client.readyState === WebSocket.OPEN) client.send(text);
		}
	}

	function onSocketMessage(socket: WebSocket, text: string) {
		const message = JSON.parse(text) as Record<string, unknown>;
		const ref = typeof message.ref === 'string' ? message.ref : undefined;
		const reply = (payload: unknown) => socket.send(JSON.stringify(payload));
		if (message.type !== 'mutation') {
			messages.push(message);
			if (ref) reply({ type: 'ack', ref, ok: true, result: { received: message.n } });
			return;
		}
		const mutation: ReceivedMutation = {
			mutationId: message.mutationId as string,
			key: message.key as string,
			item: message.item as Task,
			ref
		};
		mutations.push(mutation);
		if (server.mode === 'stall') return;
		if (server.mode === 'nack' || !db.has(mutation.key)) {
			reply({ type: 'ack', ref, ok: false, error: 'conflict' });
			return;
		}
		const item = apply(mutation.key, mutation.item);
		const { order, ackDelay, result } = server.replies;
		const ack = () => reply({ type: 'ack', ref, ok: true, ...(result ? { result: item } : {}) });
		const echo = () =>
			broadcast({ type: 'upsert', items: [item], mutationId: mutation.mutationId });
		if (order === 'ack-first') {
			ack();
			echo();
		} else {
			echo();
			if (ackDelay > 0) setTimeout(ack, ackDelay);
			else ack();
		}
	}

	function onRequest(req: IncomingMessage, res: ServerResponse) {
		const { pathname } = new URL(req.url ?? '/', 'http://127.0.0.1');
		if (req.method === 'GET' && pathname === '/tasks') {
			res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(list()));
			return;
		}
		const match = /^\/tasks\/([^/]+)$/.exec(pathname);
		if (req.method === 'PATCH' && match) {
			patches++;
			let body = '';
			req.setEncoding('utf8');
			req.on('data', (chunk: string) => (body += chunk));
			req.on('end', () => {
				const key = decodeURIComponent(match[1]!);
				if (!db.has(key)) {
					res.writeHead(404, { 'Content-Type': 'text/plain' }).end('no such task');
					return;
				}
				const item = apply(key, JSON.parse(body || '{}') as Partial<Task>);
				broadcast({ type: 'upsert', items: [item] });
				res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(item));
			});
			return;
		}
		res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found');
	}

	async function listen() {
		const nextHttp = createServer(onRequest);
		const nextWss = new WebSocketServer({ server: nextHttp });
		nextWss.on('connection', (socket) => {
			connections++;
			socket.on('error', () => {});
			socket.on('message', (data) => onSocketMessage(socket, String(data)));
			socket.send(JSON.stringify({ type: 'snapshot', items: list() }));
		});
		nextHttp.listen(port, '127.0.0.1');
		await once(nextHttp, 'listening');
		port = (nextHttp.address() as AddressInfo).port;
		http = nextHttp;
		wss = nextWss;
	}

	const server: WsTaskServer = {
		db,
		get port() {
			return port;
		},
		get origin() {
			return `http://127.0.0.1:${port}`;
		},
		get wsUrl() {
			return `ws://127.0.0.1:${port}/ws`;
		},
		get tasksUrl() {
			return `http://127.0.0.1:${port}/tasks`;
		},
		mode: 'ack',
		replies: { order: 'ack-first', ackDelay: 0, result: true },
		mutations,
		messages,
		get patches() {
			return patches;
		},
		get connections() {
			return connections;
		},
		get openSockets() {
			return wss?.clients.size ?? 0;
		},
		list,
		dropAll() {
			const clients = [...(wss?.clients ?? [])];
			for (const client of clients) client.terminate();
			return clients.length;
		},
		async stop() {
			const currentHttp = http;
			const currentWss = wss;
			http = undefined;
			wss = undefined;
			if (currentWss) {
				for (const client of currentWss.clients) client.terminate();
				await new Promise<void>((resolve) => currentWss.close(() => resolve()));
			}
			if (currentHttp?.listening) {
				await new Promise<void>((resolve) => {
					currentHttp.close(() => resolve());
					currentHttp.closeAllConnections();
				});
			}
		},
		async restart() {
			await server.stop();
			await listen();
		}
	};
	await listen();
	servers.add(server);
	return server;
}

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

// ---------------------------------------------------------------------------------------------
// The clients

interface Client extends LiveSourceHandle<Task> {
	/** Every published snapshot's rows, in order. */
	readonly published: Row<Task>[][];
	row(id: string): Row<Task> | undefined;
	sorted(): Task[];
}

const clients = new Set<Client>();

function createClient(
	server: WsTaskServer,
	options: Partial<LiveSourceOptions<Task>> = {}
): Client {
	const live = createLiveSource<Task>({
		transport: websocket({ url: server.wsUrl }),
		env,
		version: (task) => task.version,
		retry: { baseDelay: 50, maxDelay: 200, minDelay: 10 },
		resync: (signal) => fetch(server.tasksUrl, { signal }).then((r) => r.json() as Promise<Task[]>),
		...options
	});
	const published: Row<Task>[][] = [];
	live.store.subscribe((snapshot) => published.push([...snapshot.rows]));
	const client: Client = {
		...live,
		published,
		row: (id) => live.store.getSnapshot().rows.find((row) => row.key === id),
		sorted: () => sortById(live.store.getSnapshot().items)
	};
	clients.add(client);
	client.start();
	return client;
}

const sortById = (tasks: readonly Task[]) =>
	[...tasks].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));

afterEach(async () => {
	for (const client of clients) {
		client.stop();
		client.store.dispose();
	}
	clients.clear();
	await Promise.all([...servers].map((server) => server.stop()));
	servers.clear();
	await Promise.all(blackholes.splice(0).map((close) => close()));
});

const waitConverged = (list: Client[], server: WsTaskServer, timeout = 2000) =>
	vi.waitFor(
		() => {
			for (const client of list) {
				expect(client.sorted()).toEqual(sortById(server.list()));
				expect(client.store.getSnapshot().rows.every((row) => row.status === 'settled')).toBe(true);
			}
		},
		{ timeout }
	);

const waitStatus = (client: Client, statuses: string[], timeout = 2000) =>
	vi.waitFor(() => expect(statuses).toContain(client.connection.getSnapshot().status), {
		timeout
	});

/** An HTTP commit for a one-way transport, as an app would write it. */
const patchCommit = (server: WsTaskServer, calls: string[]): Commit<Task> =>
	patchTo(server.origin, calls);

// ---------------------------------------------------------------------------------------------

describe('WebSocket end to end against a real task server', () => {
	it('two clients: a toggle in one reaches the other over the socket', async () => {
		const server = await startWsTaskServer(3);
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
		expect(server.db.get(taskId(2))).toEqual(saved);
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
			const server = await startWsTaskServer(3);
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
			expect(server.db.get(taskId(1))!.version).toBe(2);
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
				expect(rows.find((r) => r.key === taskId(2))?.item).toEqual(server.db.get(taskId(2)));
			}
		}
	);

	it('S18 a nack rolls the row back and marks it failed; retryMutation succeeds; sent once per attempt', async () => {
		const server = await startWsTaskServer(3);
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
		expect(server.db.get(taskId(3))!.version).toBe(1);
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
		expect(server.db.get(taskId(3))!.version).toBe(2);
	});

	it('S18 a stalled ack times out after ackTimeout: rolled back, failed, sent once', async () => {
		const server = await startWsTaskServer(3);
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
		expect(a.row(taskId(1))?.item).toEqual(server.db.get(taskId(1)));
		expect(a.row(taskId(1))?.item.done).toBe(false);
		await sleep(100);
		expect(server.mutations).toHaveLength(1);
		// The socket survives a missing ack.
		expect(a.connection.getSnapshot().status).toBe('live');
	});

	it('S17 messages sent while disconnected wait in order, bounded by maxQueue, and go out once on reconnect', async () => {
		const server = await startWsTaskServer(2);
		const a = createClient(server, { maxQueue: 3 });
		await waitConverged([a], server);
		await a.connection.send({ type: 'note', n: 0 });
		await vi.waitFor(() => expect(server.messages).toEqual([{ type: 'note', n: 0 }]));

		await server.stop();
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
		expect(server.messages).toHaveLength(1);

		await server.restart();
		await Promise.all(queued);
		expect(outcomes.slice(1)).toEqual([
			'resolved undefined',
			'resolved {"received":2}',
			'resolved undefined',
			'rejected queue-full'
		]);
		await vi.waitFor(() => expect(server.messages).toHaveLength(4));
		// Once the queue is gone, sends go straight out, after the flushed ones.
		await a.connection.send({ type: 'note', n: 5 });
		await vi.waitFor(() => expect(server.messages).toHaveLength(5));
		await sleep(200);
		expect(server.messages.map((m) => (m as { n: number }).n)).toEqual([0, 1, 2, 3, 5]);
		expect(server.messages[2]).toMatchObject({ type: 'note', n: 2, ref: expect.any(String) });
		expect(server.messages[1]).not.toHaveProperty('ref');
	});

	it('S17 a queued message whose signal aborts is removed and frees its place', async () => {
		const server = await startWsTaskServer(1);
		const a = createClient(server, { maxQueue: 2 });
		await waitConverged([a], server);
		await server.stop();
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
		await vi.waitFor(() => expect(server.messages).toHaveLength(2));
		await sleep(100);
		expect(server.messages.map((m) => (m as { n: number }).n)).toEqual([1, 4]);
	});

	it('S26 server restarts while three clients are open: toggles made during the outage reach it once, all converge', async () => {
		const server = await startWsTaskServer(5);
		const pages = [createClient(server), createClient(server), createClient(server)];
		await waitConverged(pages, server);
		const [a, b, c] = pages as [Client, Client, Client];

		await server.stop();
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
		expect(server.db.get(taskId(3))).toMatchObject({ done: false, version: 1 });
		expect(server.db.get(taskId(5))).toMatchObject({ done: false, version: 1 });
		for (const page of pages) expect(page.sorted()).toEqual(sortById(server.list()));
	});

	it('dropped connections (1006) reconnect, resync and converge with changes made meanwhile', async () => {
		const server = await startWsTaskServer(3);
		const a = createClient(server);
		const b = createClient(server);
		await waitConverged([a, b], server);
		const before = server.connections;
		expect(server.dropAll()).toBe(2);
		// A change the clients cannot hear about over the socket: only the reconnect shows it.
		server.db.set(taskId(2), {
			...server.db.get(taskId(2))!,
			title: 'changed offline',
			version: 2
		});
		await vi.waitFor(() => expect(server.connections).toBe(before + 2));
		await waitConverged([a, b], server);
		for (const client of [a, b]) {
			await vi.waitFor(() => expect(client.connection.getSnapshot().continuity).toBe('resynced'));
			expect(client.row(taskId(2))?.item.title).toBe('changed offline');
		}
		await a.store.toggle(taskId(3));
		await waitConverged([a, b], server);
	});

	it('S22 WebSocket blocked (handshake never completes) → SSE refused → polling: first data within 3 s, degraded; a toggle goes through commit once', async () => {
		const server = await startWsTaskServer(3);
		const blackhole = await startBlackhole();
		const commits: string[] = [];
		const started = performance.now();
		const a = createClient(server, {
			transport: fallback(
				websocket({ url: blackhole.url, connectTimeout: 1000 }),
				// No stream on this server: 404, which moves the chain on at once.
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
		expect(a.sorted()).toEqual(sortById(server.list()));
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
		expect(server.connections).toBe(0);
		// A few polls later: settled, the same as the server, and still one PATCH.
		await sleep(450);
		await waitConverged([a], server);
		expect(server.patches).toBe(1);
		expect(commits).toHaveLength(1);
		expect(a.connection.getSnapshot().transport).toBe('polling');
	});
});
