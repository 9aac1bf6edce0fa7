import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { CONNECTION_STATUSES } from '../../core/types.js';
import { defaultTransportBadgeLabels, describeBadge, resolveLabels } from './describe.js';

const NOW = Date.UTC(2026, 0, 15, 12, 0, 0);

describe('describeBadge', () => {
	it('names the transport and status', () => {
		const text = describeBadge({ status: 'live', transport: 'sse' }, NOW);
		expect(text.summary).toBe('SSE · live');
		expect(text.transportLabel).toBe('SSE');
		expect(text.fallbackLabel).toBeUndefined();
	});

	it('shows an unknown transport kind as given, and no transport as the status alone', () => {
		expect(describeBadge({ status: 'live', transport: 'webtransport' }, NOW).summary).toBe(
			'webtransport · live'
		);
		expect(describeBadge({ status: 'offline' }, NOW).summary).toBe('offline');
		expect(describeBadge({}, NOW).summary).toBe('idle');
	});

	it.each([
		[4000, 'retrying in 4 s'],
		[3001, 'retrying in 4 s'],
		[1, 'retrying in 1 s'],
		[0, 'retrying now'],
		[-2500, 'retrying now']
	])('counts down to retryAt (%i ms ahead → %s)', (ahead, expected) => {
		const text = describeBadge({ status: 'reconnecting', retryAt: NOW + ahead }, NOW);
		expect(text.retry).toBe(expected);
	});

	it('shows the countdown only while reconnecting', () => {
		expect(describeBadge({ status: 'live', retryAt: NOW + 4000 }, NOW).retry).toBeUndefined();
	});

	it('shows the attempt only while it matters', () => {
		expect(describeBadge({ status: 'reconnecting', attempt: 3 }, NOW).attempt).toBe('attempt 3');
		expect(describeBadge({ status: 'failed', attempt: 8 }, NOW).attempt).toBe('attempt 8');
		expect(describeBadge({ status: 'live', attempt: 3 }, NOW).attempt).toBeUndefined();
		expect(describeBadge({ status: 'connecting', attempt: 0 }, NOW).attempt).toBeUndefined();
	});

	it.each([
		[0, 'last event 0 s ago'],
		[59_999, 'last event 59 s ago'],
		[60_000, 'last event 1 min ago'],
		[3_599_999, 'last event 59 min ago'],
		[3_600_000, 'last event 1 h ago'],
		[86_399_999, 'last event 23 h ago'],
		[86_400_000, 'last event 1 d ago'],
		[2 * 86_400_000, 'last event 2 d ago']
	])('formats the last-event age (%i ms)', (age, expected) => {
		expect(describeBadge({ status: 'live', lastEventAt: NOW - age }, NOW).lastEvent).toBe(expected);
	});

	it('never shows a negative age when the event clock runs ahead', () => {
		expect(describeBadge({ status: 'live', lastEventAt: NOW + 5000 }, NOW).lastEvent).toBe(
			'last event 0 s ago'
		);
	});

	it('accepts Dates as well as epoch milliseconds', () => {
		const text = describeBadge(
			{ status: 'reconnecting', retryAt: new Date(NOW + 2000), lastEventAt: new Date(NOW - 7000) },
			new Date(NOW)
		);
		expect(text.retry).toBe('retrying in 2 s');
		expect(text.lastEvent).toBe('last event 7 s ago');
	});

	it('marks a degraded connection as fallback', () => {
		expect(
			describeBadge({ status: 'live', transport: 'polling', degraded: true }, NOW).fallbackLabel
		).toBe('fallback');
	});

	it('rejects an unknown status with a message naming it and the valid ones', () => {
		// @ts-expect-error: an invalid status, as plain JavaScript could pass
		expect(() => describeBadge({ status: 'open' }, NOW)).toThrow(
			/unknown status "open".*idle, connecting/
		);
	});

	it('rejects an invalid time, naming the prop', () => {
		expect(() => describeBadge({ status: 'reconnecting', retryAt: Number.NaN }, NOW)).toThrow(
			/`retryAt` must be a finite/
		);
		expect(() => describeBadge({ status: 'live' }, new Date('nope'))).toThrow(/`now` must be/);
	});

	it('has a label for every status', () => {
		for (const status of CONNECTION_STATUSES) {
			expect(defaultTransportBadgeLabels.status[status]).toMatch(/\S/);
		}
	});
});

describe('resolveLabels', () => {
	it('merges partial overrides over the defaults', () => {
		const labels = resolveLabels({
			status: { live: 'en direct' },
			transport: { sse: 'Flux' },
			retryingIn: (s) => `nouvel essai dans ${s} s`
		});
		expect(labels.status.live).toBe('en direct');
		expect(labels.status.offline).toBe('offline');
		expect(labels.transport.sse).toBe('Flux');
		expect(labels.transport.polling).toBe('Polling');
		expect(describeBadge({ status: 'reconnecting', retryAt: NOW + 3000 }, NOW, labels).retry).toBe(
			'nouvel essai dans 3 s'
		);
	});

	it('returns the defaults unchanged without overrides', () => {
		expect(resolveLabels(undefined)).toBe(defaultTransportBadgeLabels);
	});
});

describe('S33 strings that name Object.prototype members', () => {
	const KNOWN_KINDS = Object.keys(defaultTransportBadgeLabels.transport);
	/** `constructor`, `__proto__`, `toString`… and any other string. */
	const anyName = fc.oneof(
		fc.constantFrom(...Object.getOwnPropertyNames(Object.prototype)),
		fc.string()
	);

	it('S33 describeBadge shows a transport kind named after an Object.prototype member as the plain string', () => {
		expect(describeBadge({ status: 'live', transport: 'constructor' }, NOW).summary).toBe(
			'constructor · live'
		);
		fc.assert(
			fc.property(anyName, fc.constantFrom(...CONNECTION_STATUSES), (kind, status) => {
				fc.pre(kind !== '' && !KNOWN_KINDS.includes(kind));
				for (const labels of [undefined, resolveLabels({ transport: { sse: 'Flux' } })]) {
					const text = describeBadge({ status, transport: kind }, NOW, labels);
					expect(text.transportLabel).toBe(kind);
					expect(text.summary).toBe(`${kind} · ${defaultTransportBadgeLabels.status[status]}`);
				}
			}),
			{ numRuns: 300 }
		);
	});

	it('S33 describeBadge rejects a status named after an Object.prototype member, naming it', () => {
		fc.assert(
			fc.property(anyName, (status) => {
				fc.pre(!(CONNECTION_STATUSES as readonly string[]).includes(status));
				// @ts-expect-error: an invalid status, as plain JavaScript or a server could pass
				expect(() => describeBadge({ status }, NOW)).toThrow(
					new RegExp(`unknown status ${escape(JSON.stringify(status))}; expected one of idle,`)
				);
			}),
			{ numRuns: 300 }
		);
	});

	it('S33 a label given for such a name is used; one inherited never is', () => {
		const labels = resolveLabels({
			transport: JSON.parse('{"__proto__":"Proto","toString":"TS"}')
		});
		expect(describeBadge({ status: 'live', transport: '__proto__' }, NOW, labels).summary).toBe(
			'Proto · live'
		);
		expect(describeBadge({ status: 'live', transport: 'toString' }, NOW, labels).summary).toBe(
			'TS · live'
		);
		expect(describeBadge({ status: 'live', transport: 'valueOf' }, NOW, labels).summary).toBe(
			'valueOf · live'
		);
		// A status label table with an extra own key does not make that key a status.
		const extra = resolveLabels({ status: { constructor: 'built' } as never });
		// @ts-expect-error: an invalid status
		expect(() => describeBadge({ status: 'constructor' }, NOW, extra)).toThrow(/unknown status/);
	});
});

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('describeBadge with a shared connection', () => {
	const statuses = fc.constantFrom(...CONNECTION_STATUSES);
	const kinds = fc.constantFrom(undefined, 'sse', 'polling', 'websocket', 'socket.io');
	const tabs = fc.integer({ min: 1, max: 10_000 });

	it('says "shared" after the status, for the leader and a follower alike', () => {
		expect(
			describeBadge(
				{ status: 'live', transport: 'sse', shared: { role: 'follower', tabs: 2 } },
				NOW
			).summary
		).toBe('SSE · live · shared');
		fc.assert(
			fc.property(
				statuses,
				kinds,
				fc.constantFrom('leader' as const, 'follower' as const),
				tabs,
				fc.boolean(),
				(status, transport, role, n, degraded) => {
					const alone = describeBadge({ status, transport, degraded }, NOW);
					const text = describeBadge(
						{ status, transport, degraded, shared: { role, tabs: n } },
						NOW
					);
					expect(text.summary).toBe(`${alone.summary} · shared`);
					// Nothing else changes.
					expect({ ...text, summary: alone.summary, sharing: undefined }).toEqual(alone);
				}
			),
			{ numRuns: 300 }
		);
	});

	it('a follower: "through another tab", whatever the number of tabs', () => {
		fc.assert(
			fc.property(statuses, tabs, (status, n) => {
				const text = describeBadge({ status, shared: { role: 'follower', tabs: n } }, NOW);
				expect(text.sharing).toBe('through another tab');
			})
		);
	});

	it('the leader: how many tabs share its connection', () => {
		expect(
			describeBadge({ status: 'live', shared: { role: 'leader', tabs: 1 } }, NOW).sharing
		).toBe('no other tab yet');
		fc.assert(
			fc.property(statuses, fc.integer({ min: 2, max: 10_000 }), (status, n) => {
				const text = describeBadge({ status, shared: { role: 'leader', tabs: n } }, NOW);
				expect(text.sharing).toBe(`shared by ${n} tabs`);
			})
		);
	});

	it('not shared: no note and no tag', () => {
		const text = describeBadge({ status: 'live', transport: 'sse' }, NOW);
		expect(text.sharing).toBeUndefined();
		expect(text.summary).toBe('SSE · live');
	});

	it('uses overridden sharing labels', () => {
		const labels = resolveLabels({
			shared: 'geteilt',
			throughTab: 'über einen anderen Tab',
			sharedBy: (n) => `${n} Tabs`
		});
		const follower = describeBadge(
			{ status: 'live', transport: 'sse', shared: { role: 'follower', tabs: 3 } },
			NOW,
			labels
		);
		expect(follower.summary).toBe('SSE · live · geteilt');
		expect(follower.sharing).toBe('über einen anderen Tab');
		expect(
			describeBadge({ status: 'live', shared: { role: 'leader', tabs: 3 } }, NOW, labels).sharing
		).toBe('3 Tabs');
	});

	it('rejects a shared state that is not one, naming what it got', () => {
		const bad = fc.oneof(
			// an unknown role, with a valid count
			fc
				.tuple(fc.oneof(fc.string(), fc.constant(undefined), fc.integer()), tabs)
				.filter(([role]) => role !== 'leader' && role !== 'follower'),
			// a valid role, with a count below 1 or no number at all
			fc.tuple(
				fc.constantFrom('leader', 'follower'),
				fc.oneof(
					fc.integer({ max: 0 }),
					fc.double({ max: 1, maxExcluded: true }),
					fc.constantFrom(Number.NaN, 'two', undefined, null, {})
				)
			)
		);
		fc.assert(
			fc.property(bad, ([role, n]) => {
				expect(() =>
					describeBadge({ status: 'live', shared: { role, tabs: n } as never }, NOW)
				).toThrow(/`shared` needs role 'leader' \| 'follower', tabs ≥ 1; got /);
			}),
			{ numRuns: 300 }
		);
		expect(() =>
			describeBadge({ status: 'live', shared: { role: 'boss', tabs: 2 } as never }, NOW)
		).toThrow(/got "boss", 2$/);
	});
});
