import * as messages from '../messages.js';
import { TransportError } from '../errors.js';
import { resolveUrl } from './http.js';
import type { Attempt, Transport, TransportConnection } from './types.js';

/** An acknowledgement read from an incoming message. */
export interface Ack {
	ref: string;
	ok: boolean;
	/** The server's reply when `ok`. */
	result?: unknown;
	/** Why the server refused, when not `ok`. */
	error?: unknown;
}

export interface WebSocketOptions<Out = unknown> {
	/** The socket's URL (`ws:` / `wss:`); a function is called for each attempt. */
	url: string | URL | ((attempt: Attempt) => string | URL);
	/** Subprotocols to offer. */
	protocols?: string | string[];
	/** Turns an outgoing message into a frame. @defaultValue `JSON.stringify` */
	encode?: (data: Out) => string | ArrayBuffer | Blob | ArrayBufferView<ArrayBuffer>;
	/** Turns a frame into a message. @defaultValue `JSON.parse` for text frames; binary frames as they are */
	decode?: (data: unknown) => unknown;
	/**
	 * A handshake that does not complete in this many milliseconds fails the attempt (a proxy that
	 * accepts the connection and never upgrades it looks exactly like that). In a `fallback` chain
	 * this is how long a blocked WebSocket delays the first data; a handshake over a slow mobile
	 * link takes a few round trips, well under it.
	 * @defaultValue `2500`
	 */
	connectTimeout?: number;
	/**
	 * Send `message` (default `{ type: 'ping' }`) every `interval` milliseconds so idle proxies keep
	 * the socket open. Any frame that arrives proves liveness; `isPong` frames are not handed on as
	 * messages. With `isPong` (the server answers pings) the engine expects a frame every
	 * `interval` and counts the socket stale after 1.5 intervals of silence.
	 */
	heartbeat?: { interval: number; message?: unknown; isPong?: (message: unknown) => boolean };
	/**
	 * How long `send(data, { ack: true })` waits for the acknowledgement (milliseconds).
	 * @defaultValue `10000`
	 */
	ackTimeout?: number;
	/**
	 * Adds the reference to an outgoing message that wants an acknowledgement.
	 * @defaultValue `{ ...data, ref }`
	 */
	withRef?: (data: Out, ref: string) => Out;
	/**
	 * Reads an acknowledgement from an incoming message, or `undefined` for an ordinary message.
	 * @defaultValue `{ type: 'ack', ref, ok, result?, error? }`
	 */
	readAck?: (message: unknown) => Ack | undefined;
	/**
	 * Close codes after which reconnecting cannot help.
	 * @defaultValue `[1002, 1003, 1007, 1008, 1009, 1010, 4001, 4003, 4004]` (protocol and policy
	 * errors, and 4001/4003/4004 for unauthorized / forbidden / not found)
	 */
	terminalCloseCodes?: number[];
}

const DEFAULT_TERMINAL = [1002, 1003, 1007, 1008, 1009, 1010, 4001, 4003, 4004];

function defaultReadAck(message: unknown): Ack | undefined {
	if (typeof message !== 'object' || message === null) return undefined;
	const { type, ref, ok, result, error } = message as Record<string, unknown>;
	if (type !== 'ack' || typeof ref !== 'string') return undefined;
	return { ref, ok: ok !== false, result, error };
}

function ignoreError(): void {}

function defaultDecode(data: unknown): unknown {
	if (typeof data !== 'string') return data;
	try {
		return JSON.parse(data);
	} catch {
		// The store reports a malformed message; the socket stays open.
		return data;
	}
}

/**
 * A WebSocket on the platform's `WebSocket`. Two-way: `send` with an optional acknowledgement
 * (a `ref` the server echoes in `{ type: 'ack', ref, ok }`).
 */
export function websocket<Out = unknown>(options: WebSocketOptions<Out>): Transport<unknown, Out> {
	const encode = options.encode ?? ((data: Out) => JSON.stringify(data));
	const decode = options.decode ?? defaultDecode;
	const readAck = options.readAck ?? defaultReadAck;
	const withRef =
		options.withRef ?? ((data: Out, ref: string) => ({ ...(data as object), ref }) as Out);
	const connectTimeout = options.connectTimeout ?? 2500;
	const ackTimeout = options.ackTimeout ?? 10_000;
	const terminal = new Set(options.terminalCloseCodes ?? DEFAULT_TERMINAL);
	let refs = 0;

	return {
		kind: 'websocket',
		bidirectional: true,
		supported: (env) => env.WebSocket !== undefined,
		open(sink, attempt): TransportConnection<Out> {
			const { env } = attempt;
			const Ctor = env.WebSocket;
			if (!Ctor) {
				sink.failed(
					new TransportError(messages.unsupported('WebSocket'), {
						code: 'unsupported',
						retryable: false,
						transport: 'websocket'
					})
				);
				return { close() {} };
			}
			const url = resolveUrl(options.url, attempt);
			const pending = new Map<
				string,
				{ resolve: (value: unknown) => void; reject: (error: unknown) => void; timer: unknown }
			>();
			let closed = false;
			let opened = false;
			let heartbeatTimer: unknown;
			const WebSocketCtor: typeof WebSocket = Ctor;
			let socket: WebSocket;
			try {
				socket = new WebSocketCtor(url, options.protocols);
			} catch (cause) {
				// A malformed URL throws at once; trying again cannot help.
				sink.failed(
					new TransportError(String(cause), {
						code: 'protocol',
						retryable: false,
						transport: 'websocket',
						cause
					})
				);
				return { close() {} };
			}

			const rejectPending = (error: TransportError) => {
				for (const [ref, entry] of pending) {
					env.clearTimeout(entry.timer);
					entry.reject(error);
					pending.delete(ref);
				}
			};

			const connectTimer = env.setTimeout(() => {
				if (closed || opened) return;
				const error = new TransportError(messages.connectTimeout(url, connectTimeout), {
					code: 'timeout',
					retryable: true,
					transport: 'websocket'
				});
				release();
				sink.failed(error);
			}, connectTimeout);

			const beat = () => {
				if (!options.heartbeat || closed) return;
				heartbeatTimer = env.setTimeout(() => {
					if (closed || socket.readyState !== WebSocketCtor.OPEN) return;
					socket.send(encode((options.heartbeat!.message ?? { type: 'ping' }) as Out));
					beat();
				}, options.heartbeat.interval);
			};

			const onOpen = () => {
				if (closed) return;
				opened = true;
				env.clearTimeout(connectTimer);
				sink.opened({ bidirectional: true });
				// A server that answers pings (`isPong`) sends a frame every interval: silence for
				// longer means trouble. Without `isPong` nothing says it answers.
				if (options.heartbeat?.isPong) sink.hint({ heartbeatMs: options.heartbeat.interval });
				beat();
			};
			const onMessage = (event: MessageEvent) => {
				if (closed) return;
				const message = decode(event.data);
				const ack = readAck(message);
				if (ack) {
					const entry = pending.get(ack.ref);
					sink.heartbeat();
					if (!entry) return;
					pending.delete(ack.ref);
					env.clearTimeout(entry.timer);
					if (ack.ok) entry.resolve(ack.result);
					else
						entry.reject(
							new TransportError(messages.nack(ack.error), {
								code: 'nack',
								retryable: false,
								transport: 'websocket',
								cause: ack.error
							})
						);
					return;
				}
				if (options.heartbeat?.isPong?.(message)) return sink.heartbeat();
				sink.message(message);
			};
			const onClose = (event: CloseEvent) => {
				if (closed) return;
				const error = new TransportError(messages.socketClosed(url, event.code, event.reason), {
					code: opened ? 'closed' : 'network',
					retryable: !terminal.has(event.code),
					transport: 'websocket'
				});
				release();
				if (opened && event.code === 1000) sink.ended();
				else sink.failed(error);
			};
			socket.addEventListener('open', onOpen);
			socket.addEventListener('message', onMessage);
			socket.addEventListener('close', onClose);
			// The close event that follows carries the details. Node's `ws` (an EventEmitter) throws an
			// 'error' nobody listens to, also the one from closing a socket that is still connecting, so
			// this listener stays for the socket's life (it holds nothing).
			socket.addEventListener('error', ignoreError);

			/** Stops everything this attempt started. */
			function release() {
				if (closed) return;
				closed = true;
				env.clearTimeout(connectTimer);
				if (heartbeatTimer !== undefined) env.clearTimeout(heartbeatTimer);
				socket.removeEventListener('open', onOpen);
				socket.removeEventListener('message', onMessage);
				socket.removeEventListener('close', onClose);
				if (
					socket.readyState === WebSocketCtor.CONNECTING ||
					socket.readyState === WebSocketCtor.OPEN
				) {
					socket.close(1000);
				}
				rejectPending(
					new TransportError(messages.closed(), {
						code: 'closed',
						retryable: true,
						transport: 'websocket'
					})
				);
			}

			return {
				close: release,
				send(data, sendOptions = {}) {
					if (closed || socket.readyState !== WebSocketCtor.OPEN) {
						return Promise.reject(
							new TransportError(messages.notOpen(), {
								code: 'closed',
								retryable: true,
								transport: 'websocket'
							})
						);
					}
					if (!sendOptions.ack) {
						socket.send(encode(data));
						return Promise.resolve(undefined);
					}
					const ref = `r${++refs}`;
					const timeout = sendOptions.timeoutMs ?? ackTimeout;
					return new Promise((resolve, reject) => {
						const timer = env.setTimeout(() => {
							pending.delete(ref);
							reject(
								new TransportError(messages.ackTimeout(timeout), {
									code: 'timeout',
									retryable: true,
									transport: 'websocket'
								})
							);
						}, timeout);
						pending.set(ref, { resolve, reject, timer });
						socket.send(encode(withRef(data, ref)));
					});
				}
			};
		}
	};
}
