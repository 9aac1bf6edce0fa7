import {
	createLiveSource,
	type LiveSourceHandle,
	type LiveSourceOptions
} from '../core/live-source.js';
import type { Transport } from '../core/transports/types.js';

interface Shared {
	source: LiveSourceHandle<unknown>;
	refs: number;
}

// Keyed by the adapter object itself: everything given the same adapter shares one connection.
const shared = new WeakMap<Transport<unknown, unknown>, Shared>();
// Observers (a badge) see the connection that others open, without opening or configuring one.
const watchers = new WeakMap<Transport<unknown, unknown>, Set<() => void>>();

const notify = (transport: Transport<unknown, unknown>) => {
	for (const watcher of [...(watchers.get(transport) ?? [])]) watcher();
};

/** The open connection for `transport`, if someone holds one. */
export function peek(
	transport: Transport<unknown, unknown>
): LiveSourceHandle<unknown> | undefined {
	return shared.get(transport)?.source;
}

/** Calls `callback` whenever a connection for `transport` opens or closes. */
export function watch(transport: Transport<unknown, unknown>, callback: () => void): () => void {
	let set = watchers.get(transport);
	if (!set) watchers.set(transport, (set = new Set()));
	set.add(callback);
	return () => set.delete(callback);
}

export interface Lease<T> {
	readonly source: LiveSourceHandle<T>;
	/** Gives the lease back; the last one out closes the connection. Idempotent. */
	release(): void;
}

/**
 * Takes a share of the connection for `options.transport`, opening it for the first taker. The
 * first taker's options (initial rows, key, version, commit...) configure the shared connection.
 */
export function acquire<T>(options: LiveSourceOptions<T>): Lease<T> {
	let entry = shared.get(options.transport);
	if (!entry) {
		entry = { source: createLiveSource(options) as LiveSourceHandle<unknown>, refs: 0 };
		shared.set(options.transport, entry);
		entry.source.start();
		notify(options.transport);
	}
	entry.refs++;
	const held = entry;
	let released = false;
	return {
		source: held.source as LiveSourceHandle<T>,
		release() {
			if (released) return;
			released = true;
			held.refs--;
			if (held.refs === 0) {
				shared.delete(options.transport);
				held.source.stop();
				held.source.store.dispose();
				notify(options.transport);
			}
		}
	};
}

/** How many takers share the connection of `transport` (0 when none is open). */
export function shareCount(transport: Transport<unknown, unknown>): number {
	return shared.get(transport)?.refs ?? 0;
}
