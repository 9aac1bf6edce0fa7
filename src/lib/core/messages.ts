import { reasonText } from './protocol.js';

// The message of every error the core raises. Imported as a namespace
// (`import * as messages`), so that a bundle keeps only the messages its code uses.

export const httpStatus = (url: string, status: number) => `${url} answered HTTP ${status}`;
export const contentType = (url: string, got: string | null, expected: string) =>
	`${url} answered with content type ${got ? JSON.stringify(got) : '(none)'}, expected ${expected}`;
export const network = (url: string) => `Could not reach ${url}`;
export const streamEnded = (url: string) => `${url} ended the stream`;
export const endedForGood = (url: string) =>
	`${url} ended the stream for good (HTTP 204): it asks not to reconnect`;
export const noBody = (url: string) => `${url} answered without a body`;
export const unsupported = (what: string) => `${what} is not available in this environment`;
export const notLoaded = (module: string) =>
	`Could not load ${module} (code that fetch-mode SSE loads with its first stream)`;
export const eventSourceError = (url: string) =>
	`EventSource to ${url} failed (the browser does not say why: network, HTTP status or content type)`;
export const eventTooLarge = (max: number) =>
	`Dropped an event whose data is longer than ${max} characters (maxEventSize)`;
export const lineTooLong = (url: string, max: number) =>
	`${url} sent a line longer than ${max} characters without ending it`;
export const silence = (ms: number) => `Nothing arrived for ${ms} ms`;
export const invalidJson = (event: string | undefined) =>
	`Dropped a message${event ? ` (event "${event}")` : ''} that is not valid JSON`;
export const unknownEvent = (event: string) =>
	`Dropped a message with unknown event type "${event}"`;
export const badShape = (event: string | undefined, expected: string) =>
	`Dropped a message${event ? ` (event "${event}")` : ''}: expected ${expected}`;
export const missingKey = (item: unknown) =>
	`Dropped an item without a usable key (string or number): ${preview(item)}`;
export const unknownRow = (key: string) => `No row with key ${JSON.stringify(key)}`;
export const noCommit = () =>
	'Cannot change rows: pass a `commit` function (or use a two-way transport) to send changes';
export const commitTimeout = (ms: number) => `The change was not confirmed within ${ms} ms`;
export const commitRefused = (key: string, reason: string) =>
	`The change to ${JSON.stringify(key)} was not accepted: ${reason}`;
export const settledByServer = () => 'The server already has this change';
export const rowRemoved = (key: string) => `Row ${JSON.stringify(key)} was removed`;
export const disposed = () => 'The list was disposed';
export const nothingToRetry = (key: string) =>
	`No failed change to retry on row ${JSON.stringify(key)}`;
export const callbackThrew = (name: string, cause: unknown) =>
	`The \`${name}\` function threw: ${cause instanceof Error ? cause.message : String(cause)}`;
export const badUpdate = (update: unknown) =>
	`Dropped an update that is not { type: 'snapshot' | 'upsert' | 'remove', ... }: ${preview(update)}`;
export const commitFailed = (key: string) =>
	`The change to ${JSON.stringify(key)} was not accepted`;
export const badOption = (name: string, expected: string, got: unknown) =>
	`Invalid option \`${name}\`: expected ${expected}, got ${preview(got)}`;
export const emptyFallback = () => 'fallback() needs at least one transport';
export const allUnsupported = (kinds: string[]) =>
	`None of the transports can run here: ${kinds.join(', ')}`;
export const closed = () => 'The connection is closed';
export const notOpen = () => 'The socket is not open';
export const ackTimeout = (ms: number) => `No acknowledgement within ${ms} ms`;
export const nack = (reason: unknown) => {
	const text = reasonText(reason);
	return `The server refused the message${text ? `: ${text}` : ''}`;
};
export const queueTimeout = (ms: number) =>
	`The message waited ${ms} ms for a connection and was not sent`;
export const idTooLong = (length: number, max: number) =>
	`An event id of ${length} characters was not kept for resuming (the limit is ${max})`;
export const queueFull = (size: number) =>
	`The outgoing queue is full (${size} messages waiting for a connection); nothing was queued`;
export const oneWay = (kind: string) => `The live transport (${kind}) cannot send messages`;
export const connectTimeout = (url: string, ms: number) =>
	`${url} did not complete the handshake within ${ms} ms`;
export const socketClosed = (url: string, code: number, reason: string) =>
	`${url} closed the socket (code ${code}${reason ? `, ${reason}` : ''})`;
export const connectRefused = (url: string, reason: string) =>
	`${url} refused the connection${reason ? `: ${reason}` : ''}`;
export const serverDisconnected = (url: string) => `${url} disconnected this client`;
export const connectionLost = (url: string, reason: string) =>
	`Lost the connection to ${url} (${reason})`;
export const unrequestedNotModified = (url: string) =>
	`${url} answered 304 Not Modified to a request that named no ETag (a proxy or cache answering for another client?); the list was not loaded`;
export const emptyAck = () =>
	'The server refused the message with {}, which is what an Error becomes in JSON: answer { ok: false, error: message } to refuse, { ok: true } to accept';
export const messageTooLarge = (size: number, max: number, unit: string) =>
	`Dropped a message of ${size} ${unit}, over the limit of ${max} (maxMessageSize)`;
export const undecodable = (cause: unknown) =>
	`Dropped a message that could not be read: ${cause instanceof Error ? cause.message : String(cause)}`;
export const unsendable = (cause: unknown) =>
	`Could not send the message: ${cause instanceof Error ? cause.message : String(cause)}`;

function preview(value: unknown): string {
	let text: string;
	try {
		text = JSON.stringify(value) ?? String(value);
	} catch {
		text = String(value);
	}
	return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
export const shareNeedsKey = (kind: string) =>
	`Cannot share this ${kind} connection across tabs: its URL is a function, or the adapter does not say what it receives (\`identity\`). Pass a \`shareKey\` that names what it receives`;
