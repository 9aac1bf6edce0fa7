import fc from 'fast-check';
import { describe, expect, it, onTestFinished } from 'vitest';
import { formatRelative, justNowIn, nextRelativeChange } from './format.js';

const NOW = Date.UTC(2026, 0, 15, 12);
const LOCALES = ['en', 'en-GB', 'fr', 'de', 'ja', 'ar'] as const;

/** The rule, written out the long way: whole seconds, then each unit from the one below. */
function reference(time: number, now: number, locale: string): string {
	const seconds = Math.floor(Math.max(0, now - time) / 1000);
	const rtf = new Intl.RelativeTimeFormat(locale, { numeric: 'auto' });
	if (seconds < 10) return locale.startsWith('en') ? 'just now' : rtf.format(0, 'second');
	if (seconds < 60) return rtf.format(-(seconds - (seconds % 10)), 'second');
	const minutes = Math.floor(seconds / 60);
	if (minutes < 60) return rtf.format(-minutes, 'minute');
	const hours = Math.floor(minutes / 60);
	if (hours < 24) return rtf.format(-hours, 'hour');
	const days = Math.floor(hours / 24);
	if (days < 7) return rtf.format(-days, 'day');
	return new Intl.DateTimeFormat(locale, { dateStyle: 'medium' }).format(time);
}

const DAY = 86_400_000;
/** A time and a clock: mostly near each other (both ways: the server's clock may run ahead). */
const timeAndNow = fc
	.tuple(
		fc.integer({ min: Date.UTC(2000, 0, 1), max: Date.UTC(2100, 0, 1) }),
		fc.oneof(
			fc.integer({ min: -DAY, max: 0 }),
			fc.integer({ min: -120_000, max: 120_000 }),
			fc.integer({ min: 0, max: 8 * DAY }),
			fc.integer({ min: 0, max: 400 * DAY })
		)
	)
	.map(([now, offset]) => ({ now, time: now - offset }));
const locale = fc.constantFrom(...LOCALES);

describe('formatRelative', () => {
	it('says "just now" within 10 s, then relative units, then a date beyond a week', () => {
		expect(formatRelative(NOW - 5000, NOW, 'en')).toBe('just now');
		expect(formatRelative(NOW - 12_000, NOW, 'en')).toBe('10 seconds ago');
		expect(formatRelative(NOW - 3 * 60_000, NOW, 'en')).toBe('3 minutes ago');
		expect(formatRelative(NOW - 86_400_000, NOW, 'en')).toBe('yesterday');
		expect(formatRelative(NOW - 30 * 86_400_000, NOW, 'en')).toBe('Dec 16, 2025');
		expect(formatRelative(NOW - 3 * 60_000, NOW, 'de')).toBe('vor 3 Minuten');
		expect(formatRelative(NOW - 5000, NOW, 'de', 'gerade eben')).toBe('gerade eben');
	});

	it('never reads in the future: a time after now (a server clock ahead of ours) is "just now"', () => {
		expect(formatRelative(NOW + 11_000, NOW, 'en')).toBe('just now');
		expect(formatRelative(NOW + 2 * 3_600_000, NOW, 'en')).toBe('just now');
		expect(formatRelative(NOW + 2 * 3_600_000, NOW, 'fr')).toBe(justNowIn('fr'));
	});

	it('speaks the locale for "just now" too: French, German… and English only in English', () => {
		expect(justNowIn('fr')).toBe(
			new Intl.RelativeTimeFormat('fr', { numeric: 'auto' }).format(0, 'second')
		);
		expect(formatRelative(NOW - 1000, NOW, 'fr')).toMatch(/^(maintenant|à l’instant)$/);
		expect(formatRelative(NOW - 1000, NOW, 'de')).toBe('jetzt');
		expect(formatRelative(NOW - 1000, NOW, 'en-GB')).toBe('just now');
	});

	it('agrees with the reference for any time, clock and locale', () => {
		fc.assert(
			fc.property(timeAndNow, locale, ({ time, now }, locale) => {
				expect(formatRelative(time, now, locale)).toBe(reference(time, now, locale));
			}),
			{ numRuns: 2000 }
		);
	});

	it('has no English left in a French label', () => {
		const english = /\b(ago|in|just|now|seconds?|hours?|days?|yesterday)\b/i; // "minute" is French too
		fc.assert(
			fc.property(timeAndNow, ({ time, now }) => {
				expect(formatRelative(time, now, 'fr')).not.toMatch(english);
			}),
			{ numRuns: 500 }
		);
	});

	it('builds one formatter per locale, not one per row (a 500-row list re-formats together)', () => {
		const made = { relative: 0, dates: 0 };
		const { RelativeTimeFormat, DateTimeFormat } = Intl;
		const intl = Intl as { -readonly [K in keyof typeof Intl]: (typeof Intl)[K] };
		intl.RelativeTimeFormat = class extends RelativeTimeFormat {
			constructor(...args: ConstructorParameters<typeof RelativeTimeFormat>) {
				super(...args);
				made.relative++;
			}
		};
		intl.DateTimeFormat = class extends DateTimeFormat {
			constructor(...args: ConstructorParameters<typeof DateTimeFormat>) {
				super(...args);
				made.dates++;
			}
		} as typeof DateTimeFormat;
		onTestFinished(() => {
			intl.RelativeTimeFormat = RelativeTimeFormat;
			intl.DateTimeFormat = DateTimeFormat;
		});
		for (let i = 0; i < 500; i++) {
			formatRelative(NOW - (i + 1) * 60_000, NOW, 'it');
			formatRelative(NOW - i * 1000, NOW, 'it');
			formatRelative(NOW - (i + 10) * 86_400_000, NOW, 'it');
		}
		expect(made.relative).toBe(1);
		expect(made.dates).toBe(1);
	});
});

describe('nextRelativeChange', () => {
	it('is the first moment the label differs: the same label until then, a new one at it', () => {
		fc.assert(
			fc.property(
				timeAndNow,
				locale,
				fc.double({ min: 0, max: 1, noNaN: true }),
				({ time, now }, locale, f) => {
					const label = formatRelative(time, now, locale);
					const next = nextRelativeChange(time, now);
					if (next === Infinity) {
						// a date: it stays
						expect(formatRelative(time, now + 365 * DAY, locale)).toBe(label);
						return;
					}
					expect(next).toBeGreaterThan(now);
					expect(formatRelative(time, next - 1, locale)).toBe(label);
					expect(formatRelative(time, now + Math.floor((next - 1 - now) * f), locale)).toBe(label);
					expect(formatRelative(time, next, locale)).not.toBe(label);
				}
			),
			{ numRuns: 2000 }
		);
	});

	it('wakes a just-changed row at 10 s (not after a fixed 15 s tick), a server-ahead one 10 s after its time', () => {
		expect(nextRelativeChange(NOW - 4000, NOW)).toBe(NOW + 6000);
		expect(nextRelativeChange(NOW + 30_000, NOW)).toBe(NOW + 40_000);
		expect(nextRelativeChange(NOW - 3 * 60_000 - 5000, NOW)).toBe(NOW + 55_000);
		expect(nextRelativeChange(NOW - 30 * DAY, NOW)).toBe(Infinity);
	});
});
