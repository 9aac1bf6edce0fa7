import { fireEvent, render, screen, within } from '@testing-library/svelte';
import fc from 'fast-check';
import { createRawSnippet, flushSync } from 'svelte';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ActivityTimeline } from '../../src/lib/index.js';
import { createFakeEnv, type FakeEnv } from '../helpers/fake-env.js';
import { fakeTransport } from '../helpers/fake-transport.js';
import ItemsHarness from '../harness/items-harness.svelte';
import { frenchTimelineLabels } from '../../src/stories/fixtures.js';
import LiveCustomRow from '../harness/live-custom-row.svelte';
import LiveHarness from '../harness/live-harness.svelte';

const NOW = Date.UTC(2026, 0, 15, 12);
interface Task {
	id: number;
	title: string;
	actor?: string;
	done: boolean;
	updatedAt?: number;
	version?: number;
}
const task = (id: number, over: Partial<Task> = {}): Task => ({
	id,
	title: `Task ${id}`,
	done: false,
	actor: 'Ada',
	updatedAt: NOW - 3 * 60_000,
	version: 1,
	...over
});

let env: FakeEnv;
beforeEach(() => {
	env = createFakeEnv();
});
afterEach(() => vi.useRealTimers());

/** Lets queued store batches in and re-renders. */
function settle() {
	env.runFrames();
	flushSync();
}

const rowTitles = () =>
	screen
		.queryAllByRole('listitem')
		.map((li) => li.querySelector('.srk-timeline__title')?.textContent?.trim());

describe('<ActivityTimeline> with plain items', () => {
	it('S24 a new items array that changes one item re-renders that row only', () => {
		const getTitle = vi.fn((t: Task) => t.title);
		const items = Array.from({ length: 50 }, (_, i) => task(i));
		let setItems!: (items: Task[]) => void;
		render(ItemsHarness<Task>, {
			initial: items,
			getTitle,
			setItems: (set: (items: Task[]) => void) => (setItems = set)
		});
		expect(getTitle).toHaveBeenCalledTimes(50);
		getTitle.mockClear();
		flushSync(() => setItems(items.map((t) => (t.id === 7 ? { ...t, title: 'Changed' } : t))));
		expect(getTitle.mock.calls.map(([t]) => t.id)).toEqual([7]);
		expect(rowTitles()[7]).toBe('Changed');
		getTitle.mockClear();
		flushSync(() => setItems(items.filter((t) => t.id !== 9)));
		// row 7 is back to its first object (one render); no other row renders again
		expect(getTitle.mock.calls.map(([t]) => t.id)).toEqual([7]);
		expect(rowTitles()).toHaveLength(49);
	});

	it('renders keyed rows with title, actor and relative time', () => {
		render(ActivityTimeline<Task>, {
			items: [task(1), task(2, { updatedAt: NOW - 5000 })],
			now: NOW,
			locale: 'en'
		});
		const rows = screen.getAllByRole('listitem');
		expect(rows).toHaveLength(2);
		expect(rows[0]).toHaveAttribute('data-key', '1');
		expect(within(rows[0]!).getByText('Task 1')).toBeInTheDocument();
		expect(within(rows[0]!).getByText('Ada')).toBeInTheDocument();
		const time = within(rows[0]!).getByText('3 minutes ago');
		expect(time.tagName).toBe('TIME');
		expect(time).toHaveAttribute('datetime', new Date(NOW - 180_000).toISOString());
		expect(within(rows[1]!).getByText('just now')).toBeInTheDocument();
	});

	it('shows the loading state before data, and the empty state for an empty list', () => {
		const { rerender } = render(ActivityTimeline<Task>, { items: [], state: { loaded: false } });
		expect(screen.getByText('Loading activity…')).toBeInTheDocument();
		expect(screen.getByRole('region')).toHaveAttribute('aria-busy', 'true');
		rerender({ items: [], state: { loaded: true } });
		expect(screen.getByText('No activity yet.')).toBeInTheDocument();
	});

	it.each([
		['stale', 'Updates may be delayed.'],
		['offline', 'You are offline. Showing the last known activity.'],
		['reconnecting', 'Reconnecting…']
	] as const)('shows a %s notice over the rows it has', (status, message) => {
		render(ActivityTimeline<Task>, { items: [task(1)], state: { status } });
		expect(screen.getByText(message)).toBeInTheDocument();
		expect(screen.getAllByRole('listitem')).toHaveLength(1);
		expect(screen.getByRole('region')).toHaveAttribute('data-status', status);
	});

	it('does not claim to be loading once the connection gave up', () => {
		render(ActivityTimeline<Task>, { items: [], state: { loaded: false, status: 'failed' } });
		expect(screen.getByText('Live updates stopped.')).toBeInTheDocument();
		expect(screen.queryByText('Loading activity…')).toBeNull();
		expect(screen.getByRole('region')).not.toHaveAttribute('aria-busy');
	});

	it('shows an error with a working retry button', async () => {
		const onRetry = vi.fn();
		render(ActivityTimeline<Task>, { items: [task(1)], state: { status: 'failed' }, onRetry });
		expect(screen.getByText('Live updates stopped.')).toBeInTheDocument();
		await fireEvent.click(screen.getByRole('button', { name: 'Retry' }));
		expect(onRetry).toHaveBeenCalledTimes(1);
	});

	it('offers a toggle per row only when there is a way to change rows', async () => {
		const onToggle = vi.fn();
		const { unmount } = render(ActivityTimeline<Task>, { items: [task(1)] });
		expect(screen.queryByRole('checkbox')).toBeNull();
		unmount();
		render(ActivityTimeline<Task>, { items: [task(1), task(2, { done: true })], onToggle });
		const boxes = screen.getAllByRole('checkbox');
		expect(boxes[0]).not.toBeChecked();
		expect(boxes[1]).toBeChecked();
		expect(screen.getByRole('checkbox', { name: 'Task 1' })).toBe(boxes[0]);
		await fireEvent.click(boxes[0]!);
		expect(onToggle).toHaveBeenCalledWith(expect.objectContaining({ id: 1 }));
		// you own the rows: nothing flips until your items change
		expect(boxes[0]).not.toBeChecked();
	});

	it('S25 renders markup in titles and actors as text', () => {
		const payload = '<img src=x onerror="window.__pwned = true">';
		render(ActivityTimeline<Task>, {
			items: [task(1, { title: payload, actor: '<a href="javascript:alert(1)">evil</a>' })]
		});
		const row = screen.getByRole('listitem');
		expect(row.querySelector('img')).toBeNull();
		expect(row.querySelector('a')).toBeNull();
		expect(within(row).getByText(payload)).toBeInTheDocument();
		expect((window as { __pwned?: boolean }).__pwned).toBeUndefined();
	});

	it('names the region and the log after the label', () => {
		render(ActivityTimeline<Task>, {
			items: [task(7)],
			labels: { label: 'Team activity' }
		});
		expect(screen.getByRole('region', { name: 'Team activity' })).toBeInTheDocument();
		expect(screen.getByRole('log', { name: 'Team activity' })).toBeInTheDocument();
	});

	it('pauses: new rows are held back and counted, then shown on request', async () => {
		const onPausedChange = vi.fn();
		const { rerender } = render(ActivityTimeline<Task>, { items: [task(1)], onPausedChange });
		await fireEvent.click(screen.getByRole('button', { name: 'Pause updates' }));
		expect(onPausedChange).toHaveBeenCalledWith(true);
		expect(screen.getByRole('button', { name: 'Resume updates' })).toHaveAttribute(
			'aria-pressed',
			'true'
		);
		await rerender({ items: [task(3), task(2), task(1, { title: 'Task 1 edited' })] });
		expect(rowTitles()).toEqual(['Task 1 edited']);
		await fireEvent.click(screen.getByRole('button', { name: '2 new' }));
		expect(rowTitles()).toEqual(['Task 3', 'Task 2', 'Task 1 edited']);
		expect(onPausedChange).toHaveBeenLastCalledWith(false);
		expect(screen.queryByRole('button', { name: /new/ })).toBeNull();
	});

	it('holds new rows back while the reader is scrolled away from the top', async () => {
		const { rerender, container } = render(ActivityTimeline<Task>, { items: [task(1)] });
		const scroller = container.querySelector<HTMLElement>('.srk-timeline__scroller')!;
		scroller.scrollTop = 200;
		await fireEvent.scroll(scroller);
		await rerender({ items: [task(2), task(1)] });
		expect(rowTitles()).toEqual(['Task 1']);
		expect(screen.getByRole('button', { name: '1 new' })).toBeInTheDocument();
		scroller.scrollTop = 0;
		await fireEvent.scroll(scroller);
		expect(rowTitles()).toEqual(['Task 2', 'Task 1']);
	});

	it('announces arrivals as one summary, not one per row', async () => {
		vi.useFakeTimers();
		const { rerender } = render(ActivityTimeline<Task>, { items: [task(1)] });
		const status = screen.getAllByRole('status').at(-1)!;
		await rerender({ items: [task(2), task(1)] });
		await rerender({ items: [task(4), task(3), task(2), task(1)] });
		expect(status).toHaveTextContent('');
		await vi.advanceTimersByTimeAsync(1000);
		expect(status).toHaveTextContent('3 new items');
	});

	it('uses overridden labels', () => {
		render(ActivityTimeline<Task>, { items: [], labels: { empty: 'Nichts passiert.' } });
		expect(screen.getByText('Nichts passiert.')).toBeInTheDocument();
	});
});

describe('<ActivityTimeline> live', () => {
	it('shows the initial rows, then live updates from the transport', () => {
		const transport = fakeTransport('sse');
		render(LiveHarness, { source: { transport, initial: [task(1)], env } });
		expect(rowTitles()).toEqual(['Task 1']);
		expect(transport.attempts).toHaveLength(1);
		transport.last.sink.opened();
		transport.last.sink.message(JSON.stringify(task(2)));
		settle();
		expect(rowTitles()).toEqual(['Task 2', 'Task 1']);
		expect(screen.getByTestId('count')).toHaveTextContent('2 rows, live');
		expect(screen.getByTestId('badge')).toHaveAttribute('data-status', 'live');
	});

	it('toggles optimistically: pending, then confirmed', async () => {
		const transport = fakeTransport('sse');
		let confirm: (t: Task) => void = () => {};
		const commit = vi.fn(() => new Promise<Task>((resolve) => (confirm = resolve)));
		render(LiveHarness, { source: { transport, initial: [task(1)], env, commit } });
		await fireEvent.click(screen.getByRole('checkbox', { name: 'Task 1' }));
		settle();
		const row = screen.getByRole('listitem');
		expect(row).toHaveAttribute('data-status', 'pending');
		expect(row).toHaveAttribute('aria-busy', 'true');
		expect(screen.getByRole('checkbox')).toBeChecked();
		expect(screen.getByRole('checkbox')).toBeDisabled();
		expect(within(row).getByText('Saving…')).toBeInTheDocument();
		confirm(task(1, { done: true, version: 2 }));
		await vi.waitFor(() => {
			settle();
			expect(screen.getByRole('listitem')).toHaveAttribute('data-status', 'settled');
		});
		expect(screen.getByRole('checkbox')).toBeChecked();
		expect(commit).toHaveBeenCalledTimes(1);
	});

	it('toggles optimistically: rolled back and marked failed, then retried', async () => {
		const transport = fakeTransport('sse');
		const commit = vi
			.fn()
			.mockRejectedValueOnce(new Error('HTTP 500'))
			.mockResolvedValueOnce(task(1, { done: true, version: 2 }));
		render(LiveHarness, { source: { transport, initial: [task(1)], env, commit } });
		await fireEvent.click(screen.getByRole('checkbox', { name: 'Task 1' }));
		await vi.waitFor(() => {
			settle();
			expect(screen.getByRole('listitem')).toHaveAttribute('data-status', 'failed');
		});
		expect(screen.getByRole('checkbox')).not.toBeChecked();
		expect(screen.getByText('Not saved.')).toBeInTheDocument();
		await fireEvent.click(screen.getByRole('button', { name: 'Retry' }));
		await vi.waitFor(() => {
			settle();
			expect(screen.getByRole('listitem')).toHaveAttribute('data-status', 'settled');
		});
		expect(screen.getByRole('checkbox')).toBeChecked();
		expect(commit).toHaveBeenCalledTimes(2);
	});

	it('shows the error state with a retry that reconnects', async () => {
		const transport = fakeTransport('sse');
		render(LiveHarness, {
			source: { transport, initial: [task(1)], env, retry: { maxAttempts: 1 } }
		});
		transport.last.sink.failed(
			new (await import('../../src/lib/index.js')).TransportError('gone', {
				code: 'http',
				status: 404,
				retryable: false
			})
		);
		flushSync();
		expect(screen.getByText('Live updates stopped.')).toBeInTheDocument();
		await fireEvent.click(screen.getByRole('button', { name: 'Retry' }));
		expect(transport.attempts).toHaveLength(2);
		transport.last.sink.opened();
		flushSync();
		expect(screen.queryByText('Live updates stopped.')).toBeNull();
	});

	it('shows the stale notice when the stream goes quiet', () => {
		vi.useFakeTimers({ now: NOW });
		const transport = fakeTransport('sse');
		render(LiveHarness, { source: { transport, initial: [task(1)], env, staleAfter: 1000 } });
		transport.last.sink.opened();
		vi.advanceTimersByTime(1000);
		flushSync();
		expect(screen.getByText('Updates may be delayed.')).toBeInTheDocument();
		transport.last.sink.heartbeat();
		flushSync();
		expect(screen.queryByText('Updates may be delayed.')).toBeNull();
	});
});

describe('S33 strings that name Object.prototype members', () => {
	/** `constructor`, `__proto__`, `toString`… and any other string. */
	const anyName = fc.oneof(
		fc.constantFrom(...Object.getOwnPropertyNames(Object.prototype)),
		fc.string({ minLength: 1 })
	);
	const NOTICES: Record<string, string> = {
		failed: 'Live updates stopped.',
		offline: 'You are offline. Showing the last known activity.',
		stale: 'Updates may be delayed.',
		reconnecting: 'Reconnecting…'
	};
	const notice = () =>
		document.querySelector('.srk-timeline__notice span')?.textContent ?? undefined;

	it('S33 titles, actors, keys and statuses render as the plain strings, with plain items', () => {
		fc.assert(
			fc.property(
				fc.uniqueArray(fc.record({ id: anyName, title: anyName, actor: anyName }), {
					minLength: 1,
					maxLength: 4,
					selector: (item) => item.id
				}),
				fc.oneof(anyName, fc.constantFrom(...Object.keys(NOTICES))),
				(items, status) => {
					const { unmount, container } = render(ActivityTimeline, {
						items: items.map((item) => ({ ...item, done: false })),
						state: { status: status as never, loaded: true },
						now: NOW
					});
					try {
						const rows = screen.getAllByRole('listitem');
						expect(rows.map((li) => li.dataset.key)).toEqual(items.map((item) => item.id));
						expect(rowTitles()).toEqual(items.map((item) => item.title.trim()));
						expect(rows.map((li) => li.querySelector('.srk-timeline__actor')?.textContent)).toEqual(
							items.map((item) => item.actor)
						);
						expect(container.querySelector('section')).toHaveAttribute('data-status', status);
						expect(notice()).toBe(Object.hasOwn(NOTICES, status) ? NOTICES[status] : undefined);
						expect(container.textContent).not.toMatch(/native code|\[object /);
					} finally {
						unmount();
					}
				}
			),
			{ numRuns: 60 }
		);
	});

	it('S33 server-sent rows and a transport kind named after them render as the plain strings', () => {
		fc.assert(
			fc.property(anyName, anyName, (kind, title) => {
				const transport = fakeTransport(kind);
				const { unmount } = render(LiveHarness, { source: { transport, env } });
				try {
					transport.last.sink.opened();
					transport.last.sink.message(
						JSON.stringify({ type: 'snapshot', items: [{ id: title, title, actor: kind }] })
					);
					settle();
					expect(rowTitles()).toEqual([title.trim()]);
					expect(screen.getByRole('listitem')).toHaveAttribute('data-key', title);
					const badge = screen.getByTestId('badge');
					expect(badge.querySelector('.srk-badge__label')?.textContent).toBe(`${kind} · live`);
					expect(document.body.textContent).not.toMatch(/native code|\[object /);
				} finally {
					unmount();
				}
			}),
			{ numRuns: 40 }
		);
	});
});

describe('S30 toggles whose change fails or cannot apply', () => {
	interface Ticket {
		id: number;
		title: string;
		status: 'open' | 'closed';
		version: number;
	}
	const ticket = (id: number, status: Ticket['status'] = 'open'): Ticket => ({
		id,
		title: `Ticket ${id}`,
		status,
		version: 1
	});
	// The harness's props are untyped rows: the callbacks take `unknown`, as there.
	const getDone = (t: unknown) => (t as Ticket).status === 'closed';

	/** Rejections nobody handled while `run` and the ticks after it ran. */
	async function unhandledDuring(run: () => Promise<void>): Promise<unknown[]> {
		const seen: unknown[] = [];
		const listener = (reason: unknown) => seen.push(reason);
		process.on('unhandledRejection', listener);
		try {
			await run();
			await new Promise((resolve) => setTimeout(resolve, 20));
		} finally {
			process.off('unhandledRejection', listener);
		}
		return seen;
	}

	it('S30 a custom getDone without a toggle option offers no checkbox: the done state reads as text', () => {
		const transport = fakeTransport('sse');
		const commit = vi.fn(async (change: { item: unknown }) => change.item);
		render(LiveHarness, {
			source: { transport, initial: [ticket(1), ticket(2, 'closed')], env, commit },
			timeline: { getDone }
		});
		expect(screen.queryByRole('checkbox')).toBeNull();
		const rows = screen.getAllByRole('listitem');
		expect(rows[0]).not.toHaveAttribute('data-done');
		expect(rows[1]).toHaveAttribute('data-done', 'true');
		expect(within(rows[1]!).getByText('(done)')).toBeInTheDocument();
		expect(commit).not.toHaveBeenCalled();
	});

	it('S30 a custom getDone with a toggle option saying what to change gets a working checkbox', async () => {
		const transport = fakeTransport('sse');
		const commit = vi.fn(async ({ item }: { item: unknown }) => ({
			...(item as Ticket),
			version: 2
		}));
		const toggle = (item: unknown): Ticket => {
			const t = item as Ticket;
			return { ...t, status: t.status === 'closed' ? 'open' : 'closed' };
		};
		render(LiveHarness, {
			source: { transport, initial: [ticket(1)], env, commit, toggle },
			timeline: { getDone }
		});
		const box = screen.getByRole('checkbox', { name: 'Ticket 1' });
		expect(box).not.toBeChecked();
		await fireEvent.click(box);
		await vi.waitFor(() => {
			settle();
			expect(screen.getByRole('listitem')).toHaveAttribute('data-status', 'settled');
		});
		expect(screen.getByRole('checkbox')).toBeChecked();
		expect(commit).toHaveBeenCalledWith(
			expect.objectContaining({ item: expect.objectContaining({ status: 'closed' }) })
		);
	});

	it('S30 a toggle that cannot apply (no boolean `done`) goes to onError, with no unhandled rejection', async () => {
		const transport = fakeTransport('sse');
		const onError = vi.fn();
		const commit = vi.fn(async (change: { item: unknown }) => change.item);
		render(LiveCustomRow, {
			source: { transport, initial: [ticket(1)], env, commit, onError },
			timeline: { getDone }
		});
		expect(screen.getByTestId('row-1')).toHaveTextContent('Ticket 1: settled, canToggle false');
		const unhandled = await unhandledDuring(async () => {
			await fireEvent.click(screen.getByRole('button', { name: 'toggle 1' }));
			await fireEvent.click(screen.getByRole('button', { name: 'retry 1' }));
		});
		expect(unhandled).toEqual([]);
		expect(onError).toHaveBeenCalledWith(expect.objectContaining({ name: 'MutationError' }));
		expect(commit).not.toHaveBeenCalled();
	});

	it('S30 a commit that rejects marks the row failed and reaches onError; toggle and retry leave no unhandled rejection', async () => {
		const transport = fakeTransport('sse');
		const onError = vi.fn();
		let commits = 0;
		const commit = async (): Promise<Task> => {
			commits++;
			throw new Error('HTTP 500');
		};
		render(LiveHarness, {
			source: { transport, initial: [task(1)], env, commit, onError }
		});
		const unhandled = await unhandledDuring(async () => {
			await fireEvent.click(screen.getByRole('checkbox', { name: 'Task 1' }));
			await vi.waitFor(() => {
				settle();
				expect(screen.getByRole('listitem')).toHaveAttribute('data-status', 'failed');
			});
			await fireEvent.click(screen.getByRole('button', { name: 'Retry' }));
			await vi.waitFor(() => {
				settle();
				expect(commits).toBe(2);
				expect(screen.getByRole('listitem')).toHaveAttribute('data-status', 'failed');
			});
		});
		expect(unhandled).toEqual([]);
		expect(onError).toHaveBeenCalled();
	});

	it('S30 with items, an onToggle or onRetry that rejects marks nothing and is not left unhandled', async () => {
		// Plain functions: a vi.fn() handles the promises it returns, to record how they settled.
		const calls = { toggle: 0, retry: 0 };
		const onToggle = async () => {
			calls.toggle++;
			throw new Error('refused');
		};
		const onRetry = () => {
			calls.retry++;
			return Promise.reject(new Error('still down'));
		};
		render(ActivityTimeline<Task>, {
			items: [task(1)],
			state: { status: 'failed', loaded: true },
			onToggle,
			onRetry
		});
		const unhandled = await unhandledDuring(async () => {
			await fireEvent.click(screen.getByRole('checkbox', { name: 'Task 1' }));
			await fireEvent.click(screen.getByRole('button', { name: 'Retry' }));
		});
		expect(unhandled).toEqual([]);
		expect(calls).toEqual({ toggle: 1, retry: 1 });
		expect(screen.getByRole('listitem')).toHaveAttribute('data-status', 'settled');
		expect(screen.getByRole('checkbox')).not.toBeChecked();
	});
});

describe('<ActivityTimeline> relative times', () => {
	const timeLabels = () =>
		screen.queryAllByRole('listitem').map((li) => li.querySelector('time')?.textContent);

	it('refreshes a row when its label would change (10 s), not on a fixed tick, and never reads in the future', async () => {
		vi.useFakeTimers({ now: NOW });
		render(ActivityTimeline<Task>, {
			items: [
				task(1, { updatedAt: NOW - 4000 }),
				// the server's clock runs 30 s ahead of this one
				task(2, { updatedAt: NOW + 30_000 }),
				task(3, { updatedAt: NOW - 3 * 60_000 - 5000 })
			],
			locale: 'en'
		});
		expect(timeLabels()).toEqual(['just now', 'just now', '3 minutes ago']);
		await vi.advanceTimersByTimeAsync(5999);
		expect(timeLabels()).toEqual(['just now', 'just now', '3 minutes ago']);
		await vi.advanceTimersByTimeAsync(1);
		expect(timeLabels()).toEqual(['10 seconds ago', 'just now', '3 minutes ago']);
		await vi.advanceTimersByTimeAsync(34_000); // NOW + 40 s
		expect(timeLabels()).toEqual(['40 seconds ago', '10 seconds ago', '3 minutes ago']);
		await vi.advanceTimersByTimeAsync(15_000); // NOW + 55 s
		expect(timeLabels()).toEqual(['50 seconds ago', '20 seconds ago', '4 minutes ago']);
		// one timer for the whole list, however many rows
		expect(vi.getTimerCount()).toBe(1);
	});

	it('renders again only the rows whose label changes', async () => {
		vi.useFakeTimers({ now: NOW });
		const getTitle = vi.fn((t: Task) => t.title);
		const items = Array.from({ length: 20 }, (_, i) => task(i, { updatedAt: NOW - i * 3_600_000 }));
		items[0] = task(0, { updatedAt: NOW - 4000 });
		render(ActivityTimeline<Task>, { items, locale: 'en', getTitle });
		getTitle.mockClear();
		await vi.advanceTimersByTimeAsync(6000);
		expect(timeLabels()[0]).toBe('10 seconds ago');
		expect(getTitle.mock.calls.map(([t]) => t.id)).toEqual([0]);
	});

	it('runs no timer with a fixed `now`', () => {
		vi.useFakeTimers({ now: NOW });
		render(ActivityTimeline<Task>, { items: [task(1, { updatedAt: NOW - 4000 })], now: NOW });
		expect(vi.getTimerCount()).toBe(0);
	});

	it('with locale fr, every time is French, "just now" included; labels translate the rest', () => {
		render(ActivityTimeline<Task>, {
			items: [task(1, { updatedAt: NOW - 2000 }), task(2, { updatedAt: NOW - 2 * 3_600_000 })],
			now: NOW,
			locale: 'fr',
			labels: frenchTimelineLabels
		});
		const justNow = new Intl.RelativeTimeFormat('fr', { numeric: 'auto' }).format(0, 'second');
		expect(timeLabels()).toEqual([justNow, 'il y a 2 heures']);
		expect(document.body.textContent).not.toMatch(/just now|ago|Pause|Activity|items?\b/);
		expect(screen.getByRole('button', { name: 'Suspendre les mises à jour' })).toBeInTheDocument();
		expect(screen.getByRole('region', { name: 'Activité' })).toBeInTheDocument();
	});
});

describe('<ActivityTimeline> header and states', () => {
	const text = (html: string) => createRawSnippet(() => ({ render: () => html }));

	it('has a header with the heading, the row count and the aside; the heading names the region', () => {
		render(ActivityTimeline<Task>, {
			items: [task(1), task(2)],
			heading: 'Team tasks',
			aside: text('<span data-testid="aside">badge</span>')
		});
		const header = document.querySelector('header')!;
		expect(
			within(header).getByRole('heading', { level: 2, name: 'Team tasks' })
		).toBeInTheDocument();
		expect(within(header).getByText('2 items')).toHaveClass('srk-visually-hidden');
		expect(within(header).getByTestId('aside')).toBeInTheDocument();
		expect(within(header).getByRole('button', { name: 'Pause updates' })).toBeInTheDocument();
		expect(screen.getByRole('region', { name: 'Team tasks' })).toBeInTheDocument();
		expect(screen.getByRole('log', { name: 'Team tasks' })).toBeInTheDocument();
	});

	it('takes a heading snippet, and defaults to the label', () => {
		const { unmount } = render(ActivityTimeline<Task>, { items: [task(1)] });
		expect(screen.getByRole('heading', { name: 'Activity' })).toBeInTheDocument();
		unmount();
		render(ActivityTimeline<Task>, { items: [task(1)], heading: text('<h3>Recent</h3>') });
		expect(screen.getByRole('heading', { level: 3, name: 'Recent' })).toBeInTheDocument();
		expect(screen.queryByRole('heading', { level: 2 })).toBeNull();
	});

	it('offers the pause control only when there is something to pause', () => {
		const { rerender } = render(ActivityTimeline<Task>, { items: [], state: { loaded: false } });
		expect(screen.queryByRole('button', { name: 'Pause updates' })).toBeNull();
		rerender({ items: [], state: { loaded: true } });
		expect(screen.queryByRole('button', { name: 'Pause updates' })).toBeNull();
		rerender({ items: [task(1)], state: { loaded: true } });
		expect(screen.getByRole('button', { name: 'Pause updates' })).toBeInTheDocument();
	});

	it('shows skeleton rows while loading, hidden from screen readers, with the loading text for them', () => {
		const { container } = render(ActivityTimeline<Task>, { items: [], state: { loaded: false } });
		const skeleton = container.querySelector('.srk-timeline__skeleton')!;
		expect(skeleton).toHaveAttribute('aria-hidden', 'true');
		expect(skeleton.children).toHaveLength(3);
		expect(screen.getByText('Loading activity…')).toHaveClass('srk-visually-hidden');
		expect(container.querySelectorAll('li')).toHaveLength(0);
	});

	it('shows an empty state with an icon, the line, and the emptyDetail snippet', () => {
		const { container } = render(ActivityTimeline<Task>, {
			items: [],
			emptyDetail: text('<a href="/new">Create a task</a>')
		});
		const empty = container.querySelector('[data-state="empty"]')!;
		expect(empty.querySelector('svg')).toHaveAttribute('aria-hidden', 'true');
		expect(within(empty as HTMLElement).getByText('No activity yet.')).toBeInTheDocument();
		expect(
			within(empty as HTMLElement).getByRole('link', { name: 'Create a task' })
		).toBeInTheDocument();
	});

	it('shows each actor as initials, hidden from screen readers (the name is in the row)', () => {
		render(ActivityTimeline<Task>, {
			items: [
				task(1, { actor: 'Ada Lovelace' }),
				task(2, { actor: 'grace' }),
				task(3, { actor: '  ' }),
				task(4, { actor: 'Jean-Luc de la Fontaine' })
			]
		});
		const avatars = screen
			.getAllByRole('listitem')
			.map((li) => li.querySelector<HTMLElement>('.srk-timeline__avatar')!);
		expect(avatars.map((a) => (a.hidden ? null : a.textContent))).toEqual(['AL', 'G', null, 'JF']);
		for (const a of avatars) expect(a).toHaveAttribute('aria-hidden', 'true');
		expect(avatars[0]!.dataset.hue).toMatch(/^[0-5]$/);
	});
});
