/** What went wrong with a transport attempt. */
export type TransportErrorCode =
	/** The request or socket failed below HTTP: DNS, refused, reset, CORS, offline. */
	| 'network'
	/** The server answered with an HTTP status that is not a success. */
	| 'http'
	/** The server answered with the wrong content type (a captive portal's HTML, a JSON error page). */
	| 'content-type'
	/** Nothing arrived in time: a handshake, an ack, or a stream gone silent. */
	| 'timeout'
	/** The stream or socket ended in a way the transport treats as a failure. */
	| 'closed'
	/** The transport cannot run here (no `EventSource`, no `WebSocket`). */
	| 'unsupported'
	/** The server sent something the transport could not understand. */
	| 'protocol'
	/** The server refused a sent message (a negative acknowledgement). */
	| 'nack'
	/** The outgoing queue is full. */
	| 'queue-full';

export interface TransportErrorOptions {
	code: TransportErrorCode;
	/** Whether trying again may help. */
	retryable: boolean;
	/** The HTTP status, when there was one. */
	status?: number;
	/** The server's requested wait before the next attempt (`Retry-After`), in milliseconds. */
	retryAfterMs?: number;
	/** The transport kind that failed. */
	transport?: string;
	cause?: unknown;
}

/** The one error type every transport reports. */
export class TransportError extends Error {
	override readonly name = 'TransportError';
	readonly code: TransportErrorCode;
	readonly retryable: boolean;
	readonly status: number | undefined;
	readonly retryAfterMs: number | undefined;
	readonly transport: string | undefined;

	constructor(message: string, options: TransportErrorOptions) {
		super(message, { cause: options.cause });
		this.code = options.code;
		this.retryable = options.retryable;
		this.status = options.status;
		this.retryAfterMs = options.retryAfterMs;
		this.transport = options.transport;
	}
}

/** Raised by the record store for a message it cannot apply; the message is dropped. */
export class DecodeError extends Error {
	override readonly name = 'DecodeError';
	/** The message as received. */
	readonly data: unknown;
	/** The SSE event type or socket event name, if any. */
	readonly event: string | undefined;

	constructor(message: string, data: unknown, event?: string, cause?: unknown) {
		super(message, { cause });
		this.data = data;
		this.event = event;
	}
}

/** Raised when an optimistic change could not be committed; the row is rolled back. */
export class MutationError extends Error {
	override readonly name = 'MutationError';
	readonly key: string;

	constructor(message: string, key: string, cause?: unknown) {
		super(message, { cause });
		this.key = key;
	}
}

/** Every message the core raises, in one place (one export each, so that bundles keep only theirs). */
export * as messages from './messages.js';
