// `<LiveSource share shareKey>` in Chromium: two live sources in one page with two adapter objects
// of the same identity share one connection through Web Locks and a BroadcastChannel, as two tabs
// do. Each adapter keeps its own registry entry (the registry keys by adapter object); the sharing
// happens below it.
import { flushSync, mount, unmount, type Component } from 'svelte';
import { afterEach, describe, expect, it } from 'vitest';
import { LiveSource, TransportBadge } from '../../index.js';
import type { Transport, TransportSink } from '../../core/transports/types.js';

interface Task {
	id: string;
	title: string;
}

const TASKS: Task[] = [
	{ id: 'a', title: 'One' },
	{ id: 'b', title: 'Two' }
];

/** An adapter that opens "the same" stream as any other made here with the same `url`. */
function stream(url: string) {
	const open: Array<{ sink: TransportSink<unknown>; closed: boolean }> = [];
	const transport: Transport<unknown> & {
		open: Transport<unknown>['open'];
		attempts: typeof open;
	} = {
		kind: 'sse',
		identity: { url },
		attempts: open,
		open(sink) {
			const attempt = { sink, closed: false };
			open.push(attempt);
			queueMicrotask(() => {
				if (attempt.closed) return;
				sink.opened({ resumed: true });
				sink.message(TASKS, { event: 'snapshot', id: '1' });
			});
			return { close: () => void (attempt.closed = true) };
		}
	};
	return transport;
}

const mounted: Array<{ app: Record<string, unknown>; host: HTMLElement }> = [];
afterEach(() => {
	for (const { app, host } of mounted.splice(0).reverse()) {
		unmount(app);
		host.remove();
	}
});

/** Mounts a component (a generic one, such as `<LiveSource>`, too) in a host of its own. */
function place(component: unknown, props: Record<string, unknown>) {
	const host = document.createElement('div');
	document.body.append(host);
	const app = mount(component as Component<Record<string, unknown>>, { target: host, props });
	mounted.push({ app, host });
	return host;
}

/** A "tab": a `<LiveSource>` for `transport` and a detailed badge watching it. */
function tab(transport: Transport<unknown>, options: Record<string, unknown>) {
	place(LiveSource, { transport, ...options });
	return place(TransportBadge, { transport, variant: 'detailed' });
}

const text = (host: HTMLElement) => host.querySelector('.srk-badge')?.textContent?.trim() ?? '';
const title = (host: HTMLElement) => host.querySelector('.srk-badge')?.getAttribute('title');
const until = (check: () => void) =>
	expect.poll(() => (check(), true), { timeout: 5000 }).toBe(true);
const live = (transport: ReturnType<typeof stream>) =>
	transport.attempts.filter((attempt) => !attempt.closed).length;

describe('<LiveSource share>', () => {
	it("share='tabs': one connection for two sources of the same identity; the badges say which leads", async () => {
		const shareKey = `user-${Math.random()}`;
		const [first, second] = [stream('/tasks/stream'), stream('/tasks/stream')];
		const leader = tab(first, { share: 'tabs', shareKey });
		await until(() => expect(text(leader)).toMatch(/^SSE · live · shared/));
		const follower = tab(second, { share: 'tabs', shareKey });
		await until(() => {
			expect(title(follower)).toBe('SSE · live · shared · through another tab');
			expect(title(leader)).toBe('SSE · live · shared · shared by 2 tabs');
		});
		expect(text(follower)).toMatch(/^SSE · live · shared\s*through another tab/);
		expect(live(first) + live(second)).toBe(1);
		expect(second.attempts).toHaveLength(0);
	});

	it('another shareKey (another user) never shares', async () => {
		const [first, second] = [stream('/tasks/stream'), stream('/tasks/stream')];
		const one = tab(first, { share: 'tabs', shareKey: `ada-${Math.random()}` });
		const two = tab(second, { share: 'tabs', shareKey: `eve-${Math.random()}` });
		await until(() => {
			expect(title(one)).toBe('SSE · live · shared · no other tab yet');
			expect(title(two)).toBe('SSE · live · shared · no other tab yet');
		});
		expect(live(first)).toBe(1);
		expect(live(second)).toBe(1);
	});

	it('without share: each source connects, and the badge says nothing of tabs', async () => {
		const [first, second] = [stream('/tasks/stream'), stream('/tasks/stream')];
		const one = tab(first, {});
		const two = tab(second, {});
		await until(() => {
			expect(text(one)).toMatch(/^SSE · live\s+last event/);
			expect(text(two)).toMatch(/^SSE · live\s+last event/);
		});
		expect(title(one)).toBeNull();
		expect(live(first) + live(second)).toBe(2);
	});

	it('a bad share value is refused with a clear error', () => {
		expect(() => {
			place(LiveSource, { transport: stream('/x'), share: 'yes' as never });
			flushSync();
		}).toThrow(/share/);
	});

	it('unmounting the leader hands the connection to the other source', async () => {
		const shareKey = `user-${Math.random()}`;
		const [first, second] = [stream('/tasks/stream'), stream('/tasks/stream')];
		const leader = tab(first, { share: 'tabs', shareKey });
		await until(() => expect(text(leader)).toMatch(/^SSE · live · shared/));
		const follower = tab(second, { share: 'tabs', shareKey });
		await until(() => expect(title(follower)).toMatch(/through another tab$/));
		// The leader's source and badge go away (the first two mounts).
		for (const { app, host } of mounted.splice(0, 2)) {
			unmount(app);
			host.remove();
		}
		await until(() => expect(title(follower)).toBe('SSE · live · shared · no other tab yet'));
		expect(live(first)).toBe(0);
		expect(live(second)).toBe(1);
	});
});
