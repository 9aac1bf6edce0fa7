import * as messages from '../messages.js';
import { DecodeError, TransportError } from '../errors.js';
import { positive } from '../options.js';
import { isRecord, reasonText, readReply } from '../protocol.js';

export { readReply, type Reply } from '../protocol.js';
import { resolveUrl } from './http.js';
import type { Attempt, Transport, TransportConnection } from './types.js';

/**
 * The error a refused change rejects with (code `nack`, not retryable). Its message gives the
 * reason as text (`reasonText`), never `[object Object]`.
 */
export function refusalError(error: unknown, transport: string): TransportError {
	// `{}` (an Error through JSON, or an empty answer) says nothing: say what to send instead.
	const empty = isRecord(error) && reasonText(error) === '';
	return new TransportError(empty ? messages.emptyAck() : messages.nack(error), {
		code: 'nack',
		retryable: false,
		transport,
		cause: error
	});
}

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
	/**
	 * Turns a frame into a message; the message goes to the store marked as decoded
	 * (`meta.decoded`), so the store's decoder never parses it again. One that throws drops the
	 * frame (reported as a `DecodeError`); the socket stays open.
	 * @defaultValue `JSON.parse` for text frames; binary frames as they are. A text frame that is not
	 * valid JSON goes to the store as the text it is, and the store reports it as malformed.
	 */
	decode?: (data: unknown) => unknown;
	/**
	 * The largest frame kept: characters for a text frame, bytes for a binary one. A larger frame is
	 * dropped before it is decoded and reported as a `DecodeError`; the socket stays open.
	 * @defaultValue `1048576` (1 MiB)
	 */
	maxMessageSize?: number;
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
	 * @defaultValue `{ type: 'ack', ref, ...answer }`, the answer read by {@link readReply}: `ok: true`,
	 * `result`, or nothing accepts; `ok: false`, a non-empty `error`, or an empty answer refuses
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
	if (!isRecord(message)) return undefined;
	const { type, ref, ...answer } = message;
	if (type !== 'ack' || typeof ref !== 'string') return undefined;
	// A bare `{ type: 'ack', ref }` answers nothing: accepted, as an ack callback called with nothing.
	return { ref, ...readReply(Object.keys(answer).length === 0 ? undefined : answer) };
}

function ignoreError(): void {}

/** A frame's size: characters of a text frame, bytes of a binary one. */
function sizeOf(data: unknown): number {
	if (typeof data === 'string') return data.length;
	if (data instanceof ArrayBuffer || ArrayBuffer.isView(data)) return data.byteLength;
	if (typeof Blob !== 'undefined' && data instanceof Blob) return data.size;
	return 0;
}

/**
 * A WebSocket on the platform's `WebSocket`. Two-way: `send` with an optional acknowledgement
 * (a `ref` the server echoes in `{ type: 'ack', ref, ok }`, read by {@link readReply}).
 *
 * Nothing a frame or a callback option does escapes the socket's event handlers: a frame over
 * `maxMessageSize`, or one that `decode`, `readAck` or `heartbeat.isPong` throws on, is dropped and
 * reported; `send` rejects when `encode` or `withRef` throws.
 */
export function websocket<Out = unknown>(options: WebSocketOptions<Out>): Transport<unknown, Out> {
	const encode = options.encode ?? ((data: Out) => JSON.stringify(data));
	const readAck = options.readAck ?? defaultReadAck;
	const withRef =
		options.withRef ?? ((data: Out, ref: string) => ({ ...(data as object), ref }) as Out);
	const connectTimeout = positive('connectTimeout', options.connectTimeout, 2500);
	const ackTimeout = positive('ackTimeout', options.ackTimeout, 10_000);
	const maxMessageSize = positive('maxMessageSize', options.maxMessageSize, 1_048_576);
	const terminal = new Set(options.terminalCloseCodes ?? DEFAULT_TERMINAL);
	let refs = 0;

	return {
		kind: 'websocket',
		identity: options,
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

			/** Ends the attempt for a reason found here, not by the socket. */
			const failWith = (error: TransportError) => {
				if (closed) return;
				release();
				sink.failed(error);
			};

			const beat = () => {
				if (!options.heartbeat || closed) return;
				heartbeatTimer = env.setTimeout(() => {
					if (closed || socket.readyState !== WebSocketCtor.OPEN) return;
					try {
						socket.send(encode((options.heartbeat!.message ?? { type: 'ping' }) as Out));
					} catch (cause) {
						// The ping cannot be encoded (or sent): it never will be.
						return failWith(sendError(cause));
					}
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
			/** A frame that never reaches the store; it still proves the socket alive. */
			const drop = (error: DecodeError) => {
				sink.heartbeat();
				sink.dropped(error);
			};
			const onMessage = (event: MessageEvent) => {
				if (closed) return;
				const data: unknown = event.data;
				const size = sizeOf(data);
				if (size > maxMessageSize) {
					const text = typeof data === 'string';
					return drop(
						new DecodeError(
							messages.messageTooLarge(size, maxMessageSize, text ? 'characters' : 'bytes'),
							// A preview, not the frame: the limit is there to let go of it.
							text ? data.slice(0, 100) : undefined
						)
					);
				}
				let message: unknown = data;
				// Decoded here, so the store's decoder takes it as it is and never parses it again.
				let decoded = true;
				let ack: Ack | undefined;
				let pong = false;
				try {
					if (options.decode) message = options.decode(data);
					else if (typeof data === 'string') {
						try {
							message = JSON.parse(data);
						} catch {
							// Not JSON: on to the store as the text it is, which reports it as malformed
							// (or a decoder of the app's reads it).
							decoded = false;
						}
					}
					ack = readAck(message);
					if (!ack) pong = options.heartbeat?.isPong?.(message) === true;
				} catch (cause) {
					return drop(new DecodeError(messages.undecodable(cause), data, undefined, cause));
				}
				if (ack) {
					const entry = pending.get(ack.ref);
					sink.heartbeat();
					if (!entry) return;
					pending.delete(ack.ref);
					env.clearTimeout(entry.timer);
					if (ack.ok) entry.resolve(ack.result);
					else entry.reject(refusalError(ack.error, 'websocket'));
					return;
				}
				if (pong) return sink.heartbeat();
				sink.message(message, decoded ? { decoded: true } : undefined);
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
						try {
							socket.send(encode(data));
						} catch (cause) {
							return Promise.reject(sendError(cause));
						}
						return Promise.resolve(undefined);
					}
					const ref = `r${++refs}`;
					const timeout = sendOptions.timeoutMs ?? ackTimeout;
					let frame: ReturnType<typeof encode>;
					try {
						frame = encode(withRef(data, ref));
					} catch (cause) {
						return Promise.reject(sendError(cause));
					}
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
						try {
							socket.send(frame);
						} catch (cause) {
							pending.delete(ref);
							env.clearTimeout(timer);
							reject(sendError(cause));
						}
					});
				}
			};
		}
	};
}

/** `encode`, `withRef` or the socket's own `send` threw: the message cannot go out as it is. */
function sendError(cause: unknown): TransportError {
	return new TransportError(messages.unsendable(cause), {
		code: 'protocol',
		retryable: false,
		transport: 'websocket',
		cause
	});
}
