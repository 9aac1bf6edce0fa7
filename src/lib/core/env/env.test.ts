import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { browserEnv } from './env.js';

describe('browserEnv.requestFrame', () => {
	let frames: Array<() => void>;
	beforeEach(() => {
		vi.useFakeTimers();
		frames = [];
		vi.stubGlobal('document', { visibilityState: 'visible' });
		vi.stubGlobal('requestAnimationFrame', (callback: () => void) => frames.push(callback));
		vi.stubGlobal('cancelAnimationFrame', (id: number) => {
			frames[id - 1] = () => {};
		});
	});
	afterEach(() => {
		vi.unstubAllGlobals();
		vi.useRealTimers();
	});

	it('runs the callback on the next frame, once, and leaves no timer behind', () => {
		const callback = vi.fn();
		browserEnv.requestFrame(callback);
		expect(callback).not.toHaveBeenCalled();
		frames[0]!();
		expect(callback).toHaveBeenCalledTimes(1);
		expect(vi.getTimerCount()).toBe(0);
		vi.advanceTimersByTime(1000);
		expect(callback).toHaveBeenCalledTimes(1);
	});

	it('S64 a tab hidden before its frame came still runs the callback, by a timer, once', () => {
		const callback = vi.fn();
		browserEnv.requestFrame(callback);
		// Hidden now: the browser holds the frame back until the tab is shown again.
		vi.stubGlobal('document', { visibilityState: 'hidden' });
		vi.advanceTimersByTime(100);
		expect(callback).toHaveBeenCalledTimes(1);
		// Shown again much later: the old frame must not run it a second time.
		frames[0]!();
		expect(callback).toHaveBeenCalledTimes(1);
	});

	it('cancelling stops both the frame and the timer', () => {
		const callback = vi.fn();
		const cancel = browserEnv.requestFrame(callback);
		cancel();
		vi.advanceTimersByTime(1000);
		frames[0]!();
		expect(callback).not.toHaveBeenCalled();
	});
});
