import {
	createConnection,
	type Connection,
	type ConnectionOptions
} from './connection/connection.js';
import type { ConnectionState } from './connection/machine.js';
import type { Env } from './env/env.js';
import { browserEnv } from './env/env.js';
import type { Update } from './store/decode.js';
import * as messages from './messages.js';
import { mutationMessage } from './protocol.js';
import {
	createRecordStore,
	type Commit,
	type PendingChange,
	type RecordStore,
	type RecordStoreOptions,
	type RecordStoreSnapshot
} from './store/store.js';
import type { Transport } from './transports/types.js';
import { lazyConnection, wantsShare, type Relay } from './share/entry.js';

export interface LiveSourceOptions<T>
	extends
		RecordStoreOptions<T>,
		Pick<
			ConnectionOptions,
			'retry' | 'staleAfter' | 'lastEventId' | 'maxQueue' | 'queueTimeout' | 'maxEventIdLength'
		> {
	/** How to reach the server. */
	transport: Transport<unknown, unknown>;
	/**
	 * Fetches the whole list after a reconnect that did not prove continuity; the result is merged
	 * by key and version. Return the items (or an update), e.g.
	 * `(signal) => fetch('/api/tasks', { signal }).then((r) => r.json())`.
	 */
	resync?: (signal: AbortSignal) => Promise<T[] | Update<T>>;
	env?: Env;
	/**
	 * How long a change sent over a two-way transport waits for the server's acknowledgement, from
	 * the moment it is sent (not while it waits for a connection).
	 * @defaultValue the transport's own `ackTimeout` (`websocket()`, `socketIo()`), which defaults to `10000`
	 */
	ackTimeout?: number;
	/**
	 * Shares one connection among this browser's tabs: one tab (the leader, elected with Web Locks)
	 * connects and passes what it receives to the others over a `BroadcastChannel`; when it closes,
	 * crashes or freezes, another takes over and resumes where it stopped. `'auto'` shares when the
	 * page came over HTTP/1.1, where a browser opens at most six connections per host. Where Web
	 * Locks or `BroadcastChannel` are missing, each tab connects on its own. The code that shares
	 * loads only when this is set.
	 * @defaultValue `false`
	 */
	share?: false | 'tabs' | 'auto';
	/**
	 * Tabs share only when their transports would receive the same (same kind, URL and options)
	 * and their `shareKey`s match: set it to the signed-in user's id, so that two accounts in one
	 * browser never share a connection. Needed when the URL is a function or the adapter is your own.
	 */
	shareKey?: string;
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
	const { resync, transport } = options;
	const httpCommit = options.commit;
	// Over a two-way transport a change may wait for a connection: only the time after it is sent
	// counts (the acknowledgement timeout), so a toggle made offline goes out when the socket returns.
	const twoWay = transport.bidirectional === true;
	const store = createRecordStore<T>({
		...options,
		env,
		commitTimeout: options.commitTimeout ?? (twoWay ? Number.POSITIVE_INFINITY : undefined),
		commit: twoWay ? (change) => commitOverSocket(change) : httpCommit
	});
	/**
	 * The connection feeding the store. `relay` (a leader tab's) hears everything it feeds;
	 * `continuing`: the store already holds the stream up to `from`, so its first connection is a
	 * reconnect (resumed, or resynced).
	 */
	const engine = (relay?: Relay, from = options.lastEventId, continuing = false) =>
		createConnection({
			transport,
			env,
			retry: options.retry,
			staleAfter: options.staleAfter,
			lastEventId: from,
			continuing,
			maxQueue: options.maxQueue,
			queueTimeout: options.queueTimeout,
			maxEventIdLength: options.maxEventIdLength,
			onMessage(data, meta) {
				relay?.('m', data, meta);
				return store.receive(data, meta);
			},
			onDropped: (error) => store.reportDropped(error),
			onWarning: (error) => options.onError?.(error),
			// Replays after a gap are merged by key and version; old ids must not hide new events.
			onGap() {
				relay?.('g');
				store.forgetEventIds();
			},
			resync: resync
				? async (signal) => {
						const since = store.mark();
						const result = await resync(signal);
						if (signal.aborted) return;
						store.apply(Array.isArray(result) ? { type: 'snapshot', items: result } : result, {
							since
						});
						// The other tabs take the merged rows.
						relay?.('a');
					}
				: undefined
		});
	// Made now, so that bad options throw here; the tab's own connection if sharing cannot load.
	const own = engine();
	const connection = wantsShare(options)
		? lazyConnection(
				(emit) =>
					import('./share/tabs.js').then((module) =>
						module.shareTabs({
							...options,
							emit,
							env,
							store: store as RecordStore<unknown>,
							engine,
							limit: (options.queueTimeout ?? 30_000) + (options.ackTimeout ?? 10_000)
						})
					),
				() => own
			)
		: own;
	/**
	 * Sends a change over the socket when one is live (confirmed by the ack, or by the server's
	 * echo carrying the same `mutationId`); waits in the outgoing queue while disconnected; goes
	 * through the HTTP `commit` if the connection that opens is one-way. Never sent twice.
	 */
	async function commitOverSocket(change: PendingChange<T>): Promise<T | void> {
		const reply = await connection.send(
			mutationMessage(change.mutationId, change.key, change.item),
			{
				ack: true,
				// unset: the adapter's own ackTimeout applies
				timeoutMs: options.ackTimeout,
				signal: change.signal,
				otherwise: httpCommit ? () => bounded(httpCommit, change) : undefined
			}
		);
		const item =
			reply !== null && typeof reply === 'object' && 'item' in reply
				? (reply as { item: unknown }).item
				: reply;
		return (item ?? undefined) as T | void;
	}

	/** The HTTP commit a two-way source falls back to gets the store's usual bound. */
	function bounded(commit: Commit<T>, change: PendingChange<T>): Promise<T | void | undefined> {
		const ms = options.commitTimeout ?? 10_000;
		const controller = new AbortController();
		return new Promise<T | void | undefined>((resolve, reject) => {
			const end = (error?: unknown) => {
				if (timer !== undefined) env.clearTimeout(timer);
				change.signal.removeEventListener('abort', onAbort);
				if (error !== undefined && !controller.signal.aborted) controller.abort(error);
			};
			const onAbort = () => {
				end(change.signal.reason);
				reject(change.signal.reason);
			};
			const timer = Number.isFinite(ms)
				? env.setTimeout(() => {
						const error = new Error(messages.commitTimeout(ms));
						end(error);
						reject(error);
					}, ms)
				: undefined;
			if (change.signal.aborted) return onAbort();
			change.signal.addEventListener('abort', onAbort, { once: true });
			Promise.resolve()
				.then(() => commit({ ...change, signal: controller.signal }))
				.then(
					(value) => (end(), resolve(value)),
					(error: unknown) => (end(), reject(error))
				);
		});
	}

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
