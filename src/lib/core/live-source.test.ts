import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createFakeEnv, type FakeEnv } from '../../../tests/helpers/fake-env.js';
import { fakeTransport } from '../../../tests/helpers/fake-transport.js';
import { createLiveSource } from './live-source.js';
import { fallback } from './transports/fallback.js';
import { TransportError } from './errors.js';

interface Task {
	id: number;
	title: string;
	done: boolean;
	version: number;
}
const task = (id: number, over: Partial<Task> = {}): Task => ({
	id,
	title: `T${id}`,
	done: false,
	version: 1,
	...over
});

let env: FakeEnv;
beforeEach(() => {
	vi.useFakeTimers({ now: 0 });
	env = createFakeEnv();
});
afterEach(() => vi.useRealTimers());

function rows(live: {
	store: {
		flush(): void;
		getSnapshot(): { rows: readonly { key: string; status: string; item: Task }[] };
	};
}) {
	live.store.flush();
	return live.store.getSnapshot().rows;
}

describe('createLiveSource', () => {
	it('S19 sends a change over the live socket and settles it with the echo, applied once', async () => {
		const transport = fakeTransport('websocket', true, true);
		const live = createLiveSource<Task>({
			transport,
			env,
			initial: [task(1)],
			version: (t) => t.version
		});
		live.start();
		transport.last.sink.opened({ bidirectional: true });
		const sent = transport.last.sent;
		const toggled = live.store.toggle(1);
		const mutationId = (sent[0] as { mutationId: string }).mutationId;
		expect(mutationId).toMatch(/^[0-9a-f]{16}\.1$/);
		expect(sent).toEqual([
			{ type: 'mutation', mutationId, key: '1', item: task(1, { done: true }) }
		]);
		await toggled;
		expect(rows(live)[0]).toMatchObject({ status: 'settled', item: { done: true } });
		transport.last.sink.message({
			type: 'upsert',
			items: [task(1, { done: true, version: 2 })],
			mutationId
		});
		expect(rows(live)[0]).toMatchObject({ status: 'settled', item: { done: true, version: 2 } });
	});

	it('leaves the acknowledgement timeout to the adapter unless ackTimeout is given', async () => {
		for (const [ackTimeout, expected] of [
			[undefined, undefined],
			[250, 250]
		] as const) {
			const transport = fakeTransport('websocket', true, true);
			const live = createLiveSource<Task>({ transport, env, initial: [task(1)], ackTimeout });
			live.start();
			transport.last.sink.opened({ bidirectional: true });
			const send = vi.spyOn(live.connection, 'send').mockResolvedValue(undefined);
			await live.store.toggle(1);
			expect(send.mock.calls[0]![1]).toMatchObject({ ack: true, timeoutMs: expected });
			live.stop();
		}
	});

	it('S18 a refused change rolls back and can be retried; it is never sent twice by itself', async () => {
		const transport = fakeTransport('websocket', true, true);
		const live = createLiveSource<Task>({ transport, env, initial: [task(1)] });
		live.start();
		transport.last.sink.opened({ bidirectional: true });
		const send = vi
			.spyOn(live.connection, 'send')
			.mockRejectedValueOnce(new TransportError('conflict', { code: 'nack', retryable: false }));
		await expect(live.store.toggle(1)).rejects.toThrow('conflict');
		expect(rows(live)[0]).toMatchObject({ status: 'failed', item: { done: false } });
		expect(send).toHaveBeenCalledTimes(1);
		await live.store.retryMutation(1);
		expect(send).toHaveBeenCalledTimes(2);
		expect(rows(live)[0]).toMatchObject({ status: 'settled', item: { done: true } });
	});

	it('a change made while a two-way chain runs one-way goes through commit(), not the socket', async () => {
		const ws = fakeTransport('websocket', true, true);
		const poll = fakeTransport('polling');
		const commit = vi.fn(async ({ item }: { item: Task }) => ({ ...item, version: 2 }));
		const live = createLiveSource<Task>({
			transport: fallback(ws, poll),
			env,
			initial: [task(1)],
			commit
		});
		live.start();
		ws.last.sink.failed(new TransportError('blocked', { code: 'timeout', retryable: true }));
		poll.last.sink.opened({ resumed: true });
		expect(live.connection.getSnapshot()).toMatchObject({
			transport: 'polling',
			bidirectional: false
		});
		await live.store.toggle(1);
		expect(commit).toHaveBeenCalledTimes(1);
		expect(ws.attempts.flatMap((a) => a.sent)).toEqual([]);
		expect(rows(live)[0]).toMatchObject({ status: 'settled', item: { done: true, version: 2 } });
	});

	it('S17 a change made while disconnected waits, pending, then goes out once on reconnect', async () => {
		const transport = fakeTransport('websocket', true, true);
		const live = createLiveSource<Task>({
			transport,
			env,
			initial: [task(1)],
			retry: { baseDelay: 100, minDelay: 10 }
		});
		live.start();
		transport.last.sink.opened({ bidirectional: true });
		transport.last.sink.failed(new TransportError('down', { code: 'network', retryable: true }));
		const toggled = live.store.toggle(1);
		expect(rows(live)[0]).toMatchObject({ status: 'pending', item: { done: true } });
		vi.advanceTimersByTime(25_000);
		expect(rows(live)[0]!.status).toBe('pending');
		transport.last.sink.opened({ bidirectional: true });
		await toggled;
		expect(transport.attempts.flatMap((a) => a.sent)).toHaveLength(1);
		expect(rows(live)[0]!.status).toBe('settled');
	});

	it('without a socket or a commit, a change is refused with a clear error', async () => {
		const transport = fakeTransport('sse');
		const live = createLiveSource<Task>({ transport, env, initial: [task(1)] });
		await expect(live.store.toggle(1)).rejects.toThrow(/pass a `commit` function/);
	});
});
