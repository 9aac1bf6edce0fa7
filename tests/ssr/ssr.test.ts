import { render } from 'svelte/server';
import { describe, expect, it } from 'vitest';
import { shareCount } from '../../src/lib/svelte/registry.js';
import { fakeTransport } from '../helpers/fake-transport.js';
import LiveHarness from '../harness/live-harness.svelte';
import SharedHarness from '../harness/shared-harness.svelte';
import BadgeFirst from '../harness/badge-first.svelte';
import { ActivityTimeline, TransportBadge } from '../../src/lib/index.js';

const task = (id: number) => ({ id, title: `Task ${id}`, done: false });

describe('server rendering', () => {
	it('renders the initial rows and opens nothing', () => {
		const transport = fakeTransport('sse');
		const { body } = render(LiveHarness, {
			props: { source: { transport, initial: [task(1), task(2)] } }
		});
		expect(body).toContain('Task 1');
		expect(body).toContain('Task 2');
		expect(body).toContain('2 rows, idle');
		expect(body).toContain('data-status="idle"');
		expect(transport.attempts).toHaveLength(0);
		expect(shareCount(transport)).toBe(0);
	});

	it('a component with its own transport renders its initial rows and opens nothing', () => {
		const transport = fakeTransport('sse');
		const { body } = render(SharedHarness, {
			props: { transport, options: { initial: [task(5)] }, count: 1 }
		});
		expect(body).toContain('Task 5');
		expect(transport.attempts).toHaveLength(0);
	});

	it('two requests rendering with one module-level adapter share no rows', () => {
		const transport = fakeTransport('sse');
		const first = render(SharedHarness, {
			props: { transport, options: { initial: [task(1)] }, count: 1 }
		});
		const second = render(SharedHarness, {
			props: { transport, options: { initial: [task(2)] }, count: 1 }
		});
		expect(first.body).toContain('Task 1');
		expect(second.body).not.toContain('Task 1');
		expect(second.body).toContain('Task 2');
	});

	it('a badge watching a connection says "connecting" before hydration, not "idle"', () => {
		const badgeOf = (body: string) => /<div[^>]*class="srk-badge[^"]*"[^>]*>/.exec(body)?.[0] ?? '';
		// inside a <LiveSource>
		const inSource = render(LiveHarness, {
			props: { source: { transport: fakeTransport('sse'), initial: [task(1)] } }
		}).body;
		expect(badgeOf(inSource)).toContain('data-status="connecting"');
		expect(inSource).toContain('>connecting<');
		// given the adapter the timeline opens
		const withAdapter = render(BadgeFirst, { props: { transport: fakeTransport('sse') } }).body;
		expect(badgeOf(withAdapter)).toContain('data-status="connecting"');
		// a badge given its state shows that state
		const plain = render(TransportBadge, { props: { status: 'idle' } }).body;
		expect(badgeOf(plain)).toContain('data-status="idle"');
	});

	it('a toggle rendered on the server is disabled until the page runs (a click would be lost)', () => {
		const { body } = render(ActivityTimeline, {
			props: { items: [task(1), { ...task(2), done: true }], onToggle: () => undefined }
		});
		const boxes = body.match(/<input[^>]*type="checkbox"[^>]*>/g) ?? [];
		expect(boxes).toHaveLength(2);
		for (const box of boxes) expect(box).toMatch(/\sdisabled(\s|=|>|\/)/);
	});
});
