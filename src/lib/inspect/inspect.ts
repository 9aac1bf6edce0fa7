import type { ConnectionState } from '../core/connection/machine.js';
import { browserEnv, reportLater, type Env } from '../core/env/env.js';
import {
	createLiveSource,
	type LiveSourceHandle,
	type LiveSourceOptions
} from '../core/live-source.js';
import * as messages from '../core/messages.js';
import { EVENTS, isMutationMessage } from '../core/protocol.js';
import { defaultDecode, type Decoder } from '../core/store/decode.js';
import type { RecordStoreSnapshot } from '../core/store/store.js';
import type {
	Attempt,
	MessageMeta,
	Transport,
	TransportConnection,
	TransportSink
} from '../core/transports/types.js';
import type { ConnectionStatus, TransportKind } from '../core/types.js';
import { peek } from '../svelte/registry.js';
import { hub, publish, sourcesChanged } from './hub.js';
import type {
	InspectBase,
	InspectedError,
	InspectedSource,
	InspectEvent,
	InspectObserver,
	InspectOptions,
	RequestEvent,
	StatusCause
} from './types.js';

/** An event as built, before the fields every event carries. */
type Draft = InspectEvent extends infer E
	? E extends InspectEvent
		? Omit<E, keyof InspectBase>
		: never
	: never;

interface Inspector {
	/** Binds the inspector to the live source its options made (idempotent). */
	attach(handle: LiveSourceHandle<unknown>): void;
}

// The inspector of each wrapped adapter, for `inspectLiveSource`.
const inspectors = new WeakMap<Transport<unknown, unknown>, Inspector>();

/**
 * Observes a live source: returns `options` with its transport, platform (`env`), `resync`,
 * `commit` and `decode` wrapped, so that everything the source does is reported as an
 * {@link InspectEvent}: status changes and their cause, attempts and retry delays, the requests each
 * transport (and each member of a `fallback()` chain, probes included) makes, messages with their id,
 * type, size and decoded update, heartbeats, resyncs and continuity, changes from pending to
 * confirmed or rolled back.
 *
 * Events go to `onEvent` (or the function given) and to the page's listeners ({@link onInspect}:
 * the Storybook Connection panel, {@link consoleLogger} through `logConnections()`). While there is
 * neither, nothing is built. The kit's other entries never import this one, so an app that does not
 * inspect carries none of it.
 *
 * Call it once per source, where the options are made (not in markup that re-renders): every call
 * makes a new adapter, which is a new connection. `<LiveSource>` and `createLive()` are bound to it
 * when they open the connection; with `createLiveSource`, use {@link inspectLiveSource}.
 *
 * @example <LiveSource {...inspect({ transport, resync }, { label: 'tasks' })} />
 * @example const options = inspect({ transport: sse({ url }) }, consoleLogger());
 */
export function inspect<T>(
	options: LiveSourceOptions<T>,
	observe?: InspectObserver | InspectOptions
): LiveSourceOptions<T> {
	if (typeof options !== 'object' || options === null)
		throw new TypeError(messages.badOption('inspect()', 'live source options', options));
	const { transport } = options;
	if (!transport || typeof transport.open !== 'function')
		throw new TypeError(messages.badOption('transport', 'a transport adapter', transport));
	if (observe !== undefined && typeof observe !== 'function' && typeof observe !== 'object')
		throw new TypeError(
			messages.badOption('inspect() observer', 'a function or { label, scope, onEvent }', observe)
		);
	const settings: InspectOptions =
		typeof observe === 'function' ? { onEvent: observe } : (observe ?? {});
	if (settings.onEvent !== undefined && typeof settings.onEvent !== 'function')
		throw new TypeError(messages.badOption('onEvent', 'a function', settings.onEvent));

	const base = options.env ?? browserEnv;
	const shared = hub();
	const id = shared.next++;
	const label = settings.label ?? describeTransport(transport);
	const source: InspectedSource = {
		id,
		label,
		scope: settings.scope ?? shared.scope,
		state: undefined,
		loaded: false,
		rows: 0,
		pending: 0,
		stopped: false
	};
	// In a page, the source counts from now on: a story's settled signal waits for it to start.
	// (On a server it never starts, and is not kept.)
	if (typeof document !== 'undefined') {
		shared.sources.set(id, source);
		sourcesChanged();
	}

	let seq = 0;
	const active = () => settings.onEvent !== undefined || shared.listeners.size > 0;
	/**
	 * Events of an attempt being opened, held until the status change that opened it is told (the
	 * engine opens an attempt before it publishes its new status).
	 */
	let holding: Array<() => Draft> | undefined;
	function emit(draft: () => Draft) {
		if (!active()) return;
		if (holding) holding.push(draft);
		else deliver(draft);
	}
	function release() {
		const held = holding;
		holding = undefined;
		held?.forEach(deliver);
	}
	function deliver(draft: () => Draft) {
		const event = { seq: ++seq, at: base.now(), source: id, label, ...draft() } as InspectEvent;
		if (settings.onEvent) {
			try {
				settings.onEvent(event);
			} catch (error) {
				reportLater(error);
			}
		}
		publish(event);
	}

	// What the engine is hearing now: a status change while it runs was caused by it.
	let cause: StatusCause | undefined;
	function within<R>(next: StatusCause, run: () => R): R {
		const outer = cause;
		cause = next;
		try {
			return run();
		} finally {
			cause = outer;
		}
	}

	// Bound to the live source.
	let handle: LiveSourceHandle<unknown> | undefined;
	let detach: (() => void) | undefined;
	let last: ConnectionState | undefined;
	/** Whether the source was live before: only a reconnect can resume. */
	let wasLive = false;
	/** Rows with a change on its way, by key: its mutation id, if known. */
	const changing = new Map<string, string | undefined>();

	function attach(next: LiveSourceHandle<unknown>) {
		if (handle === next) return;
		detach?.();
		handle = next;
		last = next.connection.getSnapshot();
		source.state = last;
		source.stopped = false;
		shared.sources.set(id, source);
		const offState = next.connection.subscribe(onState);
		const offRows = next.store.subscribe(onRows);
		onRows(next.store.getSnapshot());
		detach = () => {
			offState();
			offRows();
			handle = undefined;
		};
		sourcesChanged();
	}
	const bind = () => {
		const held = peek(wrapped);
		if (held) attach(held);
	};

	function onState(state: ConnectionState) {
		const before = last;
		last = state;
		source.state = state;
		const from = before?.status ?? 'idle';
		const held = holding;
		holding = undefined;
		if (state.status === 'live') wasLive = true;
		if (state.status !== from) {
			const why = cause ?? appCause(from, state.status);
			emit(() => ({
				type: 'status',
				from,
				to: state.status,
				cause: why,
				transport: state.transport,
				degraded: state.degraded,
				attempt: state.attempt,
				...(state.status === 'reconnecting' && state.retryAt !== undefined
					? { retryIn: Math.max(0, state.retryAt - base.now()) }
					: {}),
				continuity: state.continuity,
				...(state.error ? { error: errorInfo(state.error) } : {})
			}));
			if (state.status === 'closed' && why === 'stop') {
				// Unmounted: the source is gone from the page until it starts again.
				source.stopped = true;
				shared.sources.delete(id);
				detach?.();
			}
		} else if (before && state.continuity !== before.continuity) {
			emit(() => ({ type: 'continuity', from: before.continuity, to: state.continuity }));
		}
		held?.forEach(deliver);
		sourcesChanged();
	}

	function onRows(snapshot: RecordStoreSnapshot<unknown>) {
		let pending = 0;
		const seen = new Set<string>();
		for (const row of snapshot.rows) {
			seen.add(row.key);
			if (row.status === 'pending') {
				pending++;
				if (!changing.has(row.key)) {
					changing.set(row.key, undefined);
					emit(() => ({ type: 'change', phase: 'pending', key: row.key }));
				}
			} else if (changing.has(row.key)) {
				const mutationId = changing.get(row.key);
				changing.delete(row.key);
				emit(() => ({
					type: 'change',
					phase: row.status === 'failed' ? 'rolled-back' : 'confirmed',
					key: row.key,
					...(mutationId ? { mutationId } : {}),
					...(row.status === 'failed' && row.error ? { error: errorInfo(row.error) } : {})
				}));
			}
		}
		for (const key of changing.keys()) if (!seen.has(key)) changing.delete(key);
		const changed =
			source.loaded !== snapshot.loaded ||
			source.rows !== snapshot.rows.length ||
			source.pending !== pending;
		source.loaded = snapshot.loaded;
		source.rows = snapshot.rows.length;
		source.pending = pending;
		if (changed) sourcesChanged();
	}

	function sent(key: string, mutationId: string | undefined, via: 'socket' | 'http') {
		if (!changing.has(key)) emit(() => ({ type: 'change', phase: 'pending', key }));
		changing.set(key, mutationId);
		emit(() => ({
			type: 'change',
			phase: 'sent',
			key,
			via,
			...(mutationId ? { mutationId } : {})
		}));
	}

	// Requests on the network, whichever transport (or fallback member) makes them.
	let requests = 0;
	function request(kind: RequestEvent['kind'], method: string, url: string) {
		const n = ++requests;
		const started = elapsed();
		const live = last?.status === 'live' || last?.status === 'stale';
		const probe = live && kindOf(last?.transport) !== kind;
		const target = { request: n, kind, method, url, probe };
		emit(() => ({ type: 'request', ...target }));
		return (outcome: { status?: number; error?: string }) =>
			emit(() => ({
				type: 'response',
				...target,
				...outcome,
				ms: Math.round(elapsed() - started)
			}));
	}

	const tracedSockets = new WeakMap<object, unknown>();
	function traced<C extends typeof EventSource | typeof WebSocket>(
		Native: C | undefined,
		kind: 'sse' | 'websocket'
	): C | undefined {
		if (typeof Native !== 'function') return Native;
		let proxy = tracedSockets.get(Native) as C | undefined;
		if (!proxy) {
			proxy = new Proxy(Native, {
				construct(target, args: unknown[], newTarget) {
					const instance = Reflect.construct(
						target,
						args,
						newTarget === proxy ? target : newTarget
					) as EventSource | WebSocket;
					if (!active()) return instance;
					const done = request(kind, 'GET', String(args[0]));
					let told = false;
					const tell = (outcome: { status?: number; error?: string }) => {
						if (told) return;
						told = true;
						done(outcome);
					};
					instance.addEventListener('open', () => tell({ status: kind === 'sse' ? 200 : 101 }));
					instance.addEventListener('error', () => tell({ error: 'network error' }));
					instance.addEventListener('close', (event) => {
						const { code, reason } = event as CloseEvent;
						tell({ error: `closed ${code}${reason ? ` ${reason}` : ''}` });
					});
					return instance;
				}
			});
			tracedSockets.set(Native, proxy);
		}
		return proxy;
	}

	let platform: string | undefined;
	const env: Env = {
		fetch(input, init) {
			if (!active()) return base.fetch(input, init);
			const headers = new Headers(
				init?.headers ?? (input instanceof Request ? input.headers : undefined)
			);
			const kind = headers.get('accept')?.includes('text/event-stream') ? 'sse' : 'http';
			const method = init?.method ?? (input instanceof Request ? input.method : 'GET');
			const url = input instanceof Request ? input.url : String(input);
			const done = request(kind, method.toUpperCase(), url);
			return base.fetch(input, init).then(
				(response) => (done({ status: response.status }), response),
				(error: unknown) => {
					done({ error: errorText(error) });
					throw error;
				}
			);
		},
		get EventSource() {
			return traced(base.EventSource, 'sse');
		},
		get WebSocket() {
			return traced(base.WebSocket, 'websocket');
		},
		setTimeout: (callback, ms) =>
			base.setTimeout(
				() =>
					within(
						last?.status === 'reconnecting' || last?.status === 'connecting'
							? 'backoff'
							: 'silence',
						callback
					),
				ms
			),
		clearTimeout: (timer) => base.clearTimeout(timer),
		now: () => base.now(),
		random: () => base.random(),
		isOnline: () => base.isOnline(),
		isVisible: () => base.isVisible(),
		onNetworkChange(callback) {
			// Called when the connection starts: the moment a component's source can be found.
			bind();
			return base.onNetworkChange((online) => {
				const change = online ? 'online' : 'offline';
				if (platform !== change) emit(() => ({ type: 'platform', change }));
				platform = change;
				within(change, () => callback(online));
			});
		},
		onVisibilityChange(callback) {
			return base.onVisibilityChange((visible) => {
				const change = visible ? 'visible' : 'hidden';
				emit(() => ({ type: 'platform', change }));
				within(change, () => callback(visible));
			});
		},
		requestFrame: (callback) => base.requestFrame(callback),
		get locks() {
			return base.locks;
		},
		get BroadcastChannel() {
			return base.BroadcastChannel;
		}
	};

	let attempts = 0;
	let liveTransport: TransportKind | undefined;
	const wrapped: Transport<unknown, unknown> = {
		kind: transport.kind,
		bidirectional: transport.bidirectional,
		identity: transport.identity,
		supported: transport.supported && ((platformEnv) => transport.supported!(platformEnv)),
		open(sink, attempt: Attempt) {
			bind();
			holding ??= [];
			queueMicrotask(release);
			const mine = ++attempts;
			const current = () => mine === attempts;
			emit(() => ({
				type: 'attempt',
				n: attempt.n,
				transport: transport.kind,
				...(attempt.lastEventId !== undefined ? { lastEventId: attempt.lastEventId } : {})
			}));
			const forward: TransportSink<unknown> = {
				opened(info = {}) {
					release();
					if (current()) {
						const kind = info.transport ?? transport.kind;
						emit(() => ({
							type: 'opened',
							transport: kind,
							degraded: info.degraded === true,
							resumed: info.resumed === true && wasLive,
							bidirectional: info.bidirectional ?? transport.bidirectional === true
						}));
						if (liveTransport !== undefined && kind !== liveTransport)
							emit(() => ({
								type: 'transport',
								from: liveTransport,
								to: kind,
								degraded: info.degraded === true
							}));
						liveTransport = kind;
					}
					within('opened', () => sink.opened(info));
				},
				message(data, meta: MessageMeta = {}) {
					release();
					if (!current()) return sink.message(data, meta);
					if (meta.event === EVENTS.resync) {
						emit(() => ({ type: 'resync', phase: 'asked' }));
						return within('resync-asked', () => sink.message(data, meta));
					}
					const draft: { update?: unknown } = {};
					decoding = draft;
					try {
						within('message', () => sink.message(data, meta));
					} finally {
						decoding = undefined;
					}
					emit(() => ({
						type: 'message',
						...(meta.id !== undefined ? { id: meta.id } : {}),
						...(meta.event !== undefined ? { event: meta.event } : {}),
						size: sizeOf(data),
						data,
						...('update' in draft ? { update: draft.update } : {})
					}));
				},
				dropped(error) {
					release();
					if (current()) emit(() => ({ type: 'dropped', error: errorInfo(error) }));
					within('message', () => sink.dropped(error));
				},
				heartbeat() {
					release();
					if (current()) emit(() => ({ type: 'heartbeat' }));
					within('heartbeat', () => sink.heartbeat());
				},
				hint(hints) {
					release();
					if (current()) emit(() => ({ type: 'hint', hints }));
					sink.hint(hints);
				},
				failed(error) {
					release();
					if (current()) emit(() => ({ type: 'failed', error: errorInfo(error) }));
					within('failed', () => sink.failed(error));
				},
				ended(info) {
					release();
					if (current()) emit(() => ({ type: 'ended', final: info?.final === true }));
					within('ended', () => sink.ended(info));
				}
			};
			const connection = transport.open(forward, attempt);
			if (!connection.send) return connection;
			const send = connection.send.bind(connection);
			const tracedConnection: TransportConnection<unknown> = {
				close: () => connection.close(),
				send(data, sendOptions) {
					if (isMutationMessage(data)) sent(data.key, data.mutationId, 'socket');
					return send(data, sendOptions);
				}
			};
			return tracedConnection;
		}
	};

	// The message being delivered, for the decoder to put its update on.
	let decoding: { update?: unknown } | undefined;
	const decode: Decoder<T> = (data, meta) => {
		const update = (options.decode ?? (defaultDecode as Decoder<T>))(data, meta);
		if (decoding) decoding.update = update;
		return update;
	};

	const { resync, commit } = options;
	const inspected: LiveSourceOptions<T> = {
		...options,
		transport: wrapped,
		env,
		decode,
		resync: resync
			? async (signal) => {
					emit(() => ({ type: 'resync', phase: 'start' }));
					try {
						const result = await resync(signal);
						const items = Array.isArray(result) ? result.length : undefined;
						emit(() => ({
							type: 'resync',
							phase: 'done',
							...(items !== undefined ? { items } : {})
						}));
						return result;
					} catch (error) {
						emit(() => ({ type: 'resync', phase: 'failed', error: errorInfo(error) }));
						throw error;
					}
				}
			: undefined,
		commit: commit
			? (change) => {
					sent(change.key, change.mutationId, 'http');
					return commit(change);
				}
			: undefined
	};
	inspectors.set(wrapped, { attach });
	return inspected;
}

/**
 * `createLiveSource` with {@link inspect}: the framework-free way to observe a source.
 *
 * @example const source = inspectLiveSource({ transport: sse({ url }) }, consoleLogger()); source.start();
 */
export function inspectLiveSource<T>(
	options: LiveSourceOptions<T>,
	observe?: InspectObserver | InspectOptions
): LiveSourceHandle<T> {
	const inspected = inspect(options, observe);
	const handle = createLiveSource(inspected);
	inspectors.get(inspected.transport)?.attach(handle as LiveSourceHandle<unknown>);
	return handle;
}

/** Why the status changed when nothing the source heard did it: the app called a method. */
function appCause(from: ConnectionStatus, to: ConnectionStatus): StatusCause {
	if (to === 'closed') return 'stop';
	if (to === 'paused') return 'pause';
	if (from === 'paused') return 'resume';
	if (from === 'idle' || from === 'closed') return 'start';
	return 'retry';
}

/** A monotonic clock for durations, where the platform has one. */
const elapsed = () => globalThis.performance?.now() ?? Date.now();

/** The request kind a transport's connections make. */
function kindOf(transport: TransportKind | undefined): RequestEvent['kind'] | undefined {
	if (transport === 'sse') return 'sse';
	if (transport === 'websocket' || transport === 'socket.io') return 'websocket';
	if (transport === 'polling') return 'http';
	return undefined;
}

/** `sse /api/tasks/stream`, `sse → polling /api/tasks/stream`: a source's default label. */
function describeTransport(transport: Transport<unknown, unknown>): string {
	const urlOf = (identity: unknown) => {
		const url = (identity as { url?: unknown } | undefined)?.url;
		return typeof url === 'string' || url instanceof URL ? String(url) : undefined;
	};
	const { identity } = transport;
	if (Array.isArray(identity)) {
		const kinds = identity.map((member) => (member as [string])[0]).join(' → ');
		const url = urlOf((identity[0] as [string, unknown] | undefined)?.[1]);
		return url ? `${kinds} ${url}` : kinds;
	}
	const url = urlOf(identity);
	return url ? `${transport.kind} ${url}` : String(transport.kind);
}

function sizeOf(data: unknown): number {
	if (typeof data === 'string') return data.length;
	try {
		return JSON.stringify(data)?.length ?? 0;
	} catch {
		return 0;
	}
}

function errorText(error: unknown): string {
	return error instanceof Error ? error.message : String(error);
}

/** An error as plain data. */
export function errorInfo(error: unknown): InspectedError {
	if (!(error instanceof Error)) return { name: 'Error', message: String(error) };
	const { code, reason, status, retryable } = error as Error & {
		code?: unknown;
		reason?: unknown;
		status?: unknown;
		retryable?: unknown;
	};
	const info: InspectedError = { name: error.name, message: error.message };
	const kind = typeof code === 'string' ? code : typeof reason === 'string' ? reason : undefined;
	if (kind !== undefined) info.code = kind;
	if (typeof status === 'number') info.status = status;
	if (typeof retryable === 'boolean') info.retryable = retryable;
	return info;
}
