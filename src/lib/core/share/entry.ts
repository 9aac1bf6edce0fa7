// What a live source needs up front to share its connection across tabs: the shared name, whether
// this browser can share, and a connection that stands in until the sharing code (`tabs.ts`,
// loaded on first start) is there.
import type { Connection } from '../connection/connection.js';
import { IDLE_CONNECTION_STATE, type ConnectionState } from '../connection/machine.js';
import type { Env } from '../env/env.js';
import * as messages from '../messages.js';
import type { Transport } from '../transports/types.js';

/**
 * How the leader's engine passes on what it feeds its store: a message (`m`, with its meta), a
 * dropped one (`x`, with the reason), a gap (`g`) and a resync's merged result (`a`).
 */
export type Relay = (type: 'm' | 'x' | 'g' | 'a', a?: unknown, b?: unknown) => void;

/** The platform parts sharing needs, when this page has them. */
export interface SharePlatform {
	locks: LockManager;
	Channel: typeof BroadcastChannel;
}

/**
 * The lock and channel name that tabs opening the same connection have in common, and the
 * platform to share with; undefined when `share` is off or this page cannot share. Throws for a
 * bad `share` or `shareKey`, and when nothing tells what the transport receives.
 */
export function shareName(
	options: { share?: unknown; shareKey?: unknown; transport: Transport<unknown, unknown> },
	env: Env
): (SharePlatform & { name: string }) | undefined {
	const { share, shareKey, transport } = options;
	if (share === undefined || share === false) return undefined;
	if (share !== 'tabs' && share !== 'auto')
		throw new TypeError(messages.badOption('share', "false, 'tabs' or 'auto'", share));
	if (shareKey !== undefined && typeof shareKey !== 'string')
		throw new TypeError(messages.badOption('shareKey', 'a string', shareKey));
	let opaque = transport.identity === undefined;
	let name: string;
	try {
		name = JSON.stringify([transport.kind, transport.identity, shareKey], (key, value: unknown) => {
			// A URL made per attempt cannot be compared; other callbacks do not change what arrives.
			if (typeof value === 'function' && key === 'url') opaque = true;
			return typeof value === 'function' ? undefined : value;
		});
	} catch {
		opaque = true;
		name = JSON.stringify([transport.kind, shareKey]);
	}
	if (opaque && shareKey === undefined) throw new TypeError(messages.shareNeedsKey(transport.kind));
	const g = globalThis as { navigator?: { locks?: LockManager }; performance?: Performance };
	const locks = env.locks ?? g.navigator?.locks;
	const Channel = env.BroadcastChannel ?? globalThis.BroadcastChannel;
	if (!locks || typeof Channel !== 'function') return undefined;
	if (share === 'auto') {
		const entry = g.performance?.getEntriesByType?.('navigation')[0] as
			PerformanceNavigationTiming | undefined;
		// HTTP/2 and HTTP/3 multiplex streams over one connection: no six-per-host limit to avoid.
		if (/^h[23]/.test(entry?.nextHopProtocol ?? '')) return undefined;
	}
	return { name: `srk1 ${name}`, locks, Channel };
}

/**
 * A connection that loads the real one on first `start()`: until then it reports `idle`, or
 * `connecting` once started, and remembers what it was asked to do. If loading fails it falls back
 * to `fallback()`.
 */
export function lazyConnection(
	load: () => Promise<Connection>,
	fallback: () => Connection
): Connection {
	let inner: Connection | undefined;
	let loading: Promise<Connection> | undefined;
	let wanted: 'start' | 'stop' | 'pause' | undefined;
	const listeners = new Set<(state: ConnectionState) => void>();
	let waiting: ConnectionState = IDLE_CONNECTION_STATE;
	const notify = (state: ConnectionState) => {
		for (const listener of [...listeners]) listener(state);
	};
	const get = () =>
		(loading ??= load()
			.catch(fallback)
			.then((connection) => {
				inner = connection;
				connection.subscribe(notify);
				if (wanted === 'stop') connection.stop();
				else if (wanted) connection.start();
				if (wanted === 'pause') connection.pause();
				notify(connection.getSnapshot());
				return connection;
			}));
	const want = (what: 'start' | 'stop' | 'pause', status: ConnectionState['status']) => {
		if (inner) return inner[what]();
		if (what !== 'stop') void get();
		wanted = what;
		notify((waiting = { ...IDLE_CONNECTION_STATE, status }));
	};
	return {
		start: () => want('start', 'connecting'),
		stop: () => want('stop', 'closed'),
		pause: () => want('pause', 'paused'),
		resume: () => (inner ? inner.resume() : want('start', 'connecting')),
		retry: () => inner?.retry(),
		getSnapshot: () => inner?.getSnapshot() ?? waiting,
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
