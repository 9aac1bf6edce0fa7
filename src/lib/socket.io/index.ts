import { io, type ManagerOptions, type Socket, type SocketOptions } from 'socket.io-client';
import * as messages from '../core/messages.js';
import { TransportError, type TransportErrorCode } from '../core/errors.js';
import { EVENTS } from '../core/protocol.js';
import type { MessageMeta, Transport, TransportConnection } from '../core/transports/types.js';
import { MAX_DELAY } from '../core/env/env.js';
import { positive } from '../core/options.js';
import { readReply, refusalError } from '../core/transports/websocket.js';

/**
 * The socket.io event names the adapter listens to and emits. The defaults (`task:sync`,
 * `task:snapshot`, `task:remove`, `task:update`) are the names of this kit's task demo and its mock
 * server, nothing more: an app should pass the names its own server uses.
 */
export interface SocketIoEvents {
	/**
	 * Incoming: one item or an array of items to insert or replace (an upsert).
	 * @defaultValue `'task:sync'` (the task demo's name: pass your own)
	 */
	sync?: string;
	/**
	 * Incoming: the whole list.
	 * @defaultValue `'task:snapshot'` (the task demo's name: pass your own)
	 */
	snapshot?: string;
	/**
	 * Incoming: an id, an array of ids, or `{ ids }` to remove.
	 * @defaultValue `'task:remove'` (the task demo's name: pass your own)
	 */
	remove?: string;
	/**
	 * Incoming: the server may have missed events for this client (its link to the other servers
	 * broke): the live source fetches the list again with its `resync`. No payload needed.
	 * @defaultValue `'task:resync'` (the task demo's name: pass your own)
	 */
	resync?: string;
	/**
	 * Outgoing: what `send` emits (a toggle or any other change).
	 * @defaultValue `'task:update'` (the task demo's name: pass your own)
	 */
	update?: string;
}

export interface SocketIoOptions {
	/**
	 * An existing socket (create it with `autoConnect: false`). The adapter connects it for each
	 * attempt and disconnects it when the attempt ends, and turns its own reconnection off: the
	 * kit's engine owns retries. Connection state recovery (`resumed`) needs this option, since a
	 * new socket has no session to recover.
	 */
	socket?: Socket;
	/**
	 * Or the server's URL (with the namespace, if any): the adapter creates a socket for each
	 * attempt with `io(url, { ...options, reconnection: false, autoConnect: false, forceNew: true })`.
	 */
	url?: string;
	/** socket.io-client options for sockets created from `url` (`transports`, `auth`, `path`...). */
	options?: Partial<ManagerOptions & SocketOptions>;
	/**
	 * Event names; each one left out keeps its default. The defaults are the kit's task demo's
	 * (`task:sync`, `task:snapshot`, `task:remove`, `task:update`): pass your server's own names.
	 */
	events?: SocketIoEvents;
	/**
	 * How long `send(data, { ack: true })` waits for the server's acknowledgement (milliseconds).
	 * @defaultValue `10000`
	 */
	ackTimeout?: number;
	/**
	 * A connect that does not complete in this many milliseconds fails the attempt.
	 * @defaultValue `10000`
	 */
	connectTimeout?: number;
}

const DEFAULT_EVENTS: Required<SocketIoEvents> = {
	sync: 'task:sync',
	snapshot: 'task:snapshot',
	remove: 'task:remove',
	resync: 'task:resync',
	update: 'task:update'
};

/** Names socket.io keeps for itself: emitting one throws, listening to one mixes in lifecycle events. */
const RESERVED = new Set([
	'connect',
	'connect_error',
	'disconnect',
	'disconnecting',
	'newListener',
	'removeListener'
]);

const KIND = 'socket.io';

function transportError(
	message: string,
	code: TransportErrorCode,
	retryable: boolean,
	cause?: unknown
): TransportError {
	return new TransportError(message, { code, retryable, transport: KIND, cause });
}

const notOpen = () => transportError(messages.notOpen(), 'closed', true);

/**
 * socket.io (socket.io-client 4). Two-way: `send` emits the `update` event, with an optional
 * acknowledgement, read as `websocket()` reads one (`readReply`): `undefined`, `null`, `true`,
 * `{ ok: true, result? }`, `{ item }` or the row itself accept (resolving with `result`, `{ item }`
 * or the row); `false`, `{ ok: false, error? }`, `{ error }` and `{}` refuse. `{}` is what
 * `ack(new Error('...'))` becomes on its way through socket.io's JSON: a server should answer
 * `{ ok: false, error: message }`. Incoming `sync`, `snapshot` and `remove` events become upserts,
 * snapshots and removals; socket.io has parsed their data already, and the store never parses
 * it again (`meta.decoded`).
 */
export function socketIo(options: SocketIoOptions): Transport<unknown, unknown> {
	const shared = options?.socket;
	const url = options?.url;
	if (shared === undefined && typeof url !== 'string') {
		throw new TypeError(messages.badOption('url', 'a URL string, or a `socket`', url));
	}
	if (shared !== undefined && url !== undefined) {
		throw new TypeError(messages.badOption('url', 'nothing when `socket` is given', url));
	}
	const events: Required<SocketIoEvents> = {
		sync: options.events?.sync ?? DEFAULT_EVENTS.sync,
		snapshot: options.events?.snapshot ?? DEFAULT_EVENTS.snapshot,
		remove: options.events?.remove ?? DEFAULT_EVENTS.remove,
		resync: options.events?.resync ?? DEFAULT_EVENTS.resync,
		update: options.events?.update ?? DEFAULT_EVENTS.update
	};
	for (const [name, value] of Object.entries(events)) {
		if (typeof value !== 'string' || value === '' || RESERVED.has(value)) {
			throw new TypeError(
				messages.badOption(`events.${name}`, 'an event name socket.io does not reserve', value)
			);
		}
	}
	const ackTimeout = positive('ackTimeout', options.ackTimeout, 10_000);
	const connectTimeout = positive('connectTimeout', options.connectTimeout, 10_000);
	// A socket reconnecting on its own would race the engine's retries and backoff.
	shared?.io.reconnection(false);
	const target = url ?? 'the socket.io server';
	const socketFor: () => Socket =
		shared !== undefined
			? () => shared
			: () =>
					io(target, {
						...options.options,
						reconnection: false,
						autoConnect: false,
						forceNew: true
					});
	const incoming: Array<[name: string, event: NonNullable<MessageMeta['event']>]> = [
		[events.sync, 'upsert'],
		[events.snapshot, 'snapshot'],
		[events.remove, 'remove'],
		[events.resync, EVENTS.resync]
	];
	const incomingNames = new Set(incoming.map(([name]) => name));

	return {
		kind: KIND,
		bidirectional: true,
		// A given socket is told apart by its server and namespace, not by the object.
		identity: {
			url: options.url ?? (options.socket?.io as { uri?: string } | undefined)?.uri,
			nsp: (options.socket as { nsp?: string } | undefined)?.nsp,
			options: options.options,
			events: options.events
		},
		supported: () => true,
		open(sink, attempt): TransportConnection<unknown> {
			const { env, signal } = attempt;
			// Superseded before it began: connect nothing.
			if (signal.aborted) return { close() {}, send: () => Promise.reject(notOpen()) };
			const socket = socketFor();
			const manager = socket.io;
			/** Rejections of the sends waiting for an acknowledgement. */
			const pending = new Set<(error: TransportError) => void>();
			let closed = false;
			let opened = false;

			function fail(error: TransportError) {
				if (closed) return;
				release();
				sink.failed(error);
			}

			const connectTimer = env.setTimeout(() => {
				if (closed || opened) return;
				fail(transportError(messages.connectTimeout(target, connectTimeout), 'timeout', true));
			}, connectTimeout);

			const onConnect = () => {
				if (closed || opened) return;
				opened = true;
				env.clearTimeout(connectTimer);
				sink.opened({ bidirectional: true, resumed: socket.recovered === true });
			};
			const onConnectError = (cause: unknown) => {
				// Refused by the server's middleware: socket.io destroys the socket (`active` false) and
				// would not retry either; the same credentials would be refused again.
				if (!socket.active) {
					const reason = cause instanceof Error ? cause.message : String(cause);
					fail(transportError(messages.connectRefused(target, reason), 'network', false, cause));
				} else {
					fail(transportError(messages.network(target), 'network', true, cause));
				}
			};
			const onDisconnect = (reason: Socket.DisconnectReason) => {
				// Ours (close()) or the app's own `socket.disconnect()`: nothing failed.
				if (reason === 'io client disconnect') return;
				if (reason === 'io server disconnect') {
					// The server let go of this client on purpose: coming back would be unwelcome.
					fail(transportError(messages.serverDisconnected(target), 'closed', false));
				} else {
					const code = reason === 'ping timeout' ? 'timeout' : 'closed';
					fail(transportError(messages.connectionLost(target, reason), code, true));
				}
			};
			const handlers = incoming.map(([name, event]) => {
				const handler = (data: unknown) => {
					if (closed) return;
					// socket.io replays events that arrived during the handshake before `connect`.
					if (!opened && socket.connected) onConnect();
					sink.message(data, { event, decoded: true });
				};
				return [name, handler] as const;
			});
			// Every other event proves liveness too, and so do the engine's pings.
			const onAny = (name: string) => {
				if (!closed && opened && !incomingNames.has(name)) sink.heartbeat();
			};
			const onPing = () => {
				if (!closed) sink.heartbeat();
			};

			socket.on('connect', onConnect);
			socket.on('connect_error', onConnectError);
			socket.on('disconnect', onDisconnect);
			for (const [name, handler] of handlers) socket.on(name, handler);
			socket.onAny(onAny);
			manager.on('ping', onPing);
			signal.addEventListener('abort', release);

			if (socket.connected) {
				// A shared socket connected before this attempt: there will be no `connect` event.
				queueMicrotask(() => {
					if (socket.connected) onConnect();
				});
			} else {
				socket.connect();
			}

			/** Stops everything this attempt started. */
			function release() {
				if (closed) return;
				closed = true;
				env.clearTimeout(connectTimer);
				signal.removeEventListener('abort', release);
				socket.off('connect', onConnect);
				socket.off('connect_error', onConnectError);
				socket.off('disconnect', onDisconnect);
				for (const [name, handler] of handlers) socket.off(name, handler);
				socket.offAny(onAny);
				manager.off('ping', onPing);
				const lost = transportError(messages.closed(), 'closed', true);
				for (const reject of pending) reject(lost);
				pending.clear();
				socket.disconnect();
			}

			return {
				close: release,
				send(data, sendOptions = {}) {
					if (closed || !opened || !socket.connected) {
						return Promise.reject(notOpen());
					}
					if (!sendOptions.ack) {
						try {
							socket.emit(events.update, data);
						} catch (cause) {
							return Promise.reject(unsendable(cause));
						}
						return Promise.resolve(undefined);
					}
					const timeout = sendOptions.timeoutMs ?? ackTimeout;
					return new Promise((resolve, reject) => {
						pending.add(reject);
						const onAck = (err: unknown, answer: unknown) => {
							// Settled already: rejected by close() or a lost connection.
							if (!pending.delete(reject)) return;
							if (err) {
								// socket.io reports a timeout and a lost connection alike; only a timeout
								// leaves the socket connected.
								return reject(
									socket.connected
										? transportError(messages.ackTimeout(timeout), 'timeout', true, err)
										: transportError(messages.closed(), 'closed', true, err)
								);
							}
							const reply = readReply(answer);
							if (reply.ok) resolve(reply.result);
							else reject(refusalError(reply.error, KIND));
						};
						try {
							socket.timeout(Math.min(timeout, MAX_DELAY)).emit(events.update, data, onAck);
						} catch (cause) {
							// Data socket.io cannot encode (a cycle).
							pending.delete(reject);
							reject(unsendable(cause));
						}
					});
				}
			};
		}
	};
}

function unsendable(cause: unknown): TransportError {
	return transportError(messages.unsendable(cause), 'protocol', false, cause);
}
