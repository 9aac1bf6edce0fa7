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
	/** The connection's state: status, transport, attempt, retryAt, error... */
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
 * One component's view of a shared live connection. The connection opens when something first
 * reads this in an effect (so never during SSR) and is released when nothing does any more.
 */
class LiveResource<T> implements Live<T> {
	readonly #options: LiveSourceOptions<T>;
	// Rows and connection state are subscribed apart, so a liveness tick re-runs nothing that
	// only reads rows. Each holds its own share of the connection.
	#rowsLease: Lease<T> | undefined;
	#stateLease: Lease<T> | undefined;
	// Before the connection opens (and on the server): the initial rows, read-only.
	#initial: RecordStore<T> | undefined;
	readonly #subscribeRows: () => void;
	readonly #subscribeState: () => void;

	constructor(options: LiveSourceOptions<T>) {
		this.#options = options;
		this.#subscribeRows = createSubscriber((update) => {
			const lease = acquire(this.#options);
			this.#rowsLease = lease;
			const off = lease.source.store.subscribe(update);
			return () => {
				off();
				this.#rowsLease = undefined;
				lease.release();
			};
		});
		this.#subscribeState = createSubscriber((update) => {
			const lease = acquire(this.#options);
			this.#stateLease = lease;
			const off = lease.source.connection.subscribe(update);
			return () => {
				off();
				this.#stateLease = undefined;
				lease.release();
			};
		});
	}

	get #source() {
		return (this.#rowsLease ?? this.#stateLease)?.source;
	}

	#store(): RecordStore<T> {
		this.#subscribeRows();
		const source = this.#source;
		if (source) return source.store;
		this.#initial ??= createRecordStore<T>({ ...this.#options, env: undefined });
		return this.#initial;
	}

	get #snapshot(): RecordStoreSnapshot<T> {
		return this.#store().getSnapshot();
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
		this.#subscribeState();
		return this.#source?.connection.getSnapshot() ?? IDLE;
	}
	get canMutate() {
		return this.#options.commit !== undefined || this.#options.transport?.bidirectional === true;
	}
	get customToggle() {
		return this.#options.toggle !== undefined;
	}
	toggle(key: RecordKey) {
		return this.#store().toggle(key);
	}
	mutate(key: RecordKey, change: Partial<T> | ((item: T) => T)) {
		return this.#store().mutate(key, change);
	}
	retryMutation(key: RecordKey) {
		return this.#store().retryMutation(key);
	}
	retry() {
		this.#source?.connection.retry();
	}
	pause() {
		this.#source?.connection.pause();
	}
	resume() {
		this.#source?.connection.resume();
	}
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
	// Only a new transport means a new connection; other options are read once, when it opens.
	const transport = $derived(getOptions().transport);
	const resource = $derived(new LiveResource<T>({ ...untrack(getOptions), transport }));
	return {
		get items() {
			return resource.items;
		},
		get rows() {
			return resource.rows;
		},
		get loaded() {
			return resource.loaded;
		},
		get state() {
			return resource.state;
		},
		get canMutate() {
			return resource.canMutate;
		},
		get customToggle() {
			return resource.customToggle;
		},
		toggle: (key) => resource.toggle(key),
		mutate: (key, change) => resource.mutate(key, change),
		retryMutation: (key) => resource.retryMutation(key),
		retry: () => resource.retry(),
		pause: () => resource.pause(),
		resume: () => resource.resume()
	};
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
