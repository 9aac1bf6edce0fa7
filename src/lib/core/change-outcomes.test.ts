// How a change ends over a two-way transport: one row of docs/API.md's table per test.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createFakeEnv, type FakeEnv } from '../../../tests/helpers/fake-env.js';
import { TransportError, MutationError } from './errors.js';
import { createLiveSource } from './live-source.js';
import { createRecordStore } from './store/store.js';
import type { Transport, TransportSink } from './transports/types.js';

interface Task {
	id: number;
	done: boolean;
	version: number;
}
const task = (id: number, over: Partial<Task> = {}): Task => ({
	id,
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

/** A socket whose answers the test gives by hand; it times out like websocket() does. */
function socket(ackTimeout = 5000) {
	let sink!: TransportSink<unknown>;
	const sent: Array<{
		data: { mutationId: string; item: Task };
		answer: (reply: unknown) => void;
		refuse: (reason: unknown) => void;
	}> = [];
	const transport: Transport<unknown, unknown> = {
		kind: 'websocket',
		bidirectional: true,
		open(s) {
			sink = s;
			return {
				close() {},
				send: (data) =>
					new Promise((resolve, reject) => {
						const timer = env.setTimeout(
							() => reject(new TransportError('no ack', { code: 'timeout', retryable: true })),
							ackTimeout
						);
						sent.push({
							data: data as { mutationId: string; item: Task },
							answer: (reply) => (env.clearTimeout(timer), resolve(reply)),
							refuse: (reason) => (
								env.clearTimeout(timer),
								reject(
									new TransportError(`refused: ${String(reason)}`, {
										code: 'nack',
										retryable: false
									})
								)
							)
						});
					})
			};
		}
	};
	const errors: unknown[] = [];
	const live = createLiveSource<Task>({
		transport,
		env,
		initial: [task(1)],
		version: (t) => t.version,
		onError: (e) => errors.push(e)
	});
	live.start();
	sink.opened({ bidirectional: true });
	const row = () => {
		live.store.flush();
		return live.store.getSnapshot().rows[0]!;
	};
	const echo = (item: Task, mutationId?: string) =>
		sink.message({ type: 'upsert', item, ...(mutationId ? { mutationId } : {}) });
	return { live, sent, row, echo, errors };
}

describe('how a change ends over a two-way transport', () => {
	it('ack with the row: the row is the server’s, settled; the promise resolves with it', async () => {
		const { live, sent, row } = socket();
		const change = live.store.toggle(1);
		sent[0]!.answer({ item: task(1, { done: true, version: 2 }) });
		await expect(change).resolves.toMatchObject({ done: true, version: 2 });
		expect(row()).toMatchObject({ status: 'settled', item: { done: true, version: 2 } });
	});

	it('ack without a row (true): settled, and the row keeps the change until the server’s own row', async () => {
		const { live, sent, row } = socket();
		const change = live.store.toggle(1);
		sent[0]!.answer(true);
		await expect(change).resolves.toMatchObject({ done: true });
		vi.advanceTimersByTime(60_000);
		expect(row()).toMatchObject({ status: 'settled', item: { done: true } });
	});

	it('echo before the ack timeout: settled at once, the promise resolves, nothing reported', async () => {
		const { live, sent, row, echo, errors } = socket();
		const change = live.store.toggle(1);
		echo(task(1, { done: true, version: 2 }), sent[0]!.data.mutationId);
		live.store.flush();
		await expect(change).resolves.toMatchObject({ done: true, version: 2 });
		expect(row()).toMatchObject({ status: 'settled', item: { done: true, version: 2 } });
		vi.advanceTimersByTime(10_000);
		await Promise.resolve();
		expect(errors).toEqual([]);
		expect(row().status).toBe('settled');
	});

	it('S31 echo after the ack timeout: the failed row settles to the server’s value', async () => {
		const { live, sent, row, echo } = socket();
		const change = live.store.toggle(1);
		vi.advanceTimersByTime(5000);
		await expect(change).rejects.toBeInstanceOf(MutationError);
		expect(row()).toMatchObject({ status: 'failed', item: { done: false } });
		echo(task(1, { done: true, version: 2 }), sent[0]!.data.mutationId);
		expect(row()).toMatchObject({ status: 'settled', item: { done: true, version: 2 } });
	});

	it('S31 timed out, the server applied it, its update has no mutationId: settled by the data', async () => {
		const { live, row, echo } = socket();
		const change = live.store.toggle(1);
		vi.advanceTimersByTime(5000);
		await expect(change).rejects.toBeInstanceOf(MutationError);
		echo(task(1, { done: true, version: 2 }));
		expect(row()).toMatchObject({ status: 'settled', item: { done: true } });
	});

	it('S31 Retry sends the value asked for, never a second flip', async () => {
		const { live, sent, row, echo } = socket();
		const first = live.store.toggle(1);
		vi.advanceTimersByTime(5000);
		await expect(first).rejects.toBeInstanceOf(MutationError);
		// the server did apply it; its update says so: nothing is left to retry
		echo(task(1, { done: true, version: 2 }));
		expect(row()).toMatchObject({ status: 'settled', item: { done: true } });
		await expect(live.store.retryMutation(1)).rejects.toThrow(/No failed change/);
		expect(sent).toHaveLength(1);
		expect(row()).toMatchObject({ status: 'settled', item: { done: true } });
	});

	it('S31 Retry after a change to another field sends the field asked for', async () => {
		const { live, sent, row, echo } = socket();
		const first = live.store.toggle(1);
		vi.advanceTimersByTime(5000);
		await expect(first).rejects.toBeInstanceOf(MutationError);
		echo({ ...task(1, { version: 3 }), title: 'renamed' } as Task);
		expect(row().status).toBe('failed');
		const retried = live.store.retryMutation(1);
		expect(sent).toHaveLength(2);
		expect(sent[1]!.data.item).toMatchObject({ done: true, title: 'renamed' });
		sent[1]!.answer(true);
		await expect(retried).resolves.toMatchObject({ done: true });
		expect(row()).toMatchObject({ status: 'settled', item: { done: true, title: 'renamed' } });
	});

	it('refusal with a string reason: rolled back, failed, the reason in the error', async () => {
		const { live, sent, row } = socket();
		const change = live.store.toggle(1);
		sent[0]!.refuse('locked');
		await expect(change).rejects.toThrow(/locked/);
		expect(row()).toMatchObject({ status: 'failed', item: { done: false } });
		expect(row().error?.message).toMatch(/locked/);
	});

	it('refusal with an object reason reads as its message, never [object Object]', async () => {
		const store = createRecordStore<Task>({
			env,
			initial: [task(1)],
			commit: () => Promise.reject({ message: 'row is locked', code: 423 })
		});
		await expect(store.toggle(1)).rejects.toThrow(/row is locked/);
		const plain = createRecordStore<Task>({
			env,
			initial: [task(1)],
			commit: () => Promise.reject({ code: 423 })
		});
		const error = (await plain.toggle(1).catch((e: unknown) => e)) as Error;
		expect(error.message).not.toMatch(/object Object/);
		expect(error.message).toMatch(/423/);
	});

	it('no answer: failed after the ack timeout, with the reason', async () => {
		const { live, row } = socket(3000);
		const change = live.store.toggle(1);
		vi.advanceTimersByTime(2999);
		expect(row().status).toBe('pending');
		vi.advanceTimersByTime(1);
		await expect(change).rejects.toThrow(/no ack/);
		expect(row()).toMatchObject({ status: 'failed', item: { done: false } });
	});

	it('connection lost before it was sent: waits, then fails after queueTimeout if none comes', async () => {
		const { live, row } = socket();
		live.connection.pause();
		const change = live.store.toggle(1);
		vi.advanceTimersByTime(29_999);
		expect(row().status).toBe('pending');
		vi.advanceTimersByTime(1);
		await expect(change).rejects.toThrow(/waited 30000 ms/);
		expect(row().status).toBe('failed');
	});

	it('connection failed for good: a waiting change fails at once with the connection’s reason', async () => {
		let sink!: TransportSink<unknown>;
		const transport: Transport<unknown, unknown> = {
			kind: 'websocket',
			bidirectional: true,
			open: (s) => ((sink = s), { close() {}, send: () => new Promise(() => {}) })
		};
		const live = createLiveSource<Task>({ transport, env, initial: [task(1)] });
		live.start();
		const change = live.store.toggle(1);
		sink.failed(new TransportError('HTTP 401', { code: 'http', status: 401, retryable: false }));
		await expect(change).rejects.toThrow(/401/);
	});
});

describe('store: changes end, and leave nothing behind', () => {
	it('S49 two changes to one row never race: the second is sent once the first has its answer', async () => {
		const calls: Array<{ done: boolean; answer: (row: Task) => void }> = [];
		const store = createRecordStore<Task>({
			env,
			initial: [task(1)],
			version: (t) => t.version,
			commit: ({ item }) =>
				new Promise<Task>((resolve) => calls.push({ done: item.done, answer: resolve }))
		});
		const first = store.toggle(1);
		const second = store.toggle(1);
		store.flush();
		expect(store.getSnapshot().rows[0]).toMatchObject({ status: 'pending', item: { done: false } });
		expect(calls.map((c) => c.done)).toEqual([true]);
		calls[0]!.answer(task(1, { done: true, version: 2 }));
		await expect(first).resolves.toMatchObject({ done: true });
		await Promise.resolve();
		expect(calls.map((c) => c.done)).toEqual([true, false]);
		calls[1]!.answer(task(1, { done: false, version: 3 }));
		await expect(second).resolves.toMatchObject({ done: false, version: 3 });
	});

	it('S49 a change whose predecessor timed out is still sent, with the value asked for', async () => {
		const calls: boolean[] = [];
		const store = createRecordStore<Task>({
			env,
			initial: [task(1)],
			commitTimeout: 1000,
			commit: ({ item }) => {
				calls.push(item.done);
				return calls.length === 1 ? new Promise<Task>(() => {}) : Promise.resolve(item);
			}
		});
		const first = store.toggle(1);
		const second = store.toggle(1);
		vi.advanceTimersByTime(1000);
		await expect(first).rejects.toThrow(/1000 ms/);
		await expect(second).resolves.toMatchObject({ done: false });
		expect(calls).toEqual([true, false]);
	});

	it('S49 toggled twice: the row from before both does not settle the second change', async () => {
		const answers: Array<(row: Task) => void> = [];
		const store = createRecordStore<Task>({
			env,
			initial: [task(1)],
			version: (t) => t.version,
			commit: () => new Promise<Task>((resolve) => answers.push(resolve))
		});
		const first = store.toggle(1); // done: true
		const second = store.toggle(1); // done: false again
		// An unrelated update of the row (done still false) arrives before either is applied.
		store.receive({ ...task(1, { version: 2 }), title: 'renamed' });
		store.flush();
		expect(store.getSnapshot().rows[0]).toMatchObject({ status: 'pending', item: { done: false } });
		answers[0]!(task(1, { done: true, version: 3 }));
		await expect(first).resolves.toMatchObject({ done: true });
		answers[1]!(task(1, { done: false, version: 4 }));
		await expect(second).resolves.toMatchObject({ done: false, version: 4 });
		store.flush();
		expect(store.getSnapshot().rows[0]).toMatchObject({
			status: 'settled',
			item: { done: false, version: 4 }
		});
	});

	it('S13 dispose clears a pending commit’s timeout and rejects the change', async () => {
		const store = createRecordStore<Task>({
			env,
			initial: [task(1)],
			commit: () => new Promise(() => {}),
			commitTimeout: 10_000
		});
		const change = store.toggle(1);
		expect(vi.getTimerCount()).toBe(1);
		store.dispose();
		expect(vi.getTimerCount()).toBe(0);
		await expect(change).rejects.toThrow(/disposed/);
	});

	it('S30 key, version and sort functions that throw drop or report instead of escaping', () => {
		const errors: string[] = [];
		const store = createRecordStore<Task>({
			env,
			key: (t) => {
				if (t.id === 13) throw new Error('bad key');
				return t.id;
			},
			version: (t) => {
				if (t.version < 0) throw new Error('bad version');
				return t.version;
			},
			sort: (a, b) => {
				if (a.id === 99 || b.id === 99) throw new Error('bad sort');
				return a.id - b.id;
			},
			onError: (e) => {
				errors.push(e.message);
				throw new Error('the handler itself fails');
			}
		});
		store.receive([task(1), task(13), task(2)]);
		expect(() => store.flush()).not.toThrow();
		store.receive(task(2, { version: -1 }));
		store.receive(task(99));
		expect(() => store.flush()).not.toThrow();
		expect(
			store
				.getSnapshot()
				.items.map((t) => t.id)
				.sort()
		).toEqual([1, 2, 99]);
		expect(errors).toEqual([
			expect.stringMatching(/`key` function threw: bad key/),
			expect.stringMatching(/`version` function threw: bad version/),
			expect.stringMatching(/`sort` function threw: bad sort/)
		]);
	});

	it('S30 a decoder returning something that is not an update drops it, reported', () => {
		const errors: string[] = [];
		const store = createRecordStore<Task>({
			env,
			decode: () => ({ type: 'nonsense' }) as never,
			onError: (e) => errors.push(e.message)
		});
		store.receive('x');
		expect(() => store.flush()).not.toThrow();
		expect(store.getSnapshot().dropped).toBe(1);
		expect(errors).toEqual([expect.stringMatching(/not \{ type/)]);
	});
});
