import { untrack } from 'svelte';
import { createSubscriber } from 'svelte/reactivity';
import { IDLE_CONNECTION_STATE, type ConnectionState } from '../core/connection/machine.js';
import type { LiveSourceOptions } from '../core/live-source.js';
import type { RecordKey } from '../core/store/decode.js';
import {
	createRecordStore,
	type RecordStore,
	type RecordStoreSnapshot,
	type Row
} from '../core/store/store.js';
import type { Transport } from '../core/transports/types.js';
import { acquire, peek, watch, type Lease } from './registry.js';

const IDLE = IDLE_CONNECTION_STATE;

/** What `<LiveSource>` hands to its children and descendants. */
export interface Live<T> {
	/** The rows in display order, with pending changes applied. */
	readonly items: readonly T[];
	/** The rows with their key and pending / failed state. */
	readonly rows: readonly Row<T>[];
	/** Whether any data arrived yet (`initial` counts). */
	readonly loaded: boolean;
	/** The connection's state: status, transport, attempt, retryAt, error, shared (with `share`)... */
	readonly state: ConnectionState;
	/** Flips a row's `done` (or the `toggle` option's change), optimistically. */
	toggle(key: RecordKey): Promise<T>;
	/** Changes a row optimistically and commits it; rolls back if the commit fails. */
	mutate(key: RecordKey, change: Partial<T> | ((item: T) => T)): Promise<T>;
	/** Sends a failed change again. */
	retryMutation(key: RecordKey): Promise<T>;
	/** Reconnects now (skips a backoff, or starts over after `failed`). */
	retry(): void;
	/** Disconnects and stops retrying until `resume()`. */
	pause(): void;
	resume(): void;
	/** Whether a change can be sent (a `commit` option or a two-way transport). */
	readonly canMutate: boolean;
	/** Whether a `toggle` option says what `toggle(key)` changes; without one it flips a boolean `done`. */
	readonly customToggle: boolean;
}

/**
 * A share of the connection for one set of options. Rows and connection state are subscribed
 * apart, so a liveness tick re-runs nothing that only reads rows; each holds its own lease. The
 * connection opens when something first reads either in an effect (so never during SSR) and is
 * released when nothing does any more.
 */
class Share<T> {
	readonly options: LiveSourceOptions<T>;
	#rowsLease: Lease<T> | undefined;
	#stateLease: Lease<T> | undefined;
	// Before the connection opens (and on the server): the initial rows, read-only.
	#initial: RecordStore<T> | undefined;
	readonly #subscribeRows: () => void;
	readonly #subscribeState: () => void;

	constructor(options: LiveSourceOptions<T>) {
		this.options = options;
		this.#subscribeRows = createSubscriber((update) => {
			const lease = acquire(options);
			this.#rowsLease = lease;
			const off = lease.source.store.subscribe(update);
			return () => {
				off();
				this.#rowsLease = undefined;
				lease.release();
			};
		});
		this.#subscribeState = createSubscriber((update) => {
			const lease = acquire(options);
			this.#stateLease = lease;
			const off = lease.source.connection.subscribe(update);
			return () => {
				off();
				this.#stateLease = undefined;
				lease.release();
			};
		});
	}

	/** The open connection, if this share holds one. */
	get source() {
		return (this.#rowsLease ?? this.#stateLease)?.source;
	}

	/** The rows' store, subscribed. */
	store(): RecordStore<T> {
		this.#subscribeRows();
		const source = this.source;
		if (source) return source.store;
		this.#initial ??= createRecordStore<T>({ ...this.options, env: undefined });
		return this.#initial;
	}

	/** The connection's state, subscribed. */
	state(): ConnectionState {
		this.#subscribeState();
		return this.source?.connection.getSnapshot() ?? IDLE;
	}
}

/**
 * A component's view of a shared live connection: every member of {@link Live}, once. A new
 * `transport` from `getOptions` means a new share (the old connection released, the new one
 * opened); the other options are read when it opens.
 */
class LiveView<T> implements Live<T> {
	readonly #getOptions: () => LiveSourceOptions<T>;
	readonly #transport = $derived.by(() => this.#getOptions().transport);
	readonly #share = $derived.by(
		() => new Share<T>({ ...untrack(this.#getOptions), transport: this.#transport })
	);

	constructor(getOptions: () => LiveSourceOptions<T>) {
		this.#getOptions = getOptions;
	}

	get #snapshot(): RecordStoreSnapshot<T> {
		return this.#share.store().getSnapshot();
	}

	get items() {
		return this.#snapshot.items;
	}
	get rows() {
		return this.#snapshot.rows;
	}
	get loaded() {
		return this.#snapshot.loaded;
	}
	get state(): ConnectionState {
		return this.#share.state();
	}
	get canMutate() {
		const { commit, transport } = this.#share.options;
		return commit !== undefined || transport?.bidirectional === true;
	}
	get customToggle() {
		return this.#share.options.toggle !== undefined;
	}
	// Arrow functions: a member passed on its own (`onclick={live.retry}`) keeps working.
	toggle = (key: RecordKey) => this.#share.store().toggle(key);
	mutate = (key: RecordKey, change: Partial<T> | ((item: T) => T)) =>
		this.#share.store().mutate(key, change);
	retryMutation = (key: RecordKey) => this.#share.store().retryMutation(key);
	retry = () => this.#share.source?.connection.retry();
	pause = () => this.#share.source?.connection.pause();
	resume = () => this.#share.source?.connection.resume();
}

/**
 * A live connection as reactive state. When `getOptions` returns a new `transport`, the old
 * connection is released and the new one opened; the other options are read when it opens.
 *
 * @example
 * const live = createLive(() => ({ transport, initial: data.tasks }));
 * // in markup: {#each live.items as task (task.id)} ... {/each}
 */
export function createLive<T>(getOptions: () => LiveSourceOptions<T>): Live<T> {
	return new LiveView(getOptions);
}

/**
 * The state of the connection that others (a `<LiveSource>`, an `<ActivityTimeline>`) opened for
 * `transport`, as reactive state. It never opens or configures a connection itself: `idle` until
 * one is open.
 */
export function observeConnection(getTransport: () => Transport<unknown, unknown> | undefined): {
	readonly state: ConnectionState;
} {
	const transport = $derived(getTransport());
	const subscribe = $derived.by(() => {
		const current = transport;
		return createSubscriber((update) => {
			if (!current) return;
			let offConnection: (() => void) | undefined;
			const bind = () => {
				offConnection?.();
				offConnection = peek(current)?.connection.subscribe(update);
				update();
			};
			const offWatch = watch(current, bind);
			bind();
			return () => {
				offWatch();
				offConnection?.();
			};
		});
	});
	return {
		get state() {
			subscribe();
			return (transport && peek(transport)?.connection.getSnapshot()) ?? IDLE;
		}
	};
}
