/**
 * Real servers for the integration tests: one task list served as an SSE stream (`GET /stream`),
 * as JSON with an ETag (`GET /tasks`), with a change endpoint (`PATCH /tasks/:id`), and over a
 * WebSocket (`/ws`: a snapshot on connect, upserts and removals as they happen, changes taken as
 * `{ type: 'mutation', mutationId, key, item, ref }` and acknowledged). Everything listens on
 * 127.0.0.1 only; every server is registered so that `closeAllServers()` can stop it.
 */
import { createHash } from 'node:crypto';
import {
	createServer,
	type IncomingMessage,
	type OutgoingHttpHeaders,
	type Server,
	type ServerResponse
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { WebSocket, WebSocketServer } from 'ws';
import {
	createLiveSource,
	sse,
	type Commit,
	type LiveSourceOptions,
	type Row,
	type Transport
} from '../../src/lib/core/index.js';

export interface Task {
	id: string;
	title: string;
	done: boolean;
	version: number;
}

/** What the next `GET /stream` request gets. */
export type StreamReply =
	/** Replays the log after `Last-Event-ID` (or sends a snapshot without it), then streams live. */
	| { kind: 'stream' }
	/** Status 200 and SSE headers, then nothing at all (a half-open stream). */
	| { kind: 'stall' }
	/** A captive portal: 200 with an HTML page. */
	| { kind: 'html' }
	/** No answer at all, not even headers. */
	| { kind: 'hang' }
	/** Any status, headers and body. */
	| { kind: 'status'; status: number; headers?: OutgoingHttpHeaders; body?: string };

export interface RecordedRequest {
	method: string;
	path: string;
	/** `performance.now()` when the request arrived. */
	at: number;
	lastEventId: string | undefined;
	ifNoneMatch: string | undefined;
	/** The status answered. */
	status: number | undefined;
	/** `/stream`: how many logged events were replayed; `-1` when a snapshot was sent instead. */
	replayed?: number;
}

/** A change that arrived over the WebSocket. */
export interface ReceivedMutation {
	mutationId: string;
	key: string;
	item: Task;
	ref: string | undefined;
}

interface LoggedEvent {
	id: number;
	event: 'upsert' | 'remove';
	data: string;
}

/** The data that survives a restart, like a database: the tasks and the event-id sequence. */
export class TaskDb {
	readonly tasks = new Map<string, Task>();
	/** The last event id handed out. */
	seq = 0;

	constructor(count = 0) {
		for (let i = 1; i <= count; i++) {
			const id = taskId(i);
			this.tasks.set(id, { id, title: `Task ${i}`, done: false, version: 1 });
		}
	}

	list(): Task[] {
		return [...this.tasks.values()].map((task) => ({ ...task }));
	}
}

export const taskId = (n: number) => `t${String(n).padStart(3, '0')}`;

export interface TaskServer {
	readonly db: TaskDb;
	readonly port: number;
	readonly origin: string;
	readonly streamUrl: string;
	readonly tasksUrl: string;
	/** The WebSocket endpoint. */
	readonly wsUrl: string;
	/** Every request, in arrival order (kept across restarts). */
	readonly requests: RecordedRequest[];
	/** Replies for the next `/stream` requests, used up in order; then `defaultStream`. */
	readonly streamReplies: StreamReply[];
	/** Replies for the next `GET /tasks` requests, used up in order; then the list. */
	readonly taskReplies: Extract<StreamReply, { kind: 'status' }>[];
	defaultStream: StreamReply;
	/** Open SSE responses (streaming or stalled). */
	readonly openStreams: number;
	/** Requests whose connection has not closed yet (any path, answered or not). */
	readonly openRequests: number;
	/** `GET /tasks`: the list is read when the request arrives but sent this much later (ms). */
	tasksDelay: number;
	readonly listening: boolean;
	streamRequests(): RecordedRequest[];
	taskRequests(): RecordedRequest[];
	/** How many `PATCH /tasks/:id` requests arrived. */
	readonly patches: number;
	/**
	 * WebSocket: how mutations are answered: applied and acked, refused (`{ ok: false, error:
	 * 'conflict' }`), or never answered (and not applied).
	 */
	mode: 'ack' | 'nack' | 'stall';
	/**
	 * WebSocket: how an accepted mutation is answered: the ack first (default) or the echo first,
	 * the ack `ackDelay` ms after the echo, with the saved item as `result` (default) or without.
	 */
	replies: { order: 'ack-first' | 'echo-first'; ackDelay: number; result: boolean };
	/** Every mutation received over the WebSocket, in order, across restarts. */
	readonly mutations: ReceivedMutation[];
	/** Every other WebSocket message received, in order, across restarts. */
	readonly socketMessages: unknown[];
	/** How many WebSocket connections were accepted in total. */
	readonly socketConnections: number;
	/** WebSocket connections open now. */
	readonly openSockets: number;
	/** Cuts every WebSocket connection (no close frame: the clients see 1006). */
	dropSockets(): number;
	/**
	 * Changes a task (or creates it), bumps its version, logs and broadcasts the upsert (on the
	 * WebSocket with `mutationId` when it is the echo of a client's change).
	 */
	upsert(id: string, patch?: Partial<Omit<Task, 'id' | 'version'>>, mutationId?: string): Task;
	/** Removes a task, logs and broadcasts the removal. */
	remove(id: string): void;
	/**
	 * Like `upsert`, but the open streams receive only the first part of the event (up to and
	 * including its `data:` line, without the blank line that ends it) and are then ended.
	 */
	upsertCut(id: string, patch?: Partial<Omit<Task, 'id' | 'version'>>): Task;
	/** Sends a `: ping` comment on every open stream; returns how many got it. */
	ping(): number;
	/** Writes raw text on every open stream. */
	writeRaw(text: string): number;
	/** Writes raw bytes on every stalled stream (which otherwise stays silent). */
	writeStalled(chunk: Buffer | string): number;
	/** Ends every open stream cleanly (the response ends, the socket stays usable). */
	dropStreams(): number;
	/** Stops listening and destroys every socket (WebSockets too). The data (`db`) survives. */
	kill(): Promise<void>;
	/**
	 * Listens again on the same port. The event log is lost unless `keepLog`, so a `Last-Event-ID`
	 * from before cannot be replayed; `resetIds` also restarts the event ids at 1.
	 */
	restart(options?: { keepLog?: boolean; resetIds?: boolean }): Promise<void>;
}

const servers = new Set<TaskServer>();

/** Stops every server started by `startTaskServer` (for `afterEach`). */
export async function closeAllServers(): Promise<void> {
	const all = [...servers];
	servers.clear();
	await Promise.all(all.map((server) => server.kill()));
}

export async function startTaskServer(
	options: { db?: TaskDb; tasks?: number; port?: number } = {}
): Promise<TaskServer> {
	const db = options.db ?? new TaskDb(options.tasks ?? 3);
	const requests: RecordedRequest[] = [];
	const streamReplies: StreamReply[] = [];
	const taskReplies: Extract<StreamReply, { kind: 'status' }>[] = [];
	const streams = new Set<ServerResponse>();
	const stalled = new Set<ServerResponse>();
	const pending = new Set<ServerResponse>();
	const mutations: ReceivedMutation[] = [];
	const socketMessages: unknown[] = [];
	let socketConnections = 0;
	let log: LoggedEvent[] = [];
	let http: Server | undefined;
	let wss: WebSocketServer | undefined;
	let port = options.port ?? 0;

	function record(req: IncomingMessage): RecordedRequest {
		const entry: RecordedRequest = {
			method: req.method ?? 'GET',
			path: new URL(req.url ?? '/', 'http://127.0.0.1').pathname,
			at: performance.now(),
			lastEventId: header(req, 'last-event-id'),
			ifNoneMatch: header(req, 'if-none-match'),
			status: undefined
		};
		requests.push(entry);
		return entry;
	}

	function append(event: LoggedEvent['event'], payload: unknown): LoggedEvent {
		const entry: LoggedEvent = { id: ++db.seq, event, data: JSON.stringify(payload) };
		log.push(entry);
		return entry;
	}

	function change(id: string, patch: Partial<Omit<Task, 'id' | 'version'>>): Task {
		const previous = db.tasks.get(id);
		const task: Task = previous
			? { ...previous, ...patch, version: previous.version + 1 }
			: { id, title: `Task ${id}`, done: false, ...patch, version: 1 };
		db.tasks.set(id, task);
		return { ...task };
	}

	function broadcast(text: string): number {
		for (const res of streams) res.write(text);
		return streams.size;
	}

	function broadcastSocket(payload: unknown) {
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
			socketMessages.push(message);
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
		if (server.mode === 'nack' || !db.tasks.has(mutation.key)) {
			reply({ type: 'ack', ref, ok: false, error: 'conflict' });
			return;
		}
		// Only the fields a client may change.
		const { title, done } = mutation.item;
		const patch = {
			...(typeof title === 'string' ? { title } : {}),
			...(typeof done === 'boolean' ? { done } : {})
		};
		const { order, ackDelay, result } = server.replies;
		const item = change(mutation.key, patch);
		const ack = () => reply({ type: 'ack', ref, ok: true, ...(result ? { result: item } : {}) });
		const echo = () => publish(item, mutation.mutationId);
		if (order === 'ack-first') {
			ack();
			echo();
		} else {
			echo();
			if (ackDelay > 0) setTimeout(ack, ackDelay);
			else ack();
		}
	}

	/** Logs an upsert and sends it on every stream and socket. */
	function publish(task: Task, mutationId?: string) {
		broadcast(frame(append('upsert', task)));
		broadcastSocket({ type: 'upsert', items: [task], ...(mutationId ? { mutationId } : {}) });
	}

	function handle(req: IncomingMessage, res: ServerResponse) {
		const entry = record(req);
		pending.add(res);
		res.on('close', () => pending.delete(res));
		res.on('finish', () => (entry.status = res.statusCode));
		const { pathname } = new URL(req.url ?? '/', 'http://127.0.0.1');
		if (req.method === 'GET' && pathname === '/stream') {
			const reply = streamReplies.shift() ?? server.defaultStream;
			entry.status = reply.kind === 'status' ? reply.status : 200;
			return stream(req, res, entry, reply);
		}
		if (req.method === 'GET' && pathname === '/tasks') return tasks(req, res, entry);
		const match = /^\/tasks\/([^/]+)$/.exec(pathname);
		if (req.method === 'PATCH' && match) return patch(req, res, decodeURIComponent(match[1]!));
		res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found');
	}

	function stream(
		req: IncomingMessage,
		res: ServerResponse,
		entry: RecordedRequest,
		reply: StreamReply
	) {
		switch (reply.kind) {
			case 'status':
				res.writeHead(reply.status, reply.headers).end(reply.body);
				return;
			case 'hang':
				return;
			case 'html':
				res
					.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' })
					.end('<!doctype html><title>Sign in to the Wi-Fi</title><form>...</form>');
				return;
			case 'stall':
			case 'stream': {
				res.writeHead(200, {
					'Content-Type': 'text/event-stream; charset=utf-8',
					'Cache-Control': 'no-cache'
				});
				res.flushHeaders();
				streams.add(res);
				res.on('close', () => streams.delete(res));
				if (reply.kind === 'stall') {
					// Silence: not even heartbeats reach this client.
					streams.delete(res);
					stalled.add(res);
					res.on('close', () => stalled.delete(res));
					return;
				}
				if (entry.lastEventId === undefined) {
					entry.replayed = -1;
					res.write(frame({ id: db.seq, event: 'snapshot', data: JSON.stringify(db.list()) }));
				} else {
					const after = Number(entry.lastEventId);
					const missed = log.filter((event) => event.id > after);
					entry.replayed = missed.length;
					for (const event of missed) res.write(frame(event));
				}
				return;
			}
		}
	}

	function tasks(req: IncomingMessage, res: ServerResponse, entry: RecordedRequest) {
		const reply = taskReplies.shift();
		if (reply) {
			res.writeHead(reply.status, reply.headers).end(reply.body);
			return;
		}
		const body = JSON.stringify(db.list());
		const etag = `"${createHash('sha1').update(body).digest('hex').slice(0, 16)}"`;
		if (entry.ifNoneMatch === etag) {
			res.writeHead(304, { ETag: etag }).end();
			return;
		}
		const send = () => {
			if (res.destroyed) return;
			res.writeHead(200, { 'Content-Type': 'application/json', ETag: etag }).end(body);
		};
		if (server.tasksDelay > 0) setTimeout(send, server.tasksDelay);
		else send();
	}

	function patch(req: IncomingMessage, res: ServerResponse, id: string) {
		let body = '';
		req.setEncoding('utf8');
		req.on('data', (chunk: string) => (body += chunk));
		req.on('end', () => {
			if (!db.tasks.has(id)) {
				res.writeHead(404, { 'Content-Type': 'text/plain' }).end('no such task');
				return;
			}
			const task = server.upsert(id, JSON.parse(body || '{}'));
			res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(task));
		});
	}

	async function listen() {
		const next = createServer(handle);
		const nextWss = new WebSocketServer({ server: next, path: '/ws' });
		nextWss.on('connection', (socket) => {
			socketConnections++;
			socket.on('error', () => {});
			socket.on('message', (data) => onSocketMessage(socket, String(data)));
			socket.send(JSON.stringify({ type: 'snapshot', items: db.list() }));
		});
		await new Promise<void>((resolve, reject) => {
			next.once('error', reject);
			next.listen(port, '127.0.0.1', () => {
				next.off('error', reject);
				resolve();
			});
		});
		port = (next.address() as AddressInfo).port;
		http = next;
		wss = nextWss;
	}

	const server: TaskServer = {
		db,
		get port() {
			return port;
		},
		get origin() {
			return `http://127.0.0.1:${port}`;
		},
		get streamUrl() {
			return `http://127.0.0.1:${port}/stream`;
		},
		get tasksUrl() {
			return `http://127.0.0.1:${port}/tasks`;
		},
		get wsUrl() {
			return `ws://127.0.0.1:${port}/ws`;
		},
		requests,
		streamReplies,
		taskReplies,
		defaultStream: { kind: 'stream' },
		get openStreams() {
			return streams.size + stalled.size;
		},
		get openRequests() {
			return pending.size;
		},
		tasksDelay: 0,
		get listening() {
			return http?.listening ?? false;
		},
		streamRequests: () => requests.filter((r) => r.path === '/stream'),
		taskRequests: () => requests.filter((r) => r.path === '/tasks' && r.method === 'GET'),
		get patches() {
			return requests.filter((r) => r.method === 'PATCH').length;
		},
		mode: 'ack',
		replies: { order: 'ack-first', ackDelay: 0, result: true },
		mutations,
		socketMessages,
		get socketConnections() {
			return socketConnections;
		},
		get openSockets() {
			return wss?.clients.size ?? 0;
		},
		dropSockets() {
			const clients = [...(wss?.clients ?? [])];
			for (const client of clients) client.terminate();
			return clients.length;
		},
		upsert(id, patch = {}, mutationId) {
			const task = change(id, patch);
			publish(task, mutationId);
			return task;
		},
		remove(id) {
			db.tasks.delete(id);
			broadcast(frame(append('remove', id)));
			broadcastSocket({ type: 'remove', ids: [id] });
		},
		upsertCut(id, patch = {}) {
			const task = change(id, patch);
			const whole = frame(append('upsert', task));
			// Everything but the blank line that would dispatch the event.
			broadcast(whole.slice(0, -1));
			server.dropStreams();
			return task;
		},
		ping: () => broadcast(': ping\n\n'),
		writeRaw: (text) => broadcast(text),
		writeStalled(chunk) {
			for (const res of stalled) res.write(chunk);
			return stalled.size;
		},
		dropStreams() {
			const count = streams.size;
			for (const res of [...streams]) res.end();
			streams.clear();
			return count;
		},
		async kill() {
			const current = http;
			const currentWss = wss;
			http = undefined;
			wss = undefined;
			streams.clear();
			stalled.clear();
			pending.clear();
			if (currentWss) {
				for (const client of currentWss.clients) client.terminate();
				await new Promise<void>((resolve) => currentWss.close(() => resolve()));
			}
			if (!current?.listening) return;
			await new Promise<void>((resolve) => {
				current.close(() => resolve());
				current.closeAllConnections();
			});
		},
		async restart({ keepLog = false, resetIds = false } = {}) {
			await server.kill();
			if (!keepLog) log = [];
			if (resetIds) db.seq = 0;
			servers.add(server);
			await listen();
		}
	};

	await listen();
	servers.add(server);
	return server;
}

function frame(event: { id: number; event: string; data: string }): string {
	return `id: ${event.id}\nevent: ${event.event}\ndata: ${event.data}\n\n`;
}

function header(req: IncomingMessage, name: string): string | undefined {
	const value = req.headers[name];
	return Array.isArray(value) ? value[0] : value;
}

// ---------------------------------------------------------------------------------------------
// Client side: live sources wired the way an app would, stopped by `stopAllSources()`.

// Derived rather than imported: the handle's type name is not settled yet.
type LiveSourceHandle = ReturnType<typeof createLiveSource<Task>>;

export interface TaskSource extends LiveSourceHandle {
	/** How often `resync` ran. */
	readonly resyncs: number;
	/** Every status the connection published, in order. */
	readonly statuses: string[];
	/** Rows whose version went down in a published snapshot (must stay empty). */
	readonly regressions: string[];
	/** Store snapshots published so far. */
	readonly publishes: number;
	/** `performance.now()` when each `key@version` first appeared in a published snapshot. */
	readonly firstSeen: Map<string, number>;
	/** Every published snapshot's rows, in order. */
	readonly published: Row<Task>[][];
	/** The items sorted by id, for comparison with the server's list. */
	sorted(): Task[];
	/** The row with this key now. */
	row(id: string): Row<Task> | undefined;
}

const sources = new Set<TaskSource>();

export function stopAllSources(): void {
	for (const source of sources) {
		source.stop();
		source.store.dispose();
	}
	sources.clear();
}

export function createTaskSource(
	server: TaskServer,
	options: Partial<LiveSourceOptions<Task>> & { transport?: Transport<unknown, unknown> } = {}
): TaskSource {
	let resyncs = 0;
	const statuses: string[] = [];
	const regressions: string[] = [];
	const firstSeen = new Map<string, number>();
	const highest = new Map<string, number>();
	const published: Row<Task>[][] = [];
	let publishes = 0;
	const live = createLiveSource<Task>({
		transport: sse({ url: server.streamUrl, mode: 'fetch' }),
		resync: (signal) => {
			resyncs++;
			return fetch(server.tasksUrl, { signal }).then((r) => r.json() as Promise<Task[]>);
		},
		version: (task) => task.version,
		retry: { baseDelay: 50, maxDelay: 200, minDelay: 10 },
		...options
	});
	live.connection.subscribe((state) => statuses.push(state.status));
	live.store.subscribe((snapshot) => {
		publishes++;
		published.push([...snapshot.rows]);
		const now = performance.now();
		for (const task of snapshot.items) {
			const seen = `${task.id}@${task.version}`;
			if (!firstSeen.has(seen)) firstSeen.set(seen, now);
			const before = highest.get(task.id) ?? -Infinity;
			if (task.version < before) regressions.push(`${task.id}: ${before} -> ${task.version}`);
			else highest.set(task.id, task.version);
		}
	});
	const source: TaskSource = {
		...live,
		get resyncs() {
			return resyncs;
		},
		statuses,
		regressions,
		get publishes() {
			return publishes;
		},
		firstSeen,
		published,
		sorted: () => sortById(live.store.getSnapshot().items),
		row: (id) => live.store.getSnapshot().rows.find((row) => row.key === id)
	};
	sources.add(source);
	return source;
}

export function sortById(tasks: readonly Task[]): Task[] {
	return [...tasks].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** The server's list, sorted by id. */
export const serverList = (server: TaskServer): Task[] => sortById(server.db.list());

/** A `commit` that PATCHes `{ done }` to a task server and returns its row; `calls` records the keys sent. */
export function patchCommit(origin: string, calls?: string[]): Commit<Task> {
	return async ({ key, item, signal }) => {
		calls?.push(key);
		const response = await fetch(`${origin}/tasks/${encodeURIComponent(key)}`, {
			method: 'PATCH',
			headers: { 'Content-Type': 'application/json' },
			body: JSON.stringify({ done: item.done }),
			signal
		});
		if (!response.ok) throw new Error(`PATCH answered ${response.status}`);
		return (await response.json()) as Task;
	};
}
