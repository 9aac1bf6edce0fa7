import * as messages from '../messages.js';

/** How the engine waits between attempts. Every transport shares it. */
export interface RetryOptions {
	/**
	 * The delay ceiling for the first retry, doubled for each consecutive failure. A server's SSE
	 * `retry:` field replaces it. The default spreads the first retries of clients dropped together
	 * over 1.5 s, so that no 100 ms window holds more than about a tenth of them, and half of them
	 * are back within 0.85 s.
	 * @defaultValue `1600`
	 */
	baseDelay?: number;
	/**
	 * The highest delay ceiling.
	 * @defaultValue `30000`
	 */
	maxDelay?: number;
	/**
	 * No retry comes sooner than this, whatever the jitter or the server says.
	 * @defaultValue `100`
	 */
	minDelay?: number;
	/**
	 * The longest `Retry-After` the engine honours.
	 * @defaultValue `300000` (5 minutes)
	 */
	maxServerDelay?: number;
	/**
	 * Consecutive failed attempts before giving up (`failed`; `retry()` starts over).
	 * @defaultValue `Infinity`
	 */
	maxAttempts?: number;
	/**
	 * How long a connection must stay up before the failure count resets, so that a server that
	 * accepts and then drops at once still sees growing delays.
	 * @defaultValue `5000`
	 */
	minUptime?: number;
}

export type ResolvedRetryOptions = Required<RetryOptions>;

export const defaultRetryOptions: ResolvedRetryOptions = {
	baseDelay: 1600,
	maxDelay: 30_000,
	minDelay: 100,
	maxServerDelay: 300_000,
	maxAttempts: Number.POSITIVE_INFINITY,
	minUptime: 5000
};

/** Fills in defaults and rejects nonsense with a message that names the option. */
export function resolveRetryOptions(options: RetryOptions = {}): ResolvedRetryOptions {
	const resolved = { ...defaultRetryOptions };
	for (const [name, value] of Object.entries(options) as [keyof RetryOptions, unknown][]) {
		if (value === undefined) continue;
		if (!Object.hasOwn(defaultRetryOptions, name)) {
			throw new TypeError(messages.badOption(`retry.${name}`, 'a known retry option', value));
		}
		if (typeof value !== 'number' || Number.isNaN(value) || value < 0) {
			throw new TypeError(messages.badOption(`retry.${name}`, 'a number ≥ 0', value));
		}
		resolved[name] = value;
	}
	if (resolved.maxAttempts < 1) {
		throw new TypeError(
			messages.badOption('retry.maxAttempts', 'at least 1', resolved.maxAttempts)
		);
	}
	if (resolved.minDelay > resolved.maxDelay) {
		throw new TypeError(
			messages.badOption(
				'retry.minDelay',
				`at most maxDelay (${resolved.maxDelay})`,
				resolved.minDelay
			)
		);
	}
	return resolved;
}

/**
 * The wait before the next attempt after `failures` consecutive failures (1 for the first).
 * Exponential with full jitter: uniformly random in [minDelay, min(maxDelay, base · 2^(failures-1))].
 * (Uniform over that range, not clamped from [0, ceiling]: clamping would put every draw below
 * `minDelay` on `minDelay` itself, a herd of its own.)
 * A `Retry-After` from the server wins, clamped to [minDelay, maxServerDelay].
 *
 * @param random a number in [0, 1)
 * @param hints `baseMs`: the server's SSE `retry:` value; `retryAfterMs`: its `Retry-After`
 */
export function retryDelay(
	failures: number,
	options: ResolvedRetryOptions,
	random: number,
	hints: { baseMs?: number; retryAfterMs?: number } = {}
): number {
	if (hints.retryAfterMs !== undefined) {
		return clamp(hints.retryAfterMs, options.minDelay, options.maxServerDelay);
	}
	const base = hints.baseMs ?? options.baseDelay;
	const exponent = Math.min(Math.max(failures - 1, 0), 52);
	const ceiling = Math.min(options.maxDelay, base * 2 ** exponent);
	const floor = Math.min(options.minDelay, ceiling);
	return clamp(Math.floor(floor + random * (ceiling - floor)), options.minDelay, options.maxDelay);
}

function clamp(value: number, min: number, max: number): number {
	return Math.min(Math.max(value, min), max);
}
