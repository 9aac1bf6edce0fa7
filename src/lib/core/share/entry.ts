// What a live source needs up front to share its connection across tabs: the checks of its options,
// and a connection that stands in until the sharing code (`tabs.ts`, loaded on first start) is there.
import type { Connection } from '../connection/connection.js';
import { IDLE_CONNECTION_STATE, type ConnectionState } from '../connection/machine.js';
import * as messages from '../messages.js';
import type { Transport } from '../transports/types.js';

/**
 * How the leader's engine passes on what it feeds its store: a message (`m`, with its meta), a gap
 * (`g`) and a resync's merged result (`a`).
 */
export type Relay = (type: 'm' | 'g' | 'a', a?: unknown, b?: unknown) => void;

/**
 * Whether `share` asks for sharing. Throws for a bad `share` or `shareKey`, and when nothing tells
 * what the transport receives (no `identity`, or a URL made per attempt) and no `shareKey` does.
 */
export function wantsShare(options: {
	share?: unknown;
	shareKey?: unknown;
	transport: Transport<unknown, unknown>;
}): boolean {
	const { share, shareKey, transport } = options;
	if (share === undefined || share === false) return false;
	if (share !== 'tabs' && share !== 'auto')
		throw new TypeError(messages.badOption('share', "false, 'tabs' or 'auto'", share));
	if (shareKey !== undefined && typeof shareKey !== 'string')
		throw new TypeError(messages.badOption('shareKey', 'a string', shareKey));
	const identity = transport.identity as { url?: unknown } | undefined;
	if (shareKey === undefined && (!identity || typeof identity.url === 'function'))
		throw new TypeError(messages.shareNeedsKey(transport.kind));
	return true;
}

/** The sharing connection: a {@link Connection} whose state goes out through `emit`. */
export type Shared = Omit<Connection, 'getSnapshot' | 'subscribe'> & Partial<Connection>;

/**
 * A connection that loads the real one on first `start()`: until then it reports `idle`, or
 * `connecting` once started, and remembers what it was asked to do. If loading fails it falls back
 * to `fallback()`. `load` tells its state through `emit`.
 */
export function lazyConnection(
	load: (emit: (state: ConnectionState) => void) => Promise<Shared>,
	fallback: () => Connection
): Connection {
	let inner: Shared | undefined;
	let loading: Promise<Shared> | undefined;
	let wanted: 'start' | 'stop' | 'pause' | undefined;
	const listeners = new Set<(state: ConnectionState) => void>();
	let state: ConnectionState = IDLE_CONNECTION_STATE;
	const emit = (next: ConnectionState) => {
		state = next;
		for (const listener of [...listeners]) listener(next);
	};
	const get = () =>
		(loading ??= load(emit)
			.catch(fallback)
			.then((connection) => {
				// The engine of a tab that connects on its own.
				connection.subscribe?.(emit);
				inner = connection;
				if (wanted === 'stop') connection.stop();
				else if (wanted) connection.start();
				if (wanted === 'pause') connection.pause();
				return connection;
			}));
	const want = (what: 'start' | 'stop' | 'pause', status: ConnectionState['status']) => {
		if (inner) return inner[what]();
		if (what !== 'stop') void get();
		wanted = what;
		emit({ ...IDLE_CONNECTION_STATE, status });
	};
	return {
		start: () => want('start', 'connecting'),
		stop: () => want('stop', 'closed'),
		pause: () => want('pause', 'paused'),
		resume: () => (inner ? inner.resume() : want('start', 'connecting')),
		retry: () => inner?.retry(),
		getSnapshot: () => state,
		subscribe(listener) {
			listeners.add(listener);
			return () => listeners.delete(listener);
		},
		get lastEventId() {
			return inner?.lastEventId;
		},
		send: (data, options) => get().then((connection) => connection.send(data, options))
	};
}
