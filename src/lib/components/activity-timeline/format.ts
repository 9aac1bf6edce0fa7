import type { Instant } from '../transport-badge/types.js';
import type { ActivityTimelineLabels } from './types.js';

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
	announceNew: (count) => `${count} new ${count === 1 ? 'item' : 'items'}`,
	announcePaused: 'Live updates paused',
	pending: 'Saving…',
	done: 'done',
	rowFailed: 'Not saved.',
	retryRow: 'Retry',
	justNow: 'just now'
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

const UNITS: Array<[Intl.RelativeTimeFormatUnit, number]> = [
	['second', 60],
	['minute', 60],
	['hour', 24],
	['day', 7]
];

// Building an Intl formatter costs far more than formatting with one: keep one per locale.
const relativeFormats = new Map<string | undefined, Intl.RelativeTimeFormat>();
const dateFormats = new Map<string | undefined, Intl.DateTimeFormat>();

function cached<F>(
	cache: Map<string | undefined, F>,
	locale: string | undefined,
	make: () => F
): F {
	let format = cache.get(locale);
	if (!format) cache.set(locale, (format = make()));
	return format;
}

/** "just now", "3 minutes ago", "in 2 hours", or a date beyond a week. */
export function formatRelative(
	time: number,
	now: number,
	locale: string | undefined,
	justNow: string
): string {
	const seconds = Math.round((time - now) / 1000);
	if (Math.abs(seconds) < 10) return justNow;
	let value = seconds;
	for (const [unit, size] of UNITS) {
		if (Math.abs(value) < size)
			return cached(
				relativeFormats,
				locale,
				() => new Intl.RelativeTimeFormat(locale, { numeric: 'auto' })
			).format(value, unit);
		value = Math.trunc(value / size);
	}
	return cached(
		dateFormats,
		locale,
		() => new Intl.DateTimeFormat(locale, { dateStyle: 'medium' })
	).format(time);
}
