// The kit's wire protocol, shared by the adapters, the server helper and the mock kit. No imports:
// a server bundle that uses it pulls in nothing else.

/** The event names of a live list, as the server helper sends them and the default decoder reads them. */
export const EVENTS = Object.freeze({
	/** The whole list. */
	snapshot: 'snapshot',
	/** One item or an array of items to insert or replace. */
	upsert: 'upsert',
	/** An id, an array of ids, or `{ ids }` to remove. */
	remove: 'remove',
	/** Proof of liveness; its data may be `{ "interval": ms }`. */
	ping: 'ping',
	/** The server lost track of what this client has: fetch the list again. */
	resync: 'resync'
} as const);

/** Event types that only prove liveness. */
export const HEARTBEAT_EVENTS: readonly string[] = Object.freeze([EVENTS.ping, 'heartbeat']);

/** What a client sends to change a row over a two-way transport. */
export interface MutationMessage<T = unknown> {
	type: 'mutation';
	/** Unique per change; the server's echo carries it back (`{ type: 'upsert', item, mutationId }`). */
	mutationId: string;
	key: string;
	/** The row as the client wants it. */
	item: T;
	/** Added by `websocket()` when an acknowledgement is wanted; the ack echoes it. */
	ref?: string;
}

/** The server's answer to a message that carried a `ref` (read by {@link readReply}). */
export interface AckMessage<T = unknown> {
	type: 'ack';
	ref: string;
	/** `false` refuses the change; `true` accepts it. Without it, an `error` refuses. */
	ok?: boolean;
	/** The server's version of the row (accepted), or any other reply. */
	result?: T | { item: T };
	/** Why the server refused: a string, or an object with a `message`. */
	error?: unknown;
}

export function mutationMessage<T>(mutationId: string, key: string, item: T): MutationMessage<T> {
	return { type: 'mutation', mutationId, key, item };
}

export function isMutationMessage<T = unknown>(value: unknown): value is MutationMessage<T> {
	if (typeof value !== 'object' || value === null) return false;
	const { type, mutationId, key } = value as Record<string, unknown>;
	return type === 'mutation' && typeof mutationId === 'string' && typeof key === 'string';
}

/**
 * A refusal's reason as text: a string as it is, an `Error` or `{ message }` by its message, any
 * other object as JSON; never `[object Object]`.
 */
export function reasonText(reason: unknown): string {
	if (reason === undefined || reason === null || reason === '') return '';
	if (typeof reason === 'string') return reason;
	if (typeof reason === 'object') {
		const message = (reason as { message?: unknown }).message;
		if (typeof message === 'string' && message !== '') return message;
		try {
			const json = JSON.stringify(reason);
			if (json !== undefined && json !== '{}') return json;
		} catch {
			// a cycle: fall through
		}
		return Object.prototype.toString.call(reason) === '[object Error]' ? 'error' : '';
	}
	return String(reason);
}

/** A plain object (not an array, not null). */
export const isRecord = (value: unknown): value is Record<string, unknown> =>
	typeof value === 'object' && value !== null && !Array.isArray(value);

/** How the server answered a change: accepted, with its reply, or refused, with its reason. */
export type Reply = { ok: true; result?: unknown } | { ok: false; error?: unknown };

/** An error field that says something: not `undefined`, `null`, `false` or `''`. */
const given = (value: unknown) =>
	value !== undefined && value !== null && value !== false && value !== '';

/**
 * Reads a server's answer to a change, the one way both two-way adapters read it: `socketIo()`
 * reads what the server passed to the ack callback, `websocket()` the fields of its
 * `{ type: 'ack', ref, ... }` frame other than `type` and `ref` (a bare `{ type: 'ack', ref }` is an
 * answer of nothing).
 *
 * Accepted:
 * - nothing (`undefined`), `null`, `true`;
 * - `{ ok: true, result? }`, with `result` as the reply (`{ ok: true, item }`: `{ item }`);
 * - `{ result }` (no `ok`, no `error`), with `result`;
 * - the row itself, `{ item }`, or any other value, which is the reply as it is.
 *
 * Refused:
 * - `false`;
 * - `{ ok: false, error? }`;
 * - `{ error }` with an error that is not `undefined`, `null`, `false` or `''`;
 * - `{}`: an empty object is what an `Error` becomes in JSON, so `ack(new Error('...'))` over
 *   socket.io arrives as `{}`. It is a refusal, and its message tells the server's author to answer
 *   `{ ok: false, error: message }` instead.
 *
 * A row that has an `ok` or `error` field of its own must be sent as `{ ok: true, result: row }`.
 */
export function readReply(reply: unknown): Reply {
	if (reply === undefined || reply === null || reply === true) return { ok: true };
	if (reply === false) return { ok: false };
	if (!isRecord(reply)) return { ok: true, result: reply };
	if (reply.ok === true) {
		const result =
			'result' in reply ? reply.result : 'item' in reply ? { item: reply.item } : undefined;
		return { ok: true, result };
	}
	if (reply.ok === false) return { ok: false, error: reply.error };
	if (given(reply.error)) return { ok: false, error: reply.error };
	if ('result' in reply) return { ok: true, result: reply.result };
	// Only a plain `{}`: an ArrayBuffer or a Date has no keys either.
	const proto: unknown = Object.getPrototypeOf(reply);
	if ((proto === Object.prototype || proto === null) && Object.keys(reply).length === 0)
		return { ok: false, error: reply };
	return { ok: true, result: reply };
}
