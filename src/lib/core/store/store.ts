import { browserEnv, type Env } from '../env/env.js';
import * as messages from '../messages.js';
import { DecodeError, MutationError } from '../errors.js';
import type { MessageMeta } from '../transports/types.js';
import { defaultDecode, type Decoder, type RecordKey, type Update } from './decode.js';
import { reasonText } from '../protocol.js';
import { applyPatch, carries, patchBetween, type Patch } from './patch.js';
import {
	applyUpdates,
	listOf,
	putRow,
	sortList,
	trimList,
	type Batch,
	type List,
	type ListEntry,
	type ListRules
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

/** A change on its way: shown over the server's row until it is confirmed or fails. */
interface Change<T> {
	id: string;
	key: string;
	/** The fields the user asked for. */
	patch: Patch;
	commit: Commit<T>;
	controller: AbortController;
	timer?: unknown;
	/** Ends the `mutate()` promise; called exactly once. */
	finish: (error: MutationError | undefined, item: T | undefined) => void;
}

interface Failure<T> {
	id: string;
	error: MutationError;
	patch: Patch;
	commit: Commit<T>;
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
 * The list the UI renders: keyed, versioned, deduplicated, batched, with optimistic changes.
 *
 * How a change ends: it shows at once (`pending`). It is confirmed by the commit's answer (a row
 * replaces the row; any other answer means the server has the change), by the server's echo
 * carrying its `mutationId`, or by any server row that already carries the fields asked for. It
 * fails (`failed`, rolled back to the server's row) when the commit rejects or times out, unless
 * the server's row already carries those fields. A retry sends the fields asked for, never the
 * same flip again. A row's status never contradicts its data.
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

	const pending = new Map<string, Change<T>[]>();
	/** Per row, the answer the next change to it waits for. */
	const inFlight = new Map<string, Promise<void>>();
	const failures = new Map<string, Failure<T>>();
	const seenIds = new Set<string>();
	const queue: Batch<T>[] = [];
	const listeners = new Set<(snapshot: RecordStoreSnapshot<T>) => void>();
	const rowCache = new Map<
		string,
		{ entry: ListEntry<T>; changes: Change<T>[] | undefined; failure: unknown; row: Row<T> }
	>();
	let mutationCount = 0;
	// Mutation ids travel to the server and come back in echoes that every client sees: they must
	// not collide between tabs, page loads or users.
	const mutationPrefix = uniquePrefix();
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

	function setChanges(key: string, list: Change<T>[]) {
		if (list.length === 0) pending.delete(key);
		else pending.set(key, list);
		dirty = true;
	}

	/** Takes a change out of the row's list; false when it already ended. */
	function take(change: Change<T>): boolean {
		const list = pending.get(change.key);
		if (!list?.includes(change)) return false;
		setChanges(
			change.key,
			list.filter((c) => c !== change)
		);
		if (change.timer !== undefined) env.clearTimeout(change.timer);
		return true;
	}

	/** The server's row changed to `item`: changes and failures it already carries are settled. */
	/**
	 * Whether a change still on its way, made before this one, sets one of its fields: the server's
	 * row may then be the row from before both, and having this change's value proves nothing.
	 */
	function overlapsEarlier(change: Change<T>): boolean {
		for (const other of pending.get(change.key) ?? []) {
			if (other === change) return false;
			for (const field of other.patch.keys()) if (change.patch.has(field)) return true;
		}
		return false;
	}

	function serverRow(key: string, item: T, mutationId?: string) {
		for (const change of pending.get(key) ?? []) {
			const settled =
				change.id === mutationId ||
				(change.patch.size > 0 && !overlapsEarlier(change) && carries(item, change.patch));
			if (!settled) continue;
			take(change);
			change.controller.abort(new Error(messages.settledByServer()));
			change.finish(undefined, item);
		}
		const failure = failures.get(key);
		if (failure && (failure.id === mutationId || carries(item, failure.patch))) {
			failures.delete(key);
			dirty = true;
		}
	}

	/** Sets the server's row for `key` outside a batch (a commit's answer, an accepted change). */
	function setRow(key: string, item: T) {
		list = putRow(list, key, item);
		dirty = true;
		serverRow(key, item);
	}

	/** A row left the list: what was on its way to it ends. */
	function forget(key: string) {
		for (const change of pending.get(key) ?? []) {
			if (change.timer !== undefined) env.clearTimeout(change.timer);
			change.controller.abort(new Error(messages.rowRemoved(key)));
			change.finish(new MutationError(messages.rowRemoved(key), key), undefined);
		}
		pending.delete(key);
		failures.delete(key);
		rowCache.delete(key);
	}

	const rules: ListRules<T> = {
		keyOf: keyFor,
		compare,
		versioned: versionOf !== undefined,
		insert: options.insert ?? 'start',
		// With `sort`, the order (and so which rows are last) is known only after sorting.
		maxItems: options.sort ? undefined : maxItems
	};

	function visible(key: string, entry: ListEntry<T>): T {
		let item = entry.item;
		for (const change of pending.get(key) ?? []) item = applyPatch(item, change.patch);
		return item;
	}

	function sortRows() {
		const sort = options.sort;
		if (!sort) return;
		try {
			list = sortList(list, sort);
		} catch (cause) {
			report(new DecodeError(messages.callbackThrew('sort', cause), undefined, undefined, cause));
		}
		const trimmed = trimList(list, maxItems);
		list = trimmed.list;
		for (const key of trimmed.removed) forget(key);
	}

	function buildSnapshot(): RecordStoreSnapshot<T> {
		sortRows();
		const rows: Row<T>[] = [];
		const items: T[] = [];
		for (const key of list.order) {
			const entry = list.entries.get(key)!;
			const changes = pending.get(key);
			const failure = failures.get(key);
			const cached = rowCache.get(key);
			let row: Row<T>;
			if (
				cached &&
				cached.entry === entry &&
				cached.changes === changes &&
				cached.failure === failure
			) {
				row = cached.row;
			} else {
				row = {
					key,
					item: visible(key, entry),
					status: changes ? 'pending' : failure ? 'failed' : 'settled',
					...(failure ? { error: failure.error } : {})
				};
				rowCache.set(key, { entry, changes, failure, row });
			}
			rows.push(row);
			items.push(row.item);
		}
		return { items, rows, loaded: list.loaded, dropped };
	}

	function flush() {
		cancelFrame?.();
		cancelFrame = undefined;
		if (queue.length > 0) {
			const wasLoaded = list.loaded;
			const result = applyUpdates(list, queue.splice(0), rules);
			list = result.list;
			if (list.loaded !== wasLoaded) dirty = true;
			for (const event of result.events) {
				if (event.type === 'row') {
					dirty = true;
					serverRow(event.key, event.item, event.mutationId);
				} else if (event.type === 'removed') {
					dirty = true;
					forget(event.key);
				} else {
					// The echo of our own change: the server applied it, whatever row it came with.
					confirmById(event.mutationId);
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

	function changed() {
		dirty = true;
		schedule();
	}

	let list: List<T> = listOf(options.initial ?? [], rules, options.initial !== undefined);
	dropped = 0;
	snapshot = buildSnapshot();

	/** The server accepted the change: its fields become the row's until the server's own row arrives. */
	function accepted(change: Change<T>, row: T | undefined) {
		const entry = list.entries.get(change.key);
		let item: T | undefined;
		if (entry) {
			const newer = row === undefined ? undefined : compare(row, entry.item);
			if (row !== undefined && newer !== undefined && newer >= 0) {
				setRow(change.key, row);
				item = row;
			} else {
				item = carries(entry.item, change.patch)
					? entry.item
					: applyPatch(entry.item, change.patch);
				if (item !== entry.item) setRow(change.key, item);
			}
		}
		changed();
		change.finish(undefined, item ?? row);
	}

	function confirmById(mutationId: string) {
		for (const list of pending.values()) {
			const change = list.find((c) => c.id === mutationId);
			if (change && take(change)) return accepted(change, undefined);
		}
		const entry = [...failures].find(([, failure]) => failure.id === mutationId);
		if (entry) {
			failures.delete(entry[0]);
			const row = list.entries.get(entry[0]);
			if (row && !carries(row.item, entry[1].patch))
				setRow(entry[0], applyPatch(row.item, entry[1].patch));
			changed();
		}
	}

	function failed(change: Change<T>, cause: unknown) {
		if (!take(change)) return;
		if (!change.controller.signal.aborted) change.controller.abort(cause);
		const { key, patch } = change;
		const entry = list.entries.get(key);
		// Failed even when the row already shows the value asked for: that row is from before the
		// change was sent, and an earlier change whose answer was lost may still be applied. Only a
		// server row that arrives later settles it.
		const error = new MutationError(failureText(cause, key), key, cause);
		if (entry) failures.set(key, { id: change.id, error, patch, commit: change.commit });
		changed();
		report(error);
		change.finish(error, undefined);
	}

	function isRowOf(result: unknown, key: string): result is T {
		if (result === null || typeof result !== 'object') return false;
		try {
			return String(keyOf(result as T)) === key;
		} catch {
			return false;
		}
	}

	/** Shows the change and sends it. The promise always settles: resolved or rejected, never thrown. */
	/**
	 * Shows the change and sends it once every earlier change to the row has had its answer: two
	 * requests for one row never race (the second toggle of a double toggle could otherwise arrive
	 * first and be undone by the first). The promise always settles, never throws.
	 */
	function send(key: string, patch: Patch, commit: Commit<T>): Promise<T> {
		failures.delete(key);
		return new Promise<T>((resolve, reject) => {
			const change: Change<T> = {
				id: `${mutationPrefix}.${++mutationCount}`,
				key,
				patch,
				commit,
				controller: new AbortController(),
				finish(error, item) {
					change.finish = () => {};
					if (error) reject(error);
					else resolve(item as T);
				}
			};
			setChanges(key, [...(pending.get(key) ?? []), change]);
			changed();
			const before = inFlight.get(key);
			let release!: () => void;
			const answered = new Promise<void>((done) => (release = done));
			inFlight.set(key, answered);
			void answered.then(() => {
				if (inFlight.get(key) === answered) inFlight.delete(key);
			});
			const begin = () => {
				const entry = list.entries.get(key);
				if (!entry || !pending.get(key)?.includes(change)) return release();
				const previous = visibleBefore(key, entry, change);
				if (Number.isFinite(commitTimeout)) {
					change.timer = env.setTimeout(() => {
						change.timer = undefined;
						failed(change, new Error(messages.commitTimeout(commitTimeout)));
					}, commitTimeout);
				}
				let answer: Promise<T | void | undefined>;
				try {
					answer = Promise.resolve(
						commit({
							key,
							item: applyPatch(previous, patch),
							previous,
							mutationId: change.id,
							signal: change.controller.signal
						})
					);
				} catch (cause) {
					answer = Promise.reject(cause);
				}
				answer
					.then(
						(result) => {
							if (take(change)) accepted(change, isRowOf(result, key) ? result : undefined);
						},
						(cause) => failed(change, cause)
					)
					.finally(release);
				// A change that ends without its answer (a timeout, the server's row) frees the row too.
				change.controller.signal.addEventListener('abort', release, { once: true });
			};
			if (before) void before.then(begin);
			else begin();
		});
	}

	/** The row as it looks with the changes made before `change`, and not it or later ones. */
	function visibleBefore(key: string, entry: ListEntry<T>, change: Change<T>): T {
		let item = entry.item;
		for (const other of pending.get(key) ?? []) {
			if (other === change) break;
			item = applyPatch(item, other.patch);
		}
		return item;
	}

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
			const previous = visible(k, entry);
			// Fails here, before anything is shown, if the change cannot apply to this row.
			const intended = typeof change === 'function' ? change(previous) : { ...previous, ...change };
			if (intended === null || typeof intended !== 'object') {
				throw new TypeError(messages.badOption('change', 'a function returning the row', intended));
			}
			return send(k, patchBetween(previous as object, intended as object), commit);
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
			const entry = list.entries.get(k);
			if (!failure || !entry)
				return Promise.reject(new MutationError(messages.nothingToRetry(k), k));
			// The fields asked for, on the row as it is now: a retry never flips a flip.
			return send(k, failure.patch, failure.commit);
		},
		settle(mutationId, item) {
			if (item !== undefined) queue.push({ update: { type: 'upsert', items: [item], mutationId } });
			else confirmById(mutationId);
			schedule();
		},
		dispose() {
			if (disposed) return;
			disposed = true;
			cancelFrame?.();
			cancelFrame = undefined;
			for (const [key, list] of pending) {
				for (const change of list) {
					if (change.timer !== undefined) env.clearTimeout(change.timer);
					change.controller.abort(new Error(messages.disposed()));
					change.finish(new MutationError(messages.disposed(), key), undefined);
				}
			}
			pending.clear();
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

function failureText(cause: unknown, key: string): string {
	if (cause instanceof Error && cause.message) return cause.message;
	const text = reasonText(cause);
	return text ? messages.commitRefused(key, text) : messages.commitFailed(key);
}

function reportLater(error: unknown) {
	const g = globalThis as { reportError?: (error: unknown) => void };
	if (typeof g.reportError === 'function') g.reportError(error);
	else console.error(error);
}

/** 16 random hex digits (a UUID's where the platform has one). */
function uniquePrefix(): string {
	const uuid = globalThis.crypto?.randomUUID?.();
	if (uuid) return uuid.replaceAll('-', '').slice(0, 16);
	let id = '';
	for (let i = 0; i < 16; i++) id += Math.floor(Math.random() * 16).toString(16);
	return id;
}
