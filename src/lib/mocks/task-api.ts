import { delay, http, HttpResponse, ws, type RequestHandler, type WebSocketHandler } from 'msw';
import { EVENTS, isMutationMessage } from '../core/protocol.js';
import { createEventLog, sseResponse, type LoggedEvent } from '../server/sse.js';
import { taskFixtures, type MockTask } from './fixtures.js';

/** How an endpoint misbehaves. */
export interface Faults {
	/**
	 * Fail this many requests, then answer normally.
	 * @defaultValue `0`, or every request when `failure` is given alone (without `failAfterEnd`)
	 */
	failTimes?: number;
	/** How a failing request fails: a network error, or an HTTP status. @defaultValue `503` */
	failure?: 'network' | number;
	/** `Retry-After` (seconds), sent with every failing HTTP answer (whatever its `failure` status). */
	retryAfter?: number;
	/** Answer with this content type instead (a captive portal's `text/html`). */
	contentType?: string;
	/** Wait this long before answering (milliseconds), or forever (a loading state). */
	latency?: number | 'infinite';
}

export interface StreamFaults extends Faults {
	/** End each stream cleanly after this many events. */
	dropAfter?: number;
	/**
	 * After the server ends streams (`dropAfter`, `disconnectAll()`), fail this many of the next
	 * attempts (with `failure` and `retryAfter`), as while a server restarts.
	 */
	failAfterEnd?: number;
	/** Send the headers and `retry:`, then nothing, not even heartbeats (a half-open stream). */
	stall?: boolean;
	/**
	 * Send heartbeats this often (milliseconds), as `sseResponse` does: `ping` events announcing
	 * the interval, which the kit's `sse()` sees in both modes. @defaultValue none
	 */
	heartbeat?: number;
	/** The `retry:` field sent first (milliseconds). @defaultValue `1000` */
	retry?: number;
}

export interface CommitFaults {
	/** `ok` applies the change; `nack` refuses it; `stall` never answers. @defaultValue `'ok'` */
	mode?: 'ok' | 'nack' | 'stall';
	/** Wait this long before answering (milliseconds). */
	latency?: number;
}

export interface TaskApiOptions {
	/**
	 * Where the API lives: `GET {base}/tasks` (ETag), `PATCH {base}/tasks/:id`,
	 * `GET {base}/tasks/stream` (SSE, served by the kit's own `sseResponse` and `createEventLog`:
	 * `retry:`, a `snapshot` with the id of the last change or a replay after `Last-Event-ID`, then
	 * `upsert` and `remove` events).
	 * @defaultValue `'/api'`
	 */
	base?: string;
	/** A WebSocket URL to serve the task socket on (`ws.link`), e.g. `'wss://realtime.test/tasks'`. */
	socketUrl?: string;
	/**
	 * The origin of a socket.io server to serve (`'wss://realtime.test'`): engine.io 4 over
	 * WebSocket at `/socket.io/`, the default namespace, with acknowledgements. Sends
	 * `task:snapshot` on connect, `task:sync` (`{ item, mutationId }`) and `task:remove` (ids) on
	 * change, and answers `task:update` (`{ key, item, mutationId }`) with `{ ok, result | error }`.
	 * Clients must connect with `transports: ['websocket']`.
	 */
	socketIoUrl?: string;
	/** The tasks to start with. @defaultValue {@link taskFixtures} */
	tasks?: readonly MockTask[];
	/** Faults of `GET {base}/tasks`. */
	list?: Faults;
	/** Faults of the SSE stream. */
	stream?: StreamFaults;
	/** Faults of changes (PATCH and socket mutations). */
	commit?: CommitFaults;
}

/** The mock server's data, to change from a story or a test. */
export interface TaskApi {
	/** The MSW handlers to install (`setupWorker(...api.handlers)`, `parameters.msw`). */
	readonly handlers: Array<RequestHandler | WebSocketHandler>;
	/** The tasks as the server has them now. */
	tasks(): MockTask[];
	/** Changes or adds a task (version bumped) and pushes it to every open stream and socket. */
	upsert(task: Partial<MockTask> & { id: string }): MockTask;
	/** Removes a task and pushes the removal. */
	remove(id: string): void;
	/** Ends every open stream and socket, as a server restart would. */
	disconnectAll(): void;
	/** How many requests each endpoint got. */
	readonly requests: { list: number; stream: number; commit: number; socket: number };
	/** How many streams and sockets are open now. */
	open(): { streams: number; sockets: number };
}

/** How many changes the stream keeps for replay after `Last-Event-ID`. */
const REPLAY_LIMIT = 500;

/**
 * A mock task API for MSW: list, change and stream tasks over HTTP, SSE and WebSocket, with
 * faults on demand. One call is one server with its own data.
 *
 * @example
 * const api = createTaskApi({ stream: { failTimes: 2, failure: 503, retryAfter: 1 } });
 * setupWorker(...api.handlers).start();
 */
export function createTaskApi(options: TaskApiOptions = {}): TaskApi {
	const base = options.base ?? '/api';
	const data = new Map((options.tasks ?? taskFixtures).map((task) => [task.id, { ...task }]));
	// Every change, as the streams send it: its listeners are the open streams.
	const log = createEventLog({ limit: REPLAY_LIMIT });
	/** Aborted by `disconnectAll()` (a restart), then replaced for the streams that follow. */
	let server = new AbortController();
	/** Open sockets (plain and socket.io), each told about every change in its own framing. */
	const sockets = new Set<{ push(event: LoggedEvent): void; close(): void }>();
	const requests = { list: 0, stream: 0, commit: 0, socket: 0 };
	/** Stream attempts still to fail after the server ended streams (`failAfterEnd`). */
	let restarting = 0;

	const list = () => [...data.values()];
	const broadcast = (event: { event: string; data: unknown }) => {
		const logged = log.append(event); // sent to every open stream
		for (const socket of sockets) socket.push(logged);
	};
	/** The server ended streams: with `failAfterEnd`, the next attempts fail (a restart). */
	const ended = () => {
		const after = options.stream?.failAfterEnd;
		if (after) restarting = after;
	};

	/**
	 * Applies a change that came over a socket; answers as an acknowledgement would, or not at all
	 * (a stalled ack).
	 */
	async function commitFromSocket(message: {
		key?: unknown;
		mutationId?: unknown;
		item?: Partial<MockTask>;
	}): Promise<{ ok: boolean; result?: MockTask; error?: string } | undefined> {
		requests.commit++;
		const faults = options.commit ?? {};
		if (faults.latency) await delay(faults.latency);
		if (faults.mode === 'stall') return undefined;
		if (faults.mode === 'nack') return { ok: false, error: 'conflict' };
		const mutationId = typeof message.mutationId === 'string' ? message.mutationId : undefined;
		const next = apply(String(message.key), message.item ?? {}, mutationId);
		return next ? { ok: true, result: next } : { ok: false, error: 'not found' };
	}

	function apply(id: string, change: Partial<MockTask>, mutationId?: string): MockTask | undefined {
		const current = data.get(id);
		if (!current) return undefined;
		const next = {
			...current,
			...change,
			id,
			version: current.version + 1,
			updatedAt: change.updatedAt ?? new Date().toISOString()
		};
		data.set(id, next);
		broadcast({
			event: EVENTS.upsert,
			data: { item: next, ...(mutationId ? { mutationId } : {}) }
		});
		return next;
	}

	/** Answers with the fault due for this request, if any. */
	async function fault(
		faults: StreamFaults | undefined,
		count: number,
		forced = false
	): Promise<Response | undefined> {
		if (!faults) return undefined;
		if (faults.latency !== undefined) await delay(faults.latency);
		// `failTimes` bounds the failures; `failure` alone (without `failAfterEnd`) fails every request.
		const due =
			forced ||
			(faults.failTimes !== undefined
				? count <= faults.failTimes
				: faults.failure !== undefined && faults.failAfterEnd === undefined);
		if (due) {
			const failure = faults.failure ?? 503;
			if (failure === 'network') return HttpResponse.error();
			return new HttpResponse(null, {
				status: failure,
				headers: faults.retryAfter !== undefined ? { 'Retry-After': String(faults.retryAfter) } : {}
			});
		}
		if (faults.contentType) {
			return new HttpResponse('<!doctype html><title>Sign in to the network</title>', {
				headers: { 'Content-Type': faults.contentType }
			});
		}
		return undefined;
	}

	const handlers: Array<RequestHandler | WebSocketHandler> = [
		http.get(`${base}/tasks`, async ({ request }) => {
			const failed = await fault(options.list, ++requests.list);
			if (failed) return failed;
			const etag = `"v${log.lastId}-${data.size}"`;
			if (request.headers.get('If-None-Match') === etag)
				return new HttpResponse(null, { status: 304, headers: { ETag: etag } });
			return HttpResponse.json(list(), { headers: { ETag: etag } });
		}),

		http.patch(`${base}/tasks/:id`, async ({ request, params }) => {
			requests.commit++;
			const faults = options.commit ?? {};
			if (faults.latency) await delay(faults.latency);
			if (faults.mode === 'stall') await delay('infinite');
			if (faults.mode === 'nack') return HttpResponse.json({ error: 'conflict' }, { status: 409 });
			const body = (await request.json().catch(() => ({}))) as Partial<MockTask> & {
				mutationId?: string;
			};
			const { mutationId, ...change } = body;
			const next = apply(String(params.id), change, mutationId);
			return next
				? HttpResponse.json(next)
				: HttpResponse.json({ error: 'not found' }, { status: 404 });
		}),

		http.get(`${base}/tasks/stream`, async ({ request }) => {
			const faults = options.stream;
			const forced = restarting > 0;
			if (forced) restarting--;
			const failed = await fault(faults, ++requests.stream, forced);
			if (failed) return failed;
			// The shipped server helper answers; the mock only decides when it goes quiet or ends.
			const dropAfter = faults?.dropAfter;
			return sseResponse({
				request,
				signal: server.signal,
				retry: faults?.retry ?? 1000,
				heartbeat: faults?.stall ? 0 : (faults?.heartbeat ?? 0),
				...(faults?.stall
					? // Follows the log (so it counts as open) but never sends anything.
						{ subscribe: () => log.subscribe(() => {}) }
					: {
							log,
							initial: () => ({ id: log.lastId, event: EVENTS.snapshot, data: list() })
						}),
				onSent:
					dropAfter === undefined
						? undefined
						: (_event, stream) => {
								if (stream.count < dropAfter) return;
								stream.end();
								ended();
							}
			});
		})
	];

	if (options.socketUrl) {
		handlers.push(
			ws.link(options.socketUrl).addEventListener('connection', ({ client }) => {
				requests.socket++;
				const entry = {
					push(event: LoggedEvent) {
						const message =
							event.event === EVENTS.remove
								? { type: 'remove', ids: event.data }
								: { type: EVENTS.upsert, ...(event.data as object) };
						client.send(JSON.stringify(message));
					},
					close: () => client.close(1012, 'restart')
				};
				sockets.add(entry);
				client.addEventListener('close', () => sockets.delete(entry));
				client.send(JSON.stringify({ type: EVENTS.snapshot, items: list() }));
				client.addEventListener('message', async (event) => {
					let message: unknown;
					try {
						message = JSON.parse(String(event.data));
					} catch {
						return;
					}
					if (!isMutationMessage<Partial<MockTask>>(message) || !message.ref) return;
					const answer = await commitFromSocket(message);
					if (answer) client.send(JSON.stringify({ type: 'ack', ref: message.ref, ...answer }));
				});
			})
		);
	}

	if (options.socketIoUrl) {
		const origin = options.socketIoUrl.replace(/\/+$/, '');
		handlers.push(
			// MSW matches a socket.io client's URL without its `/socket.io/` path.
			ws.link(`${origin}/`).addEventListener('connection', ({ client }) => {
				requests.socket++;
				// engine.io 4 over WebSocket: one packet per frame, its type the first character
				// (0 open, 2 ping, 3 pong, 4 message); a socket.io packet rides in a message
				// (0 connect, 1 disconnect, 2 event, 3 ack), with an ack id before its JSON.
				const emit = (name: string, data: unknown) =>
					client.send(`42${JSON.stringify([name, data])}`);
				const entry = {
					push(event: LoggedEvent) {
						if (event.event === EVENTS.remove) emit('task:remove', event.data);
						else emit('task:sync', event.data);
					},
					close: () => client.close(1012, 'restart')
				};
				const pingInterval = 25_000;
				const pings = setInterval(() => client.send('2'), pingInterval);
				client.addEventListener('close', () => {
					clearInterval(pings);
					sockets.delete(entry);
				});
				client.send(
					`0${JSON.stringify({ sid: `mock-${requests.socket}`, upgrades: [], pingInterval, pingTimeout: 20_000, maxPayload: 1_000_000 })}`
				);
				client.addEventListener('message', async (event) => {
					const packet = String(event.data);
					if (packet.startsWith('40')) {
						client.send(`40${JSON.stringify({ sid: `mock-ns-${requests.socket}` })}`);
						sockets.add(entry);
						emit('task:snapshot', list());
						return;
					}
					const match = /^42(\d*)(\[.*)$/s.exec(packet);
					if (!match) return;
					let name: unknown, body: unknown;
					try {
						[name, body] = JSON.parse(match[2]!) as unknown[];
					} catch {
						return;
					}
					if (name !== 'task:update' || typeof body !== 'object' || body === null) return;
					const answer = await commitFromSocket(body as Parameters<typeof commitFromSocket>[0]);
					if (answer && match[1]) client.send(`43${match[1]}${JSON.stringify([answer])}`);
				});
			})
		);
	}

	return {
		handlers,
		tasks: list,
		upsert(task) {
			const existing = data.get(task.id);
			if (existing) return apply(task.id, task)!;
			const created: MockTask = {
				title: '',
				actor: '',
				done: false,
				updatedAt: new Date().toISOString(),
				...task,
				version: task.version ?? 1
			};
			data.set(created.id, created);
			broadcast({ event: EVENTS.upsert, data: { item: created } });
			return created;
		},
		remove(id) {
			if (!data.delete(id)) return;
			broadcast({ event: EVENTS.remove, data: [id] });
		},
		disconnectAll() {
			const streams = log.listeners;
			server.abort();
			server = new AbortController();
			// Streams the server ends together are one restart.
			if (streams > 0) ended();
			for (const socket of [...sockets]) socket.close();
		},
		requests,
		open: () => ({ streams: log.listeners, sockets: sockets.size })
	};
}
