import { describe, expect, it } from 'vitest';
import { TransportError } from '../errors.js';
import {
	initialMachineState,
	transition,
	type ConnectionEvent,
	type MachineState,
	type TransitionContext
} from './machine.js';
import { resolveRetryOptions } from './retry.js';

const ctx = (over: Partial<TransitionContext> = {}): TransitionContext => ({
	now: 10_000,
	random: 0.5,
	retry: resolveRetryOptions({ baseDelay: 1000, maxDelay: 30_000, minDelay: 100, minUptime: 5000 }),
	staleAfter: 1000,
	kind: 'sse',
	canResync: true,
	...over
});

function run(events: ConnectionEvent[], state = initialMachineState(), c = ctx()) {
	const effects = [];
	for (const event of events) {
		const result = transition(state, event, c);
		state = result.state;
		effects.push(...result.effects);
	}
	return { state, effects };
}

const retryable = (status = 503) =>
	new TransportError('down', { code: 'http', status, retryable: true });
const terminal = () => new TransportError('gone', { code: 'http', status: 404, retryable: false });

function live(): MachineState {
	return run([{ type: 'start' }, { type: 'opened', attemptId: 1, info: {} }]).state;
}

describe('transition', () => {
	it('start opens the first attempt', () => {
		const { state, effects } = run([{ type: 'start' }]);
		expect(state).toMatchObject({
			status: 'connecting',
			attempt: 1,
			attemptId: 1,
			transport: 'sse'
		});
		expect(effects).toContainEqual({ type: 'open', attemptId: 1, n: 1 });
	});

	it('start is a no-op while connecting or live', () => {
		const connecting = run([{ type: 'start' }]).state;
		expect(transition(connecting, { type: 'start' }, ctx())).toEqual({
			state: connecting,
			effects: []
		});
		const up = live();
		expect(transition(up, { type: 'start' }, ctx()).effects).toEqual([]);
	});

	it('start while offline waits for the network', () => {
		const { state, effects } = run([{ type: 'start' }], initialMachineState(false));
		expect(state.status).toBe('offline');
		expect(effects.some((e) => e.type === 'open')).toBe(false);
	});

	it('opened makes the connection live, unbroken, and arms the silence and uptime timers', () => {
		const { state, effects } = run([{ type: 'start' }, { type: 'opened', attemptId: 1, info: {} }]);
		expect(state).toMatchObject({
			status: 'live',
			continuity: 'unbroken',
			lastEventAt: 10_000,
			error: undefined
		});
		expect(effects).toContainEqual({ type: 'schedule', timer: 'silence', delay: 1000 });
		expect(effects).toContainEqual({ type: 'schedule', timer: 'uptime', delay: 5000 });
		expect(effects.some((e) => e.type === 'resync')).toBe(false);
	});

	it('takes the transport kind and degradation from the opened info', () => {
		const { state } = run([
			{ type: 'start' },
			{ type: 'opened', attemptId: 1, info: { transport: 'polling', degraded: true } }
		]);
		expect(state).toMatchObject({ transport: 'polling', degraded: true });
	});

	it('S14 ignores every callback from a superseded attempt', () => {
		const first = run([
			{ type: 'start' },
			{ type: 'failed', attemptId: 1, error: retryable() },
			{ type: 'timer', timer: 'retry' }
		]).state;
		expect(first.attemptId).toBe(2);
		for (const event of [
			{ type: 'opened', attemptId: 1, info: {} },
			{ type: 'message', attemptId: 1 },
			{ type: 'heartbeat', attemptId: 1 },
			{ type: 'hint', attemptId: 1, hints: { retryMs: 5 } },
			{ type: 'failed', attemptId: 1, error: terminal() },
			{ type: 'ended', attemptId: 1, final: true },
			{ type: 'resynced', attemptId: 1, ok: true }
		] satisfies ConnectionEvent[]) {
			expect(transition(first, event, ctx())).toEqual({ state: first, effects: [] });
		}
	});

	it('message and heartbeat refresh liveness without timer churn', () => {
		const up = live();
		const later = ctx({ now: 10_500 });
		const afterMessage = transition(up, { type: 'message', attemptId: 1 }, later);
		expect(afterMessage.state.lastEventAt).toBe(10_500);
		expect(afterMessage.effects).toEqual([]);
		const afterBeat = transition(up, { type: 'heartbeat', attemptId: 1 }, later);
		expect(afterBeat.state.lastEventAt).toBe(10_500);
	});

	describe('S06 silence', () => {
		it('turns stale after staleAfter, then forces a reconnect after twice that', () => {
			const up = live();
			const stale = transition(up, { type: 'timer', timer: 'silence' }, ctx({ now: 11_000 }));
			expect(stale.state.status).toBe('stale');
			expect(stale.effects).toEqual([{ type: 'schedule', timer: 'silence', delay: 1000 }]);
			const dropped = transition(
				stale.state,
				{ type: 'timer', timer: 'silence' },
				ctx({ now: 12_000 })
			);
			expect(dropped.state.status).toBe('reconnecting');
			expect(dropped.state.error?.code).toBe('timeout');
			// The attempt learns why it was dropped: a fallback chain moves past a silent member.
			expect(dropped.effects).toContainEqual({
				type: 'close',
				attemptId: 1,
				reason: dropped.state.error
			});
		});

		it('re-arms for the remaining time when something arrived meanwhile', () => {
			const up = transition(live(), { type: 'message', attemptId: 1 }, ctx({ now: 10_600 })).state;
			const check = transition(up, { type: 'timer', timer: 'silence' }, ctx({ now: 11_000 }));
			expect(check.state.status).toBe('live');
			expect(check.effects).toEqual([{ type: 'schedule', timer: 'silence', delay: 600 }]);
		});

		it('a message brings a stale connection back to live', () => {
			const stale = transition(
				live(),
				{ type: 'timer', timer: 'silence' },
				ctx({ now: 11_000 })
			).state;
			expect(
				transition(stale, { type: 'message', attemptId: 1 }, ctx({ now: 11_100 })).state.status
			).toBe('live');
		});

		it('a transport quiet by design stretches the limit', () => {
			const up = transition(
				live(),
				{ type: 'hint', attemptId: 1, hints: { silenceMs: 5000 } },
				ctx()
			).state;
			const check = transition(up, { type: 'timer', timer: 'silence' }, ctx({ now: 11_000 }));
			expect(check.state.status).toBe('live');
			expect(check.effects).toEqual([{ type: 'schedule', timer: 'silence', delay: 9000 }]);
		});
	});

	it('a retryable failure schedules a jittered retry and counts the attempt', () => {
		const { state, effects } = run(
			[{ type: 'start' }, { type: 'failed', attemptId: 1, error: retryable() }],
			undefined,
			ctx({ random: 0.5 })
		);
		expect(state).toMatchObject({
			status: 'reconnecting',
			attempt: 2,
			failures: 1,
			retryAt: 10_550
		});
		expect(effects).toContainEqual({ type: 'close', attemptId: 1, reason: state.error });
		expect(effects).toContainEqual({ type: 'schedule', timer: 'retry', delay: 550 });
	});

	it('the retry timer opens the next attempt', () => {
		const waiting = run([
			{ type: 'start' },
			{ type: 'failed', attemptId: 1, error: retryable() }
		]).state;
		const { state, effects } = transition(waiting, { type: 'timer', timer: 'retry' }, ctx());
		expect(state).toMatchObject({
			status: 'reconnecting',
			attemptId: 2,
			attempt: 2,
			retryAt: undefined
		});
		expect(effects).toContainEqual({ type: 'open', attemptId: 2, n: 2 });
	});

	it('S03 a terminal failure stops with the error', () => {
		const { state, effects } = run([
			{ type: 'start' },
			{ type: 'failed', attemptId: 1, error: terminal() }
		]);
		expect(state.status).toBe('failed');
		expect(state.error?.status).toBe(404);
		expect(effects.some((e) => e.type === 'schedule')).toBe(false);
	});

	it('S03 honours Retry-After over the backoff', () => {
		const error = new TransportError('busy', {
			code: 'http',
			status: 429,
			retryable: true,
			retryAfterMs: 7000
		});
		const { effects } = run([{ type: 'start' }, { type: 'failed', attemptId: 1, error }]);
		expect(effects).toContainEqual({ type: 'schedule', timer: 'retry', delay: 7000 });
	});

	it('P7 an announced heartbeat shortens the silence limit to 1.5 intervals, at once', () => {
		const c = ctx({ staleAfter: 45_000 });
		const opened = run(
			[{ type: 'start' }, { type: 'opened', attemptId: 1, info: {} }],
			undefined,
			c
		);
		expect(opened.effects).toContainEqual({ type: 'schedule', timer: 'silence', delay: 45_000 });
		const hinted = transition(
			opened.state,
			{ type: 'hint', attemptId: 1, hints: { heartbeatMs: 1000 } },
			{ ...c, now: c.now + 200 }
		);
		expect(hinted.effects).toEqual([{ type: 'schedule', timer: 'silence', delay: 1300 }]);
		const stale = transition(
			hinted.state,
			{ type: 'timer', timer: 'silence' },
			{ ...c, now: c.now + 1500 }
		);
		expect(stale.state.status).toBe('stale');
		// a staleAfter shorter than 1.5 intervals still wins
		const short = ctx({ staleAfter: 1000 });
		const { state } = run(
			[
				{ type: 'start' },
				{ type: 'opened', attemptId: 1, info: {} },
				{ type: 'hint', attemptId: 1, hints: { heartbeatMs: 1000 } }
			],
			undefined,
			short
		);
		expect(
			transition(state, { type: 'timer', timer: 'silence' }, { ...short, now: short.now + 1000 })
				.state.status
		).toBe('stale');
	});

	it('forgets an announced heartbeat when a connection opens: the next server announces its own', () => {
		const c = ctx({ staleAfter: 45_000 });
		const { state } = run(
			[
				{ type: 'start' },
				{ type: 'opened', attemptId: 1, info: {} },
				{ type: 'hint', attemptId: 1, hints: { heartbeatMs: 1000 } },
				{ type: 'opened', attemptId: 1, info: { transport: 'websocket' } }
			],
			undefined,
			c
		);
		expect(state.heartbeatMs).toBeUndefined();
		const later = transition(
			state,
			{ type: 'timer', timer: 'silence' },
			{ ...c, now: c.now + 5000 }
		);
		expect(later.state.status).toBe('live');
	});

	it('S10 the server retry hint sets the base of the backoff', () => {
		const { effects } = run(
			[
				{ type: 'start' },
				{ type: 'opened', attemptId: 1, info: {} },
				{ type: 'hint', attemptId: 1, hints: { retryMs: 4000 } },
				{ type: 'ended', attemptId: 1, final: false }
			],
			undefined,
			ctx({ random: 0.5 })
		);
		expect(effects).toContainEqual({ type: 'schedule', timer: 'retry', delay: 2050 });
	});

	it('S16 gives up after maxAttempts; retry() starts over', () => {
		const c = ctx({ retry: resolveRetryOptions({ maxAttempts: 2, minDelay: 0 }) });
		let state = run(
			[{ type: 'start' }, { type: 'failed', attemptId: 1, error: retryable() }],
			undefined,
			c
		).state;
		expect(state.status).toBe('reconnecting');
		state = run(
			[
				{ type: 'timer', timer: 'retry' },
				{ type: 'failed', attemptId: 2, error: retryable() }
			],
			state,
			c
		).state;
		expect(state.status).toBe('failed');
		const again = transition(state, { type: 'retry' }, c);
		// never live yet, so this is still a first connection
		expect(again.state).toMatchObject({
			status: 'connecting',
			failures: 0,
			attempt: 1,
			error: undefined
		});
		expect(again.effects).toContainEqual({ type: 'open', attemptId: 3, n: 1 });
	});

	it('S15 the failure count resets only after minUptime', () => {
		let state = run([
			{ type: 'start' },
			{ type: 'failed', attemptId: 1, error: retryable() },
			{ type: 'timer', timer: 'retry' },
			{ type: 'opened', attemptId: 2, info: {} }
		]).state;
		expect(state.failures).toBe(1);
		state = transition(state, { type: 'failed', attemptId: 2, error: retryable() }, ctx()).state;
		expect(state.failures).toBe(2);
		state = run(
			[
				{ type: 'timer', timer: 'retry' },
				{ type: 'opened', attemptId: 3, info: {} },
				{ type: 'timer', timer: 'uptime' }
			],
			state
		).state;
		expect(state.failures).toBe(0);
	});

	it('S02 a final end closes for good', () => {
		const { state, effects } = run([
			{ type: 'start' },
			{ type: 'opened', attemptId: 1, info: {} },
			{ type: 'ended', attemptId: 1, final: true }
		]);
		expect(state.status).toBe('closed');
		expect(effects).toContainEqual({ type: 'cancel', timer: 'retry' });
		expect(effects.some((e) => e.type === 'schedule' && e.timer === 'retry')).toBe(false);
	});

	it('S01 a clean end reconnects after a backoff', () => {
		const { state, effects } = run([
			{ type: 'start' },
			{ type: 'opened', attemptId: 1, info: {} },
			{ type: 'ended', attemptId: 1, final: false }
		]);
		expect(state.status).toBe('reconnecting');
		expect(effects.some((e) => e.type === 'schedule' && e.timer === 'retry')).toBe(true);
	});

	describe('S20 continuity', () => {
		const reconnect = (info: { resumed?: boolean }, c = ctx()) =>
			run(
				[
					{ type: 'failed', attemptId: 1, error: retryable() },
					{ type: 'timer', timer: 'retry' },
					{ type: 'opened', attemptId: 2, info }
				],
				live(),
				c
			);

		it('an unproven reconnect asks for one resync, then records the result', () => {
			const { state, effects } = reconnect({});
			expect(state.continuity).toBe('unknown');
			expect(effects.filter((e) => e.type === 'resync')).toEqual([
				{ type: 'resync', attemptId: 2 }
			]);
			expect(
				transition(state, { type: 'resynced', attemptId: 2, ok: true }, ctx()).state.continuity
			).toBe('resynced');
			expect(
				transition(state, { type: 'resynced', attemptId: 2, ok: false }, ctx()).state.continuity
			).toBe('unknown');
		});

		it('a resumed reconnect needs no resync', () => {
			const { state, effects } = reconnect({ resumed: true });
			expect(state.continuity).toBe('resumed');
			expect(effects.some((e) => e.type === 'resync')).toBe(false);
		});

		it('without a resync function the gap stays unknown', () => {
			const { state, effects } = reconnect({}, ctx({ canResync: false }));
			expect(state.continuity).toBe('unknown');
			expect(effects.some((e) => e.type === 'resync')).toBe(false);
		});

		it('a transport switch while live counts as a reconnect', () => {
			const { state, effects } = run(
				[{ type: 'opened', attemptId: 1, info: { transport: 'sse', degraded: false } }],
				transition(
					live(),
					{ type: 'opened', attemptId: 1, info: { transport: 'polling', degraded: true } },
					ctx()
				).state
			);
			expect(state).toMatchObject({ transport: 'sse', degraded: false, continuity: 'unknown' });
			expect(effects).toContainEqual({ type: 'resync', attemptId: 1 });
		});
	});

	describe('S05 network', () => {
		it('offline closes the attempt and cancels every timer', () => {
			const { state, effects } = transition(live(), { type: 'network', online: false }, ctx());
			expect(state.status).toBe('offline');
			expect(effects).toContainEqual({ type: 'close', attemptId: 1 });
			expect(effects).toEqual(
				expect.arrayContaining([
					{ type: 'cancel', timer: 'retry' },
					{ type: 'cancel', timer: 'silence' },
					{ type: 'cancel', timer: 'uptime' }
				])
			);
		});

		it('a failure while offline waits instead of scheduling', () => {
			const offlineState = { ...run([{ type: 'start' }]).state, online: false };
			const { state, effects } = transition(
				offlineState,
				{ type: 'failed', attemptId: 1, error: retryable() },
				ctx()
			);
			expect(state.status).toBe('offline');
			expect(effects.some((e) => e.type === 'schedule')).toBe(false);
		});

		it('online retries at once', () => {
			const offline = transition(live(), { type: 'network', online: false }, ctx()).state;
			const { state, effects } = transition(offline, { type: 'network', online: true }, ctx());
			expect(state.status).toBe('reconnecting');
			expect(effects).toContainEqual({ type: 'open', attemptId: 2, n: 1 });
		});

		it('online skips a pending backoff', () => {
			const waiting = run([
				{ type: 'start' },
				{ type: 'failed', attemptId: 1, error: retryable() }
			]).state;
			const { effects } = transition(waiting, { type: 'network', online: true }, ctx());
			expect(effects).toContainEqual({ type: 'open', attemptId: 2, n: 2 });
		});
	});

	it('S23 becoming visible skips a pending backoff; hiding changes nothing', () => {
		const waiting = run([
			{ type: 'start' },
			{ type: 'failed', attemptId: 1, error: retryable() }
		]).state;
		expect(transition(waiting, { type: 'visibility', visible: false }, ctx()).effects).toEqual([]);
		expect(
			transition(waiting, { type: 'visibility', visible: true }, ctx()).effects
		).toContainEqual({ type: 'open', attemptId: 2, n: 2 });
		expect(transition(live(), { type: 'visibility', visible: true }, ctx()).effects).toEqual([]);
	});

	it('pause closes and waits; resume reconnects', () => {
		const paused = transition(live(), { type: 'pause' }, ctx());
		expect(paused.state.status).toBe('paused');
		expect(paused.effects).toContainEqual({ type: 'close', attemptId: 1 });
		expect(transition(paused.state, { type: 'retry' }, ctx()).effects).toEqual([]);
		expect(transition(paused.state, { type: 'start' }, ctx()).effects).toEqual([]);
		const resumed = transition(paused.state, { type: 'resume' }, ctx());
		expect(resumed.state.status).toBe('connecting');
		expect(resumed.effects).toContainEqual({ type: 'open', attemptId: 2, n: 1 });
		expect(transition(live(), { type: 'resume' }, ctx()).effects).toEqual([]);
	});

	it('S12 stop closes once and cancels every timer; a second stop does nothing', () => {
		const stopped = transition(live(), { type: 'stop' }, ctx());
		expect(stopped.state.status).toBe('closed');
		expect(stopped.effects.filter((e) => e.type === 'close')).toHaveLength(1);
		expect(stopped.effects.filter((e) => e.type === 'cancel')).toHaveLength(3);
		expect(transition(stopped.state, { type: 'stop' }, ctx()).effects).toEqual([]);
	});

	it('stop while connecting closes the attempt', () => {
		const { effects } = run([{ type: 'start' }, { type: 'stop' }]);
		expect(effects).toContainEqual({ type: 'close', attemptId: 1 });
	});

	it('retry while live or connecting does nothing; while stale it reconnects now', () => {
		expect(transition(live(), { type: 'retry' }, ctx()).effects).toEqual([]);
		expect(transition(run([{ type: 'start' }]).state, { type: 'retry' }, ctx()).effects).toEqual(
			[]
		);
		const stale = transition(
			live(),
			{ type: 'timer', timer: 'silence' },
			ctx({ now: 11_000 })
		).state;
		const { effects } = transition(stale, { type: 'retry' }, ctx());
		expect(effects[0]).toEqual({ type: 'close', attemptId: 1 });
		expect(effects).toContainEqual({ type: 'open', attemptId: 2, n: 1 });
	});

	it('stale timers after leaving a state do nothing', () => {
		const closed = transition(live(), { type: 'stop' }, ctx()).state;
		for (const timer of ['retry', 'silence', 'uptime'] as const) {
			expect(transition(closed, { type: 'timer', timer }, ctx())).toEqual({
				state: closed,
				effects: []
			});
		}
	});
});
