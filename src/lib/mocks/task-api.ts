import { delay, http, HttpResponse, ws, type RequestHandler, type WebSocketHandler } from 'msw';
import { EVENTS, isMutationMessage } from '../core/protocol.js';
import { touchFaultTarget, type FaultTarget } from '../inspect/hub.js';
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

/**
 * The mock server's data, to change from a story or a test, and its fault controls (what the
 * Storybook Connection panel's buttons call). The controls act at once on every client, and never
 * change the `options` the API was made with: they add to the faults configured there.
 */
export interface TaskApi extends FaultTarget {
	/** The MSW handlers to install (`setupWorker(...api.handlers)`, `parameters.msw`). */
	readonly handlers: Array<RequestHandler | WebSocketHandler>;
	/** The tasks as the server has them now. */
	tasks(): MockTask[];
	/** Changes or adds a task (version bumped) and pushes it to every open stream and socket. */
	upsert(task: Partial<MockTask> & { id: string }): MockTask;
	/** Removes a task and pushes the removal. */
	remove(id: string): void;
	/**
	 * Ends every open stream and socket, as a server restart would; with `stream.failAfterEnd`, the
	 * next stream attempts then fail.
	 */
	disconnectAll(): void;
	/**
	 * Ends every open stream and socket, as a dropped network would, and answers the next attempts
	 * normally: the event log keeps its events, so an SSE client resumes after its `Last-Event-ID`
	 * and misses nothing (sockets get the list again, as they do on every connection).
	 */
	drop(): void;
	/**
	 * Restarts the server: ends every open stream and socket, fails the next stream attempt and
	 * refuses the next socket connection, once each (HTTP 503 with `Retry-After: 1`; a socket gets
	 * an `error` and is closed before it opens), whatever `stream.failAfterEnd` says, and starts a
	 * new event log. Ids go on from above the old ones, so a client's old `Last-Event-ID` is
	 * unknown to the new log: it gets the snapshot, never a replay. The tasks are kept, as a
	 * database would keep them. A client made with `sse({ resumable: true })` still reports
	 * `continuity: 'resumed'` (that option promises a log kept across restarts).
	 */
	restart(): void;
	/**
	 * While `true`, every request (list, stream, PATCH) fails as a network error and every socket
	 * connection is refused (an `error`, then a close before it opens); going offline ends the open
	 * streams and sockets at once. The page's `navigator.onLine` is not touched (the Storybook
	 * addon does that).
	 * @throws {TypeError} when `offline` is not a boolean.
	 */
	setOffline(offline: boolean): void;
	/**
	 * Answers every request, opens every stream and sends every socket its first message (and each
	 * acknowledgement) after `ms` milliseconds, on top of the latency configured in `options`; `0`
	 * for none. Requests already waiting keep their delay.
	 * @throws {TypeError} when `ms` is not a finite number ≥ 0.
	 */
	setLatency(ms: number): void;
	/**
	 * Refuses the next `count` changes (PATCH and socket mutations, plain and socket.io) as
	 * `commit.mode: 'nack'` does: HTTP 409, or `{ ok: false, error: 'conflict' }`. Then changes
	 * are handled as configured again. Replaces a count still pending; `0` cancels it.
	 * @throws {TypeError} when `count` is not an integer ≥ 0.
	 */
	refuseNext(count?: number): void;
	/**
	 * Changes tasks `count` times at once, round-robin (each change bumps the version, as
	 * {@link TaskApi.upsert} does), and pushes every change to every open stream and socket. With
	 * no tasks, the first change adds one (`flood`).
	 * @throws {TypeError} when `count` is not an integer from 1 to 100000.
	 */
	flood(count: number): void;
	/**
	 * Changes tasks `count` times (round-robin, as {@link TaskApi.flood}) without telling anyone,
	 * then forgets the events kept for replay (a new event log, ids going on from above the old
	 * ones) and ends every open stream and socket: a reconnecting client cannot resume after its
	 * `Last-Event-ID` and gets a snapshot, which holds the skipped changes.
	 * @throws {TypeError} when `count` is not an integer from 1 to 100000.
	 */
	skip(count: number): void;
	/** How many requests each endpoint got. */
	readonly requests: { list: number; stream: number; commit: number; socket: number };
	/** How many streams and sockets are open now. */
	open(): { streams: number; sockets: number };
}

/** How many changes the stream keeps for replay after `Last-Event-ID`. */
const REPLAY_LIMIT = 500;
/** The most changes one `flood()` or `skip()` makes. */
const MAX_BURST = 100_000;

/** A count of changes for `flood()` and `skip()`. */
function burst(method: string, count: unknown): number {
	if (typeof count !== 'number' || !Number.isInteger(count) || count < 1 || count > MAX_BURST) {
		throw new TypeError(
			`${method}(count): expected an integer from 1 to ${MAX_BURST}, got ${typeof count === 'string' ? JSON.stringify(count) : String(count)}`
		);
	}
	return count;
}

/** An open socket (plain or socket.io), told about every change in its own framing. */
interface OpenSocket {
	/** Whether it gets changes yet (after its snapshot). */
	ready: boolean;
	push(event: LoggedEvent): void;
	close(code: number, reason: string): void;
}

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
	// Every change, as the streams send it: its listeners are the open streams. Replaced by
	// `restart()` and `skip()`.
	let log = createEventLog({ limit: REPLAY_LIMIT });
	/** Aborted when the server ends every stream, then replaced for the streams that follow. */
	let server = new AbortController();
	/** Open sockets, from their connection on (plain) or from joining the namespace (socket.io). */
	const sockets = new Set<OpenSocket>();
	const requests = { list: 0, stream: 0, commit: 0, socket: 0 };
	/** Stream attempts still to fail after the server ended streams (`failAfterEnd`). */
	let restarting = 0;
	// The fault controls' state (kept here: `options` is the caller's and stays as it was).
	let offline = false;
	let latency = 0;
	let refusals = 0;
	/** After `restart()`: the next stream attempt and socket connection fail once. */
	const rebooting = { stream: false, socket: false };

	const list = () => [...data.values()];
	const broadcast = (event: { event: string; data: unknown }) => {
		const logged = log.append(event); // sent to every open stream
		for (const socket of sockets) if (socket.ready) socket.push(logged);
	};
	/** The server ends every open stream and socket. Returns how many streams were open. */
	const endAll = (code: number, reason: string) => {
		const streams = log.listeners;
		server.abort();
		server = new AbortController();
		// Gone from now on (the close event follows a moment later).
		const closing = [...sockets];
		sockets.clear();
		for (const socket of closing) socket.close(code, reason);
		return streams;
	};
	/**
	 * A new, empty event log whose ids go on from above the old one's, so that no id a client
	 * holds can be replayed from (or taken for a later event's).
	 */
	const newLog = () => {
		log = createEventLog({ limit: REPLAY_LIMIT, startId: log.lastId + 1 });
	};
	/** Changes a task `count` times round-robin (adding one when there is none), as `apply` does. */
	const churn = (count: number, change: (id: string) => void) => {
		if (data.size === 0) {
			const now = new Date().toISOString();
			data.set('flood', {
				id: 'flood',
				title: 'Flooded task',
				actor: '',
				done: false,
				updatedAt: now,
				version: 0
			});
		}
		const ids = [...data.keys()];
		for (let i = 0; i < count; i++) change(ids[i % ids.length]!);
	};
	/** Every request or socket connection tells the inspection hub that this server is in use. */
	const touch = () => touchFaultTarget(api);
	/**
	 * What every request goes through first: a network error while offline, else the latency set
	 * with `setLatency()` (offline is checked again after it).
	 */
	async function gate(): Promise<Response | undefined> {
		touch();
		if (offline) return HttpResponse.error();
		if (latency > 0) await delay(latency);
		return offline ? HttpResponse.error() : undefined;
	}
	/** Takes one of the refusals `refuseNext()` asked for, if any is left. */
	const refuse = () => refusals > 0 && refusals-- > 0;
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
		touch();
		if (latency > 0) await delay(latency);
		const refused = refuse();
		const faults = options.commit ?? {};
		if (faults.latency) await delay(faults.latency);
		if (refused || faults.mode === 'nack') return { ok: false, error: 'conflict' };
		if (faults.mode === 'stall') return undefined;
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
			const count = ++requests.list;
			const cut = await gate();
			if (cut) return cut;
			const failed = await fault(options.list, count);
			if (failed) return failed;
			const etag = `"v${log.lastId}-${data.size}"`;
			if (request.headers.get('If-None-Match') === etag)
				return new HttpResponse(null, { status: 304, headers: { ETag: etag } });
			return HttpResponse.json(list(), { headers: { ETag: etag } });
		}),

		http.patch(`${base}/tasks/:id`, async ({ request, params }) => {
			requests.commit++;
			const cut = await gate();
			if (cut) return cut;
			const refused = refuse();
			const faults = options.commit ?? {};
			if (faults.latency) await delay(faults.latency);
			if (refused || faults.mode === 'nack') {
				return HttpResponse.json({ error: 'conflict' }, { status: 409 });
			}
			if (faults.mode === 'stall') await delay('infinite');
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
			const count = ++requests.stream;
			const cut = await gate();
			if (cut) return cut;
			if (rebooting.stream) {
				rebooting.stream = false;
				return new HttpResponse(null, { status: 503, headers: { 'Retry-After': '1' } });
			}
			const forced = restarting > 0;
			if (forced) restarting--;
			const failed = await fault(faults, count, forced);
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

	/**
	 * A socket connection arrives: while offline, or the first one after `restart()`, it is refused
	 * (`false`), as a failed handshake is: an `error` event, then a close before it ever opened.
	 */
	function admit(client: { close(code?: number, reason?: string): void }) {
		requests.socket++;
		touch();
		const refusal = offline ? 'offline' : rebooting.socket ? 'restarting' : undefined;
		if (!refusal) return true;
		if (!offline) rebooting.socket = false;
		// MSW's client connection holds the page's socket: a client that waits for `error` to
		// give up (socket.io's) would otherwise wait for its connect timeout.
		(client as { socket?: EventTarget }).socket?.dispatchEvent(new Event('error'));
		client.close(1006, refusal);
		return false;
	}

	if (options.socketUrl) {
		handlers.push(
			ws.link(options.socketUrl).addEventListener('connection', async ({ client }) => {
				if (!admit(client)) return;
				let gone = false;
				const entry: OpenSocket = {
					ready: false,
					push(event: LoggedEvent) {
						const message =
							event.event === EVENTS.remove
								? { type: 'remove', ids: event.data }
								: { type: EVENTS.upsert, ...(event.data as object) };
						client.send(JSON.stringify(message));
					},
					close: (code, reason) => client.close(code, reason)
				};
				sockets.add(entry);
				client.addEventListener('close', () => {
					gone = true;
					sockets.delete(entry);
				});
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
				// The socket is open at once (MSW opens it); `setLatency()` delays its first message.
				if (latency > 0) await delay(latency);
				if (gone) return;
				client.send(JSON.stringify({ type: EVENTS.snapshot, items: list() }));
				entry.ready = true;
			})
		);
	}

	if (options.socketIoUrl) {
		const origin = options.socketIoUrl.replace(/\/+$/, '');
		handlers.push(
			// MSW matches a socket.io client's URL without its `/socket.io/` path.
			ws.link(`${origin}/`).addEventListener('connection', async ({ client }) => {
				if (!admit(client)) return;
				const n = requests.socket;
				// engine.io 4 over WebSocket: one packet per frame, its type the first character
				// (0 open, 2 ping, 3 pong, 4 message); a socket.io packet rides in a message
				// (0 connect, 1 disconnect, 2 event, 3 ack), with an ack id before its JSON.
				const emit = (name: string, data: unknown) =>
					client.send(`42${JSON.stringify([name, data])}`);
				// Told about changes once it joined the namespace (and got the snapshot).
				const entry: OpenSocket = {
					ready: false,
					push(event: LoggedEvent) {
						if (event.event === EVENTS.remove) emit('task:remove', event.data);
						else emit('task:sync', event.data);
					},
					close: (code, reason) => client.close(code, reason)
				};
				sockets.add(entry);
				const pingInterval = 25_000;
				let gone = false;
				let opened = false;
				const pings = setInterval(() => opened && client.send('2'), pingInterval);
				client.addEventListener('close', () => {
					gone = true;
					clearInterval(pings);
					sockets.delete(entry);
				});
				client.addEventListener('message', async (event) => {
					const packet = String(event.data);
					if (packet.startsWith('40')) {
						client.send(`40${JSON.stringify({ sid: `mock-ns-${n}` })}`);
						emit('task:snapshot', list());
						entry.ready = true;
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
				// `setLatency()` delays engine.io's open packet: the client connects that much later.
				if (latency > 0) await delay(latency);
				if (gone) return;
				client.send(
					`0${JSON.stringify({ sid: `mock-${n}`, upgrades: [], pingInterval, pingTimeout: 20_000, maxPayload: 1_000_000 })}`
				);
				opened = true;
			})
		);
	}

	const api: TaskApi = {
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
			// Streams the server ends together are one restart.
			if (endAll(1012, 'restart') > 0) ended();
		},
		drop() {
			endAll(1006, 'dropped');
		},
		restart() {
			endAll(1012, 'restart');
			newLog();
			rebooting.stream = true;
			rebooting.socket = true;
		},
		setOffline(value) {
			if (typeof value !== 'boolean') {
				throw new TypeError(`setOffline(offline): expected a boolean, got ${String(value)}`);
			}
			offline = value;
			if (value) endAll(1006, 'offline');
		},
		setLatency(ms) {
			if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) {
				throw new TypeError(`setLatency(ms): expected a finite number ≥ 0, got ${String(ms)}`);
			}
			latency = ms;
		},
		refuseNext(count = 1) {
			if (typeof count !== 'number' || !Number.isInteger(count) || count < 0) {
				throw new TypeError(`refuseNext(count): expected an integer ≥ 0, got ${String(count)}`);
			}
			refusals = count;
		},
		flood(count) {
			churn(burst('flood', count), (id) => void apply(id, {}));
		},
		skip(count) {
			churn(burst('skip', count), (id) => {
				const current = data.get(id)!;
				data.set(id, {
					...current,
					version: current.version + 1,
					updatedAt: new Date().toISOString()
				});
			});
			newLog();
			endAll(1006, 'skipped');
		},
		requests,
		open: () => ({
			streams: log.listeners,
			sockets: [...sockets].filter((socket) => socket.ready).length
		})
	};
	touch();
	return api;
}
