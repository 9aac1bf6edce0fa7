import { render, screen } from '@testing-library/svelte';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CONNECTION_STATUSES } from '../../core/types.js';
import TransportBadge from './transport-badge.svelte';

const NOW = Date.UTC(2026, 0, 15, 12, 0, 0);

afterEach(() => {
	vi.useRealTimers();
});

describe('<TransportBadge>', () => {
	it.each(CONNECTION_STATUSES)('renders the %s status as text and attributes', (status) => {
		render(TransportBadge, { status, transport: 'sse', now: NOW });
		const badge = screen.getByRole('status');
		expect(badge).toHaveAttribute('data-status', status);
		expect(badge).toHaveAttribute('data-transport', 'sse');
		expect(badge).toHaveAttribute('data-variant', 'pill');
		expect(badge).toHaveTextContent(`SSE · ${status}`);
	});

	it('defaults to idle, without a transport attribute', () => {
		render(TransportBadge, {});
		const badge = screen.getByRole('status');
		expect(badge).toHaveAttribute('data-status', 'idle');
		expect(badge).not.toHaveAttribute('data-transport');
		expect(badge).not.toHaveAttribute('data-degraded');
		expect(badge).toHaveTextContent(/^idle$/);
	});

	it.each([
		['sse', 'SSE'],
		['polling', 'Polling'],
		['websocket', 'WebSocket'],
		['socket.io', 'Socket.IO'],
		['carrier-pigeon', 'carrier-pigeon']
	])('names the %s transport as %s', (transport, label) => {
		render(TransportBadge, { status: 'live', transport });
		expect(screen.getByRole('status')).toHaveTextContent(`${label} · live`);
	});

	it('marks a fallback', () => {
		render(TransportBadge, { status: 'live', transport: 'polling', degraded: true });
		const badge = screen.getByRole('status');
		expect(badge).toHaveAttribute('data-degraded', 'true');
		expect(badge).toHaveTextContent('Polling · live');
		expect(badge).toHaveTextContent('fallback');
	});

	it('shows countdown, attempt and last-event age in the detailed variant, outside the live region', () => {
		render(TransportBadge, {
			status: 'reconnecting',
			transport: 'sse',
			attempt: 3,
			retryAt: NOW + 4000,
			lastEventAt: NOW - 12_000,
			now: NOW,
			variant: 'detailed'
		});
		const badge = screen.getByRole('status');
		expect(badge).toHaveTextContent('SSE · reconnecting');
		const details = screen.getByText('retrying in 4 s · attempt 3 · last event 12 s ago');
		expect(details).toHaveAttribute('aria-hidden', 'true');
	});

	it('keeps details out of the pill variant', () => {
		render(TransportBadge, { status: 'reconnecting', attempt: 3, retryAt: NOW + 4000, now: NOW });
		expect(screen.getByRole('status')).not.toHaveTextContent('retrying');
	});

	it('gives the dot variant text for screen readers and a tooltip', () => {
		render(TransportBadge, {
			status: 'live',
			transport: 'polling',
			degraded: true,
			variant: 'dot'
		});
		const badge = screen.getByRole('status');
		expect(badge).toHaveAttribute('data-variant', 'dot');
		expect(badge).toHaveAttribute('title', 'Polling · live · fallback');
		expect(screen.getByText('Polling · live · fallback')).toHaveClass('srk-visually-hidden');
	});

	it('a follower tab: "shared" on the badge, "through another tab" in the detailed variant, the tooltip and the accessible name', () => {
		const follower = { role: 'follower', tabs: 2 } as const;
		for (const variant of ['pill', 'detailed', 'dot'] as const) {
			const { unmount } = render(TransportBadge, {
				status: 'live',
				transport: 'sse',
				shared: follower,
				lastEventAt: NOW - 3000,
				now: NOW,
				variant
			});
			const name = 'SSE · live · shared · through another tab';
			const badge = screen.getByRole('status', { name });
			expect(badge).toHaveAttribute('title', name);
			if (variant === 'dot') expect(screen.getByText(name)).toHaveClass('srk-visually-hidden');
			else expect(screen.getByText('SSE · live · shared')).toBeInTheDocument();
			if (variant === 'pill') expect(badge).not.toHaveTextContent('through another tab');
			if (variant === 'detailed') {
				// On the second line, with what ticks (hidden from the live region: the name says it).
				expect(screen.getByText('through another tab · last event 3 s ago')).toHaveAttribute(
					'aria-hidden',
					'true'
				);
			}
			unmount();
		}
	});

	it('the leading tab says how many tabs share its connection', () => {
		render(TransportBadge, {
			status: 'live',
			transport: 'socket.io',
			shared: { role: 'leader', tabs: 3 },
			variant: 'detailed'
		});
		const badge = screen.getByRole('status', {
			name: 'Socket.IO · live · shared · shared by 3 tabs'
		});
		expect(screen.getByText('shared by 3 tabs')).toHaveClass('srk-badge__details');
		expect(badge).toHaveTextContent(/^Socket\.IO · live · shared\s*shared by 3 tabs$/);
	});

	it('not shared: no tooltip on the pill or the detailed variant', () => {
		render(TransportBadge, { status: 'live', transport: 'sse', variant: 'detailed' });
		const badge = screen.getByRole('status');
		expect(badge).not.toHaveAttribute('title');
		expect(badge).toHaveTextContent(/^SSE · live$/);
	});

	it('explains an invalid shared state', () => {
		expect(() =>
			render(TransportBadge, { status: 'live', shared: { role: 'leader', tabs: 0 } })
		).toThrow(/`shared` needs role 'leader' \| 'follower', tabs ≥ 1; got "leader", 0/);
	});

	it('uses overridden labels', () => {
		render(TransportBadge, {
			status: 'reconnecting',
			transport: 'polling',
			attempt: 2,
			now: NOW,
			variant: 'detailed',
			labels: {
				status: { reconnecting: 'reconnexion' },
				transport: { polling: 'Sondage' },
				attempt: (n) => `essai ${n}`
			}
		});
		expect(screen.getByRole('status')).toHaveTextContent('Sondage · reconnexion');
		expect(screen.getByText('essai 2')).toBeInTheDocument();
	});

	it('spreads other attributes onto the root and merges classes', () => {
		render(TransportBadge, {
			status: 'live',
			id: 'conn',
			class: 'mine',
			'aria-label': 'Connection'
		});
		const badge = screen.getByRole('status', { name: 'Connection' });
		expect(badge).toHaveAttribute('id', 'conn');
		expect(badge).toHaveClass('srk-badge', 'mine');
	});

	it('ticks the countdown every second when no clock is given', async () => {
		vi.useFakeTimers({ now: NOW });
		render(TransportBadge, {
			status: 'reconnecting',
			retryAt: NOW + 3000,
			variant: 'detailed'
		});
		expect(screen.getByText('retrying in 3 s')).toBeInTheDocument();
		await vi.advanceTimersByTimeAsync(1000);
		expect(screen.getByText('retrying in 2 s')).toBeInTheDocument();
		await vi.advanceTimersByTimeAsync(2000);
		expect(screen.getByText('retrying now')).toBeInTheDocument();
	});

	it('stops its clock when unmounted', () => {
		vi.useFakeTimers({ now: NOW });
		const { unmount } = render(TransportBadge, {
			status: 'live',
			lastEventAt: NOW,
			variant: 'detailed'
		});
		expect(vi.getTimerCount()).toBe(1);
		unmount();
		expect(vi.getTimerCount()).toBe(0);
	});

	it('runs no timer when nothing ticks', () => {
		vi.useFakeTimers({ now: NOW });
		render(TransportBadge, { status: 'live', transport: 'sse', variant: 'detailed' });
		expect(vi.getTimerCount()).toBe(0);
	});

	it('explains an invalid status', () => {
		// @ts-expect-error: an invalid status, as plain JavaScript could pass
		expect(() => render(TransportBadge, { status: 'open' })).toThrow(/unknown status "open"/);
	});

	it.each(['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf'])(
		'S33 transport="%s" renders as the plain string, in every variant',
		(kind) => {
			for (const variant of ['pill', 'detailed', 'dot'] as const) {
				const { unmount } = render(TransportBadge, {
					transport: kind,
					status: 'live',
					variant,
					now: NOW
				});
				const badge = screen.getByRole('status');
				expect(badge).toHaveTextContent(new RegExp(`^${kind} · live$`));
				expect(badge).toHaveAttribute('data-transport', kind);
				expect(badge.textContent).not.toMatch(/function|native code|\[object/);
				if (variant === 'dot') expect(badge).toHaveAttribute('title', `${kind} · live`);
				unmount();
			}
		}
	);

	it.each(['constructor', '__proto__', 'toString'])(
		'S33 status="%s" is rejected with a message naming it',
		(status) => {
			// @ts-expect-error: an invalid status, as plain JavaScript could pass
			expect(() => render(TransportBadge, { status })).toThrow(
				new RegExp(`unknown status "${status}"`)
			);
		}
	);
});
