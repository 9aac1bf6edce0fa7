import type { RecordKey, Update } from './decode.js';

/** One row as the server sent it. */
export interface ListEntry<T> {
	item: T;
	/** The mark at which the row last changed. */
	seq: number;
}

/** The server's list: rows by key, their order, and a counter that marks each change. */
export interface List<T> {
	readonly entries: ReadonlyMap<string, ListEntry<T>>;
	readonly order: readonly string[];
	readonly seq: number;
	/** Whether any data arrived yet. */
	readonly loaded: boolean;
}

/** How the list reads items; both functions are the caller's, already made safe to call. */
export interface ListRules<T> {
	/** The row's key, or undefined for an item without a usable one (it is skipped). */
	keyOf(item: T): string | undefined;
	/**
	 * -1 when `incoming` is older than `current`, 1 when newer, 0 when the same or unversioned;
	 * undefined when the version cannot be read (the item is skipped).
	 */
	compare(incoming: T, current: T): number | undefined;
	/** Whether rows have versions (an older update is then dropped). */
	versioned: boolean;
	insert: 'start' | 'end';
	/** The most rows kept when `sort` does not decide the order; the last in order go first. */
	maxItems: number | undefined;
}

/** What a batch did, in the order it happened, for the caller to follow up. */
export type ListEvent<T> =
	/** The server's row for `key` is now `item`; `mutationId` when it is the echo of a change. */
	| { type: 'row'; key: string; item: T; mutationId?: string }
	| { type: 'removed'; key: string }
	/** An echo named this change, whether or not its row was newer than the one kept. */
	| { type: 'confirmed'; mutationId: string };

export interface Batch<T> {
	update: Update<T>;
	/** For a snapshot: rows that changed after this mark are newer than it, and kept. */
	since?: number;
}

export function emptyList<T>(): List<T> {
	return { entries: new Map(), order: [], seq: 0, loaded: false };
}

/** A list from rows in order (duplicates and rows without a key skipped). */
export function listOf<T>(items: readonly T[], rules: ListRules<T>, loaded: boolean): List<T> {
	const entries = new Map<string, ListEntry<T>>();
	const order: string[] = [];
	let seq = 0;
	for (const item of items) {
		const key = rules.keyOf(item);
		if (key === undefined || entries.has(key)) continue;
		entries.set(key, { item, seq: ++seq });
		order.push(key);
	}
	return { entries, order, seq, loaded };
}

/**
 * Applies updates to a list: a pure function of the list, the updates and the rules. The list
 * given is not changed; the result shares unchanged rows (same entry objects) with it.
 */
export function applyUpdates<T>(
	list: List<T>,
	batch: readonly Batch<T>[],
	rules: ListRules<T>
): { list: List<T>; events: ListEvent<T>[] } {
	const entries = new Map(list.entries);
	let order = [...list.order];
	let seq = list.seq;
	let loaded = list.loaded;
	const events: ListEvent<T>[] = [];

	const drop = (key: string) => {
		entries.delete(key);
		events.push({ type: 'removed', key });
	};

	function upsert(items: readonly T[], mutationId: string | undefined) {
		let inserted = false;
		for (const item of items) {
			const key = rules.keyOf(item);
			if (key === undefined) continue;
			const existing = entries.get(key);
			if (existing) {
				const newer = rules.compare(item, existing.item);
				if (newer === undefined || (rules.versioned && newer <= 0)) continue;
			} else {
				if (rules.insert === 'end') order.push(key);
				else order.unshift(key);
				inserted = true;
			}
			entries.set(key, { item, seq: ++seq });
			events.push({ type: 'row', key, item, ...(mutationId ? { mutationId } : {}) });
		}
		if (mutationId !== undefined) events.push({ type: 'confirmed', mutationId });
		loaded = true;
		if (inserted) evict();
	}

	function remove(ids: readonly RecordKey[]) {
		const gone = new Set(ids.map(String));
		let any = false;
		for (const key of gone) {
			if (!entries.has(key)) continue;
			any = true;
			drop(key);
		}
		if (any) order = order.filter((key) => !gone.has(key));
	}

	function replace(items: readonly T[], since: number | undefined) {
		const next = new Map<string, ListEntry<T>>();
		const nextOrder: string[] = [];
		const changed: Array<ListEvent<T>> = [];
		for (const item of items) {
			const key = rules.keyOf(item);
			if (key === undefined || next.has(key)) continue;
			const existing = entries.get(key);
			const newer = existing ? rules.compare(item, existing.item) : 1;
			if (newer === undefined) continue;
			// Same version, same row: keeping it (and its identity) re-renders and flashes nothing,
			// as when a reconnect brings the whole list again.
			if (existing && (existing.item === item || (rules.versioned && newer <= 0))) {
				next.set(key, existing);
			} else {
				next.set(key, { item, seq: ++seq });
				changed.push({ type: 'row', key, item });
			}
			nextOrder.push(key);
		}
		// Rows that arrived after the snapshot was requested are newer than it: keep them.
		const kept =
			since === undefined
				? []
				: order.filter((key) => !next.has(key) && entries.get(key)!.seq > since);
		for (const key of kept) next.set(key, entries.get(key)!);
		for (const key of entries.keys()) if (!next.has(key)) events.push({ type: 'removed', key });
		entries.clear();
		for (const [key, entry] of next) entries.set(key, entry);
		events.push(...changed);
		order = [...kept, ...nextOrder];
		loaded = true;
		evict();
	}

	/** Beyond maxItems the last rows in order go, as soon as they are inserted. */
	function evict() {
		if (rules.maxItems === undefined || order.length <= rules.maxItems) return;
		for (const key of order.slice(rules.maxItems)) drop(key);
		order = order.slice(0, rules.maxItems);
	}

	for (const { update, since } of batch) {
		if (update.type === 'snapshot') replace(update.items, since);
		else if (update.type === 'upsert') upsert(update.items, update.mutationId);
		else remove(update.ids);
	}
	return { list: { entries, order, seq, loaded }, events };
}

/** The list with the row for `key` set to `item` (appended if new), whatever its version. */
export function putRow<T>(list: List<T>, key: string, item: T): List<T> {
	const entries = new Map(list.entries);
	const seq = list.seq + 1;
	const isNew = !entries.has(key);
	entries.set(key, { item, seq });
	return { ...list, entries, seq, order: isNew ? [...list.order, key] : list.order };
}

/** The list with its rows reordered by `sort` (which the caller makes safe to call). */
export function sortList<T>(list: List<T>, sort: (a: T, b: T) => number): List<T> {
	const order = [...list.order].sort((a, b) =>
		sort(list.entries.get(a)!.item, list.entries.get(b)!.item)
	);
	return { ...list, order };
}

/** The list with rows past `max` (in order) removed, and which ones. */
export function trimList<T>(list: List<T>, max: number): { list: List<T>; removed: string[] } {
	if (list.order.length <= max) return { list, removed: [] };
	const removed = list.order.slice(max);
	const entries = new Map(list.entries);
	for (const key of removed) entries.delete(key);
	return { list: { ...list, entries, order: list.order.slice(0, max) }, removed };
}
