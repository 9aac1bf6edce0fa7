import { describe, expect, it } from 'vitest';
import { page, userEvent } from 'vitest/browser';
import { render } from 'vitest-browser-svelte';
import { ActivityTimeline } from '../../src/lib/index.js';
import { fakeTransport } from '../helpers/fake-transport.js';
import FloodHarness from '../harness/flood-harness.svelte';

const NOW = Date.UTC(2026, 0, 15, 12);

describe('<ActivityTimeline> in Chromium', () => {
	it('S25 renders hostile titles and actors as text; nothing executes', async () => {
		const w = window as { __pwned?: number };
		const items = [
			{
				id: 1,
				title: '<img src=x onerror="window.__pwned=1">',
				actor: '<script>window.__pwned=2</script>',
				done: false
			},
			{
				id: 2,
				title: '<a href="javascript:window.__pwned=3">click</a>',
				actor: 'javascript:window.__pwned=4',
				done: false
			},
			{
				id: 3,
				title: '<svg onload="window.__pwned=5"></svg>',
				actor: '" onmouseover="window.__pwned=6',
				done: false
			}
		];
		const screen = await render(ActivityTimeline, { items, now: NOW });
		await expect.element(screen.getByText(items[0]!.title)).toBeVisible();
		const list = screen.getByRole('list').element();
		expect(list.querySelectorAll('img, script, a, svg')).toHaveLength(0);
		await userEvent.hover(screen.getByText(items[2]!.actor));
		await new Promise((resolve) => setTimeout(resolve, 100));
		expect(w.__pwned).toBeUndefined();
	});

	it('is usable from the keyboard: Tab reaches each toggle, Space toggles', async () => {
		const toggled: number[] = [];
		const items = [
			{ id: 1, title: 'First', done: false },
			{ id: 2, title: 'Second', done: true }
		];
		const screen = await render(ActivityTimeline, {
			items,
			onToggle: (item: unknown) => toggled.push((item as { id: number }).id)
		});
		await userEvent.tab();
		await expect.element(screen.getByRole('button', { name: 'Pause updates' })).toHaveFocus();
		await userEvent.tab();
		await userEvent.tab();
		await expect.element(screen.getByRole('checkbox', { name: 'First' })).toHaveFocus();
		await userEvent.keyboard(' ');
		await userEvent.tab();
		await userEvent.keyboard(' ');
		expect(toggled).toEqual([1, 2]);
		await userEvent.keyboard('{Shift>}{Tab}{Tab}{Tab}{/Shift}');
		await userEvent.keyboard('{Enter}');
		await expect
			.element(screen.getByRole('button', { name: 'Resume updates' }))
			.toHaveAttribute('aria-pressed', 'true');
	});

	it('S24 a flood of 1,000 events/s with duplicates and out-of-order versions: at most one render per frame, list capped', async () => {
		const transport = fakeTransport('sse');
		let renders = 0;
		await render(FloodHarness, { transport, maxItems: 200, onRows: () => renders++ });
		await expect.poll(() => transport.attempts.length).toBe(1);
		const { sink } = transport.last;
		sink.opened();

		let frames = 0;
		let counting = true;
		const tick = () => {
			frames++;
			if (counting) requestAnimationFrame(tick);
		};
		requestAnimationFrame(tick);
		const rendersBefore = renders;

		const latest = new Map<number, number>();
		let sent = 0;
		await new Promise<void>((resolve) => {
			const timer = setInterval(() => {
				for (let i = 0; i < 10; i++, sent++) {
					const id = sent % 300;
					// every third event is an older version of a row, every fifth a replayed event id
					const version = sent % 3 === 0 ? Math.max(0, (latest.get(id) ?? 0) - 1) : sent;
					if (version > (latest.get(id) ?? -1)) latest.set(id, version);
					const eventId = sent % 5 === 0 ? String(sent - 1) : String(sent);
					sink.message(JSON.stringify({ id, title: `Row ${id} v${version}`, version }), {
						id: eventId
					});
				}
				if (sent >= 2000) {
					clearInterval(timer);
					resolve();
				}
			}, 10);
		});
		await new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)));
		counting = false;

		const flooded = renders - rendersBefore;
		expect(flooded).toBeGreaterThan(0);
		expect(flooded).toBeLessThanOrEqual(frames + 1);
		const rows = page.getByRole('listitem').elements();
		expect(rows.length).toBe(200);
		expect(new Set(rows.map((row) => row.getAttribute('data-key'))).size).toBe(200);
	});

	describe('row flash (motion allowed)', () => {
		const realMatchMedia = window.matchMedia;
		const noReducedMotion = (query: string) =>
			query.includes('prefers-reduced-motion')
				? ({ matches: false } as MediaQueryList)
				: realMatchMedia.call(window, query);
		const rowsOf = (count: number, version = 1) =>
			Array.from({ length: count }, (_, i) => ({
				id: i,
				title: `Row ${i} v${version}`,
				done: false
			}));
		const frame = () => new Promise((resolve) => requestAnimationFrame(() => resolve(undefined)));
		const flashing = () => document.getAnimations().filter((a) => a.playState === 'running');

		it('S24 the first load is not news; a changed row flashes once however often it changes; a burst flashes at most 24 rows', async () => {
			window.matchMedia = noReducedMotion;
			try {
				const screen = await render(ActivityTimeline, { now: NOW });
				let items = rowsOf(50);
				await screen.rerender({ items });
				await expect.element(screen.getByText('Row 49 v1')).toBeVisible();
				await frame();
				expect(flashing()).toHaveLength(0);

				for (let version = 2; version <= 4; version++) {
					items = items.map((item) =>
						item.id === 7 ? { ...item, title: `Row 7 v${version}` } : item
					);
					await screen.rerender({ items });
					await frame();
				}
				await expect.element(screen.getByText('Row 7 v4')).toBeVisible();
				const running = flashing();
				expect(running).toHaveLength(1);
				const target = (running[0]!.effect as KeyframeEffect).target as HTMLElement;
				expect(target.textContent).toContain('Row 7 v4');

				await screen.rerender({ items: rowsOf(50, 5) });
				await expect.element(screen.getByText('Row 49 v5')).toBeVisible();
				expect(flashing().length).toBeGreaterThan(1);
				expect(flashing().length).toBeLessThanOrEqual(24);
			} finally {
				window.matchMedia = realMatchMedia;
			}
		});
	});
});
