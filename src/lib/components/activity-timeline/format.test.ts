import { describe, expect, it, onTestFinished } from 'vitest';
import { formatRelative } from './format.js';

const NOW = Date.UTC(2026, 0, 15, 12);

describe('formatRelative', () => {
	it('says "just now" within 10 s, then relative units, then a date beyond a week', () => {
		expect(formatRelative(NOW - 5000, NOW, 'en', 'just now')).toBe('just now');
		expect(formatRelative(NOW - 3 * 60_000, NOW, 'en', 'just now')).toBe('3 minutes ago');
		expect(formatRelative(NOW + 2 * 3_600_000, NOW, 'en', 'just now')).toBe('in 2 hours');
		expect(formatRelative(NOW - 86_400_000, NOW, 'en', 'just now')).toBe('yesterday');
		expect(formatRelative(NOW - 30 * 86_400_000, NOW, 'en', 'just now')).toBe('Dec 16, 2025');
		expect(formatRelative(NOW - 3 * 60_000, NOW, 'de', 'gerade eben')).toBe('vor 3 Minuten');
	});

	it('builds one formatter per locale, not one per row (a 500-row list re-formats every 15 s)', () => {
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
			formatRelative(NOW - (i + 1) * 60_000, NOW, 'fr', 'à l’instant');
			formatRelative(NOW - (i + 10) * 86_400_000, NOW, 'fr', 'à l’instant');
		}
		expect(made.relative).toBe(1);
		expect(made.dates).toBe(1);
	});
});
