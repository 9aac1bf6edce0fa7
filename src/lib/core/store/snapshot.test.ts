import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createFakeEnv } from '../../../../tests/helpers/fake-env.js';
import { createRecordStore, type Row } from './store.js';

interface Task {
	id: string;
	done: boolean;
	version: number;
}

const KEYS = ['a', 'b', 'c', 'd', 'e', 'f'];

type Step =
	| { type: 'upsert'; items: Task[] }
	| { type: 'remove'; ids: string[] }
	| { type: 'snapshot'; items: Task[] }
	| { type: 'toggle'; key: string }
	| { type: 'answer'; accept: boolean };

const taskArb = fc.record({
	id: fc.constantFrom(...KEYS),
	done: fc.boolean(),
	version: fc.integer({ min: 1, max: 6 })
});
const stepArb: fc.Arbitrary<Step> = fc.oneof(
	fc.record({ type: fc.constant('upsert' as const), items: fc.array(taskArb, { maxLength: 3 }) }),
	fc.record({
		type: fc.constant('remove' as const),
		ids: fc.array(fc.constantFrom(...KEYS), { maxLength: 2 })
	}),
	fc.record({ type: fc.constant('snapshot' as const), items: fc.array(taskArb, { maxLength: 6 }) }),
	fc.record({ type: fc.constant('toggle' as const), key: fc.constantFrom(...KEYS) }),
	fc.record({ type: fc.constant('answer' as const), accept: fc.boolean() })
);

const settle = async () => {
	for (let i = 0; i < 6; i++) await Promise.resolve();
};

/**
 * The store builds each snapshot from the last one, rebuilding only the rows whose key something
 * touched. Against what the rows must be, worked out from the server's rows and the changes on
 * their way: every row is right after every flush (nothing left stale), and every row nothing
 * touched is the same object as before (nothing rebuilt for nothing).
 */
describe('record store snapshots', () => {
	it('rebuild exactly the rows that changed, and each is what the server rows and changes make', async () => {
		await fc.assert(
			fc.asyncProperty(
				fc.array(stepArb, { minLength: 1, maxLength: 30 }),
				fc.constantFrom<'start' | 'end'>('start', 'end'),
				fc.boolean(),
				async (steps, insert, sorted) => {
					const env = createFakeEnv();
					const answers: Array<{ key: string; accept: () => void; reject: () => void }> = [];
					/** Per key, the `done` each change on its way asks for, in order, while unsettled. */
					const waiting = new Map<string, Array<{ done: boolean; ended: boolean }>>();
					const store = createRecordStore<Task>({
						env,
						insert,
						version: (t) => t.version,
						sort: sorted ? (x, y) => (x.id < y.id ? -1 : x.id > y.id ? 1 : 0) : undefined,
						commit: ({ key }) =>
							new Promise((resolve, reject) => {
								answers.push({
									key,
									accept: () => resolve(undefined),
									reject: () => reject(new Error('refused'))
								});
							}),
						onError: () => {}
					});
					let before = new Map<string, Row<Task>>();
					for (const step of steps) {
						const touched = new Set<string>();
						if (step.type === 'toggle') {
							const shown = store.getSnapshot().rows.find((r) => r.key === step.key);
							const change = { done: !shown?.item.done, ended: false };
							const list = waiting.get(step.key) ?? [];
							if (shown) {
								list.push(change);
								waiting.set(step.key, list);
							}
							store.toggle(step.key).then(
								() => (change.ended = true),
								() => (change.ended = true)
							);
							touched.add(step.key);
						} else if (step.type === 'answer') {
							const answer = answers.shift();
							if (answer) {
								touched.add(answer.key);
								if (step.accept) answer.accept();
								else answer.reject();
							}
						} else {
							store.apply(step);
							const keys = step.type === 'remove' ? step.ids : step.items.map((t) => t.id);
							for (const key of keys) touched.add(key);
							// A snapshot may remove any row, a sort or a cap move any.
							if (step.type === 'snapshot') for (const key of before.keys()) touched.add(key);
						}
						store.flush();
						await settle();
						store.flush();
						for (const [key, list] of waiting) {
							const open = list.filter((c) => !c.ended);
							if (open.length) waiting.set(key, open);
							else waiting.delete(key);
						}
						const server = store.handoff().items;
						const { rows, items } = store.getSnapshot();
						expect(rows.map((r) => r.key)).toEqual(server.map((t) => t.id));
						expect(items).toEqual(rows.map((r) => r.item));
						rows.forEach((row, i) => {
							const serverItem = server[i]!;
							const open = waiting.get(row.key);
							if (open?.length) {
								expect(row.status).toBe('pending');
								expect(row.item).toEqual({ ...serverItem, done: open.at(-1)!.done });
							} else {
								expect(row.status).not.toBe('pending');
								expect(row.item).toBe(serverItem);
							}
							// A failed change's error stays with the row while a later change is on its way.
							if (row.status === 'failed') expect(row.error).toBeInstanceOf(Error);
							if (row.status === 'settled') expect(row.error).toBeUndefined();
							if (!touched.has(row.key) && before.has(row.key))
								expect(row).toBe(before.get(row.key));
						});
						before = new Map(rows.map((r) => [r.key, r]));
					}
					store.dispose();
				}
			),
			{ numRuns: 300 }
		);
	});
});
