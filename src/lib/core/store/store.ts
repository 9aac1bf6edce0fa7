import { browserEnv, type Env } from '../env/env.js';
import * as messages from '../messages.js';
import { DecodeError, MutationError } from '../errors.js';
import type { MessageMeta } from '../transports/types.js';
import { defaultDecode, type Decoder, type RecordKey, type Update } from './decode.js';

/** A row as the UI renders it. */
export interface Row<T> {
	key: string;
	/** The item with any pending change applied. */
	item: T;
	/** `pending`: a change is on its way; `failed`: the last change was rolled back. */
	status: 'settled' | 'pending' | 'failed';
	/** Why the last change failed. */
	error?: MutationError;
}

export interface RecordStoreSnapshot<T> {
	items: readonly T[];
	rows: readonly Row<T>[];
	/** Whether any data arrived yet (`initial` counts). */
	loaded: boolean;
	/** How many messages were dropped as malformed. */
	dropped: number;
}

/** What a `commit` function is given. */
export interface PendingChange<T> {
	key: string;
	/** The row as it will look once the change is accepted. */
	item: T;
	/** The row before the change. */
	previous: T;
	/** Unique per change; a server that echoes it lets the kit match the echo. */
	mutationId: string;
	/** Aborted when the change times out. */
	signal: AbortSignal;
}

/**
 * Sends a change to the server. Resolve with the server's version of the item (or nothing, and the
 * next server update of that row settles it); reject to roll the change back.
 */
export type Commit<T> = (change: PendingChange<T>) => Promise<T | void | undefined>;

export interface RecordStoreOptions<T> {
	/** Rows to show before anything arrives (for example the server-rendered list). */
	initial?: readonly T[];
	/** A row's identity. @defaultValue `item.id` */
	key?: (item: T) => RecordKey;
	/**
	 * A row's version (a number, or a string that sorts, such as an ISO date). With it, an update
	 * older than the row it would replace is dropped, and a snapshot never rolls a row back.
	 */
	version?: (item: T) => number | string;
	/**
	 * The most rows kept; the last rows in order are dropped beyond it.
	 * @defaultValue `1000`
	 */
	maxItems?: number;
	/** Turns messages into updates. @defaultValue {@link defaultDecode} */
	decode?: Decoder<T>;
	/**
	 * Where a new row goes without `sort`.
	 * @defaultValue `'start'` (newest first)
	 */
	insert?: 'start' | 'end';
	/** Keeps the rows sorted (overrides `insert` and the snapshot's order). */
	sort?: (a: T, b: T) => number;
	/** Sends optimistic changes (for example `PATCH /api/tasks/:id`). */
	commit?: Commit<T>;
	/**
	 * How long a change may wait for `commit` before it is rolled back (milliseconds).
	 * @defaultValue `10000`; `Infinity` in `createLiveSource` over a two-way transport, where a change
	 * waits for a connection and then the acknowledgement timeout (`ackTimeout`) applies
	 */
	commitTimeout?: number;
	/** The change `toggle(key)` makes. @defaultValue flips a boolean `done` */
	toggle?: (item: T) => T;
	/** Told about every dropped message and failed change, once each. */
	onError?: (error: DecodeError | MutationError) => void;
	/** Remembered event ids for dropping duplicates. @defaultValue `1024` */
	dedupeWindow?: number;
	env?: Env;
}

export interface RecordStore<T> {
	/** Decodes and queues one message (duplicates by event id are dropped). */
	receive(data: unknown, meta?: MessageMeta): void;
	/**
	 * Queues an update. A snapshot given `since` (from {@link RecordStore.mark}) keeps rows that
	 * changed after that mark even when the snapshot lacks them: it was taken before they arrived.
	 */
	apply(update: Update<T> | Update<T>[], options?: { since?: number }): void;
	/** A mark to pass to `apply(snapshot, { since })`. */
	mark(): number;
	/** Applies queued updates now instead of at the next frame. */
	flush(): void;
	getSnapshot(): RecordStoreSnapshot<T>;
	/** Called once per applied batch, at most once per frame. */
	subscribe(listener: (snapshot: RecordStoreSnapshot<T>) => void): () => void;
	/** Changes a row at once and commits the change; rolls it back if the commit fails. */
	mutate(
		key: RecordKey,
		change: Partial<T> | ((item: T) => T),
		options?: { commit?: Commit<T> }
	): Promise<T>;
	/** `mutate` with the `toggle` option's change. */
	toggle(key: RecordKey): Promise<T>;
	/** Sends a failed change again. */
	retryMutation(key: RecordKey): Promise<T>;
	/**
	 * Forgets the event ids seen so far, so that a restarted server reusing ids is not taken for a
	 * replay. Call it after a reconnect that did not prove continuity.
	 */
	forgetEventIds(): void;
	/** Settles a pending change the server acknowledged by id (a socket ack or echo). */
	settle(mutationId: string, item?: T): void;
	/** Drops timers and listeners. */
	dispose(): void;
}

interface Entry<T> {
	item: T;
	/** The mark at which the row last changed. */
	seq: number;
}

interface Overlay<T> {
	id: string;
	change: (item: T) => T;
	/** `confirmed`: accepted, shown until the server's own update of the row arrives. */
	status: 'pending' | 'confirmed';
	/** The row's version when the change was made. */
	baseVersion: number | string | undefined;
	commit: Commit<T>;
	timer?: unknown;
}

const defaultKey = (item: unknown): RecordKey => (item as { id: RecordKey }).id;

function defaultToggle<T>(item: T): T {
	const done = (item as { done?: unknown }).done;
	if (typeof done !== 'boolean') {
		throw new TypeError(
			messages.badOption('toggle', 'a toggle function for items without a boolean `done`', item)
		);
	}
	return { ...item, done: !done };
}

/** The list the UI renders: keyed, versioned, deduplicated, batched, with optimistic changes. */
export function createRecordStore<T>(options: RecordStoreOptions<T> = {}): RecordStore<T> {
	const env = options.env ?? browserEnv;
	const keyOf = options.key ?? (defaultKey as (item: T) => RecordKey);
	const versionOf = options.version;
	const decode = options.decode ?? (defaultDecode as Decoder<T>);
	const maxItems = options.maxItems ?? 1000;
	const commitTimeout = options.commitTimeout ?? 10_000;
	// How long an accepted change waits for the server's own update of the row.
	const echoTimeout = Number.isFinite(commitTimeout) ? commitTimeout : 10_000;
	const dedupeWindow = options.dedupeWindow ?? 1024;
	const toggleChange = options.toggle ?? defaultToggle<T>;
	if (!(maxItems > 0))
		throw new TypeError(messages.badOption('maxItems', 'a number > 0', maxItems));

	const base = new Map<string, Entry<T>>();
	let order: string[] = [];
	const overlays = new Map<string, Overlay<T>[]>();
	const failures = new Map<
		string,
		{ error: MutationError; change: (item: T) => T; commit: Commit<T> }
	>();
	const seenIds = new Set<string>();
	const queue: Array<{ update: Update<T>; since?: number }> = [];
	const listeners = new Set<(snapshot: RecordStoreSnapshot<T>) => void>();
	const rowCache = new Map<
		string,
		{ entry: Entry<T>; overlays: Overlay<T>[] | undefined; failure: unknown; row: Row<T> }
	>();
	let seq = 0;
	let mutationCount = 0;
	// Mutation ids travel to the server and come back in echoes that every client sees: they must
	// not collide between tabs, page loads or users.
	const mutationPrefix = uniquePrefix();
	let loaded = options.initial !== undefined;
	let dropped = 0;
	let dirty = false;
	let cancelFrame: (() => void) | undefined;
	let snapshot: RecordStoreSnapshot<T>;

	const report = (error: DecodeError | MutationError) => options.onError?.(error);

	function keyFor(item: T): string | undefined {
		const key = item !== null && typeof item === 'object' ? keyOf(item) : undefined;
		if (typeof key === 'string' || (typeof key === 'number' && Number.isFinite(key)))
			return String(key);
		dropped++;
		report(new DecodeError(messages.missingKey(item), item));
		return undefined;
	}

	/** -1 when `a` is older than `b`. Without `version`, nothing is older. */
	function compare(a: T, b: T): number {
		if (!versionOf) return 0;
		const va = versionOf(a);
		const vb = versionOf(b);
		return va < vb ? -1 : va > vb ? 1 : 0;
	}

	function settleConfirmed(key: string, incoming: T) {
		const list = overlays.get(key);
		if (!list) return;
		const remaining = list.filter((overlay) => {
			if (overlay.status !== 'confirmed') return true;
			const newer =
				versionOf && overlay.baseVersion !== undefined
					? versionOf(incoming) > overlay.baseVersion
					: true;
			if (newer && overlay.timer !== undefined) env.clearTimeout(overlay.timer);
			return !newer;
		});
		setOverlays(key, remaining);
	}

	/** Removes the change with this id, wherever it is; true when found. */
	function dropOverlay(mutationId: string): boolean {
		for (const [key, list] of overlays) {
			const overlay = list.find((o) => o.id === mutationId);
			if (!overlay) continue;
			if (overlay.timer !== undefined) env.clearTimeout(overlay.timer);
			setOverlays(
				key,
				list.filter((o) => o !== overlay)
			);
			dirty = true;
			return true;
		}
		return false;
	}

	function setOverlays(key: string, list: Overlay<T>[]) {
		if (list.length === 0) overlays.delete(key);
		else overlays.set(key, list);
	}

	function forget(key: string) {
		base.delete(key);
		for (const overlay of overlays.get(key) ?? []) {
			if (overlay.timer !== undefined) env.clearTimeout(overlay.timer);
		}
		overlays.delete(key);
		failures.delete(key);
		rowCache.delete(key);
	}

	function upsert(items: T[]) {
		for (const item of items) {
			const key = keyFor(item);
			if (key === undefined) continue;
			const existing = base.get(key);
			if (existing && versionOf && compare(item, existing.item) <= 0) continue;
			base.set(key, { item, seq: ++seq });
			if (!existing) {
				if (options.insert === 'end') order.push(key);
				else order.unshift(key);
			}
			settleConfirmed(key, item);
			dirty = true;
		}
	}

	function remove(ids: RecordKey[]) {
		const gone = new Set(ids.map(String));
		if (![...gone].some((key) => base.has(key))) return;
		for (const key of gone) forget(key);
		order = order.filter((key) => !gone.has(key));
		dirty = true;
	}

	function replace(items: T[], since: number | undefined) {
		const next = new Map<string, Entry<T>>();
		const nextOrder: string[] = [];
		for (const item of items) {
			const key = keyFor(item);
			if (key === undefined || next.has(key)) continue;
			const existing = base.get(key);
			// Same version, same row: keeping it (and its identity) re-renders and flashes nothing,
			// as when a reconnect brings the whole list again.
			if (existing && versionOf && compare(item, existing.item) <= 0) {
				next.set(key, existing);
			} else {
				next.set(key, existing && existing.item === item ? existing : { item, seq: ++seq });
				settleConfirmed(key, item);
			}
			nextOrder.push(key);
		}
		// Rows that arrived after the snapshot was requested are newer than it: keep them.
		const kept =
			since === undefined
				? []
				: order.filter((key) => !next.has(key) && base.get(key)!.seq > since);
		for (const key of kept) next.set(key, base.get(key)!);
		for (const key of base.keys()) if (!next.has(key)) forget(key);
		base.clear();
		for (const [key, entry] of next) base.set(key, entry);
		order = [...kept, ...nextOrder];
		loaded = true;
		dirty = true;
	}

	function visible(key: string, entry: Entry<T>): T {
		let item = entry.item;
		for (const overlay of overlays.get(key) ?? []) item = overlay.change(item);
		return item;
	}

	function buildSnapshot(): RecordStoreSnapshot<T> {
		if (options.sort) {
			const sort = options.sort;
			order.sort((a, b) => sort(base.get(a)!.item, base.get(b)!.item));
		}
		if (order.length > maxItems) {
			for (const key of order.slice(maxItems)) forget(key);
			order = order.slice(0, maxItems);
		}
		const rows: Row<T>[] = [];
		const items: T[] = [];
		for (const key of order) {
			const entry = base.get(key)!;
			const list = overlays.get(key);
			const failure = failures.get(key);
			const cached = rowCache.get(key);
			let row: Row<T>;
			if (
				cached &&
				cached.entry === entry &&
				cached.overlays === list &&
				cached.failure === failure
			) {
				row = cached.row;
			} else {
				row = {
					key,
					item: visible(key, entry),
					status: list?.some((o) => o.status === 'pending')
						? 'pending'
						: failure
							? 'failed'
							: 'settled',
					...(failure ? { error: failure.error } : {})
				};
				rowCache.set(key, { entry, overlays: list, failure, row });
			}
			rows.push(row);
			items.push(row.item);
		}
		return { items, rows, loaded, dropped };
	}

	function flush() {
		cancelFrame?.();
		cancelFrame = undefined;
		for (let next = queue.shift(); next; next = queue.shift()) {
			const { update, since } = next;
			if (update.type === 'snapshot') replace(update.items, since);
			else if (update.type === 'upsert') {
				upsert(update.items);
				// The server's echo of our own change: it is the row now, so the change is settled.
				if (update.mutationId !== undefined) dropOverlay(update.mutationId);
				loaded = true;
			} else remove(update.ids);
		}
		if (!dirty) return;
		dirty = false;
		snapshot = buildSnapshot();
		for (const listener of [...listeners]) listener(snapshot);
	}

	function schedule() {
		if (!cancelFrame) cancelFrame = env.requestFrame(flush);
	}

	function changed() {
		dirty = true;
		schedule();
	}

	for (const item of options.initial ?? []) {
		const key = keyFor(item);
		if (key === undefined || base.has(key)) continue;
		base.set(key, { item, seq: ++seq });
		order.push(key);
	}
	snapshot = buildSnapshot();

	async function run(key: string, overlay: Overlay<T>, previous: T): Promise<T> {
		const entry = base.get(key)!;
		const controller = new AbortController();
		const item = visible(key, entry);
		let timeoutHandle: unknown;
		const timeout = new Promise<never>((_, reject) => {
			if (!Number.isFinite(commitTimeout)) return;
			timeoutHandle = env.setTimeout(() => {
				const error = new Error(messages.commitTimeout(commitTimeout));
				controller.abort(error);
				reject(error);
			}, commitTimeout);
		});
		try {
			const result = await Promise.race([
				overlay.commit({ key, item, previous, mutationId: overlay.id, signal: controller.signal }),
				timeout
			]);
			env.clearTimeout(timeoutHandle);
			const list = overlays.get(key);
			if (!list?.includes(overlay)) return result ?? item;
			// An answer that is the row itself replaces it; anything else (`true`, `{ ok: true }`) just
			// confirms, and the server's own update of the row settles it.
			const isRow =
				result !== undefined &&
				result !== null &&
				typeof result === 'object' &&
				String(keyOf(result)) === key;
			if (isRow) {
				setOverlays(
					key,
					list.filter((o) => o !== overlay)
				);
				const current = base.get(key);
				// The server's answer replaces the row unless the row already moved past it.
				if (current && compare(result, current.item) >= 0) {
					base.set(key, { item: result, seq: ++seq });
				}
				changed();
				return result;
			}
			confirm(key, overlay);
			return item;
		} catch (cause) {
			env.clearTimeout(timeoutHandle);
			const list = overlays.get(key);
			const error = new MutationError(
				cause instanceof Error ? cause.message : messages.commitFailed(key),
				key,
				cause
			);
			if (list?.includes(overlay)) {
				setOverlays(
					key,
					list.filter((o) => o !== overlay)
				);
				failures.set(key, { error, change: overlay.change, commit: overlay.commit });
				changed();
			}
			report(error);
			throw error;
		}
	}

	/** Accepted but not yet seen from the server: keep showing it until the server's update arrives. */
	function confirm(key: string, overlay: Overlay<T>) {
		overlay.status = 'confirmed';
		// Give up waiting for the echo eventually, so a server that never sends one cannot pin the row.
		overlay.timer = env.setTimeout(() => {
			const list = overlays.get(key);
			if (list?.includes(overlay)) {
				setOverlays(
					key,
					list.filter((o) => o !== overlay)
				);
				changed();
			}
		}, echoTimeout);
		setOverlays(key, [...(overlays.get(key) ?? [])]);
		changed();
	}

	function mutate(
		key: RecordKey,
		change: Partial<T> | ((item: T) => T),
		opts: { commit?: Commit<T> } = {}
	): Promise<T> {
		const k = String(key);
		const entry = base.get(k);
		if (!entry) return Promise.reject(new MutationError(messages.unknownRow(k), k));
		const commit = opts.commit ?? options.commit;
		if (!commit) return Promise.reject(new MutationError(messages.noCommit(), k));
		const apply = typeof change === 'function' ? change : (item: T) => ({ ...item, ...change });
		const previous = visible(k, entry);
		// Fails here, before anything is shown, if the change cannot apply to this row.
		apply(previous);
		const overlay: Overlay<T> = {
			id: `${mutationPrefix}.${++mutationCount}`,
			change: apply,
			status: 'pending',
			baseVersion: versionOf?.(entry.item),
			commit
		};
		failures.delete(k);
		setOverlays(k, [...(overlays.get(k) ?? []), overlay]);
		changed();
		return run(k, overlay, previous);
	}

	return {
		receive(data, meta = {}) {
			if (meta.id !== undefined && meta.id !== '') {
				if (seenIds.has(meta.id)) return;
				seenIds.add(meta.id);
				if (seenIds.size > dedupeWindow) seenIds.delete(seenIds.values().next().value!);
			}
			let updates: Update<T> | Update<T>[] | null;
			try {
				updates = decode(data, meta);
			} catch (cause) {
				dropped++;
				dirty = true;
				schedule();
				report(
					cause instanceof DecodeError
						? cause
						: new DecodeError(
								String(cause instanceof Error ? cause.message : cause),
								data,
								meta.event,
								cause
							)
				);
				return;
			}
			if (updates === null) return;
			for (const update of Array.isArray(updates) ? updates : [updates]) queue.push({ update });
			schedule();
		},
		apply(update, opts = {}) {
			for (const u of Array.isArray(update) ? update : [update])
				queue.push({ update: u, since: opts.since });
			schedule();
		},
		mark: () => seq,
		forgetEventIds: () => seenIds.clear(),
		flush,
		getSnapshot: () => snapshot,
		subscribe(listener) {
			listeners.add(listener);
			return () => listeners.delete(listener);
		},
		mutate,
		toggle: (key) => mutate(key, (item) => toggleChange(item)),
		retryMutation(key) {
			const k = String(key);
			const failure = failures.get(k);
			if (!failure) return Promise.reject(new MutationError(messages.unknownRow(k), k));
			return mutate(k, failure.change, { commit: failure.commit });
		},
		settle(mutationId, item) {
			if (item !== undefined) queue.push({ update: { type: 'upsert', items: [item], mutationId } });
			else if (dropOverlay(mutationId)) changed();
			schedule();
		},
		dispose() {
			cancelFrame?.();
			cancelFrame = undefined;
			for (const list of overlays.values())
				for (const o of list) if (o.timer !== undefined) env.clearTimeout(o.timer);
			listeners.clear();
		}
	};
}

/** 16 random hex digits (a UUID's where the platform has one). */
function uniquePrefix(): string {
	const uuid = globalThis.crypto?.randomUUID?.();
	if (uuid) return uuid.replaceAll('-', '').slice(0, 16);
	let id = '';
	for (let i = 0; i < 16; i++) id += Math.floor(Math.random() * 16).toString(16);
	return id;
}
