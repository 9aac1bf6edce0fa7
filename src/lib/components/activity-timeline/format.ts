import type { Instant } from '../transport-badge/types.js';
import type { ActivityTimelineLabels } from './types.js';

/**
 * The timeline's English texts. `justNow` is left out: without a `labels.justNow`, the phrase
 * comes from `Intl.RelativeTimeFormat` in the timeline's locale ("just now" in English).
 */
export const defaultTimelineLabels: ActivityTimelineLabels = {
	label: 'Activity',
	loading: 'Loading activity…',
	empty: 'No activity yet.',
	failed: 'Live updates stopped.',
	retry: 'Retry',
	offline: 'You are offline. Showing the last known activity.',
	stale: 'Updates may be delayed.',
	reconnecting: 'Reconnecting…',
	pause: 'Pause updates',
	resume: 'Resume updates',
	newItems: (count) => `${count} new`,
	count: (count) => `${count} ${count === 1 ? 'item' : 'items'}`,
	announceNew: (count) => `${count} new ${count === 1 ? 'item' : 'items'}`,
	announcePaused: 'Live updates paused',
	pending: 'Saving…',
	done: 'done',
	rowFailed: 'Not saved.',
	retryRow: 'Retry'
};

/** Reads a time that may be epoch milliseconds, a `Date` or an ISO string. */
export function toMs(value: Instant | string | undefined): number | undefined {
	if (value === undefined || value === null) return undefined;
	const ms =
		typeof value === 'number'
			? value
			: typeof value === 'string'
				? Date.parse(value)
				: value.getTime();
	return Number.isFinite(ms) ? ms : undefined;
}

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
/** Below this age a time reads "just now". */
export const JUST_NOW_MS = 10 * SECOND;
/** Ages in seconds are shown in steps of this many seconds (10, 20 … 50 seconds ago). */
const SECONDS_STEP = 10;

/**
 * The unit a time's age is shown in, its whole count, and how long that label lasts (`step`), for
 * an age in milliseconds (never negative). `undefined`: older than a week, shown as a date.
 */
function band(age: number): Band | undefined {
	if (age < JUST_NOW_MS) return { unit: 'second', value: 0, from: 0, step: JUST_NOW_MS };
	if (age < MINUTE) {
		const value = Math.floor(age / SECOND / SECONDS_STEP) * SECONDS_STEP;
		return { unit: 'second', value, from: value * SECOND, step: SECONDS_STEP * SECOND };
	}
	if (age < HOUR) return whole('minute', age, MINUTE);
	if (age < DAY) return whole('hour', age, HOUR);
	if (age < 7 * DAY) return whole('day', age, DAY);
	return undefined;
}

interface Band {
	unit: Intl.RelativeTimeFormatUnit;
	/** The count shown ("3" minutes). */
	value: number;
	/** The age at which this label starts, and how long it lasts (ms). */
	from: number;
	step: number;
}

function whole(unit: Intl.RelativeTimeFormatUnit, age: number, size: number): Band {
	const value = Math.floor(age / size);
	return { unit, value, from: value * size, step: size };
}

/**
 * How old `time` is at `now`, in milliseconds. A time after `now` (the server's clock runs ahead
 * of this one) counts as age 0: nothing happened in the future.
 */
const ageOf = (time: number, now: number) => Math.max(0, now - time);

// Building an Intl formatter costs far more than formatting with one: keep one per locale.
const relativeFormats = new Map<string | undefined, Intl.RelativeTimeFormat>();
const dateFormats = new Map<string | undefined, Intl.DateTimeFormat>();
const justNowPhrases = new Map<string | undefined, string>();
const numberFormats = new Map<string | undefined, Intl.NumberFormat>();

function cached<F>(
	cache: Map<string | undefined, F>,
	locale: string | undefined,
	make: () => F
): F {
	let format = cache.get(locale);
	if (format === undefined) cache.set(locale, (format = make()));
	return format;
}

const relativeFormat = (locale: string | undefined) =>
	cached(relativeFormats, locale, () => new Intl.RelativeTimeFormat(locale, { numeric: 'auto' }));

/**
 * "just now" in `locale`: English keeps its idiom; every other language gets its own word for
 * "now" from `Intl.RelativeTimeFormat` ("maintenant", "jetzt").
 */
export function justNowIn(locale: string | undefined): string {
	return cached(justNowPhrases, locale, () => {
		const format = relativeFormat(locale);
		const language = format.resolvedOptions().locale.split('-')[0];
		return language === 'en' ? 'just now' : format.format(0, 'second');
	});
}

/**
 * "just now", "20 seconds ago", "3 minutes ago", "yesterday", or a date beyond a week, in
 * `locale`. Never in the future: a time after `now` reads "just now". `justNow` replaces the
 * locale's phrase for the first 10 seconds.
 */
export function formatRelative(
	time: number,
	now: number,
	locale: string | undefined,
	justNow?: string
): string {
	const shown = band(ageOf(time, now));
	if (!shown)
		return cached(
			dateFormats,
			locale,
			() => new Intl.DateTimeFormat(locale, { dateStyle: 'medium' })
		).format(time);
	if (shown.value === 0) return justNow ?? justNowIn(locale);
	return relativeFormat(locale).format(-shown.value, shown.unit);
}

/**
 * When the label {@link formatRelative} gives for `time` next changes (epoch milliseconds), seen
 * at `now`; `Infinity` once it is a date, which never changes.
 */
export function nextRelativeChange(time: number, now: number): number {
	const shown = band(ageOf(time, now));
	return shown ? time + shown.from + shown.step : Infinity;
}

/** A count in `locale`'s digits ("12", "١٢"). */
export function formatCount(count: number, locale: string | undefined): string {
	return cached(numberFormats, locale, () => new Intl.NumberFormat(locale)).format(count);
}
