import { createEnv, type Env } from '../../src/lib/core/env/env.js';

export interface FakeEnv extends Env {
	/** Switches the network and tells the listeners. */
	setOnline(online: boolean): void;
	/** Shows or hides the page and tells the listeners. */
	setVisible(visible: boolean): void;
	/** Runs the callbacks waiting for a frame; returns how many ran. */
	runFrames(): number;
	/** Callbacks waiting for a frame. */
	readonly pendingFrames: number;
	/** Listeners currently registered for network and visibility changes. */
	readonly listenerCount: number;
	/** The values `random()` returns in turn (then 0.5 forever). */
	randoms: number[];
}

/**
 * An environment for tests: timers and clock come from the globals (so Vitest's fake timers drive
 * them), frames run only when the test says so, and network and visibility are switches.
 */
export function createFakeEnv(overrides: Partial<Env> = {}): FakeEnv {
	let online = true;
	let visible = true;
	const network = new Set<(online: boolean) => void>();
	const visibility = new Set<(visible: boolean) => void>();
	let frames: Array<() => void> = [];
	const fake = createEnv({
		random: () => fake.randoms.shift() ?? 0.5,
		isOnline: () => online,
		isVisible: () => visible,
		onNetworkChange(callback) {
			network.add(callback);
			return () => network.delete(callback);
		},
		onVisibilityChange(callback) {
			visibility.add(callback);
			return () => visibility.delete(callback);
		},
		requestFrame(callback) {
			frames.push(callback);
			return () => {
				frames = frames.filter((f) => f !== callback);
			};
		},
		...overrides
	}) as FakeEnv;
	Object.defineProperties(fake, {
		randoms: { value: [], writable: true },
		setOnline: {
			value(next: boolean) {
				online = next;
				for (const callback of [...network]) callback(next);
			}
		},
		setVisible: {
			value(next: boolean) {
				visible = next;
				for (const callback of [...visibility]) callback(next);
			}
		},
		runFrames: {
			value() {
				const due = frames;
				frames = [];
				for (const callback of due) callback();
				return due.length;
			}
		},
		pendingFrames: { get: () => frames.length },
		listenerCount: { get: () => network.size + visibility.size }
	});
	return fake;
}
