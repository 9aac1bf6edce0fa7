import { untrack } from 'svelte';
import type { ConnectionState } from '../../core/connection/machine.js';
import type { Row } from '../../core/store/store.js';
import type { Live } from '../../svelte/live.svelte.js';
import { formatRelative, nextRelativeChange, toMs } from './format.js';
import type { ActivityTimelineLabels, ActivityTimelineProps, TimelineRowContext } from './types.js';

type Fields<T> = Required<
	Pick<ActivityTimelineProps<T>, 'getKey' | 'getTitle' | 'getActor' | 'getTime' | 'getDone'>
>;

/**
 * What the timeline reads: a live connection ({@link Live}) as it is, or plain `items` in the same
 * shape (with a partial `state`).
 */
export type TimelineSource<T> = Pick<Live<T>, 'rows' | 'loaded' | 'canMutate' | 'customToggle'> & {
	readonly state: Partial<ConnectionState>;
	toggle(key: string): unknown;
	retryMutation(key: string): unknown;
	retry(): unknown;
};

/**
 * Runs a row's action from a click handler and settles the promise it returns: its failure shows
 * where it belongs (the store marks the row failed and reports to `onError`; with `items` the app
 * owns the rows), and nothing is left to reject unhandled.
 */
export function act(run: () => unknown): void {
	const result = run();
	if (isThenable(result)) result.then(undefined, () => {});
}

const isThenable = (value: unknown): value is PromiseLike<unknown> =>
	(typeof value === 'object' || typeof value === 'function') &&
	value !== null &&
	typeof (value as { then?: unknown }).then === 'function';

const field = (item: unknown, name: string): unknown =>
	(item as Record<string, unknown> | null)?.[name];

export function defaultFields<T>(): Fields<T> {
	return {
		getKey: (item) => field(item, 'id') as string | number,
		getTitle: (item) => String(field(item, 'title') ?? ''),
		getActor: (item) => field(item, 'actor') as string | undefined,
		getTime: (item) =>
			(field(item, 'updatedAt') ?? field(item, 'createdAt') ?? field(item, 'at')) as
				string | number | undefined,
		getDone: (item) => field(item, 'done') as boolean | undefined
	};
}

/** Plain `items` in the shape of a live connection; toggles and retries go to the app's callbacks. */
export function plainSource<T>(
	props: () => Pick<ActivityTimelineProps<T>, 'items' | 'state' | 'onToggle' | 'onRetry'>,
	getKey: () => (item: T) => string | number
): TimelineSource<T> {
	// One Row per item object, kept while the item is: a new `items` array that changes one item
	// re-renders one row, not all of them.
	let cache = new WeakMap<object, Row<T>>();
	let cachedGetKey: ((item: T) => string | number) | undefined;
	const rows = $derived.by(() => {
		const items = props().items ?? [];
		const keyOf = getKey();
		if (keyOf !== cachedGetKey) {
			cache = new WeakMap();
			cachedGetKey = keyOf;
		}
		return items.map((item): Row<T> => {
			const cacheable = typeof item === 'object' && item !== null;
			const hit = cacheable ? cache.get(item) : undefined;
			const key = String(keyOf(item));
			if (hit?.key === key) return hit;
			const row: Row<T> = { key, item, status: 'settled' };
			if (cacheable) cache.set(item, row);
			return row;
		});
	});
	return {
		get rows() {
			return rows;
		},
		get loaded() {
			const { items, state } = props();
			return state?.loaded ?? items !== undefined;
		},
		get state() {
			return props().state ?? {};
		},
		get canMutate() {
			return props().onToggle !== undefined;
		},
		customToggle: true,
		toggle: (key) => {
			const row = rows.find((r) => r.key === key);
			return row && props().onToggle?.(row.item);
		},
		retryMutation: (key) => {
			const row = rows.find((r) => r.key === key);
			return row && props().onToggle?.(row.item);
		},
		retry: () => props().onRetry?.()
	};
}

/**
 * The timeline's behaviour: which rows show, which are held back (paused, or the reader scrolled
 * away from the top), what the banner says, and what to announce.
 */
export class TimelineState<T> {
	readonly #source: () => TimelineSource<T>;
	readonly #paused: () => boolean;
	/** Row keys shown while held back; `undefined` when rows flow in live. */
	#frozen = $state<string[] | undefined>(undefined);
	/** The reader scrolled away from the newest rows. */
	scrolledAway = $state(false);

	constructor(source: () => TimelineSource<T>, paused: () => boolean) {
		this.#source = source;
		this.#paused = paused;
	}

	get source() {
		return this.#source();
	}

	get holding(): boolean {
		return this.#paused() || this.scrolledAway;
	}

	/** Freezes the visible rows (call when holding starts). */
	hold() {
		this.#frozen ??= this.source.rows.map((row) => row.key);
	}

	/** Lets held-back rows in. */
	release() {
		this.#frozen = undefined;
	}

	readonly rows = $derived.by((): readonly Row<T>[] => {
		const rows = this.source.rows;
		const frozen = this.#frozen;
		if (!frozen) return rows;
		// Keep the frozen order and membership, but show each row's latest content.
		const byKey = new Map(rows.map((row) => [row.key, row]));
		return frozen.flatMap((key) => byKey.get(key) ?? []);
	});

	/** Rows waiting behind the "N new" button. */
	readonly heldBack = $derived.by(() => {
		const frozen = this.#frozen;
		if (!frozen) return 0;
		const shown = new Set(frozen);
		return this.source.rows.filter((row) => !shown.has(row.key)).length;
	});

	/** Which notice to show above the list. */
	readonly notice = $derived.by((): 'failed' | 'offline' | 'stale' | 'reconnecting' | undefined => {
		const status = this.source.state.status;
		return status === 'failed' ||
			status === 'offline' ||
			status === 'stale' ||
			status === 'reconnecting'
			? status
			: undefined;
	});
}

/**
 * Whether rows get a toggle: a change can be sent, and it changes what the checkbox shows. The
 * default toggle flips a boolean `done`, which a custom `getDone` may not read: with one, the app
 * must say what a toggle changes (a `toggle` option, or `onToggle` with `items`).
 */
export function togglable(source: TimelineSource<unknown>, customDone: boolean): boolean {
	return source.canMutate && (!customDone || source.customToggle);
}

/**
 * What the timeline tells screen readers: arrivals summarised at most once a second, counting the
 * rows that were not there at the last summary, instead of one announcement per row (nothing per
 * render but a timer); and that updates are paused. Create it while a component initialises: its
 * effects and timer live as long as the component.
 */
export class Announcer {
	/** The text of the polite live region. */
	text = $state('');
	#seen: Set<string> | undefined;
	#timer: ReturnType<typeof setTimeout> | undefined;

	constructor(
		rows: () => readonly Row<unknown>[],
		paused: () => boolean,
		labels: () => Pick<ActivityTimelineLabels, 'announceNew' | 'announcePaused'>
	) {
		const keysShown = () => new Set(untrack(rows).map((row) => row.key));
		$effect(() => {
			void rows();
			if (!this.#seen) {
				this.#seen = keysShown();
				return;
			}
			this.#timer ??= setTimeout(() => {
				this.#timer = undefined;
				const keys = keysShown();
				let arrived = 0;
				for (const key of keys) if (!this.#seen!.has(key)) arrived++;
				this.#seen = keys;
				if (arrived > 0) this.text = untrack(() => labels().announceNew(arrived));
			}, 1000);
		});
		$effect(() => {
			if (paused()) this.text = labels().announcePaused;
		});
		$effect(() => () => clearTimeout(this.#timer));
	}
}

/** At most this many row flashes run at once. */
const MAX_FLASHES = 24;

/**
 * Flashes a row that arrives, or whose item changes, once the list has loaded: a row whose item is
 * one the list has not shown before. A row's new flash replaces its running one, and at most
 * {@link MAX_FLASHES} run at once: in a flood the flash marks some arrivals instead of costing
 * every frame a repaint of the whole list. One effect for the whole list, after each render (no
 * per-row attachment): the `<li>` of `rows[i]` is the list's `i`-th child. Create it while a
 * component initialises.
 */
export class RowFlash {
	readonly #seen = new WeakSet<object>();
	readonly #flashes = new WeakMap<Element, Animation>();
	readonly #running = new Set<Animation>();
	#reducedMotion: MediaQueryList | undefined;

	constructor(
		rows: () => readonly Row<unknown>[],
		loaded: () => boolean,
		list: () => HTMLElement | undefined
	) {
		// Rows rendered before the list first loaded (the first paint, or the first snapshot when it
		// arrives later) are not news.
		let settled = false;
		let previous: readonly Row<unknown>[] = [];
		$effect(() => {
			const shown = rows();
			const isLoaded = loaded();
			const node = list();
			// Walks the rows beside the last render's: a row object that was there is no news and
			// costs a comparison (rows keep their object while unchanged); only the others are looked up.
			for (let i = 0, j = 0; i < shown.length; i++) {
				const row = shown[i]!;
				if (row === previous[j]) {
					j++;
					continue;
				}
				// Changed in place, or one row before it removed: the walk stays in step.
				if (row.key === previous[j]?.key) j++;
				else if (row === previous[j + 1]) {
					j += 2;
					continue;
				}
				const item = row.item;
				const identity = typeof item === 'object' && item !== null ? item : row;
				if (this.#seen.has(identity)) continue;
				this.#seen.add(identity);
				const li = node?.children[i];
				if (settled && li?.getAttribute('data-key') === row.key) this.#flash(li);
			}
			previous = shown;
			if (isLoaded) settled = true;
		});
	}

	#flash(node: Element) {
		if (typeof node.animate !== 'function') return;
		this.#reducedMotion ??= matchMedia('(prefers-reduced-motion: reduce)');
		if (this.#reducedMotion.matches) return;
		const previous = this.#flashes.get(node);
		if (previous) {
			previous.cancel();
			this.#running.delete(previous);
		}
		if (this.#running.size >= MAX_FLASHES) return;
		const animation = node.animate(
			[{ backgroundColor: 'var(--_highlight)' }, { backgroundColor: 'transparent' }],
			{ duration: 1600, easing: 'ease-out' }
		);
		this.#flashes.set(node, animation);
		this.#running.add(animation);
		animation.onfinish = animation.oncancel = () => this.#running.delete(animation);
	}
}

/** What a row shows, without its actions: what the built-in row renders from. */
export type RowView = Pick<
	TimelineRowContext<unknown>,
	'title' | 'actor' | 'time' | 'datetime' | 'done'
>;

/**
 * What a row shows. `until` hears when the row's relative time next changes: called while the
 * row renders, it makes the row render again then (see `WakeClock`).
 */
export function rowView<T>(
	row: Row<T>,
	fields: Fields<T>,
	now: number,
	locale: string | undefined,
	labels: ActivityTimelineLabels,
	until?: (time: number) => void
): RowView {
	const time = toMs(fields.getTime(row.item));
	if (time !== undefined) until?.(nextRelativeChange(time, now));
	return {
		title: fields.getTitle(row.item),
		actor: fields.getActor(row.item),
		time: time === undefined ? undefined : formatRelative(time, now, locale, labels.justNow),
		datetime: time === undefined ? undefined : new Date(time).toISOString(),
		done: fields.getDone(row.item)
	};
}

/** What a `row` snippet is given: what the row shows, its state and its actions. */
export function rowContext<T>(
	row: Row<T>,
	fields: Fields<T>,
	source: TimelineSource<T>,
	canToggle: boolean,
	now: number,
	locale: string | undefined,
	labels: ActivityTimelineLabels,
	until?: (time: number) => void
): TimelineRowContext<T> {
	return {
		item: row.item,
		key: row.key,
		status: row.status,
		error: row.error,
		...rowView(row, fields, now, locale, labels, until),
		canToggle,
		toggle: () => act(() => source.toggle(row.key)),
		retry: () => act(() => source.retryMutation(row.key))
	};
}

/** How many colours actor avatars cycle through (`data-hue` 0 to 5). */
const HUES = 6;

/**
 * An actor's avatar: up to two initials (the first letters of the first and last words) and a
 * colour that stays the same for the same name. Nothing for a missing or blank name.
 */
export function avatarOf(actor: string | undefined): Avatar | undefined {
	if (typeof actor !== 'string') return undefined;
	// Rows re-render often (a flood re-renders the rows it changes every frame) and the same
	// few names repeat across them: remember the last few hundred.
	let avatar = avatars.get(actor);
	if (avatar === undefined) {
		if (avatars.size >= MAX_AVATARS) avatars.delete(avatars.keys().next().value!);
		avatars.set(actor, (avatar = makeAvatar(actor)));
	}
	return avatar ?? undefined;
}

interface Avatar {
	initials: string;
	hue: number;
}
const MAX_AVATARS = 500;
const avatars = new Map<string, Avatar | null>();

function makeAvatar(actor: string): Avatar | null {
	const words = actor
		.trim()
		.split(/\s+/u)
		.filter((word) => /[\p{L}\p{N}]/u.test(word));
	if (!words.length) return null;
	const first = (word: string) => [...word.replace(/^[^\p{L}\p{N}]+/u, '')][0] ?? '';
	const initials = (
		words.length === 1 ? first(words[0]!) : first(words[0]!) + first(words.at(-1)!)
	).toLocaleUpperCase();
	let hash = 0;
	for (let i = 0; i < actor.length; i++) hash = (hash * 31 + actor.charCodeAt(i)) >>> 0;
	return { initials, hue: hash % HUES };
}

/**
 * Wraps an object factory so that it returns its previous result while every property is the same
 * (`===`), for a `$derived.by` whose readers should not re-run for an equal object.
 */
export function keepIfSame<O extends object>(make: () => O): () => O {
	let previous: O | undefined;
	return () => {
		const next = make();
		if (previous && shallowEqual(previous, next)) return previous;
		return (previous = next);
	};
}

function shallowEqual(a: object, b: object): boolean {
	const keys = Object.keys(a);
	if (keys.length !== Object.keys(b).length) return false;
	return keys.every(
		(key) => (a as Record<string, unknown>)[key] === (b as Record<string, unknown>)[key]
	);
}
