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

/** Every message the core raises, in one place. */
export const messages = {
	httpStatus: (url: string, status: number) => `${url} answered HTTP ${status}`,
	contentType: (url: string, got: string | null, expected: string) =>
		`${url} answered with content type ${got ? JSON.stringify(got) : '(none)'}, expected ${expected}`,
	network: (url: string) => `Could not reach ${url}`,
	streamEnded: (url: string) => `${url} ended the stream`,
	noBody: (url: string) => `${url} answered without a body`,
	unsupported: (what: string) => `${what} is not available in this environment`,
	eventSourceError: (url: string) =>
		`EventSource to ${url} failed (the browser does not say why: network, HTTP status or content type)`,
	silence: (ms: number) => `Nothing arrived for ${ms} ms`,
	invalidJson: (event: string | undefined) =>
		`Dropped a message${event ? ` (event "${event}")` : ''} that is not valid JSON`,
	unknownEvent: (event: string) => `Dropped a message with unknown event type "${event}"`,
	badShape: (event: string | undefined, expected: string) =>
		`Dropped a message${event ? ` (event "${event}")` : ''}: expected ${expected}`,
	missingKey: (item: unknown) =>
		`Dropped an item without a usable key (string or number): ${preview(item)}`,
	unknownRow: (key: string) => `No row with key ${JSON.stringify(key)}`,
	noCommit: () =>
		'Cannot change rows: pass a `commit` function (or use a two-way transport) to send changes',
	commitTimeout: (ms: number) => `The change was not confirmed within ${ms} ms`,
	commitFailed: (key: string) => `The change to ${JSON.stringify(key)} was not accepted`,
	badOption: (name: string, expected: string, got: unknown) =>
		`Invalid option \`${name}\`: expected ${expected}, got ${preview(got)}`,
	emptyFallback: () => 'fallback() needs at least one transport',
	allUnsupported: (kinds: string[]) => `None of the transports can run here: ${kinds.join(', ')}`,
	closed: () => 'The connection is closed',
	notOpen: () => 'The socket is not open',
	ackTimeout: (ms: number) => `No acknowledgement within ${ms} ms`,
	nack: (reason: unknown) => `The server refused the message${reason ? `: ${String(reason)}` : ''}`,
	queueFull: (size: number) =>
		`The outgoing queue is full (${size} messages waiting for a connection); nothing was queued`,
	oneWay: (kind: string) => `The live transport (${kind}) cannot send messages`,
	connectTimeout: (url: string, ms: number) =>
		`${url} did not complete the handshake within ${ms} ms`,
	socketClosed: (url: string, code: number, reason: string) =>
		`${url} closed the socket (code ${code}${reason ? `, ${reason}` : ''})`,
	connectRefused: (url: string, reason: string) =>
		`${url} refused the connection${reason ? `: ${reason}` : ''}`,
	serverDisconnected: (url: string) => `${url} disconnected this client`,
	connectionLost: (url: string, reason: string) => `Lost the connection to ${url} (${reason})`
} as const;

function preview(value: unknown): string {
	let text: string;
	try {
		text = JSON.stringify(value) ?? String(value);
	} catch {
		text = String(value);
	}
	return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
