/**
 * A change as the fields it sets: what the user asked for, independent of the row it was made on.
 * A retry sends it again as it is (never the same flip twice), and a server row that already
 * carries it settles the change.
 */
export type Patch = ReadonlyMap<string, unknown>;

/** The top-level fields `intended` sets differently from `previous` (a removed field becomes undefined). */
export function patchBetween(previous: object, intended: object): Patch {
	const patch = new Map<string, unknown>();
	const before = previous as Record<string, unknown>;
	const after = intended as Record<string, unknown>;
	for (const field of Object.keys(after)) {
		if (!Object.hasOwn(before, field) || !Object.is(before[field], after[field]))
			patch.set(field, after[field]);
	}
	for (const field of Object.keys(before)) {
		if (!Object.hasOwn(after, field)) patch.set(field, undefined);
	}
	return patch;
}

/** The row with the patch's fields set. */
export function applyPatch<T>(item: T, patch: Patch): T {
	if (patch.size === 0) return item;
	const next = { ...(item as object) } as Record<string, unknown>;
	// Defined, not assigned: a field named `__proto__` stays a field and never swaps the prototype.
	for (const [field, value] of patch)
		Object.defineProperty(next, field, {
			value,
			writable: true,
			enumerable: true,
			configurable: true
		});
	return next as T;
}

/** Whether the row already has every field the patch sets. */
export function carries(item: unknown, patch: Patch): boolean {
	if (item === null || typeof item !== 'object') return false;
	const row = item as Record<string, unknown>;
	for (const [field, value] of patch) {
		const own = Object.hasOwn(row, field) ? row[field] : undefined;
		if (!sameValue(own, value)) return false;
	}
	return true;
}

/** Equal as JSON data: a server's copy of a nested value is a new object with the same content. */
function sameValue(a: unknown, b: unknown): boolean {
	if (Object.is(a, b)) return true;
	if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
	try {
		return JSON.stringify(a) === JSON.stringify(b);
	} catch {
		return false;
	}
}
