import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createFakeEnv, type FakeEnv } from '../../../../tests/helpers/fake-env.js';
import { fakeTransport } from '../../../../tests/helpers/fake-transport.js';
import { createConnection } from '../connection/connection.js';
import { TransportError } from '../errors.js';
import { fallback } from './fallback.js';
import type { TransportSink } from './types.js';

const retryable = () => new TransportError('down', { code: 'network', retryable: true });
const terminal = () => new TransportError('html', { code: 'content-type', retryable: false });

let env: FakeEnv;
beforeEach(() => {
	vi.useFakeTimers({ now: 0 });
	env = createFakeEnv();
});
afterEach(() => vi.useRealTimers());

function recordingSink() {
	const calls: Array<[string, unknown?]> = [];
	const sink: TransportSink<unknown> = {
		opened: (info) => calls.push(['opened', info]),
		message: (data) => calls.push(['message', data]),
		dropped: (error) => calls.push(['dropped', error.message]),
		heartbeat: () => calls.push(['heartbeat']),
		hint: (hints) => calls.push(['hint', hints]),
		failed: (error) => calls.push(['failed', error.code]),
		ended: (info) => calls.push(['ended', info])
	};
	return { sink, calls };
}

const attempt = (n = 1) => ({
	n,
	lastEventId: undefined,
	signal: new AbortController().signal,
	env
});

describe('fallback', () => {
	it('uses the first transport while it works', () => {
		const ws = fakeTransport('websocket');
		const sse = fakeTransport('sse');
		const { sink, calls } = recordingSink();
		fallback(ws, sse).open(sink, attempt());
		ws.last.sink.opened();
		ws.last.sink.message('hi');
		expect(calls).toEqual([
			['opened', { transport: 'websocket', degraded: false }],
			['message', 'hi']
		]);
		expect(sse.attempts).toHaveLength(0);
	});

	it('S04 moves down at once on a non-retryable failure and reports degraded', () => {
		const sse = fakeTransport('sse');
		const poll = fakeTransport('polling');
		const { sink, calls } = recordingSink();
		fallback(sse, poll).open(sink, attempt());
		sse.last.sink.failed(terminal());
		expect(sse.last.closed).toBe(true);
		expect(poll.attempts).toHaveLength(1);
		poll.last.sink.opened();
		expect(calls).toEqual([['opened', { transport: 'polling', degraded: true }]]);
	});

	it('waits for moveAfter retryable failures before moving down', () => {
		const sse = fakeTransport('sse');
		const poll = fakeTransport('polling');
		const chain = fallback([sse, poll], { moveAfter: 2 });
		const first = recordingSink();
		chain.open(first.sink, attempt(1));
		sse.last.sink.failed(retryable());
		expect(first.calls).toEqual([['failed', 'network']]);
		expect(poll.attempts).toHaveLength(0);
		const second = recordingSink();
		chain.open(second.sink, attempt(2));
		expect(sse.attempts).toHaveLength(2);
		sse.last.sink.failed(retryable());
		expect(poll.attempts).toHaveLength(1);
		expect(second.calls).toEqual([]);
	});

	it('skips unsupported transports, and fails clearly when none can run', () => {
		const ws = fakeTransport('websocket', false);
		const sse = fakeTransport('sse');
		const { sink, calls } = recordingSink();
		fallback(ws, sse).open(sink, attempt());
		expect(ws.attempts).toHaveLength(0);
		sse.last.sink.opened();
		expect(calls[0]).toEqual(['opened', { transport: 'sse', degraded: false }]);

		const none = recordingSink();
		fallback(fakeTransport('a', false), fakeTransport('b', false)).open(none.sink, attempt());
		expect(none.calls).toEqual([['failed', 'unsupported']]);
	});

	it('remembers the winner for the next attempt', () => {
		const sse = fakeTransport('sse');
		const poll = fakeTransport('polling');
		const chain = fallback(sse, poll);
		chain.open(recordingSink().sink, attempt(1));
		sse.last.sink.failed(terminal());
		poll.last.sink.opened();
		poll.last.sink.failed(retryable());
		chain.open(recordingSink().sink, attempt(2));
		expect(sse.attempts).toHaveLength(1);
		expect(poll.attempts).toHaveLength(2);
	});

	it('starts from the top again after the whole chain failed', () => {
		const sse = fakeTransport('sse');
		const poll = fakeTransport('polling');
		const chain = fallback(sse, poll);
		const first = recordingSink();
		chain.open(first.sink, attempt(1));
		sse.last.sink.failed(retryable());
		poll.last.sink.failed(retryable());
		expect(first.calls).toEqual([['failed', 'network']]);
		chain.open(recordingSink().sink, attempt(2));
		expect(sse.attempts).toHaveLength(2);
	});

	it('probes the preferred transport and switches back up without losing messages', () => {
		const sse = fakeTransport('sse');
		const poll = fakeTransport('polling');
		const { sink, calls } = recordingSink();
		const connection = fallback([sse, poll], { probeInterval: 1000 }).open(sink, attempt());
		sse.last.sink.failed(terminal());
		poll.last.sink.opened();
		vi.advanceTimersByTime(1000);
		expect(sse.attempts).toHaveLength(2);
		const probe = sse.last;
		poll.last.sink.message('from polling during the probe');
		probe.sink.opened();
		// Opened is not enough (a buffering proxy opens and delivers nothing): the first delivery is.
		expect(poll.last.closed).toBe(false);
		poll.last.sink.message('from polling, the probe open');
		probe.sink.message('from sse');
		expect(poll.last.closed).toBe(true);
		poll.last.sink.message('late, from the dropped transport');
		expect(calls).toEqual([
			['opened', { transport: 'polling', degraded: true }],
			['message', 'from polling during the probe'],
			['message', 'from polling, the probe open'],
			['opened', { transport: 'sse', degraded: false }],
			['message', 'from sse']
		]);
		connection.close();
		expect(vi.getTimerCount()).toBe(0);
	});

	it('a failed probe keeps the fallback running and probes again later', () => {
		const sse = fakeTransport('sse');
		const poll = fakeTransport('polling');
		const { sink, calls } = recordingSink();
		fallback([sse, poll], { probeInterval: 1000 }).open(sink, attempt());
		sse.last.sink.failed(terminal());
		poll.last.sink.opened();
		vi.advanceTimersByTime(1000);
		sse.last.sink.failed(retryable());
		expect(poll.last.closed).toBe(false);
		expect(calls.filter(([c]) => c === 'failed')).toEqual([]);
		vi.advanceTimersByTime(1000);
		expect(sse.attempts).toHaveLength(3);
	});

	it('S13 close releases the members, the probe and the probe timer', () => {
		const sse = fakeTransport('sse');
		const poll = fakeTransport('polling');
		const connection = fallback([sse, poll], { probeInterval: 1000 }).open(
			recordingSink().sink,
			attempt()
		);
		sse.last.sink.failed(terminal());
		poll.last.sink.opened();
		vi.advanceTimersByTime(1000);
		connection.close();
		connection.close();
		expect(sse.openCount + poll.openCount).toBe(0);
		expect(vi.getTimerCount()).toBe(0);
	});

	it('a final end from the live transport is passed on', () => {
		const sse = fakeTransport('sse');
		const { sink, calls } = recordingSink();
		fallback(sse, fakeTransport('polling')).open(sink, attempt());
		sse.last.sink.opened();
		sse.last.sink.ended({ final: true });
		expect(calls.at(-1)).toEqual(['ended', { final: true }]);
	});

	it('rejects an empty chain or a non-transport', () => {
		expect(() => fallback()).toThrow(/at least one transport/);
		expect(() => fallback({} as never)).toThrow(/fallback\(\)/);
	});

	it('through the engine: the state says which transport is live and whether degraded', () => {
		const sse = fakeTransport('sse');
		const poll = fakeTransport('polling');
		const connection = createConnection({ transport: fallback(sse, poll), env });
		connection.start();
		sse.last.sink.failed(terminal());
		poll.last.sink.opened();
		expect(connection.getSnapshot()).toMatchObject({
			status: 'live',
			transport: 'polling',
			degraded: true
		});
		connection.stop();
		expect(poll.last.closed).toBe(true);
	});
});

describe('fallback through the engine: never live on a dead member', () => {
	const closedWith = (code: number, retryableClose: boolean) =>
		new TransportError(`closed ${code}`, { code: 'closed', retryable: retryableClose });

	function chain(options: Parameters<typeof fallback>[1] = {}) {
		const ws = fakeTransport('websocket', true, true);
		const sse = fakeTransport('sse');
		const poll = fakeTransport('polling');
		const connection = createConnection({
			transport: fallback([ws, sse, poll], { probeInterval: 1000, ...options }),
			env,
			staleAfter: 5000
		});
		return { ws, sse, poll, connection, status: () => connection.getSnapshot().status };
	}

	/** Puts the chain on polling, then lets a websocket probe take over. */
	function promotedProbe() {
		const c = chain();
		c.connection.start();
		c.ws.last.sink.failed(terminal());
		c.sse.last.sink.failed(terminal());
		c.poll.last.sink.opened();
		vi.advanceTimersByTime(1000);
		const probe = c.ws.last;
		probe.sink.opened({ bidirectional: true });
		probe.sink.message('first from the probe');
		expect(c.poll.last.closed).toBe(true);
		expect(c.connection.getSnapshot()).toMatchObject({ status: 'live', transport: 'websocket' });
		return { ...c, probe };
	}

	it('S27 a promoted probe that later fails: the engine hears it at once, never live on it', () => {
		const { probe, status, connection } = promotedProbe();
		probe.sink.failed(retryable());
		expect(status()).toBe('reconnecting');
		expect(connection.getSnapshot().error?.code).toBe('network');
		connection.stop();
	});

	it('S27 a promoted probe that later ends: the engine reconnects', () => {
		const { probe, status, connection } = promotedProbe();
		probe.sink.ended();
		expect(status()).toBe('reconnecting');
		connection.stop();
	});

	it('S27 sends go to the promoted member, and nowhere once it is gone', async () => {
		const { probe, connection } = promotedProbe();
		await connection.send('over the probe');
		expect(probe.sent).toEqual(['over the probe']);
		probe.sink.failed(retryable());
		const queued = connection.send('waits');
		expect(probe.sent).toEqual(['over the probe']);
		connection.stop();
		await expect(queued).rejects.toMatchObject({ code: 'closed' });
	});

	it('S28 a member that opens but is dropped as silent before delivering: the chain moves down', () => {
		const { ws, sse, poll, connection, status } = chain();
		connection.start();
		ws.last.sink.failed(terminal());
		sse.last.sink.opened();
		expect(status()).toBe('live');
		vi.advanceTimersByTime(10_000);
		expect(status()).toBe('reconnecting');
		expect(connection.getSnapshot().error?.code).toBe('timeout');
		vi.advanceTimersByTime(2000);
		expect(sse.attempts).toHaveLength(1);
		expect(poll.attempts).toHaveLength(1);
		poll.last.sink.opened();
		expect(connection.getSnapshot()).toMatchObject({ status: 'live', transport: 'polling' });
		connection.stop();
	});

	it('S06 a member that delivered, then went silent (half-open): reconnects on the same member', () => {
		const { ws, sse, poll, connection, status } = chain();
		connection.start();
		ws.last.sink.failed(terminal());
		sse.last.sink.opened();
		vi.advanceTimersByTime(2000);
		sse.last.sink.message('data');
		vi.advanceTimersByTime(11_000);
		expect(status()).toBe('reconnecting');
		vi.advanceTimersByTime(2000);
		expect(sse.attempts).toHaveLength(2);
		expect(poll.attempts).toHaveLength(0);
		connection.stop();
	});

	/** Opens the socket, lets it deliver and live `lifetime` ms, closes it with 1011; `times` times. */
	function dieAfter(c: ReturnType<typeof chain>, lifetime: number, times: number) {
		c.connection.start();
		for (let i = 0; i < times; i++) {
			expect(c.ws.attempts).toHaveLength(i + 1);
			c.ws.last.sink.opened({ bidirectional: true });
			c.ws.last.sink.message('hello');
			vi.advanceTimersByTime(lifetime);
			c.ws.last.sink.failed(closedWith(1011, true));
			expect(c.connection.getSnapshot()).toMatchObject({ status: 'reconnecting' });
			vi.advanceTimersByTime(20_000);
		}
	}

	it('S28 three connections in a row that die young (1011 each time): the chain moves down', () => {
		const c = chain();
		dieAfter(c, 200, 3);
		expect(c.ws.attempts).toHaveLength(3);
		expect(c.sse.attempts).toHaveLength(1);
		c.connection.stop();
	});

	it('S28 connections that live past minLifetime and deliver do not count as dying young', () => {
		const c = chain();
		dieAfter(c, 1500, 4);
		expect(c.ws.attempts).toHaveLength(5);
		expect(c.sse.attempts).toHaveLength(0);
		c.connection.stop();
	});

	it('S28 a terminal failure after opening (1008) moves down instead of failing the chain', () => {
		const { ws, sse, connection, status } = chain();
		connection.start();
		ws.last.sink.opened({ bidirectional: true });
		ws.last.sink.failed(closedWith(1008, false));
		expect(status()).toBe('reconnecting');
		expect(connection.getSnapshot().error).toMatchObject({ code: 'closed', retryable: true });
		vi.advanceTimersByTime(2000);
		expect(sse.attempts).toHaveLength(1);
		sse.last.sink.opened();
		expect(connection.getSnapshot()).toMatchObject({ status: 'live', transport: 'sse' });
		connection.stop();
	});

	it('a terminal failure after opening on the last member still fails the chain', () => {
		const poll = fakeTransport('polling');
		const connection = createConnection({ transport: fallback(poll), env });
		connection.start();
		poll.last.sink.opened();
		poll.last.sink.failed(terminal());
		expect(connection.getSnapshot().status).toBe('failed');
	});

	it('S48 a stream probe that opens but never delivers does not take over, and is dropped', () => {
		const sse = fakeTransport('sse');
		const poll = fakeTransport('polling');
		const connection = createConnection({
			transport: fallback([sse, poll], { probeInterval: 1000 }),
			env,
			staleAfter: 5000
		});
		connection.start();
		sse.last.sink.failed(terminal());
		poll.last.sink.opened();
		vi.advanceTimersByTime(1000);
		sse.last.sink.opened();
		poll.last.sink.message('still polling');
		expect(poll.last.closed).toBe(false);
		expect(connection.getSnapshot().transport).toBe('polling');
		// It gets one probe interval to deliver; then it is dropped and probed again later.
		vi.advanceTimersByTime(1000);
		expect(sse.last.closed).toBe(true);
		expect(poll.last.closed).toBe(false);
		vi.advanceTimersByTime(1000);
		expect(sse.attempts.filter((a) => !a.closed)).toHaveLength(1);
		connection.stop();
		expect(sse.openCount + poll.openCount).toBe(0);
		expect(vi.getTimerCount()).toBe(0);
	});

	it('S50 a socket probe takes over when it opens, before any frame', () => {
		const c = chain();
		c.connection.start();
		c.ws.last.sink.failed(terminal());
		c.sse.last.sink.failed(terminal());
		c.poll.last.sink.opened();
		vi.advanceTimersByTime(1000);
		c.ws.last.sink.opened({ bidirectional: true });
		expect(c.poll.last.closed).toBe(true);
		expect(c.connection.getSnapshot()).toMatchObject({ status: 'live', transport: 'websocket' });
		c.connection.stop();
	});

	it('rejects a bad option with a message that names it', () => {
		expect(() => fallback([fakeTransport()], { minLifetime: -1 })).toThrow(/minLifetime/);
	});
});
