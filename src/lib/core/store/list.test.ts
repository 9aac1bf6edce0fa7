import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Update } from './decode.js';
import {
	applyInPlace,
	applyUpdates,
	emptyList,
	listOf,
	type List,
	type ListRules
} from './list.js';

interface Row {
	id: string;
	v: number;
}

const rules = (over: Partial<ListRules<Row>> = {}): ListRules<Row> => ({
	keyOf: (row) => (typeof row.id === 'string' ? row.id : undefined),
	compare: (a, b) => (a.v < b.v ? -1 : a.v > b.v ? 1 : 0),
	versioned: true,
	insert: 'start',
	maxItems: undefined,
	...over
});

describe('applyUpdates', () => {
	it('leaves the list it was given untouched and shares unchanged rows', () => {
		const before = listOf(
			[
				{ id: 'a', v: 1 },
				{ id: 'b', v: 1 }
			],
			rules(),
			true
		);
		const entries = new Map(before.entries);
		const { list } = applyUpdates(
			before,
			[{ update: { type: 'upsert', items: [{ id: 'b', v: 2 }] } }],
			rules()
		);
		expect(before.entries).toEqual(entries);
		expect(list.entries.get('a')).toBe(before.entries.get('a'));
		expect(list.entries.get('b')!.item).toEqual({ id: 'b', v: 2 });
	});

	it('S21 an older upsert is dropped; an echo still reports its mutationId', () => {
		const before = listOf([{ id: 'a', v: 3 }], rules(), true);
		const { list, events } = applyUpdates(
			before,
			[{ update: { type: 'upsert', items: [{ id: 'a', v: 2 }], mutationId: 'm1' } }],
			rules()
		);
		expect(list.entries.get('a')!.item.v).toBe(3);
		expect(events).toEqual([{ type: 'confirmed', mutationId: 'm1' }]);
	});

	it('evicts on insert beyond maxItems, the last in order first', () => {
		const r = rules({ maxItems: 2 });
		const before = listOf(
			[
				{ id: 'a', v: 1 },
				{ id: 'b', v: 1 }
			],
			r,
			true
		);
		const { list, events } = applyUpdates(
			before,
			[{ update: { type: 'upsert', items: [{ id: 'c', v: 1 }] } }],
			r
		);
		expect(list.order).toEqual(['c', 'a']);
		expect(events).toContainEqual({ type: 'removed', key: 'b' });
	});

	it('a snapshot given `since` keeps rows that changed after the mark', () => {
		const start = listOf([{ id: 'a', v: 1 }], rules(), true);
		const mark = start.seq;
		const { list: later } = applyUpdates(
			start,
			[{ update: { type: 'upsert', items: [{ id: 'n', v: 1 }] } }],
			rules()
		);
		const { list } = applyUpdates(
			later,
			[{ update: { type: 'snapshot', items: [{ id: 'a', v: 1 }] }, since: mark }],
			rules()
		);
		expect(list.order).toEqual(['n', 'a']);
	});

	// Differential: against the plainest possible model of the same rules.
	it('equals a reference model on random update sequences', () => {
		const row = fc.record({ id: fc.constantFrom('a', 'b', 'c', 'd', 'e'), v: fc.nat(4) });
		const update: fc.Arbitrary<Update<Row>> = fc.oneof(
			fc.record({ type: fc.constant('upsert' as const), items: fc.array(row, { maxLength: 3 }) }),
			fc.record({ type: fc.constant('snapshot' as const), items: fc.array(row, { maxLength: 4 }) }),
			fc.record({
				type: fc.constant('remove' as const),
				ids: fc.array(fc.constantFrom('a', 'b', 'x'), { maxLength: 2 })
			})
		);
		fc.assert(
			fc.property(
				fc.array(update, { maxLength: 20 }),
				fc.boolean(),
				fc.integer({ min: 1, max: 4 }),
				(updates, atEnd, max) => {
					const r = rules({ insert: atEnd ? 'end' : 'start', maxItems: max });
					let list: List<Row> = emptyList<Row>();
					const model = new Map<string, number>();
					let order: string[] = [];
					for (const u of updates) {
						list = applyUpdates(list, [{ update: u }], r).list;
						if (u.type === 'remove') {
							for (const id of u.ids) model.delete(String(id));
							order = order.filter((k) => model.has(k));
						} else if (u.type === 'upsert') {
							for (const item of u.items) {
								const v = model.get(item.id);
								if (v === undefined) order = atEnd ? [...order, item.id] : [item.id, ...order];
								if (v === undefined || item.v > v) model.set(item.id, item.v);
							}
						} else {
							const next = new Map<string, number>();
							const nextOrder: string[] = [];
							for (const item of u.items) {
								if (next.has(item.id)) continue;
								const v = model.get(item.id);
								next.set(item.id, v !== undefined && v >= item.v ? v : item.v);
								nextOrder.push(item.id);
							}
							model.clear();
							for (const [k, v] of next) model.set(k, v);
							order = nextOrder;
						}
						for (const k of order.slice(max)) model.delete(k);
						order = order.slice(0, max);
						expect(list.order).toEqual(order);
						expect(Object.fromEntries([...list.entries].map(([k, e]) => [k, e.item.v]))).toEqual(
							Object.fromEntries(model)
						);
					}
				}
			),
			{ numRuns: 500 }
		);
	});

	it('in place, gives a new order whenever the rows or their order change, and keeps it otherwise', () => {
		const item = fc.record({
			id: fc.constantFrom('a', 'b', 'c'),
			v: fc.integer({ min: 1, max: 3 })
		});
		const update: fc.Arbitrary<Update<Row>> = fc.oneof(
			fc.record({ type: fc.constant('upsert' as const), items: fc.array(item, { maxLength: 3 }) }),
			fc.record({
				type: fc.constant('snapshot' as const),
				items: fc.array(item, { maxLength: 3 })
			}),
			fc.record({
				type: fc.constant('remove' as const),
				ids: fc.array(fc.constantFrom('a', 'b', 'x'), { maxLength: 2 })
			})
		);
		fc.assert(
			fc.property(fc.array(update, { maxLength: 15 }), fc.boolean(), (updates, atEnd) => {
				const r = rules({ insert: atEnd ? 'end' : 'start', maxItems: 2 });
				const own = emptyList<Row>();
				let pure: List<Row> = emptyList<Row>();
				for (const u of updates) {
					const order = own.order;
					const before = [...order];
					const events = applyInPlace(own, [{ update: u }], r);
					const result = applyUpdates(pure, [{ update: u }], r);
					pure = result.list;
					expect(events).toEqual(result.events);
					expect(own.order).toEqual(pure.order);
					expect([...own.entries]).toEqual([...pure.entries]);
					const same =
						before.length === own.order.length && before.every((k, i) => own.order[i] === k);
					if (!same) expect(own.order).not.toBe(order);
					// An eviction (like an upsert) may give a new array with the same rows.
					const evicted = events.some((e) => e.type === 'removed');
					if (u.type !== 'upsert' && same && !evicted) expect(own.order).toBe(order);
				}
			}),
			{ numRuns: 300 }
		);
	});
});
