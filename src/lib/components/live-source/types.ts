import type { Snippet } from 'svelte';
import type { LiveSourceOptions } from '../../core/live-source.js';
import type { Live } from '../../svelte/live.svelte.js';

export interface LiveSourceProps<T> extends LiveSourceOptions<T> {
	/**
	 * Rendered with the live connection: `live.items`, `live.rows`, `live.state`, `live.toggle(id)`,
	 * `live.mutate(id, change)`, `live.retry()`, `live.pause()`, `live.resume()`. Descendants reach the
	 * same connection through context (`<ActivityTimeline>` and `<TransportBadge>` without props).
	 * With `share`, `live.state.shared` says whether this tab runs the connection or gets it through
	 * another tab, and how many tabs share it.
	 */
	children?: Snippet<[Live<T>]>;
}
