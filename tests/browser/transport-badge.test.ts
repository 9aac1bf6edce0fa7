import { describe, expect, it } from 'vitest';
import { render } from 'vitest-browser-svelte';
import { CONNECTION_STATUSES } from '../../src/lib/core/types.js';
import ThemedBadge from './themed-badge.svelte';

type Rgb = [number, number, number];

function parseRgb(color: string): Rgb {
	const match = /rgba?\((\d+(?:\.\d+)?),? (\d+(?:\.\d+)?),? (\d+(?:\.\d+)?)/.exec(color);
	if (!match) throw new Error(`not an rgb() colour: ${color}`);
	return [Number(match[1]), Number(match[2]), Number(match[3])];
}

function luminance([r, g, b]: Rgb): number {
	const channel = (c: number) => {
		const s = c / 255;
		return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
	};
	return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
}

function contrast(a: string, b: string): number {
	const [hi, lo] = [luminance(parseRgb(a)), luminance(parseRgb(b))].sort((x, y) => y - x) as [
		number,
		number
	];
	return (hi + 0.05) / (lo + 0.05);
}

function colours(badge: HTMLElement) {
	const style = getComputedStyle(badge);
	const dot = badge.querySelector<HTMLElement>('.srk-badge__dot')!;
	return { fg: style.color, bg: style.backgroundColor, dot: getComputedStyle(dot).backgroundColor };
}

describe('<TransportBadge> in Chromium', () => {
	for (const theme of ['light', 'dark'] as const) {
		it.each(CONNECTION_STATUSES)(`${theme}: %s text meets WCAG AA contrast`, async (status) => {
			const screen = await render(ThemedBadge, { theme, status, transport: 'sse' });
			const badge = screen.getByRole('status').element() as HTMLElement;
			const { fg, bg } = colours(badge);
			expect(contrast(fg, bg)).toBeGreaterThanOrEqual(4.5);
		});
	}

	it('follows the theme of its nearest themed ancestor', async () => {
		const read = async (theme: 'light' | 'dark', outer?: 'light' | 'dark') => {
			const screen = await render(ThemedBadge, { theme, outer, status: 'live' });
			const result = colours(screen.getByRole('status').element() as HTMLElement);
			await screen.unmount();
			return result;
		};
		const light = await read('light');
		const dark = await read('dark');
		expect(dark.bg).not.toBe(light.bg);
		expect(dark.fg).not.toBe(light.fg);
		expect(dark.dot).not.toBe(light.dot);
		expect(await read('light', 'dark')).toEqual(light);
		expect(await read('dark', 'light')).toEqual(dark);
	});

	it('takes its colours from custom properties', async () => {
		const screen = await render(ThemedBadge, {
			theme: 'light',
			status: 'failed',
			style: '--srk-badge-bg: rgb(1, 2, 3); --srk-status-failed: rgb(200, 0, 100)'
		});
		const { bg, dot } = colours(screen.getByRole('status').element() as HTMLElement);
		expect(bg).toBe('rgb(1, 2, 3)');
		expect(dot).toBe('rgb(200, 0, 100)');
	});

	it('gives every status its own dot colour', async () => {
		const seen = new Map<string, string>();
		for (const status of CONNECTION_STATUSES) {
			const screen = await render(ThemedBadge, { theme: 'light', status });
			const badge = screen.getByRole('status').element() as HTMLElement;
			const dot = badge.querySelector<HTMLElement>('.srk-badge__dot')!;
			const style = getComputedStyle(dot);
			// hollow dots draw their colour as an inset ring
			seen.set(
				status,
				style.backgroundColor === 'rgba(0, 0, 0, 0)' ? style.boxShadow : style.backgroundColor
			);
			await screen.unmount();
		}
		expect(new Set(seen.values()).size).toBe(CONNECTION_STATUSES.length);
	});

	it('does not pulse when the user prefers reduced motion', async () => {
		expect(matchMedia('(prefers-reduced-motion: reduce)').matches).toBe(true);
		const screen = await render(ThemedBadge, { theme: 'light', status: 'reconnecting' });
		const dot = (screen.getByRole('status').element() as HTMLElement).querySelector(
			'.srk-badge__dot'
		)!;
		expect(getComputedStyle(dot).animationName).toBe('none');
	});
});
