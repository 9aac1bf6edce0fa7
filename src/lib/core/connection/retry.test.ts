import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { defaultRetryOptions, resolveRetryOptions, retryDelay } from './retry.js';

const options = resolveRetryOptions({ baseDelay: 1000, maxDelay: 30_000, minDelay: 100 });

describe('retryDelay', () => {
	it('S15 grows exponentially: the ceiling doubles per failure', () => {
		const ceilings = [1, 2, 3, 4, 5].map((n) => retryDelay(n, options, 0.999_999));
		expect(ceilings).toEqual([999, 1999, 3999, 7999, 15_999]);
	});

	it('S15 is capped at maxDelay, even after very many failures', () => {
		expect(retryDelay(6, options, 0.999_999)).toBe(29_999);
		expect(retryDelay(10_000, options, 0.999_999)).toBe(29_999);
		expect(Number.isFinite(retryDelay(Number.MAX_SAFE_INTEGER, options, 0.5))).toBe(true);
	});

	it('S15 is fully jittered: spread over [minDelay, ceiling]', () => {
		expect(retryDelay(4, options, 0)).toBe(100);
		expect(retryDelay(4, options, 0.5)).toBe(4050);
		const samples = Array.from({ length: 2000 }, (_, i) => retryDelay(4, options, i / 2000));
		const buckets = [0, 0, 0, 0];
		for (const delay of samples) buckets[Math.min(3, Math.floor(delay / 2000))]!++;
		// uniform: each quarter of [0, 8000) gets about a quarter of the samples
		for (const count of buckets) expect(count).toBeGreaterThan(400);
	});

	it('S15 spreads a herd: 1,000 clients dropped together, no 100 ms holds more than 10 % of their first retries', () => {
		const defaults = resolveRetryOptions();
		// evenly spread draws stand for 1,000 clients' Math.random()
		const delays = Array.from({ length: 1000 }, (_, i) => retryDelay(1, defaults, i / 1000));
		delays.sort((a, b) => a - b);
		let peak = 0;
		for (let start = 0, end = 0; end < delays.length; end++) {
			while (delays[end]! - delays[start]! >= 100) start++;
			peak = Math.max(peak, end - start + 1);
		}
		expect(peak).toBeLessThanOrEqual(100);
		// and the first retry still comes soon: half of them within a second
		expect(delays[500]).toBeLessThan(1000);
	});

	it('S15 stays within [minDelay, min(maxDelay, base·2^(n-1))] for any input', () => {
		fc.assert(
			fc.property(
				fc.integer({ min: 1, max: 200 }),
				fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
				(n, random) => {
					const delay = retryDelay(n, options, random);
					const ceiling = Math.min(options.maxDelay, options.baseDelay * 2 ** (n - 1));
					expect(delay).toBeGreaterThanOrEqual(options.minDelay);
					expect(delay).toBeLessThanOrEqual(Math.max(ceiling, options.minDelay));
				}
			)
		);
	});

	it('S10 uses the server retry value as the base, within the floor and cap', () => {
		expect(retryDelay(1, options, 0.999_999, { baseMs: 2000 })).toBe(1999);
		expect(retryDelay(1, options, 0, { baseMs: 2000 })).toBe(100);
		expect(retryDelay(3, options, 0.999_999, { baseMs: 20_000 })).toBe(29_999);
	});

	it('S03 honours Retry-After exactly, clamped to [minDelay, maxServerDelay]', () => {
		expect(retryDelay(1, options, 0.5, { retryAfterMs: 7000 })).toBe(7000);
		expect(retryDelay(1, options, 0.5, { retryAfterMs: 0 })).toBe(100);
		expect(retryDelay(1, options, 0.5, { retryAfterMs: 3_600_000 })).toBe(300_000);
	});
});

describe('resolveRetryOptions', () => {
	it('fills in the defaults', () => {
		expect(resolveRetryOptions()).toEqual(defaultRetryOptions);
		expect(resolveRetryOptions({ maxAttempts: 3 })).toEqual({
			...defaultRetryOptions,
			maxAttempts: 3
		});
	});

	it.each([
		[{ baseDelay: -1 }, /retry\.baseDelay.*≥ 0.*-1/],
		[{ maxDelay: Number.NaN }, /retry\.maxDelay/],
		[{ maxAttempts: 0 }, /retry\.maxAttempts.*at least 1/],
		[{ minDelay: 5000, maxDelay: 1000 }, /retry\.minDelay.*at most maxDelay/],
		[{ baseDelay: '1000' }, /retry\.baseDelay.*got "1000"/],
		[{ basedelay: 10 }, /retry\.basedelay.*known retry option/]
	])('rejects %o with a message naming the option', (input, message) => {
		expect(() => resolveRetryOptions(input as never)).toThrow(message);
	});
});
