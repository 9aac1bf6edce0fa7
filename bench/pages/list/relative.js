// The timeline's relative time ("just now", "3 minutes ago", "in 2 hours", a date beyond a week),
// for the hand-written list to print the same text; its formatters are made once.
const UNITS = /** @type {const} */ ([
	['second', 60],
	['minute', 60],
	['hour', 24],
	['day', 7]
]);
const relative = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });
const date = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' });

/** @param {number} time @param {number} now */
export function formatRelative(time, now) {
	const seconds = Math.round((time - now) / 1000);
	if (Math.abs(seconds) < 10) return 'just now';
	let value = seconds;
	for (const [unit, size] of UNITS) {
		if (Math.abs(value) < size) return relative.format(value, unit);
		value = Math.trunc(value / size);
	}
	return date.format(time);
}
