import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { resolveRetryOptions } from '../connection/retry.js';
import { applyPatch, carries, patchBetween } from './patch.js';

const PROTOTYPE_NAMES = Object.getOwnPropertyNames(Object.prototype);

describe('patches', () => {
	it('a patch applied to the row it came from gives the row asked for, and the row carries it', () => {
		const row = fc.dictionary(fc.string(), fc.oneof(fc.boolean(), fc.integer(), fc.string()));
		fc.assert(
			fc.property(row, row, (before, after) => {
				const patch = patchBetween(before, after);
				const result = applyPatch(before, patch) as Record<string, unknown>;
				for (const key of Object.keys(after)) expect(result[key]).toEqual(after[key]);
				expect(carries(result, patch)).toBe(true);
			}),
			{ numRuns: 300 }
		);
	});

	it('S33 fields named after Object.prototype members are plain fields', () => {
		for (const name of [...PROTOTYPE_NAMES, '__proto__']) {
			const before = JSON.parse(`{"id":1,${JSON.stringify(name)}:false}`) as Record<
				string,
				unknown
			>;
			const after = JSON.parse(`{"id":1,${JSON.stringify(name)}:true}`) as Record<string, unknown>;
			const patch = patchBetween(before, after);
			expect([...patch.keys()]).toEqual([name]);
			const result = applyPatch(before, patch);
			expect(Object.getPrototypeOf(result)).toBe(Object.prototype);
			expect(Object.getOwnPropertyDescriptor(result, name)?.value).toBe(true);
			expect(carries(result, patch)).toBe(true);
			expect(carries({ id: 1 }, patch)).toBe(false);
		}
	});

	it('S33 a change that adds a `__proto__` field never swaps the row’s prototype', () => {
		const after = JSON.parse('{"id":1,"__proto__":{"polluted":true}}') as object;
		const patch = patchBetween({ id: 1 }, after);
		const result = applyPatch({ id: 1 }, patch) as Record<string, unknown>;
		expect(Object.getPrototypeOf(result)).toBe(Object.prototype);
		expect(result.polluted).toBeUndefined();
		expect(Object.getOwnPropertyDescriptor(result, '__proto__')?.value).toEqual({ polluted: true });
	});

	it('S33 retry options named after Object.prototype members are unknown', () => {
		for (const name of PROTOTYPE_NAMES) {
			expect(() => resolveRetryOptions({ [name]: 1 } as never)).toThrow(/known retry option/);
		}
	});
});
