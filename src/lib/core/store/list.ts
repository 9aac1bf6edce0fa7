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

export function emptyList<T>(): OwnList<T> {
	return { entries: new Map(), order: [], seq: 0, loaded: false };
}

/** A list from rows in order (duplicates and rows without a key skipped). */
export function listOf<T>(items: readonly T[], rules: ListRules<T>, loaded: boolean): OwnList<T> {
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

/** A list its owner changes in place (`applyInPlace`); `order` is replaced, never changed. */
export interface OwnList<T> {
	entries: Map<string, ListEntry<T>>;
	order: readonly string[];
	seq: number;
	loaded: boolean;
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
	const own: OwnList<T> = { ...list, entries: new Map(list.entries) };
	const events = applyInPlace(own, batch, rules);
	return { list: own, events };
}

/**
 * `applyUpdates` on a list its owner changes in place: the work is what the updates change, not
 * the size of the list. `order` is a new array whenever the rows' order or membership changed (and
 * stays the same array after a snapshot of the same rows), so that its identity tells the owner
 * whether to lay the rows out again.
 */
export function applyInPlace<T>(
	list: OwnList<T>,
	batch: readonly Batch<T>[],
	rules: ListRules<T>
): ListEvent<T>[] {
	const { entries } = list;
	let order = list.order;
	const events: ListEvent<T>[] = [];

	const drop = (key: string) => {
		entries.delete(key);
		events.push({ type: 'removed', key });
	};

	function upsert(items: readonly T[], mutationId: string | undefined) {
		const added: string[] = [];
		for (const item of items) {
			const key = rules.keyOf(item);
			if (key === undefined) continue;
			const existing = entries.get(key);
			if (existing) {
				const newer = rules.compare(item, existing.item);
				if (newer === undefined || (rules.versioned && newer <= 0)) continue;
			} else {
				added.push(key);
			}
			entries.set(key, { item, seq: ++list.seq });
			events.push({ type: 'row', key, item, ...(mutationId ? { mutationId } : {}) });
		}
		if (mutationId !== undefined) events.push({ type: 'confirmed', mutationId });
		list.loaded = true;
		if (added.length === 0) return;
		// Each new row goes first (or last) as it arrives: at the start, the last to arrive is first.
		order = rules.insert === 'end' ? [...order, ...added] : [...added.reverse(), ...order];
		evict();
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
				next.set(key, { item, seq: ++list.seq });
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
		const replaced = kept.length ? [...kept, ...nextOrder] : nextOrder;
		// The same rows in the same order (a reconnect's snapshot): the order stays as it was.
		if (!sameKeys(replaced, order)) order = replaced;
		list.loaded = true;
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
	list.order = order;
	return events;
}

function sameKeys(a: readonly string[], b: readonly string[]): boolean {
	if (a.length !== b.length) return false;
	for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
	return true;
}

/** Sets the row for `key` to `item` (appended if new), whatever its version. */
export function putRow<T>(list: OwnList<T>, key: string, item: T): void {
	if (!list.entries.has(key)) list.order = [...list.order, key];
	list.entries.set(key, { item, seq: ++list.seq });
}

/** Reorders the rows by `sort` (which the caller makes safe to call); the same order stays as it was. */
export function sortList<T>(list: OwnList<T>, sort: (a: T, b: T) => number): void {
	const order = [...list.order].sort((a, b) =>
		sort(list.entries.get(a)!.item, list.entries.get(b)!.item)
	);
	if (!sameKeys(order, list.order)) list.order = order;
}

/** Removes the rows past `max` (in order); returns their keys. */
export function trimList<T>(list: OwnList<T>, max: number): string[] {
	if (list.order.length <= max) return [];
	const removed = list.order.slice(max);
	for (const key of removed) list.entries.delete(key);
	list.order = list.order.slice(0, max);
	return removed;
}
