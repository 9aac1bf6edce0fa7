// The theming contract, in Chromium: light by default whatever the OS prefers; dark under `.dark`
// or `data-theme="dark"` (on an ancestor or the component); the nearest wins; the OS only under
// `data-theme="system"`. The components set `color-scheme` and `accent-color` to match.
import { flushSync, mount, unmount } from 'svelte';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { cdp } from 'vitest/browser';
import { ActivityTimeline, TransportBadge } from '../index.js';

const LIGHT_BG = 'rgb(255, 255, 255)';
const DARK_BG = 'rgb(15, 23, 42)';

async function preferDark(dark: boolean) {
	await cdp().send('Emulation.setEmulatedMedia', {
		features: [{ name: 'prefers-color-scheme', value: dark ? 'dark' : 'light' }]
	});
}

let mounted: Array<{ app: Record<string, unknown>; host: HTMLElement }> = [];
afterEach(() => {
	for (const { app, host } of mounted) {
		unmount(app);
		host.remove();
	}
	mounted = [];
});
afterAll(() => preferDark(false));

/** Mounts a timeline inside ancestors with the given attributes (outermost first). */
function timelineIn(ancestors: Array<Record<string, string>>, own: Record<string, string> = {}) {
	const host = document.createElement('div');
	let inner = host;
	for (const attributes of ancestors) {
		const child = document.createElement('div');
		for (const [name, value] of Object.entries(attributes)) child.setAttribute(name, value);
		inner.append(child);
		inner = child;
	}
	document.body.append(host);
	const app = mount(ActivityTimeline, {
		target: inner,
		props: { items: [{ id: 1, title: 'One', done: false }], onToggle: () => {}, ...own }
	});
	flushSync();
	mounted.push({ app, host });
	const root = inner.querySelector<HTMLElement>('.srk-timeline')!;
	const style = getComputedStyle(root);
	const box = root.querySelector('input')!;
	return {
		bg: style.backgroundColor,
		scheme: style.colorScheme.trim(),
		accent: style.accentColor,
		boxScheme: getComputedStyle(box).colorScheme.trim()
	};
}

describe('theme', () => {
	for (const osDark of [false, true]) {
		describe(osDark ? 'on a dark OS' : 'on a light OS', () => {
			it('is light without a theme, whatever the OS prefers', async () => {
				await preferDark(osDark);
				expect(timelineIn([])).toMatchObject({ bg: LIGHT_BG, scheme: 'light', boxScheme: 'light' });
			});

			it('is dark under .dark or data-theme="dark", and on the component itself', async () => {
				await preferDark(osDark);
				const dark = { bg: DARK_BG, scheme: 'dark', boxScheme: 'dark' };
				expect(timelineIn([{ class: 'dark' }])).toMatchObject(dark);
				expect(timelineIn([{ 'data-theme': 'dark' }])).toMatchObject(dark);
				expect(timelineIn([], { class: 'dark' })).toMatchObject(dark);
			});

			it('lets the nearest theme win', async () => {
				await preferDark(osDark);
				expect(timelineIn([{ class: 'dark' }, { 'data-theme': 'light' }]).bg).toBe(LIGHT_BG);
				expect(timelineIn([{ 'data-theme': 'light' }, { class: 'dark' }]).bg).toBe(DARK_BG);
				expect(timelineIn([{ class: 'dark' }], { class: 'light' }).bg).toBe(LIGHT_BG);
			});

			it('follows the OS only under data-theme="system"', async () => {
				await preferDark(osDark);
				const themed = timelineIn([{ 'data-theme': 'system' }]);
				expect(themed.bg).toBe(osDark ? DARK_BG : LIGHT_BG);
				expect(themed.scheme).toBe(osDark ? 'dark' : 'light');
				// an explicit theme inside still wins
				expect(timelineIn([{ 'data-theme': 'system' }, { 'data-theme': 'light' }]).bg).toBe(
					LIGHT_BG
				);
			});
		});
	}

	it('gives native controls the accent colour (light and dark)', async () => {
		await preferDark(false);
		expect(timelineIn([]).accent).toBe('rgb(37, 99, 235)');
		expect(timelineIn([{ class: 'dark' }]).accent).toBe('rgb(96, 165, 250)');
		expect(timelineIn([], { style: '--srk-timeline-accent: rgb(1, 2, 3)' }).accent).toBe(
			'rgb(1, 2, 3)'
		);
	});

	it('sets the badge’s color-scheme too', async () => {
		await preferDark(true);
		const host = document.createElement('div');
		host.className = 'dark';
		document.body.append(host);
		const app = mount(TransportBadge, { target: host, props: { status: 'live' } });
		flushSync();
		mounted.push({ app, host });
		expect(getComputedStyle(host.querySelector('.srk-badge')!).colorScheme.trim()).toBe('dark');
		host.className = '';
		expect(getComputedStyle(host.querySelector('.srk-badge')!).colorScheme.trim()).toBe('light');
	});
});

describe('rows out of sight', () => {
	const rowsIn = (style: string) => {
		const host = document.createElement('div');
		document.body.append(host);
		const items = Array.from({ length: 40 }, (_, i) => ({ id: i, title: `Row ${i}`, done: false }));
		const app = mount(ActivityTimeline, { target: host, props: { items, style } });
		flushSync();
		mounted.push({ app, host });
		return getComputedStyle(host.querySelector('li')!).contentVisibility;
	};

	it('are skipped in a list of bounded height, and always drawn where the page scrolls', () => {
		expect(rowsIn('--srk-timeline-max-height: 300px')).toBe('auto');
		expect(rowsIn('')).toBe('visible');
	});
});
