import type { Env } from '../env/env.js';
import * as messages from '../messages.js';
import { MutationError } from '../errors.js';
import { reasonText } from '../protocol.js';
import type { RecordKey } from './decode.js';
import { applyPatch, carries, type Patch } from './patch.js';
import type { Commit } from './store.js';

/** A change on its way: shown over the server's row until it is confirmed or fails. */
export interface Change<T> {
	id: string;
	key: string;
	/** The fields the user asked for. */
	patch: Patch;
	commit: Commit<T>;
	controller: AbortController;
	timer?: unknown;
	/** Ends the `mutate()` promise; called exactly once. */
	finish: (error: MutationError | undefined, item: T | undefined) => void;
}

/** The last change to a row that failed: shown as the row's error, sent again by a retry. */
export interface Failure<T> {
	id: string;
	error: MutationError;
	patch: Patch;
	commit: Commit<T>;
}

/** What the changes need from the list they change. */
export interface ChangeHost<T> {
	env: Env;
	/** How long a commit may take (milliseconds; `Infinity`: no limit). */
	commitTimeout: number;
	/** The server's row for `key`. */
	row(key: string): T | undefined;
	/** Sets the server's row (an answer the server gave, an accepted change). */
	setRow(key: string, item: T): void;
	/** -1, 0 or 1 for older, same or newer; undefined when the version cannot be read. */
	compare(incoming: T, current: T): number | undefined;
	keyOf(item: T): RecordKey;
	report(error: MutationError): void;
	/** Something the row for `key` shows changed. */
	changed(key: string): void;
}

/**
 * The optimistic changes of a list, with their timers. How a change ends: it shows at once
 * (`pending`). It is confirmed by the commit's answer (a row replaces the row; any other answer
 * means the server has the change), by the server's echo carrying its `mutationId`, or by a
 * server row that arrives with the fields asked for while no earlier change to those fields is on
 * its way. It fails (`failed`, rolled back to the server's row) when the commit rejects or times
 * out, until a server row with those fields arrives. A retry sends the fields asked for, never the
 * same flip again. Two changes to one row never race: each is sent once the one before it has its
 * answer or timed out.
 */
export function createChanges<T>(host: ChangeHost<T>) {
	const { env, commitTimeout } = host;
	const pending = new Map<string, Change<T>[]>();
	/** Per row, the answer the next change to it waits for. */
	const inFlight = new Map<string, Promise<void>>();
	const failures = new Map<string, Failure<T>>();
	// Mutation ids travel to the server and come back in echoes that every client sees: they must
	// not collide between tabs, page loads or users.
	const prefix = uniquePrefix();
	let count = 0;

	function setList(key: string, list: Change<T>[]) {
		if (list.length === 0) pending.delete(key);
		else pending.set(key, list);
		host.changed(key);
	}

	/** Takes a change out of its row's list; false when it already ended. */
	function take(change: Change<T>): boolean {
		const list = pending.get(change.key);
		if (!list?.includes(change)) return false;
		setList(
			change.key,
			list.filter((c) => c !== change)
		);
		if (change.timer !== undefined) env.clearTimeout(change.timer);
		return true;
	}

	/**
	 * Whether a change still on its way, made before this one, sets one of its fields: the server's
	 * row may then be the row from before both, and having this change's value proves nothing.
	 */
	function overlapsEarlier(change: Change<T>): boolean {
		for (const other of pending.get(change.key) ?? []) {
			if (other === change) return false;
			for (const field of other.patch.keys()) if (change.patch.has(field)) return true;
		}
		return false;
	}

	/** The row as it looks with the changes before `change` (all of them when undefined). */
	function visible(key: string, item: T, change?: Change<T>): T {
		for (const other of pending.get(key) ?? []) {
			if (other === change) break;
			item = applyPatch(item, other.patch);
		}
		return item;
	}

	/** The server accepted the change: its fields become the row's until the server's own row arrives. */
	function accepted(change: Change<T>, answer: T | undefined) {
		const current = host.row(change.key);
		let item = answer;
		if (current !== undefined) {
			const newer = answer === undefined ? undefined : host.compare(answer, current);
			if (answer !== undefined && newer !== undefined && newer >= 0) {
				host.setRow(change.key, answer);
			} else {
				item = carries(current, change.patch) ? current : applyPatch(current, change.patch);
				if (item !== current) host.setRow(change.key, item);
			}
		}
		host.changed(change.key);
		change.finish(undefined, item);
	}

	function failed(change: Change<T>, cause: unknown) {
		if (!take(change)) return;
		if (!change.controller.signal.aborted) change.controller.abort(cause);
		const { key, patch } = change;
		// Failed even when the row already shows the value asked for: that row is from before the
		// change was sent, and an earlier change whose answer was lost may still be applied. Only a
		// server row that arrives later settles it.
		const error = new MutationError(failureText(cause, key), key, cause);
		if (host.row(key) !== undefined)
			failures.set(key, { id: change.id, error, patch, commit: change.commit });
		host.changed(key);
		host.report(error);
		change.finish(error, undefined);
	}

	function isRowOf(result: unknown, key: string): result is T {
		if (result === null || typeof result !== 'object') return false;
		try {
			return String(host.keyOf(result as T)) === key;
		} catch {
			return false;
		}
	}

	function end(change: Change<T>, reason: string, error?: MutationError) {
		if (change.timer !== undefined) env.clearTimeout(change.timer);
		change.controller.abort(new Error(reason));
		change.finish(error, undefined);
	}

	return {
		/** The row's changes on their way (a new array whenever they change), or undefined. */
		pendingFor: (key: string) => pending.get(key),
		failureOf: (key: string) => failures.get(key),
		visible,

		/** Shows the change and sends it. The promise always settles, never throws. */
		send(key: string, patch: Patch, commit: Commit<T>): Promise<T> {
			failures.delete(key);
			return new Promise<T>((resolve, reject) => {
				const change: Change<T> = {
					id: `${prefix}.${++count}`,
					key,
					patch,
					commit,
					controller: new AbortController(),
					finish(error, item) {
						change.finish = () => {};
						if (error) reject(error);
						else resolve(item as T);
					}
				};
				setList(key, [...(pending.get(key) ?? []), change]);
				const before = inFlight.get(key);
				let release!: () => void;
				const answered = new Promise<void>((done) => (release = done));
				inFlight.set(key, answered);
				void answered.then(() => {
					if (inFlight.get(key) === answered) inFlight.delete(key);
				});
				const begin = () => {
					const row = host.row(key);
					if (row === undefined || !pending.get(key)?.includes(change)) return release();
					const previous = visible(key, row, change);
					if (Number.isFinite(commitTimeout)) {
						change.timer = env.setTimeout(() => {
							change.timer = undefined;
							failed(change, new Error(messages.commitTimeout(commitTimeout)));
						}, commitTimeout);
					}
					let answer: Promise<T | void | undefined>;
					try {
						answer = Promise.resolve(
							commit({
								key,
								item: applyPatch(previous, patch),
								previous,
								mutationId: change.id,
								signal: change.controller.signal
							})
						);
					} catch (cause) {
						answer = Promise.reject(cause);
					}
					answer
						.then(
							(result) => {
								if (take(change)) accepted(change, isRowOf(result, key) ? result : undefined);
							},
							(cause) => failed(change, cause)
						)
						.finally(release);
					// A change that ends without its answer (a timeout, the server's row) frees the row too.
					change.controller.signal.addEventListener('abort', release, { once: true });
				};
				if (before) void before.then(begin);
				else begin();
			});
		},

		/** A retry: the failed change's fields, sent again. Undefined when nothing failed. */
		retry(key: string): Promise<T> | undefined {
			const failure = failures.get(key);
			if (!failure || host.row(key) === undefined) return undefined;
			return this.send(key, failure.patch, failure.commit);
		},

		/** The server's row changed to `item`: changes and failures it carries are settled. */
		serverRow(key: string, item: T, mutationId?: string) {
			for (const change of pending.get(key) ?? []) {
				const settled =
					change.id === mutationId ||
					(change.patch.size > 0 && !overlapsEarlier(change) && carries(item, change.patch));
				if (!settled) continue;
				take(change);
				change.controller.abort(new Error(messages.settledByServer()));
				change.finish(undefined, item);
			}
			const failure = failures.get(key);
			if (failure && (failure.id === mutationId || carries(item, failure.patch))) {
				failures.delete(key);
				host.changed(key);
			}
		},

		/** The server's echo named this change: it applied it, whatever row came with it. */
		confirm(mutationId: string) {
			for (const list of pending.values()) {
				const change = list.find((c) => c.id === mutationId);
				if (change && take(change)) return accepted(change, undefined);
			}
			for (const [key, failure] of failures) {
				if (failure.id !== mutationId) continue;
				failures.delete(key);
				const row = host.row(key);
				if (row !== undefined && !carries(row, failure.patch))
					host.setRow(key, applyPatch(row, failure.patch));
				host.changed(key);
				return;
			}
		},

		/** A row left the list: what was on its way to it ends. */
		forget(key: string) {
			for (const change of pending.get(key) ?? [])
				end(change, messages.rowRemoved(key), new MutationError(messages.rowRemoved(key), key));
			pending.delete(key);
			failures.delete(key);
		},

		/** Every change on its way is aborted and its promise rejects. */
		dispose() {
			for (const [key, list] of pending)
				for (const change of list)
					end(change, messages.disposed(), new MutationError(messages.disposed(), key));
			pending.clear();
		}
	};
}

export function failureText(cause: unknown, key: string): string {
	if (cause instanceof Error && cause.message) return cause.message;
	const text = reasonText(cause);
	return text ? messages.commitRefused(key, text) : messages.commitFailed(key);
}

/** 16 random hex digits (a UUID's where the platform has one). */
function uniquePrefix(): string {
	const uuid = globalThis.crypto?.randomUUID?.();
	if (uuid) return uuid.replaceAll('-', '').slice(0, 16);
	let id = '';
	for (let i = 0; i < 16; i++) id += Math.floor(Math.random() * 16).toString(16);
	return id;
}
