import { afterEach, describe, expect, it } from 'vitest';
import { freezeDate } from './clock.js';

describe('freezeDate', () => {
	let restore: (() => void) | undefined;
	afterEach(() => restore?.());

	it('stops Date.now() and new Date() at the instant, keeps other constructions, and restores', async () => {
		const RealDate = Date;
		restore = freezeDate('2026-01-15T12:00:00Z');
		const at = Date.UTC(2026, 0, 15, 12);
		expect(Date.now()).toBe(at);
		await new Promise((resolve) => setTimeout(resolve, 5));
		expect(Date.now()).toBe(at);
		expect(new Date().toISOString()).toBe('2026-01-15T12:00:00.000Z');
		expect(new Date(0).getTime()).toBe(0);
		expect(new Date(2020, 1, 2).getFullYear()).toBe(2020);
		expect(new Date() instanceof RealDate).toBe(true);
		expect(Date.parse('2026-01-01T00:00:00Z')).toBe(Date.UTC(2026, 0, 1));
		expect(typeof (Date as unknown as () => string)()).toBe('string');
		restore();
		restore = undefined;
		expect(Date).toBe(RealDate);
		expect(Date.now()).toBeGreaterThan(at);
	});

	it('refuses an invalid time, leaving Date alone', () => {
		const RealDate = Date;
		expect(() => freezeDate('not a date')).toThrow(/expected a valid time, got "not a date"/);
		expect(Date).toBe(RealDate);
	});
});
