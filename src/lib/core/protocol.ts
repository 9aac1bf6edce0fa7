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

/** The server's answer to a message that carried a `ref`. */
export interface AckMessage<T = unknown> {
	type: 'ack';
	ref: string;
	/** `false` refuses the change; anything else accepts it. */
	ok?: boolean;
	/** The server's version of the row (accepted), or any other reply. */
	result?: T | { item: T };
	/** Why the server refused: a string, or an object with a `message`. */
	error?: unknown;
}

export function mutationMessage<T>(mutationId: string, key: string, item: T): MutationMessage<T> {
	return { type: 'mutation', mutationId, key, item };
}

export function isMutationMessage(value: unknown): value is MutationMessage {
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
