import type { Snippet } from 'svelte';
import type { HTMLAttributes } from 'svelte/elements';
import type { ConnectionState } from '../../core/connection/machine.js';
import type { LiveSourceOptions } from '../../core/live-source.js';
import type { Row } from '../../core/store/store.js';
import type { Transport } from '../../core/transports/types.js';
import type { Instant } from '../transport-badge/types.js';

/**
 * Every text the timeline renders, for translation or rewording. Times ("3 minutes ago") and the
 * row count's digits follow `locale`; these texts do not, so an app in another language passes
 * them all (see the "French" story).
 */
export interface ActivityTimelineLabels {
	/** The accessible name of the region and the list, and the header's title without `heading`. */
	label: string;
	loading: string;
	empty: string;
	/** Shown when the connection gave up. */
	failed: string;
	retry: string;
	offline: string;
	stale: string;
	reconnecting: string;
	pause: string;
	resume: string;
	/** The button that reveals rows held back while paused or scrolled away. */
	newItems: (count: number) => string;
	/** The header's row count for screen readers ("5 items"); the digits show as they are. */
	count: (count: number) => string;
	/** Announced to screen readers, at most about once a second. */
	announceNew: (count: number) => string;
	announcePaused: string;
	pending: string;
	/** Read after a done row's title when it has no checkbox. */
	done: string;
	rowFailed: string;
	retryRow: string;
	/**
	 * The age of a time under 10 seconds.
	 * @defaultValue "just now" in English, else the locale's word for "now" from `Intl.RelativeTimeFormat` ("maintenant")
	 */
	justNow?: string;
}

/** What a custom `row` snippet gets. */
export interface TimelineRowContext<T> {
	item: T;
	key: string;
	/** `pending` while a change is on its way; `failed` after it was rolled back. */
	status: Row<T>['status'];
	error: Error | undefined;
	title: string;
	actor: string | undefined;
	/** The relative time ("3 min ago"), if the item has a time. */
	time: string | undefined;
	/** The item's time as an ISO string, for `<time datetime>`. */
	datetime: string | undefined;
	done: boolean | undefined;
	/** Whether a toggle is possible here (see `getDone`). */
	canToggle: boolean;
	/**
	 * Toggles the row. Never throws and leaves no rejection behind: a failure shows on the row
	 * (`status: 'failed'`) and goes to the connection's `onError`.
	 */
	toggle: () => void;
	/** Sends a failed change again; fails as `toggle` does. */
	retry: () => void;
}

export interface ActivityTimelineProps<T> extends Omit<HTMLAttributes<HTMLElement>, 'children'> {
	/**
	 * Opens (or shares) the connection of this adapter. Without it: the nearest `<LiveSource>`, or `items`.
	 * @defaultValue none: the nearest `<LiveSource>`, else `items`
	 */
	transport?: Transport<unknown, unknown>;
	/**
	 * Options for the connection opened by `transport` (initial rows, key, version, commit...).
	 * @defaultValue `{}`
	 */
	options?: Omit<LiveSourceOptions<T>, 'transport'>;
	/**
	 * Plain rows to render without a connection (stories, server data, your own store).
	 * @defaultValue none (rows come from the connection)
	 */
	items?: readonly T[];
	/**
	 * With `items`: the connection state to show (loading, stale, failed...).
	 * @defaultValue `{ loaded: true }` once `items` is given
	 */
	state?: Partial<ConnectionState> & { loaded?: boolean };
	/**
	 * With `items`: called when a row's toggle is used. A promise it returns may reject: that marks
	 * nothing (you own the rows) and is not left unhandled.
	 * @defaultValue none: rows get no checkbox
	 */
	onToggle?: (item: T) => unknown;
	/**
	 * With `items`: called by the retry button shown when `state.status` is `failed`.
	 * @defaultValue none
	 */
	onRetry?: () => unknown;
	/**
	 * The clock for relative times. Fixed values make rendering stable (stories, screenshots).
	 * @defaultValue the current time, moving on whenever a row's label would change
	 */
	now?: Instant;
	/**
	 * The locale of relative times, dates and the row count (`Intl`), "just now" included. The
	 * other texts come from `labels`.
	 * @defaultValue the browser's
	 */
	locale?: string;
	/** @defaultValue `item.id` */
	getKey?: (item: T) => string | number;
	/** @defaultValue `item.title` */
	getTitle?: (item: T) => string;
	/** @defaultValue `item.actor` */
	getActor?: (item: T) => string | undefined;
	/** @defaultValue `item.updatedAt ?? item.createdAt ?? item.at` */
	getTime?: (item: T) => Instant | string | undefined;
	/**
	 * Whether a row is done: a row with a boolean gets a checkbox when its toggle can work, one
	 * with `undefined` gets none. The connection's default toggle flips `item.done`, so with a
	 * custom `getDone` the checkbox is offered only when the connection has a `toggle` option
	 * saying what to change (`toggle: (t) => ({ ...t, status: t.status === 'closed' ? 'open' :
	 * 'closed' })`); without one the row shows its state as text. With `items`, `onToggle` decides.
	 * @defaultValue `item.done`
	 */
	getDone?: (item: T) => boolean | undefined;
	/**
	 * The header's title: a text (shown in an `<h2>`, and the region's name unless `labels.label`
	 * says otherwise), or a snippet that renders its own heading.
	 * @defaultValue `labels.label` ("Activity") in an `<h2>`
	 */
	heading?: string | Snippet;
	/**
	 * At the header's end, before the pause control: a `<TransportBadge />`, a filter, a link.
	 * @defaultValue none
	 */
	aside?: Snippet;
	/**
	 * Renders a row's content yourself.
	 * @defaultValue avatar, title (with a checkbox when it can toggle), state, actor and time
	 */
	row?: Snippet<[TimelineRowContext<T>]>;
	/**
	 * Replaces the loading state.
	 * @defaultValue three skeleton rows (still without motion when the reader prefers reduced motion)
	 */
	loading?: Snippet;
	/**
	 * Replaces the empty state.
	 * @defaultValue an icon and `labels.empty`, then `emptyDetail`
	 */
	empty?: Snippet;
	/**
	 * Under the default empty state's line: a hint or a first action ("Create a task").
	 * @defaultValue none
	 */
	emptyDetail?: Snippet;
	/**
	 * Whether live updates are held back (new rows are counted, not shown). Bind it, or listen
	 * with `onPausedChange`.
	 * @defaultValue `false`
	 */
	paused?: boolean;
	/**
	 * Called when the reader pauses or resumes (the pause control, or "N new").
	 * @defaultValue none
	 */
	onPausedChange?: (paused: boolean) => void;
	/**
	 * Texts to override, for translation or rewording.
	 * @defaultValue English labels (`defaultTimelineLabels`)
	 */
	labels?: Partial<ActivityTimelineLabels>;
}
