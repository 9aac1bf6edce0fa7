/**
 * Stops the page's clock at `at`: `Date.now()` and `new Date()` return that instant until the
 * returned function restores the real `Date`. Timers keep running, so connections, retries and
 * heartbeats behave as usual, while every time shown on screen (`3 minutes ago`,
 * `retrying in 30 s`) stays the same from run to run: what visual tests need.
 *
 * @example
 * // a Vitest setup file for visual tests
 * const restore = freezeDate('2026-01-15T12:00:00Z');
 * afterAll(restore);
 * @throws {TypeError} when `at` is not a valid time.
 */
export function freezeDate(at: Date | number | string): () => void {
	const RealDate = globalThis.Date;
	const frozen = new RealDate(at).getTime();
	if (Number.isNaN(frozen)) {
		throw new TypeError(`freezeDate: expected a valid time, got ${JSON.stringify(at)}`);
	}
	const now = () => frozen;
	globalThis.Date = new Proxy(RealDate, {
		construct: (target, args: Array<string | number | Date>) =>
			args.length === 0
				? new target(frozen)
				: new target(...(args as [number, number, number?, number?, number?, number?, number?])),
		apply: () => new RealDate(frozen).toString(),
		get: (target, property, receiver) =>
			property === 'now' ? now : Reflect.get(target, property, receiver)
	});
	return () => {
		globalThis.Date = RealDate;
	};
}
