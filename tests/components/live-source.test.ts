import { fireEvent, render, screen } from '@testing-library/svelte';
import { flushSync, tick } from 'svelte';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { TransportError } from '../../src/lib/index.js';
import { shareCount } from '../../src/lib/svelte/registry.js';
import { createFakeEnv, type FakeEnv } from '../helpers/fake-env.js';
import { fakeTransport } from '../helpers/fake-transport.js';
import ContextConsumer from '../harness/context-consumer.svelte';
import CustomRow from '../harness/custom-row.svelte';
import LiveHarness from '../harness/live-harness.svelte';
import LiveMembers from '../harness/live-members.svelte';
import SharedHarness from '../harness/shared-harness.svelte';
import BadgeFirst from '../harness/badge-first.svelte';
import PlainChildren from '../harness/plain-children.svelte';

let env: FakeEnv;
beforeEach(() => {
	env = createFakeEnv();
});

const task = (id: number) => ({ id, title: `Task ${id}`, done: false });

/** Svelte releases a subscription a microtask after its last reader goes. */
const released = () => tick().then(() => Promise.resolve());

describe('<LiveSource>', () => {
	it('gives its children snippet and its descendants the same live connection', () => {
		const transport = fakeTransport('sse');
		render(LiveHarness, { source: { transport, initial: [task(1)], env } });
		expect(transport.attempts).toHaveLength(1);
		transport.last.sink.opened({ transport: 'polling', degraded: true });
		flushSync();
		expect(screen.getByTestId('count')).toHaveTextContent('1 rows, live');
		const badge = screen.getByTestId('badge');
		expect(badge).toHaveAttribute('data-transport', 'polling');
		expect(badge).toHaveAttribute('data-degraded', 'true');
		expect(badge).toHaveTextContent('Polling · live');
	});

	it('plain children (no snippet parameter) reach the connection through context', () => {
		const transport = fakeTransport('sse');
		render(PlainChildren, { transport });
		expect(transport.attempts).toHaveLength(1);
		transport.last.sink.opened();
		transport.last.sink.message(JSON.stringify([task(1)]));
		flushSync();
		expect(document.querySelector('.srk-badge')).toHaveAttribute('data-status', 'live');
	});

	it('a component outside a LiveSource says what to wrap it in', () => {
		expect(() => render(ContextConsumer)).toThrow(
			/wrap this component in <LiveSource transport=\{\.\.\.\}>/
		);
	});

	it('S13 unmounting closes the connection and releases every timer and listener', async () => {
		vi.useFakeTimers();
		try {
			const transport = fakeTransport('sse');
			const { unmount } = render(LiveHarness, {
				source: { transport, env, retry: { baseDelay: 1000 } }
			});
			transport.last.sink.opened();
			transport.last.sink.failed(
				new (await import('../../src/lib/index.js')).TransportError('x', {
					code: 'network',
					retryable: true
				})
			);
			expect(vi.getTimerCount()).toBeGreaterThan(0);
			unmount();
			await released();
			expect(transport.openCount).toBe(0);
			expect(shareCount(transport)).toBe(0);
			expect(env.listenerCount).toBe(0);
			expect(vi.getTimerCount()).toBe(0);
			vi.advanceTimersByTime(60_000);
			expect(transport.attempts).toHaveLength(1);
		} finally {
			vi.useRealTimers();
		}
	});

	it('hands out members that work on their own (`onclick={live.retry}`)', async () => {
		const transport = fakeTransport('sse');
		const commit = vi.fn(() => new Promise<never>(() => {}));
		render(LiveMembers, { source: { transport, initial: [task(1)], env, commit } });
		transport.last.sink.opened();
		flushSync();
		await fireEvent.click(screen.getByRole('button', { name: 'toggle' }));
		env.runFrames();
		flushSync();
		expect(screen.getByTestId('state')).toHaveTextContent('live, pending');
		expect(commit).toHaveBeenCalledTimes(1);
		await fireEvent.click(screen.getByRole('button', { name: 'pause' }));
		expect(screen.getByTestId('state')).toHaveTextContent(/^paused/);
		await fireEvent.click(screen.getByRole('button', { name: 'resume' }));
		expect(transport.attempts).toHaveLength(2);
		transport.last.sink.failed(new TransportError('down', { code: 'network', retryable: true }));
		await fireEvent.click(screen.getByRole('button', { name: 'retry' }));
		expect(transport.attempts).toHaveLength(3);
	});

	it('a custom row snippet gets the row context', () => {
		render(CustomRow, { items: [{ id: 3, title: 'Ship it', done: true }] });
		expect(screen.getByTestId('custom')).toHaveTextContent('3: Ship it (done, settled)');
	});
});

describe('sharing by transport', () => {
	it('S14 every component given one adapter uses one connection, closed when the last unmounts', async () => {
		const transport = fakeTransport('sse');
		const { rerender, unmount } = render(SharedHarness, {
			transport,
			options: { initial: [task(1)], env },
			count: 3
		});
		expect(transport.attempts).toHaveLength(1);
		expect(shareCount(transport)).toBeGreaterThan(0);
		transport.last.sink.opened();
		transport.last.sink.message(JSON.stringify(task(2)));
		env.runFrames();
		flushSync();
		for (const name of ['Timeline 1', 'Timeline 2', 'Timeline 3']) {
			expect(screen.getByRole('region', { name }).querySelectorAll('li')).toHaveLength(2);
		}
		await rerender({ count: 1 });
		await released();
		expect(shareCount(transport)).toBeGreaterThan(0);
		expect(transport.openCount).toBe(1);
		unmount();
		await released();
		expect(shareCount(transport)).toBe(0);
		expect(transport.openCount).toBe(0);
		expect(env.listenerCount).toBe(0);
	});

	it('S14 a new transport prop releases the old connection and opens the new one', async () => {
		const first = fakeTransport('sse');
		const second = fakeTransport('polling');
		const { rerender } = render(SharedHarness, { transport: first, options: { env } });
		expect(first.openCount).toBe(1);
		await rerender({ transport: second });
		await released();
		expect(first.openCount).toBe(0);
		expect(shareCount(first)).toBe(0);
		expect(second.openCount).toBe(1);
		first.attempts[0]!.sink.opened();
		first.attempts[0]!.sink.message(JSON.stringify(task(9)));
		env.runFrames();
		flushSync();
		expect(screen.getAllByRole('region')[0]!.querySelectorAll('li')).toHaveLength(0);
	});
});

describe('<TransportBadge transport>', () => {
	it('observes the connection others open: a badge placed first does not configure it', async () => {
		const transport = fakeTransport('sse');
		render(BadgeFirst, { transport, options: { initial: [task(1), task(2)], env } });
		expect(screen.getAllByRole('listitem')).toHaveLength(2);
		expect(transport.attempts).toHaveLength(1);
		transport.last.sink.opened();
		flushSync();
		expect(screen.getByTestId('badge')).toHaveAttribute('data-status', 'live');
	});

	it('opens nothing on its own, and follows a connection that closes', async () => {
		const transport = fakeTransport('sse');
		const { rerender } = render(BadgeFirst, { transport, options: { env }, withTimeline: false });
		expect(transport.attempts).toHaveLength(0);
		expect(screen.getByTestId('badge')).toHaveAttribute('data-status', 'idle');
		await rerender({ withTimeline: true });
		transport.last.sink.opened();
		flushSync();
		expect(screen.getByTestId('badge')).toHaveAttribute('data-status', 'live');
		await rerender({ withTimeline: false });
		await released();
		flushSync();
		expect(transport.openCount).toBe(0);
		expect(screen.getByTestId('badge')).toHaveAttribute('data-status', 'idle');
	});
});
