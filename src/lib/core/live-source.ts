import {
	createConnection,
	type Connection,
	type ConnectionOptions
} from './connection/connection.js';
import type { ConnectionState } from './connection/machine.js';
import type { Env } from './env/env.js';
import { browserEnv } from './env/env.js';
import type { Update } from './store/decode.js';
import {
	createRecordStore,
	type RecordStore,
	type RecordStoreOptions,
	type RecordStoreSnapshot
} from './store/store.js';
import type { Transport } from './transports/types.js';

export interface LiveSourceOptions<T>
	extends RecordStoreOptions<T>, Pick<ConnectionOptions, 'retry' | 'staleAfter' | 'lastEventId'> {
	/** How to reach the server. */
	transport: Transport<unknown, unknown>;
	/**
	 * Fetches the whole list after a reconnect that did not prove continuity; the result is merged
	 * by key and version. Return the items (or an update), e.g.
	 * `(signal) => fetch('/api/tasks', { signal }).then((r) => r.json())`.
	 */
	resync?: (signal: AbortSignal) => Promise<T[] | Update<T>>;
	env?: Env;
}

/** A connection feeding a record store: everything a live list needs, framework-free. */
export interface LiveSourceHandle<T> {
	readonly connection: Connection;
	readonly store: RecordStore<T>;
	start(): void;
	stop(): void;
}

export function createLiveSource<T>(options: LiveSourceOptions<T>): LiveSourceHandle<T> {
	const env = options.env ?? browserEnv;
	const store = createRecordStore<T>({ ...options, env });
	const { resync } = options;
	const connection = createConnection({
		transport: options.transport,
		env,
		retry: options.retry,
		staleAfter: options.staleAfter,
		lastEventId: options.lastEventId,
		onMessage: (data, meta) => store.receive(data, meta),
		// Replays after a gap are merged by key and version; old ids must not hide new events.
		onGap: () => store.forgetEventIds(),
		resync: resync
			? async (signal) => {
					const since = store.mark();
					const result = await resync(signal);
					if (signal.aborted) return;
					store.apply(Array.isArray(result) ? { type: 'snapshot', items: result } : result, {
						since
					});
				}
			: undefined
	});
	return {
		connection,
		store,
		start: () => connection.start(),
		stop() {
			connection.stop();
		}
	};
}

export type { ConnectionState, RecordStoreSnapshot };
