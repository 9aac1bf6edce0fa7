import { getContext, hasContext, setContext } from 'svelte';
import type { Live } from './live.svelte.js';

const key = Symbol('svelte-realtime-kit/live');

/** Makes `live` available to descendants (what `<LiveSource>` does). */
export function setLiveContext<T>(live: Live<T>): Live<T> {
	return setContext(key, live);
}

/** The nearest `<LiveSource>`'s connection, or `undefined` outside one. */
export function findLiveContext<T>(): Live<T> | undefined {
	return hasContext(key) ? getContext<Live<T>>(key) : undefined;
}

/**
 * The nearest `<LiveSource>`'s connection.
 * @throws when there is none, saying what to wrap.
 */
export function getLiveContext<T>(): Live<T> {
	const live = findLiveContext<T>();
	if (!live) {
		throw new Error(
			'No live connection here: wrap this component in <LiveSource transport={...}>, or give it a `transport` (or `items`) prop.'
		);
	}
	return live;
}
