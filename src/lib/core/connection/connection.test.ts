import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createFakeEnv, type FakeEnv } from '../../../../tests/helpers/fake-env.js';
import { fakeTransport } from '../../../../tests/helpers/fake-transport.js';
import { TransportError } from '../errors.js';
import { createConnection, type ConnectionOptions } from './connection.js';

const retryable = () => new TransportError('down', { code: 'network', retryable: true });

let env: FakeEnv;
beforeEach(() => {
	vi.useFakeTimers({ now: 0 });
	env = createFakeEnv();
});
afterEach(() => {
	vi.useRealTimers();
});

function setup(options: Partial<ConnectionOptions> = {}) {
	const transport = fakeTransport('sse');
	const received: unknown[] = [];
	const connection = createConnection({
		transport,
		env,
		retry: { baseDelay: 1000, minDelay: 100, maxDelay: 10_000, minUptime: 1000 },
		staleAfter: 5000,
		onMessage: (data) => void received.push(data),
		...options
	});
	return { transport, connection, received };
}

describe('createConnection', () => {
	it('connects, goes live and delivers messages in order', () => {
		const { transport, connection, received } = setup();
		connection.start();
		expect(connection.getSnapshot().status).toBe('connecting');
		transport.last.sink.opened();
		transport.last.sink.message('a');
		transport.last.sink.message('b');
		expect(connection.getSnapshot()).toMatchObject({
			status: 'live',
			transport: 'sse',
			attempt: 1
		});
		expect(received).toEqual(['a', 'b']);
	});

	it('rejects a missing transport and a bad staleAfter with clear errors', () => {
		expect(() => createConnection({ transport: undefined as never })).toThrow(
			/`transport`.*transport adapter/
		);
		expect(() => createConnection({ transport: fakeTransport(), staleAfter: 0 })).toThrow(
			/`staleAfter`/
		);
	});

	it('notifies on status changes at once, and coalesces liveness updates per frame', () => {
		const { transport, connection } = setup();
		const seen: string[] = [];
		connection.subscribe((state) => seen.push(state.status));
		connection.start();
		transport.last.sink.opened();
		expect(seen).toEqual(['connecting', 'live']);
		vi.setSystemTime(10);
		for (let i = 0; i < 100; i++) transport.last.sink.message(i);
		expect(seen).toHaveLength(2);
		expect(env.runFrames()).toBe(1);
		expect(seen).toHaveLength(3);
		expect(connection.getSnapshot().lastEventAt).toBe(10);
	});

	it('keeps the snapshot object stable while nothing changes', () => {
		const { connection } = setup();
		const before = connection.getSnapshot();
		expect(connection.getSnapshot()).toBe(before);
		connection.start();
		expect(connection.getSnapshot()).not.toBe(before);
	});

	it('S09 tracks the last event id: kept across id-less events, reset by an empty id', () => {
		const { transport, connection } = setup();
		connection.start();
		const { sink } = transport.last;
		sink.opened();
		sink.message('a', { id: '1' });
		sink.message('b');
		expect(connection.lastEventId).toBe('1');
		sink.message('c', { id: '2' });
		expect(connection.lastEventId).toBe('2');
		sink.message('d', { id: '' });
		expect(connection.lastEventId).toBeUndefined();
		sink.message('e', { id: '3' });
		sink.failed(retryable());
		vi.runOnlyPendingTimers();
		expect(transport.last.attempt.lastEventId).toBe('3');
	});

	it('S01 reconnects after a clean end and resumes from the last event id', () => {
		const { transport, connection } = setup({ lastEventId: '41' });
		connection.start();
		expect(transport.last.attempt.lastEventId).toBe('41');
		transport.last.sink.opened();
		transport.last.sink.message('x', { id: '42' });
		transport.last.sink.ended();
		expect(connection.getSnapshot().status).toBe('reconnecting');
		vi.advanceTimersByTime(connection.getSnapshot().retryAt! - Date.now());
		expect(transport.attempts).toHaveLength(2);
		expect(transport.last.attempt).toMatchObject({ n: 2, lastEventId: '42' });
	});

	it('S12 close inside the transport error handler, and close twice, close the attempt exactly once', () => {
		const { transport, connection } = setup();
		connection.start();
		const first = transport.last;
		first.sink.failed(retryable());
		first.sink.failed(retryable());
		expect(first.closeCalls).toBe(1);
		connection.stop();
		connection.stop();
		expect(first.closeCalls).toBe(1);
		expect(vi.getTimerCount()).toBe(0);
		expect(env.listenerCount).toBe(0);
	});

	it('S12 stop while connecting closes the attempt once and leaves nothing behind', () => {
		const { transport, connection } = setup();
		connection.start();
		connection.stop();
		expect(transport.last.closeCalls).toBe(1);
		expect(transport.last.attempt.signal.aborted).toBe(true);
		transport.last.sink.opened();
		expect(connection.getSnapshot().status).toBe('closed');
		expect(vi.getTimerCount()).toBe(0);
		expect(env.listenerCount).toBe(0);
	});

	it('S12 a transport failing synchronously inside open() is closed once and retried', () => {
		const { transport, connection } = setup();
		transport.onOpen = (attempt) => {
			if (attempt.attempt.n === 1) attempt.sink.failed(retryable());
		};
		connection.start();
		expect(connection.getSnapshot().status).toBe('reconnecting');
		expect(transport.attempts[0]!.closeCalls).toBe(1);
		vi.runOnlyPendingTimers();
		expect(transport.attempts).toHaveLength(2);
	});

	it('turns an exception thrown by open() into a failed state', () => {
		const transport = {
			kind: 'broken',
			open() {
				throw new Error('boom');
			}
		};
		const connection = createConnection({ transport, env });
		connection.start();
		expect(connection.getSnapshot()).toMatchObject({ status: 'failed' });
		expect(connection.getSnapshot().error?.message).toBe('boom');
	});

	it('S13 stop during backoff releases every timer, listener and attempt', () => {
		const { transport, connection } = setup();
		connection.start();
		transport.last.sink.opened();
		transport.last.sink.failed(retryable());
		expect(connection.getSnapshot().status).toBe('reconnecting');
		expect(vi.getTimerCount()).toBeGreaterThan(0);
		connection.stop();
		expect(vi.getTimerCount()).toBe(0);
		expect(env.listenerCount).toBe(0);
		expect(env.pendingFrames).toBe(0);
		expect(transport.openCount).toBe(0);
		vi.advanceTimersByTime(60_000);
		expect(transport.attempts).toHaveLength(1);
	});

	it('S14 rapid start/stop ×100 ends with one open attempt and ignores the superseded ones', () => {
		const { transport, connection, received } = setup();
		for (let i = 0; i < 100; i++) {
			connection.start();
			connection.stop();
		}
		connection.start();
		expect(transport.openCount).toBe(1);
		for (const old of transport.attempts.slice(0, -1)) {
			old.sink.opened();
			old.sink.message('stale');
			old.sink.failed(retryable());
		}
		expect(connection.getSnapshot().status).toBe('connecting');
		expect(received).toEqual([]);
		transport.last.sink.opened();
		transport.last.sink.message('fresh');
		expect(received).toEqual(['fresh']);
		expect(env.listenerCount).toBe(2);
	});

	it('S16 gives up after maxAttempts, and retry() starts over and works', () => {
		const { transport, connection } = setup({
			retry: { maxAttempts: 3, minDelay: 10, baseDelay: 100 }
		});
		connection.start();
		for (let i = 0; i < 3; i++) {
			transport.last.sink.failed(retryable());
			vi.runOnlyPendingTimers();
		}
		expect(connection.getSnapshot()).toMatchObject({ status: 'failed', attempt: 3 });
		expect(transport.attempts).toHaveLength(3);
		vi.advanceTimersByTime(60_000);
		expect(transport.attempts).toHaveLength(3);
		connection.retry();
		expect(transport.attempts).toHaveLength(4);
		transport.last.sink.opened();
		expect(connection.getSnapshot()).toMatchObject({
			status: 'live',
			attempt: 1,
			error: undefined
		});
	});

	it('S15 the backoff grows across quick drops and resets after minUptime', () => {
		const { transport, connection } = setup();
		env.randoms = Array(20).fill(0.999);
		connection.start();
		const delays: number[] = [];
		for (let i = 0; i < 3; i++) {
			transport.last.sink.opened();
			transport.last.sink.failed(retryable());
			delays.push(connection.getSnapshot().retryAt! - Date.now());
			vi.runOnlyPendingTimers();
		}
		expect(delays).toEqual([999, 1998, 3996]);
		transport.last.sink.opened();
		vi.advanceTimersByTime(1000);
		transport.last.sink.failed(retryable());
		expect(connection.getSnapshot().retryAt! - Date.now()).toBe(999);
	});

	it('S06 a silent stream turns stale, then is dropped and reconnected', () => {
		const { transport, connection } = setup();
		connection.start();
		transport.last.sink.opened();
		vi.advanceTimersByTime(4999);
		expect(connection.getSnapshot().status).toBe('live');
		vi.advanceTimersByTime(1);
		expect(connection.getSnapshot().status).toBe('stale');
		transport.last.sink.heartbeat();
		expect(connection.getSnapshot().status).toBe('live');
		vi.advanceTimersByTime(10_000);
		expect(connection.getSnapshot().status).toBe('reconnecting');
		expect(connection.getSnapshot().error?.code).toBe('timeout');
		expect(transport.attempts[0]!.closed).toBe(true);
		vi.runOnlyPendingTimers();
		expect(transport.attempts).toHaveLength(2);
	});

	it('S05 goes offline without retrying, and retries at once when back online', () => {
		const { transport, connection } = setup();
		connection.start();
		transport.last.sink.opened();
		env.setOnline(false);
		expect(connection.getSnapshot().status).toBe('offline');
		expect(transport.last.closed).toBe(true);
		vi.advanceTimersByTime(120_000);
		expect(transport.attempts).toHaveLength(1);
		expect(vi.getTimerCount()).toBe(0);
		env.setOnline(true);
		expect(transport.attempts).toHaveLength(2);
		expect(connection.getSnapshot().status).toBe('reconnecting');
	});

	it('S05 starting while offline waits for the network', () => {
		const { transport, connection } = setup();
		env.setOnline(false);
		connection.start();
		expect(connection.getSnapshot().status).toBe('offline');
		expect(transport.attempts).toHaveLength(0);
		env.setOnline(true);
		expect(transport.attempts).toHaveLength(1);
	});

	it('S23 becoming visible retries at once during a backoff', () => {
		const { transport, connection } = setup();
		connection.start();
		transport.last.sink.failed(retryable());
		env.setVisible(false);
		env.setVisible(true);
		expect(transport.attempts).toHaveLength(2);
	});

	it('S20 resyncs once after an unproven reconnect; a newer reconnect aborts it', async () => {
		const calls: AbortSignal[] = [];
		let finish: () => void = () => {};
		const resync = vi.fn((signal: AbortSignal) => {
			calls.push(signal);
			return new Promise<void>((resolve) => (finish = resolve));
		});
		const { transport, connection } = setup({ resync });
		connection.start();
		transport.last.sink.opened();
		expect(resync).not.toHaveBeenCalled();
		transport.last.sink.failed(retryable());
		vi.runOnlyPendingTimers();
		transport.last.sink.opened();
		expect(resync).toHaveBeenCalledTimes(1);
		expect(connection.getSnapshot().continuity).toBe('unknown');
		transport.last.sink.failed(retryable());
		vi.runOnlyPendingTimers();
		transport.last.sink.opened();
		expect(resync).toHaveBeenCalledTimes(2);
		expect(calls[0]!.aborted).toBe(true);
		finish();
		await vi.waitFor(() => expect(connection.getSnapshot().continuity).toBe('resynced'));
	});

	it('S65 a resync event from the server resyncs once and keeps the event id; other messages flow on', async () => {
		let finish: () => void = () => {};
		const resync = vi.fn(() => new Promise<void>((resolve) => (finish = resolve)));
		const gaps = vi.fn();
		const { transport, connection, received } = setup({ resync, onGap: gaps });
		connection.start();
		transport.last.sink.opened();
		transport.last.sink.message('a', { id: 'e:1-0' });
		transport.last.sink.message('', { id: 'e:5-0', event: 'resync' });
		expect(resync).toHaveBeenCalledTimes(1);
		expect(gaps).toHaveBeenCalledTimes(1);
		expect(connection.getSnapshot()).toMatchObject({ status: 'live', continuity: 'unknown' });
		expect(connection.lastEventId).toBe('e:5-0');
		transport.last.sink.message('b', { id: 'e:6-0' });
		// The resync event itself is not a message of the list.
		expect(received).toEqual(['a', 'b']);
		expect(transport.attempts).toHaveLength(1);
		finish();
		await vi.waitFor(() => expect(connection.getSnapshot().continuity).toBe('resynced'));
	});

	it('S65 without a resync function, a resync event opens the stream again from nothing', () => {
		const { transport, connection, received } = setup();
		connection.start();
		transport.last.sink.opened();
		transport.last.sink.message('a', { id: '7' });
		transport.last.sink.message('', { id: '9', event: 'resync' });
		expect(transport.attempts).toHaveLength(2);
		expect(transport.attempts[0]!.closed).toBe(true);
		expect(transport.last.attempt.lastEventId).toBeUndefined();
		expect(connection.getSnapshot().status).toBe('reconnecting');
		transport.last.sink.opened();
		expect(connection.getSnapshot()).toMatchObject({ status: 'live', continuity: 'unknown' });
		expect(received).toEqual(['a']);
	});

	it('S65 a resync event of a superseded attempt is ignored', () => {
		const resync = vi.fn(async () => {});
		const { transport, connection } = setup({ resync });
		connection.start();
		const first = transport.last;
		first.sink.opened();
		first.sink.failed(retryable());
		first.sink.message('', { event: 'resync' });
		expect(resync).not.toHaveBeenCalled();
		expect(connection.getSnapshot().status).toBe('reconnecting');
	});

	it('S20 a resumed reconnect skips the resync', () => {
		const resync = vi.fn(async () => {});
		const { transport, connection } = setup({ resync });
		connection.start();
		transport.last.sink.opened();
		transport.last.sink.failed(retryable());
		vi.runOnlyPendingTimers();
		transport.last.sink.opened({ resumed: true });
		expect(resync).not.toHaveBeenCalled();
		expect(connection.getSnapshot().continuity).toBe('resumed');
	});

	it('S20 reports a gap after an unproven reconnect, before its messages, and not after a resumed one', () => {
		const events: string[] = [];
		const { transport, connection } = setup({
			onGap: () => events.push('gap'),
			onMessage: (data) => void events.push(String(data))
		});
		connection.start();
		transport.last.sink.opened();
		transport.last.sink.message('a');
		transport.last.sink.failed(retryable());
		vi.runOnlyPendingTimers();
		transport.last.sink.opened();
		transport.last.sink.message('b');
		transport.last.sink.failed(retryable());
		vi.runOnlyPendingTimers();
		transport.last.sink.opened({ resumed: true });
		expect(events).toEqual(['a', 'gap', 'b']);
	});

	it('pause closes and stops retrying; resume reconnects', () => {
		const { transport, connection } = setup();
		connection.start();
		transport.last.sink.opened();
		connection.pause();
		expect(connection.getSnapshot().status).toBe('paused');
		expect(transport.last.closed).toBe(true);
		vi.advanceTimersByTime(60_000);
		expect(transport.attempts).toHaveLength(1);
		connection.resume();
		expect(transport.attempts).toHaveLength(2);
	});

	it('a listener that unsubscribes is not called again', () => {
		const { connection } = setup();
		const listener = vi.fn();
		const off = connection.subscribe(listener);
		connection.start();
		off();
		connection.stop();
		expect(listener).toHaveBeenCalledTimes(1);
	});

	describe('send', () => {
		const twoWay = () => {
			const transport = fakeTransport('websocket', true, true);
			const connection = createConnection({
				transport,
				env,
				maxQueue: 3,
				retry: { baseDelay: 100, minDelay: 10 }
			});
			return { transport, connection };
		};

		it('sends at once over a live two-way transport', async () => {
			const { transport, connection } = twoWay();
			connection.start();
			transport.last.sink.opened({ bidirectional: true });
			await expect(connection.send('hi')).resolves.toEqual({ echoed: 'hi' });
			expect(transport.last.sent).toEqual(['hi']);
			expect(connection.getSnapshot().bidirectional).toBe(true);
		});

		it('S17 queues while disconnected, in order, bounded, and flushes once on reconnect', async () => {
			const { transport, connection } = twoWay();
			connection.start();
			transport.last.sink.opened({ bidirectional: true });
			transport.last.sink.failed(retryable());
			const results = ['a', 'b', 'c'].map((m) => connection.send(m));
			await expect(connection.send('d')).rejects.toMatchObject({ code: 'queue-full' });
			vi.advanceTimersByTime(2000);
			expect(transport.attempts).toHaveLength(2);
			expect(transport.last.sent).toEqual([]);
			transport.last.sink.opened({ bidirectional: true });
			expect(transport.last.sent).toEqual(['a', 'b', 'c']);
			await expect(Promise.all(results)).resolves.toHaveLength(3);
			transport.last.sink.failed(retryable());
			vi.runOnlyPendingTimers();
			transport.last.sink.opened({ bidirectional: true });
			expect(transport.last.sent).toEqual([]);
		});

		it('an aborted message leaves the queue', async () => {
			const { transport, connection } = twoWay();
			connection.start();
			const controller = new AbortController();
			const dropped = connection.send('never', { signal: controller.signal });
			const kept = connection.send('kept');
			controller.abort(new Error('timed out'));
			await expect(dropped).rejects.toThrow('timed out');
			transport.last.sink.opened({ bidirectional: true });
			await kept;
			expect(transport.last.sent).toEqual(['kept']);
		});

		it('a one-way connection hands queued messages to `otherwise`, or rejects them', async () => {
			const { transport, connection } = twoWay();
			connection.start();
			const viaHttp = vi.fn(async () => 'via http');
			const routed = connection.send('change', { otherwise: viaHttp });
			const stranded = connection.send('plain');
			transport.last.sink.opened({ bidirectional: false, transport: 'polling' });
			await expect(routed).resolves.toBe('via http');
			await expect(stranded).rejects.toThrow(/polling\) cannot send/);
			expect(viaHttp).toHaveBeenCalledTimes(1);
			expect(transport.last.sent).toEqual([]);
		});

		it('stop rejects what waits; sending when stopped rejects at once', async () => {
			const { connection } = twoWay();
			await expect(connection.send('x')).rejects.toMatchObject({ code: 'closed' });
			connection.start();
			const waiting = connection.send('y');
			connection.stop();
			await expect(waiting).rejects.toMatchObject({ code: 'closed' });
		});
	});

	describe('S17 every queued message ends', () => {
		const twoWay = (options: Partial<ConnectionOptions> = {}) => {
			const transport = fakeTransport('websocket', true, true);
			const connection = createConnection({
				transport,
				env,
				retry: { baseDelay: 100, minDelay: 10 },
				...options
			});
			return { transport, connection };
		};

		it('rejected with the reason when the connection fails for good', async () => {
			const { transport, connection } = twoWay();
			connection.start();
			const waiting = connection.send('change');
			transport.last.sink.failed(
				new TransportError('refused', { code: 'http', status: 401, retryable: false })
			);
			await expect(waiting).rejects.toMatchObject({ code: 'http', status: 401 });
			await expect(connection.send('later')).rejects.toMatchObject({ status: 401 });
		});

		it('rejected when the server ends the stream for good', async () => {
			const { transport, connection } = twoWay();
			connection.start();
			const waiting = connection.send('change');
			transport.last.sink.ended({ final: true });
			expect(connection.getSnapshot().status).toBe('closed');
			await expect(waiting).rejects.toMatchObject({ code: 'closed' });
		});

		it('rejected with code timeout after queueTimeout while the connection stays down', async () => {
			const { transport, connection } = twoWay({ queueTimeout: 5000 });
			connection.start();
			transport.last.sink.failed(retryable());
			const waiting = connection.send('change');
			const outcome = waiting.then(
				() => 'sent',
				(error: TransportError) => error.code
			);
			vi.advanceTimersByTime(4999);
			expect(await Promise.race([outcome, Promise.resolve('pending')])).toBe('pending');
			vi.advanceTimersByTime(1);
			await expect(outcome).resolves.toBe('timeout');
			transport.last.sink.opened({ bidirectional: true });
			expect(transport.attempts.flatMap((a) => a.sent)).toEqual([]);
		});

		it('rejects a bad queueTimeout or maxEventIdLength with a message naming it', () => {
			const transport = fakeTransport();
			expect(() => createConnection({ transport, queueTimeout: -1 })).toThrow(/queueTimeout/);
			expect(() => createConnection({ transport, maxEventIdLength: Number.NaN })).toThrow(
				/maxEventIdLength/
			);
		});
	});

	describe('S32 hostile event ids', () => {
		it('an id longer than maxEventIdLength is not kept for resuming, and is reported', () => {
			const warnings: string[] = [];
			const { transport, connection } = setup({
				maxEventIdLength: 8,
				onWarning: (error) => warnings.push(error.message)
			});
			connection.start();
			transport.last.sink.opened();
			transport.last.sink.message('a', { id: '12345678' });
			transport.last.sink.message('b', { id: '123456789' });
			expect(connection.lastEventId).toBe('12345678');
			expect(warnings).toEqual([expect.stringMatching(/9 characters.*limit is 8/)]);
			transport.last.sink.failed(retryable());
			vi.advanceTimersByTime(2000);
			expect(transport.last.attempt.lastEventId).toBe('12345678');
		});

		it('an id-only block moves the id the next attempt resumes from', () => {
			const { transport, connection } = setup();
			connection.start();
			transport.last.sink.opened();
			transport.last.sink.message('a', { id: '1' });
			transport.last.sink.hint({ lastEventId: '7' });
			expect(connection.lastEventId).toBe('7');
			transport.last.sink.hint({ lastEventId: '' });
			expect(connection.lastEventId).toBeUndefined();
		});
	});

	describe('S30 callbacks that throw', () => {
		it('a resync that throws synchronously leaves the engine live, with continuity unknown', async () => {
			const { transport, connection } = setup({
				resync: () => {
					throw new Error('resync blew up');
				}
			});
			connection.start();
			transport.last.sink.opened();
			transport.last.sink.failed(retryable());
			vi.advanceTimersByTime(2000);
			transport.last.sink.opened();
			await Promise.resolve();
			await Promise.resolve();
			expect(connection.getSnapshot()).toMatchObject({ status: 'live', continuity: 'unknown' });
		});

		it('a message callback that throws does not stop delivery or the engine', () => {
			const seen: unknown[] = [];
			const reported = vi.spyOn(console, 'error').mockImplementation(() => {});
			const { transport, connection } = setup({
				onMessage: (data) => {
					seen.push(data);
					if (data === 'bad') throw new Error('listener blew up');
				}
			});
			connection.start();
			transport.last.sink.opened();
			transport.last.sink.message('bad');
			transport.last.sink.message('good');
			expect(seen).toEqual(['bad', 'good']);
			expect(connection.getSnapshot().status).toBe('live');
			expect(reported).toHaveBeenCalledTimes(1);
			reported.mockRestore();
		});
	});

	describe('validators', () => {
		it('hands the last validator to the next attempt, and forgets it after data without one', () => {
			const { transport, connection } = setup();
			connection.start();
			expect(transport.last.attempt.validator).toBeUndefined();
			transport.last.sink.opened();
			transport.last.sink.message('list', { validator: '"v1"' });
			transport.last.sink.failed(retryable());
			vi.advanceTimersByTime(2000);
			expect(transport.last.attempt.validator).toBe('"v1"');
			transport.last.sink.opened();
			transport.last.sink.message('upsert from a stream');
			transport.last.sink.failed(retryable());
			vi.advanceTimersByTime(5000);
			expect(transport.attempts).toHaveLength(3);
			expect(transport.last.attempt.validator).toBeUndefined();
		});

		it('S29 keeps no validator of data the store did not take', () => {
			const transport = fakeTransport('polling');
			const connection = createConnection({
				transport,
				env,
				retry: { baseDelay: 100, minDelay: 10 },
				onMessage: (data) => data !== 'malformed'
			});
			connection.start();
			transport.last.sink.opened();
			transport.last.sink.message('malformed', { validator: '"v1"' });
			transport.last.sink.failed(retryable());
			vi.advanceTimersByTime(2000);
			expect(transport.last.attempt.validator).toBeUndefined();
		});
	});
});
