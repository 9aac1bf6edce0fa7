import * as messages from './messages.js';

/**
 * An option that must be a number above 0: `fallback` when it is not given; anything else throws
 * a `TypeError` naming the option. `finite` also refuses `Infinity`.
 */
export function positive(
	name: string,
	value: number | undefined,
	fallback: number,
	finite = false
): number {
	if (value === undefined) return fallback;
	if (typeof value !== 'number' || !(value > 0) || (finite && !Number.isFinite(value))) {
		throw new TypeError(messages.badOption(name, 'a number > 0', value));
	}
	return value;
}
