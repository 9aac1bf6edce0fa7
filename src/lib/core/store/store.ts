import { browserEnv, reportLater, type Env } from '../env/env.js';
import * as messages from '../messages.js';
import { DecodeError, MutationError } from '../errors.js';
import type { MessageMeta } from '../transports/types.js';
import { defaultDecode, type Decoder, type RecordKey, type Update } from './decode.js';
import { createChanges, failureText } from './changes.js';
import { patchBetween } from './patch.js';
import {
	applyInPlace,
	listOf,
	putRow,
	sortList,
	trimList,
	type Batch,
	type ListRules,
	type OwnList
} from './list.js';

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
	 * @defaultValue `10000`; in `createLiveSource` over a two-way transport the connection bounds it
	 * instead: at most `queueTimeout` (30 s) waiting for a connection, then the acknowledgement
	 * timeout (`ackTimeout`, 10 s)
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
	/**
	 * Decodes and queues one message (duplicates by event id are dropped).
	 * @returns false when the message was dropped as malformed
	 */
	receive(data: unknown, meta?: MessageMeta): boolean;
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
	/**
	 * The server's rows in order (without the changes on their way), whether any data arrived, and
	 * the event ids remembered for dropping duplicates: what another tab starts from.
	 */
	handoff(): StoreHandoff<T>;
	/** Starts from another tab's {@link RecordStore.handoff}: its rows replace the server's rows here. */
	adopt(state: StoreHandoff<T>): void;
	/** Settles a pending change the server acknowledged by id (a socket ack or echo). */
	settle(mutationId: string, item?: T): void;
	/** Counts and reports a message the transport dropped before it reached the store. */
	reportDropped(error: DecodeError): void;
	/**
	 * Drops timers, listeners and queued updates. Changes still on their way are aborted and their
	 * promises reject; nothing is reported after this.
	 */
	dispose(): void;
}

/** A store's rows as another tab receives them. */
export interface StoreHandoff<T> {
	items: T[];
	loaded: boolean;
	ids: string[];
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

/**
 * The list the UI renders: keyed, versioned, deduplicated, batched, with optimistic changes. The
 * server's rows are a pure list (`list.ts`), the changes on their way and how they end live in
 * `changes.ts` (see docs/API.md, "How a change ends"); this shell decodes, dedupes, batches once
 * per frame and tells its subscribers.
 */
export function createRecordStore<T>(options: RecordStoreOptions<T> = {}): RecordStore<T> {
	const env = options.env ?? browserEnv;
	const keyOf = options.key ?? (defaultKey as (item: T) => RecordKey);
	const versionOf = options.version;
	const decode = options.decode ?? (defaultDecode as Decoder<T>);
	const maxItems = options.maxItems ?? 1000;
	const commitTimeout = options.commitTimeout ?? 10_000;
	const dedupeWindow = options.dedupeWindow ?? 1024;
	const toggleChange = options.toggle ?? defaultToggle<T>;
	if (!(maxItems > 0))
		throw new TypeError(messages.badOption('maxItems', 'a number > 0', maxItems));
	if (!(commitTimeout > 0))
		throw new TypeError(messages.badOption('commitTimeout', 'a number > 0', commitTimeout));

	const seenIds = new Set<string>();
	const queue: Batch<T>[] = [];
	const listeners = new Set<(snapshot: RecordStoreSnapshot<T>) => void>();
	// The rows of the last snapshot by key, and the keys whose row is built again for the next: a
	// flush costs what changed, plus one lookup per row when the order changed.
	const rowOf = new Map<string, Row<T>>();
	const stale = new Set<string>();
	/** `list.order` as the last snapshot laid it out, and where each key is in it (built on use). */
	let builtOrder: readonly string[] | undefined;
	let position: Map<string, number> | undefined;
	let dropped = 0;
	let dirty = false;
	let disposed = false;
	let cancelFrame: (() => void) | undefined;
	let snapshot: RecordStoreSnapshot<T>;

	function report(error: DecodeError | MutationError) {
		if (disposed) return;
		try {
			options.onError?.(error);
		} catch {
			// An error handler that fails has nowhere further to report to.
		}
	}

	function malformed(error: DecodeError) {
		dropped++;
		dirty = true;
		report(error);
	}

	function keyFor(item: T): string | undefined {
		let key: unknown;
		try {
			key = item !== null && typeof item === 'object' ? keyOf(item) : undefined;
		} catch (cause) {
			malformed(new DecodeError(messages.callbackThrew('key', cause), item, undefined, cause));
			return undefined;
		}
		if (typeof key === 'string' || (typeof key === 'number' && Number.isFinite(key)))
			return String(key);
		malformed(new DecodeError(messages.missingKey(item), item));
		return undefined;
	}

	/**
	 * -1 when `incoming` is older than `current`, 1 when newer; 0 without `version`. Undefined when
	 * `version` throws on the incoming item, which is then dropped as malformed.
	 */
	function compare(incoming: T, current: T): number | undefined {
		if (!versionOf) return 0;
		try {
			const a = versionOf(incoming);
			const b = versionOf(current);
			return a < b ? -1 : a > b ? 1 : 0;
		} catch (cause) {
			malformed(
				new DecodeError(messages.callbackThrew('version', cause), incoming, undefined, cause)
			);
			return undefined;
		}
	}

	/** Sets the server's row for `key` outside a batch (a commit's answer, an accepted change). */
	function setRow(key: string, item: T) {
		putRow(list, key, item);
		touch(key);
		changes.serverRow(key, item);
	}

	/** The row for `key` shows something new at the next flush. */
	function touch(key: string) {
		stale.add(key);
		dirty = true;
	}

	/** A row left the list: what was on its way to it ends. */
	function forget(key: string) {
		changes.forget(key);
		rowOf.delete(key);
		stale.delete(key);
	}

	const changes = createChanges<T>({
		env,
		commitTimeout,
		row: (key) => list.entries.get(key)?.item,
		setRow,
		compare,
		keyOf,
		report,
		changed
	});

	const rules: ListRules<T> = {
		keyOf: keyFor,
		compare,
		versioned: versionOf !== undefined,
		insert: options.insert ?? 'start',
		// With `sort`, the order (and so which rows are last) is known only after sorting.
		maxItems: options.sort ? undefined : maxItems
	};

	function sortRows() {
		const sort = options.sort;
		if (!sort) return;
		try {
			sortList(list, sort);
		} catch (cause) {
			report(new DecodeError(messages.callbackThrew('sort', cause), undefined, undefined, cause));
		}
		for (const key of trimList(list, maxItems)) forget(key);
	}

	function buildRow(key: string): Row<T> {
		const failure = changes.failureOf(key);
		const row: Row<T> = {
			key,
			item: changes.visible(key, list.entries.get(key)!.item),
			status: changes.pendingFor(key) ? 'pending' : failure ? 'failed' : 'settled',
			...(failure ? { error: failure.error } : {})
		};
		rowOf.set(key, row);
		return row;
	}

	/**
	 * The next snapshot: rows whose key is stale are built again, every other row is the object the
	 * last snapshot had, so that a renderer keyed by identity redraws only what changed.
	 */
	function buildSnapshot(): RecordStoreSnapshot<T> {
		sortRows();
		const order = list.order;
		let rows: Row<T>[];
		let items: T[];
		if (order === builtOrder) {
			rows = snapshot.rows.slice();
			items = snapshot.items.slice();
			if (stale.size > 0) {
				position ??= new Map(order.map((key, i) => [key, i]));
				for (const key of stale) {
					const at = position.get(key);
					if (at === undefined) continue;
					const row = buildRow(key);
					rows[at] = row;
					items[at] = row.item;
				}
			}
		} else {
			for (const key of stale) if (list.entries.has(key)) buildRow(key);
			rows = new Array<Row<T>>(order.length);
			items = new Array<T>(order.length);
			for (let i = 0; i < order.length; i++) {
				const key = order[i]!;
				const row = rowOf.get(key) ?? buildRow(key);
				rows[i] = row;
				items[i] = row.item;
			}
			builtOrder = order;
			position = undefined;
		}
		stale.clear();
		return { items, rows, loaded: list.loaded, dropped };
	}

	function flush() {
		cancelFrame?.();
		cancelFrame = undefined;
		if (queue.length > 0) {
			const wasLoaded = list.loaded;
			const events = applyInPlace(list, queue.splice(0), rules);
			// A snapshot may only reorder rows: that shows too.
			if (list.loaded !== wasLoaded || list.order !== builtOrder) dirty = true;
			for (const event of events) {
				if (event.type === 'row') {
					touch(event.key);
					changes.serverRow(event.key, event.item, event.mutationId);
				} else if (event.type === 'removed') {
					dirty = true;
					forget(event.key);
				} else {
					// The echo of our own change: the server applied it, whatever row it came with.
					changes.confirm(event.mutationId);
				}
			}
		}
		if (!dirty || disposed) return;
		dirty = false;
		snapshot = buildSnapshot();
		for (const listener of [...listeners]) {
			try {
				listener(snapshot);
			} catch (error) {
				reportLater(error);
			}
		}
	}

	function schedule() {
		if (!cancelFrame && !disposed) cancelFrame = env.requestFrame(flush);
	}

	function changed(key: string) {
		touch(key);
		schedule();
	}

	const list: OwnList<T> = listOf(options.initial ?? [], rules, options.initial !== undefined);
	dropped = 0;
	snapshot = buildSnapshot();

	function refuse(key: string, error: unknown): Promise<never> {
		const refusal =
			error instanceof MutationError
				? error
				: new MutationError(failureText(error, key), key, error);
		report(refusal);
		return Promise.reject(refusal);
	}

	function mutate(
		key: RecordKey,
		change: Partial<T> | ((item: T) => T),
		opts: { commit?: Commit<T> } = {}
	): Promise<T> {
		const k = String(key);
		try {
			if (disposed) return refuse(k, new MutationError(messages.disposed(), k));
			const entry = list.entries.get(k);
			if (!entry) return Promise.reject(new MutationError(messages.unknownRow(k), k));
			const commit = opts.commit ?? options.commit;
			if (!commit) return Promise.reject(new MutationError(messages.noCommit(), k));
			const previous = changes.visible(k, entry.item);
			// Fails here, before anything is shown, if the change cannot apply to this row.
			const intended = typeof change === 'function' ? change(previous) : { ...previous, ...change };
			if (intended === null || typeof intended !== 'object') {
				throw new TypeError(messages.badOption('change', 'a function returning the row', intended));
			}
			return changes.send(k, patchBetween(previous as object, intended as object), commit);
		} catch (error) {
			return refuse(k, error);
		}
	}

	return {
		receive(data, meta = {}) {
			if (disposed) return false;
			if (meta.id !== undefined && meta.id !== '') {
				if (seenIds.has(meta.id)) return true;
				seenIds.add(meta.id);
				if (seenIds.size > dedupeWindow) seenIds.delete(seenIds.values().next().value!);
			}
			let updates: Update<T> | Update<T>[] | null;
			try {
				updates = decode(data, meta);
			} catch (cause) {
				malformed(
					cause instanceof DecodeError
						? cause
						: new DecodeError(
								String(cause instanceof Error ? cause.message : cause),
								data,
								meta.event,
								cause
							)
				);
				schedule();
				return false;
			}
			if (updates === null || updates === undefined) return true;
			let taken = true;
			for (const update of Array.isArray(updates) ? updates : [updates]) {
				if (!isUpdate(update)) {
					malformed(new DecodeError(messages.badUpdate(update), data, meta.event));
					taken = false;
					continue;
				}
				queue.push({ update });
			}
			schedule();
			return taken;
		},
		reportDropped(error) {
			if (disposed) return;
			malformed(error);
			schedule();
		},
		apply(update, opts = {}) {
			for (const u of Array.isArray(update) ? update : [update])
				queue.push({ update: u, since: opts.since });
			schedule();
		},
		mark: () => list.seq,
		forgetEventIds: () => seenIds.clear(),
		handoff() {
			flush();
			const items = list.order.map((key) => list.entries.get(key)!.item);
			return { items, loaded: list.loaded, ids: [...seenIds] };
		},
		adopt(state) {
			seenIds.clear();
			for (const id of state.ids.slice(-dedupeWindow)) seenIds.add(id);
			if (state.loaded) queue.push({ update: { type: 'snapshot', items: state.items } });
			schedule();
		},
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
			// The fields asked for, on the row as it is now: a retry never flips a flip.
			return changes.retry(k) ?? Promise.reject(new MutationError(messages.nothingToRetry(k), k));
		},
		settle(mutationId, item) {
			if (item !== undefined) queue.push({ update: { type: 'upsert', items: [item], mutationId } });
			else changes.confirm(mutationId);
			schedule();
		},
		dispose() {
			if (disposed) return;
			disposed = true;
			cancelFrame?.();
			cancelFrame = undefined;
			changes.dispose();
			listeners.clear();
			queue.length = 0;
		}
	};
}

const UPDATE_TYPES = new Set(['snapshot', 'upsert', 'remove']);

function isUpdate(value: unknown): boolean {
	if (value === null || typeof value !== 'object') return false;
	const { type, items, ids } = value as Record<string, unknown>;
	if (typeof type !== 'string' || !UPDATE_TYPES.has(type)) return false;
	return type === 'remove' ? Array.isArray(ids) : Array.isArray(items);
}
