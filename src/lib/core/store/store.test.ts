import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createFakeEnv, type FakeEnv } from '../../../../tests/helpers/fake-env.js';
import { DecodeError, MutationError } from '../errors.js';
import { createRecordStore, type RecordStoreOptions } from './store.js';

interface Task {
	id: number;
	title: string;
	done: boolean;
	version: number;
}

const task = (id: number, version = 1, over: Partial<Task> = {}): Task => ({
	id,
	title: `Task ${id}`,
	done: false,
	version,
	...over
});

let env: FakeEnv;
beforeEach(() => {
	vi.useFakeTimers({ now: 0 });
	env = createFakeEnv();
});
afterEach(() => vi.useRealTimers());

function setup(options: Partial<RecordStoreOptions<Task>> = {}) {
	const errors: Error[] = [];
	const store = createRecordStore<Task>({
		env,
		version: (t) => t.version,
		onError: (e) => errors.push(e),
		...options
	});
	const ids = () => store.getSnapshot().items.map((t) => t.id);
	return { store, errors, ids };
}

describe('createRecordStore', () => {
	it('starts from the initial rows, marked loaded', () => {
		const { store, ids } = setup({ initial: [task(1), task(2)] });
		expect(ids()).toEqual([1, 2]);
		expect(store.getSnapshot().loaded).toBe(true);
		expect(setup().store.getSnapshot().loaded).toBe(false);
	});

	it('decodes messages: array → snapshot, object → upsert, remove event', () => {
		const { store, ids } = setup();
		store.receive(JSON.stringify([task(1), task(2)]));
		store.flush();
		expect(ids()).toEqual([1, 2]);
		store.receive(JSON.stringify(task(3)));
		store.receive(JSON.stringify([2]), { event: 'remove' });
		store.flush();
		expect(ids()).toEqual([3, 1]);
	});

	it('applies a batch at most once per frame, with one notification', () => {
		const { store } = setup();
		const listener = vi.fn();
		store.subscribe(listener);
		for (let i = 0; i < 500; i++) store.receive({ ...task(i % 50, i) });
		expect(listener).not.toHaveBeenCalled();
		expect(env.pendingFrames).toBe(1);
		env.runFrames();
		expect(listener).toHaveBeenCalledTimes(1);
		expect(store.getSnapshot().items).toHaveLength(50);
	});

	it('does not notify when a batch changes nothing', () => {
		const { store } = setup({ initial: [task(1, 5)] });
		const listener = vi.fn();
		store.subscribe(listener);
		store.receive(task(1, 5));
		store.receive(task(1, 4));
		env.runFrames();
		expect(listener).not.toHaveBeenCalled();
	});

	it('keeps unchanged rows and the snapshot identical across batches', () => {
		const { store } = setup({ initial: [task(1), task(2)] });
		const before = store.getSnapshot();
		store.receive(task(2, 2));
		store.flush();
		const after = store.getSnapshot();
		expect(after).not.toBe(before);
		expect(after.rows[0]).toBe(before.rows[0]);
		expect(after.rows[1]).not.toBe(before.rows[1]);
	});

	it('S21 drops an update older than the row it would replace', () => {
		const { store } = setup({ initial: [task(1, 3, { title: 'new' })] });
		store.receive(task(1, 2, { title: 'old' }));
		store.flush();
		expect(store.getSnapshot().items[0]!.title).toBe('new');
	});

	it('S21 a snapshot older than a socket update keeps the newer row', () => {
		const { store } = setup();
		store.receive(task(1, 5, { title: 'from socket' }));
		store.flush();
		store.apply({ type: 'snapshot', items: [task(1, 4, { title: 'stale snapshot' }), task(2)] });
		store.flush();
		expect(store.getSnapshot().items.find((t) => t.id === 1)!.title).toBe('from socket');
		expect(store.getSnapshot().items).toHaveLength(2);
	});

	it('a snapshot of unchanged versions keeps the rows as they were, objects and all', () => {
		const { store } = setup({ initial: [task(1, 2), task(2, 1)] });
		const before = store.getSnapshot().rows;
		store.apply({ type: 'snapshot', items: [task(1, 2), task(2, 2, { title: 'renamed' })] });
		store.flush();
		const after = store.getSnapshot().rows;
		expect(after[0]).toBe(before[0]);
		expect(after[0]!.item).toBe(before[0]!.item);
		expect(after[1]).not.toBe(before[1]);
		expect(after[1]!.item).toMatchObject({ version: 2, title: 'renamed' });
	});

	it('S66 a snapshot that only reorders rows shows the new order, each row the object it was', () => {
		const { store, ids } = setup({ initial: [task(1), task(2), task(3)] });
		const before = store.getSnapshot().rows;
		const seen: number[][] = [];
		store.subscribe((snapshot) => seen.push(snapshot.items.map((t) => t.id)));
		store.apply({ type: 'snapshot', items: [task(3), task(1), task(2)] });
		store.flush();
		expect(ids()).toEqual([3, 1, 2]);
		expect(seen).toEqual([[3, 1, 2]]);
		expect(store.getSnapshot().rows).toEqual([before[2], before[0], before[1]]);
		expect(store.getSnapshot().rows[0]).toBe(before[2]);
	});

	it('a snapshot removes rows it lacks, unless they changed after its mark', () => {
		const { store, ids } = setup({ initial: [task(1), task(2)] });
		const mark = store.mark();
		store.receive(task(3));
		store.flush();
		store.apply({ type: 'snapshot', items: [task(1)] }, { since: mark });
		store.flush();
		expect(ids()).toEqual([3, 1]);
		store.apply({ type: 'snapshot', items: [task(1)] });
		store.flush();
		expect(ids()).toEqual([1]);
	});

	it('S20 resync merge: by key and version, no duplicates', () => {
		const { store, ids } = setup({ initial: [task(1, 1), task(2, 3)] });
		store.apply({ type: 'snapshot', items: [task(2, 2), task(1, 2), task(4, 1), task(4, 1)] });
		store.flush();
		expect(ids()).toEqual([2, 1, 4]);
		expect(store.getSnapshot().items.map((t) => t.version)).toEqual([3, 2, 1]);
	});

	it('drops duplicate event ids', () => {
		const { store } = setup();
		store.receive(task(1, 1), { id: 'e1' });
		store.receive(task(1, 2, { title: 'replayed' }), { id: 'e1' });
		store.flush();
		expect(store.getSnapshot().items[0]!.version).toBe(1);
	});

	it('S26 forgets event ids on request, so a restarted server reusing ids is heard', () => {
		const { store } = setup();
		store.receive(task(1, 1), { id: '1' });
		store.forgetEventIds();
		store.receive(task(2, 1), { id: '1' });
		store.flush();
		expect(store.getSnapshot().items.map((t) => t.id)).toEqual([2, 1]);
	});

	it('forgets old event ids beyond the dedupe window', () => {
		const { store } = setup({ dedupeWindow: 2, version: undefined });
		store.receive(task(1), { id: 'a' });
		store.receive(task(2), { id: 'b' });
		store.receive(task(3), { id: 'c' });
		store.receive(task(1, 1, { title: 'again' }), { id: 'a' });
		store.flush();
		expect(store.getSnapshot().items.find((t) => t.id === 1)!.title).toBe('again');
	});

	it('caps the list at maxItems, dropping from the end', () => {
		const { store, ids } = setup({ maxItems: 3 });
		for (let i = 1; i <= 5; i++) store.receive(task(i));
		store.flush();
		expect(ids()).toEqual([5, 4, 3]);
	});

	it('inserts at the end or keeps a sort order when asked', () => {
		const end = setup({ insert: 'end' });
		end.store.receive(task(1));
		end.store.receive(task(2));
		end.store.flush();
		expect(end.ids()).toEqual([1, 2]);
		const sorted = setup({ sort: (a, b) => a.title.localeCompare(b.title) });
		sorted.store.receive(task(2, 1, { title: 'b' }));
		sorted.store.receive(task(1, 1, { title: 'c' }));
		sorted.store.receive(task(3, 1, { title: 'a' }));
		sorted.store.flush();
		expect(sorted.ids()).toEqual([3, 2, 1]);
	});

	it('S11 drops malformed messages, reports each once, and keeps the list', () => {
		const { store, errors, ids } = setup({ initial: [task(1)] });
		store.receive('{"id": 2, "title": ');
		store.receive(JSON.stringify(task(3)), { event: 'mystery' });
		store.receive(JSON.stringify({ title: 'no id' }));
		store.receive('42');
		store.receive(JSON.stringify(task(4)));
		store.flush();
		expect(ids()).toEqual([4, 1]);
		expect(errors).toHaveLength(4);
		expect(errors.every((e) => e instanceof DecodeError)).toBe(true);
		// the missing key is found when the batch is applied, the others on arrival
		expect(errors.map((e) => e.message)).toEqual(
			expect.arrayContaining([
				expect.stringMatching(/not valid JSON/),
				expect.stringMatching(/unknown event type "mystery"/),
				expect.stringMatching(/without a usable key/),
				expect.stringMatching(/expected an array or an object/)
			])
		);
		expect(store.getSnapshot().dropped).toBe(4);
	});

	it('a custom decoder that throws drops only that message', () => {
		const { store, errors } = setup({
			decode: (data) => {
				if (data === 'bad') throw new Error('nope');
				return { type: 'upsert', items: [data as Task] };
			}
		});
		store.receive('bad');
		store.receive(task(1));
		store.flush();
		expect(store.getSnapshot().items).toHaveLength(1);
		expect(errors[0]).toBeInstanceOf(DecodeError);
		expect(errors[0]!.message).toBe('nope');
	});

	describe('optimistic changes', () => {
		it('applies at once as pending, and settles with the server item', async () => {
			let resolve: (t: Task) => void = () => {};
			const commit = vi.fn(() => new Promise<Task>((r) => (resolve = r)));
			const { store } = setup({ initial: [task(1)], commit });
			const done = store.toggle(1);
			store.flush();
			expect(store.getSnapshot().rows[0]).toMatchObject({
				status: 'pending',
				item: { done: true }
			});
			expect(commit).toHaveBeenCalledWith(
				expect.objectContaining({
					key: '1',
					item: expect.objectContaining({ done: true }),
					previous: expect.objectContaining({ done: false })
				})
			);
			resolve(task(1, 2, { done: true }));
			await expect(done).resolves.toMatchObject({ done: true, version: 2 });
			store.flush();
			expect(store.getSnapshot().rows[0]).toMatchObject({
				status: 'settled',
				item: { done: true, version: 2 }
			});
		});

		it('S18 rolls back and marks failed when the commit rejects; retry sends once more', async () => {
			const commit = vi
				.fn()
				.mockRejectedValueOnce(new Error('HTTP 500'))
				.mockResolvedValueOnce(task(1, 2, { done: true }));
			const { store, errors } = setup({ initial: [task(1)], commit });
			await expect(store.toggle(1)).rejects.toBeInstanceOf(MutationError);
			store.flush();
			expect(store.getSnapshot().rows[0]).toMatchObject({
				status: 'failed',
				item: { done: false }
			});
			expect(store.getSnapshot().rows[0]!.error?.message).toBe('HTTP 500');
			expect(errors).toHaveLength(1);
			await store.retryMutation(1);
			store.flush();
			expect(commit).toHaveBeenCalledTimes(2);
			expect(store.getSnapshot().rows[0]).toMatchObject({
				status: 'settled',
				item: { done: true }
			});
			await expect(store.retryMutation(1)).rejects.toThrow(/No failed change/);
			expect(commit).toHaveBeenCalledTimes(2);
		});

		it('S18 rolls back when the commit times out, and aborts it', async () => {
			let signal: AbortSignal | undefined;
			const commit = vi.fn((change: { signal: AbortSignal }) => {
				signal = change.signal;
				return new Promise<Task>(() => {});
			});
			const { store } = setup({ initial: [task(1)], commit, commitTimeout: 3000 });
			const result = store.toggle(1);
			const assertion = expect(result).rejects.toThrow(/not confirmed within 3000 ms/);
			await vi.advanceTimersByTimeAsync(3000);
			await assertion;
			expect(signal?.aborted).toBe(true);
			store.flush();
			expect(store.getSnapshot().rows[0]).toMatchObject({
				status: 'failed',
				item: { done: false }
			});
		});

		it('a rollback restores the latest server row, not a stale copy', async () => {
			let reject: (e: Error) => void = () => {};
			const commit = () => new Promise<Task>((_, r) => (reject = r));
			const { store } = setup({ initial: [task(1)], commit });
			const result = store.mutate(1, { title: 'mine' });
			store.receive(task(1, 2, { title: 'theirs' }));
			store.flush();
			expect(store.getSnapshot().items[0]!.title).toBe('mine');
			reject(new Error('conflict'));
			await expect(result).rejects.toThrow('conflict');
			store.flush();
			expect(store.getSnapshot().items[0]).toMatchObject({ title: 'theirs', version: 2 });
		});

		it('S19 a commit that resolves without the item stays shown until the server echo, applied once', async () => {
			const commit = vi.fn(async () => undefined);
			const listener = vi.fn();
			const { store } = setup({ initial: [task(1)], commit });
			store.subscribe(listener);
			await store.toggle(1);
			store.flush();
			expect(store.getSnapshot().rows[0]).toMatchObject({
				status: 'settled',
				item: { done: true }
			});
			store.receive(task(1, 2, { done: true }));
			store.flush();
			expect(store.getSnapshot().rows[0]).toMatchObject({
				status: 'settled',
				item: { done: true, version: 2 }
			});
			// a replay of the same echo changes nothing
			listener.mockClear();
			store.receive(task(1, 2, { done: true }));
			store.flush();
			expect(listener).not.toHaveBeenCalled();
		});

		it('an acknowledgement that is not the row confirms without being reported as malformed', async () => {
			const { store, errors } = setup({
				initial: [task(1)],
				commit: async () => ({ ok: true }) as never
			});
			await store.toggle(1);
			store.flush();
			expect(store.getSnapshot().rows[0]).toMatchObject({
				status: 'settled',
				item: { done: true }
			});
			expect(errors).toEqual([]);
			expect(store.getSnapshot().dropped).toBe(0);
		});

		it('S31 an accepted change the server never echoes stays shown: the server has it', async () => {
			const { store } = setup({
				initial: [task(1)],
				commit: async () => undefined,
				commitTimeout: 1000
			});
			await store.toggle(1);
			store.flush();
			expect(store.getSnapshot().rows[0]).toMatchObject({
				status: 'settled',
				item: { done: true }
			});
			vi.advanceTimersByTime(60_000);
			store.flush();
			expect(store.getSnapshot().rows[0]).toMatchObject({
				status: 'settled',
				item: { done: true }
			});
			expect(vi.getTimerCount()).toBe(0);
		});

		it('S19 the echo of a pending change, named by its mutationId, settles it once', async () => {
			let id = '';
			const { store } = setup({
				initial: [task(1)],
				commit: (change) => {
					id = change.mutationId;
					return new Promise(() => {});
				}
			});
			void store.toggle(1);
			store.receive({ type: 'upsert', items: [task(1, 2, { done: true })], mutationId: id });
			store.flush();
			// applied once: the flip is not replayed on top of the echoed row
			expect(store.getSnapshot().rows[0]).toMatchObject({
				status: 'settled',
				item: { done: true, version: 2 }
			});
		});

		it("S19 mutation ids are unique across stores: another tab's echo does not settle this one's change", async () => {
			const ids: string[] = [];
			const commit = (change: { mutationId: string }) => {
				ids.push(change.mutationId);
				return new Promise<never>(() => {});
			};
			const mine = setup({ initial: [task(1), task(2)], commit }).store;
			const theirs = setup({ initial: [task(1), task(2)], commit }).store;
			void mine.toggle(2);
			void theirs.toggle(1);
			expect(ids).toHaveLength(2);
			expect(ids[0]).not.toBe(ids[1]);
			// Their change to row 1 comes back to every tab with their mutation id.
			mine.receive({ type: 'upsert', items: [task(1, 2, { done: true })], mutationId: ids[1] });
			mine.flush();
			expect(mine.getSnapshot().rows.find((row) => row.key === '2')).toMatchObject({
				status: 'pending',
				item: { done: true }
			});
		});

		it('settle(mutationId) confirms a pending change from an ack', async () => {
			let id = '';
			const { store } = setup({
				initial: [task(1)],
				commit: (change) => {
					id = change.mutationId;
					return new Promise(() => {});
				}
			});
			void store.toggle(1);
			store.settle(id, task(1, 2, { done: true }));
			store.flush();
			expect(store.getSnapshot().rows[0]).toMatchObject({
				status: 'settled',
				item: { done: true, version: 2 }
			});
		});

		it('rejects changes it cannot make, with clear errors and nothing shown', async () => {
			const none = setup({ initial: [task(1)] });
			await expect(none.store.toggle(1)).rejects.toThrow(/pass a `commit` function/);
			const { store } = setup({ initial: [task(1)], commit: async () => undefined });
			await expect(store.toggle(99)).rejects.toThrow(/No row with key "99"/);
			const noDone = createRecordStore<{ id: number }>({
				env,
				initial: [{ id: 1 }],
				commit: async () => undefined
			});
			// Never a synchronous throw: the promise rejects, and the row is untouched.
			let thrown: unknown;
			let result: Promise<unknown> | undefined;
			try {
				result = noDone.toggle(1);
			} catch (error) {
				thrown = error;
			}
			expect(thrown).toBeUndefined();
			await expect(result).rejects.toThrow(/boolean `done`/);
			noDone.flush();
			expect(noDone.getSnapshot().rows[0]!.status).toBe('settled');
			store.flush();
			expect(store.getSnapshot().rows[0]!.status).toBe('settled');
		});

		it('removing a row drops its pending change', async () => {
			const { store, ids } = setup({
				initial: [task(1), task(2)],
				commit: () => new Promise(() => {})
			});
			const change = store.toggle(1);
			store.receive([1], { event: 'remove' });
			store.flush();
			expect(ids()).toEqual([2]);
			await expect(change).rejects.toThrow(/was removed/);
		});
	});

	it('dispose cancels the pending frame and timers', async () => {
		const { store } = setup({ initial: [task(1)], commit: async () => undefined });
		await store.toggle(1);
		store.receive(task(2));
		store.dispose();
		expect(vi.getTimerCount()).toBe(0);
		expect(env.pendingFrames).toBe(0);
	});

	it('rejects a bad maxItems', () => {
		expect(() => createRecordStore({ maxItems: 0 })).toThrow(/`maxItems`/);
	});
});
