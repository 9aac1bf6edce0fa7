import * as messages from '../messages.js';
import { DecodeError } from '../errors.js';
import { isRecord } from '../protocol.js';
import type { MessageMeta } from '../transports/types.js';

export type RecordKey = string | number;

/** A change to the list. */
export type Update<T> =
	| { type: 'snapshot'; items: T[] }
	| {
			type: 'upsert';
			items: T[];
			/** The client change this update confirms (the server's echo of it). */
			mutationId?: string;
	  }
	| { type: 'remove'; ids: RecordKey[] };

/**
 * Turns one message into updates. Return `null` to ignore a message; throw (a `DecodeError`
 * ideally) to drop it as malformed.
 */
export type Decoder<T> = (data: unknown, meta: MessageMeta) => Update<T> | Update<T>[] | null;

const isKey = (value: unknown): value is RecordKey =>
	typeof value === 'string' || (typeof value === 'number' && Number.isFinite(value));

/**
 * The default decoder. Strings are parsed as JSON (once: not when `meta.decoded` says the adapter
 * did). Then:
 * - event `snapshot` → an array of items; `upsert` → an item or an array; `remove` → an id, an
 *   array of ids, or `{ ids }`;
 * - no event (or `message`): an array is a snapshot; `{ type: 'snapshot' | 'upsert' | 'remove', ... }`
 *   is that update; any other object is an upsert of that one item;
 * - `heartbeat` / `ping` are ignored; any other event type is dropped as unknown.
 */
export function defaultDecode<T>(data: unknown, meta: MessageMeta): Update<T> | null {
	const event = meta.event === 'message' ? undefined : meta.event;
	if (event === 'heartbeat' || event === 'ping') return null;
	let value = data;
	// A payload the adapter decoded already (a WebSocket frame) is never parsed a second time.
	if (typeof data === 'string' && meta.decoded !== true) {
		try {
			value = JSON.parse(data);
		} catch (cause) {
			throw new DecodeError(messages.invalidJson(event), data, event, cause);
		}
	}
	switch (event) {
		case undefined:
			if (Array.isArray(value)) return { type: 'snapshot', items: value as T[] };
			if (isRecord(value) && typeof value.type === 'string')
				return typed(value.type, value, data, event);
			if (isRecord(value)) return { type: 'upsert', items: [value as T] };
			throw new DecodeError(messages.badShape(event, 'an array or an object'), data, event);
		case 'snapshot':
		case 'upsert':
		case 'remove':
			return typed(event, value, data, event);
		default:
			throw new DecodeError(messages.unknownEvent(event), data, event);
	}
}

/**
 * An update's payload: the first of `fields` present in an envelope (`{ type, items }`), or, under a
 * named event, the value itself (`event: upsert` with the bare item).
 */
function payloadOf(value: unknown, fields: string[], named: boolean): unknown {
	if (isRecord(value)) for (const field of fields) if (field in value) return value[field];
	return named ? value : undefined;
}

function typed<T>(
	type: string,
	value: unknown,
	data: unknown,
	event: string | undefined
): Update<T> {
	const named = event !== undefined;
	switch (type) {
		case 'snapshot': {
			const items = payloadOf(value, ['items'], named);
			if (!Array.isArray(items))
				throw new DecodeError(messages.badShape(event, 'a snapshot array'), data, event);
			return { type: 'snapshot', items: items as T[] };
		}
		case 'upsert': {
			const items = payloadOf(value, ['items', 'item'], named);
			// The server's echo of a client change names it, so the change settles at once.
			const echo =
				isRecord(value) && typeof value.mutationId === 'string'
					? { mutationId: value.mutationId }
					: {};
			if (Array.isArray(items) && items.every(isRecord))
				return { type: 'upsert', items: items as T[], ...echo };
			if (isRecord(items)) return { type: 'upsert', items: [items as T], ...echo };
			throw new DecodeError(messages.badShape(event, 'an item or an array of items'), data, event);
		}
		case 'remove': {
			const ids = payloadOf(value, ['ids', 'id'], named);
			if (isKey(ids)) return { type: 'remove', ids: [ids] };
			if (Array.isArray(ids) && ids.every(isKey)) return { type: 'remove', ids };
			throw new DecodeError(messages.badShape(event, 'an id or an array of ids'), data, event);
		}
		default:
			throw new DecodeError(messages.unknownEvent(type), data, event);
	}
}
