// What the demo's routes need from its data layer, without loading SQLite: the routes are bundled
// by SvelteKit, the database is opened by the server entry (`server.js`, or the dev server's
// plugin) and found here through `globalThis`.

/**
 * @typedef {{ id: string; title: string; actor: string; done: boolean; version: number; updatedAt: string }} Task
 * @typedef {{ revision: number; task: Task; mutationId?: string }} Change
 * @typedef {{ stream: boolean; socket: boolean; slow: number }} Faults
 * @typedef {import('./tasks.js').TaskStore} TaskStore
 */

export const STORE = Symbol.for('svelte-realtime-kit.demo.tasks');

/** The task store the server entry opened. @returns {TaskStore} */
export function taskStore() {
	const store = /** @type {Record<symbol, TaskStore | undefined>} */ (
		/** @type {unknown} */ (globalThis)
	)[STORE];
	if (!store) {
		throw new Error(
			'The demo database is not open: start the demo with `npm run dev` or `npm run demo`, which open it before serving.'
		);
	}
	return store;
}

/** Waits `ms` milliseconds (the `slow` fault switch). @param {number} ms */
export const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The HTTP status of a refused change, or `undefined` for any other error. Checked by shape, not
 * `instanceof`: the server entry's copy of this module and the bundled routes' copy are two classes.
 * @param {unknown} error
 * @returns {number | undefined}
 */
export const refusedStatus = (error) =>
	error instanceof Error &&
	error.name === 'TaskError' &&
	'status' in error &&
	typeof error.status === 'number'
		? error.status
		: undefined;

/** A change the API refuses, with the HTTP status it maps to. */
export class TaskError extends Error {
	/** @param {number} status @param {string} message */
	constructor(status, message) {
		super(message);
		this.name = 'TaskError';
		this.status = status;
	}
}

/**
 * Checks a change request: `done` (boolean) and/or `title` (1–200 characters), and an optional
 * `mutationId`. Anything else is refused with a message that says what was wrong.
 * @param {unknown} body
 * @returns {{ change: { done?: boolean; title?: string }; mutationId?: string }}
 */
export function parseChange(body) {
	if (typeof body !== 'object' || body === null || Array.isArray(body)) {
		throw new TaskError(400, 'Expected a JSON object such as {"done": true}');
	}
	/** @type {{ done?: boolean; title?: string }} */
	const change = {};
	/** @type {string | undefined} */
	let mutationId;
	for (const [field, value] of Object.entries(body)) {
		if (field === 'done') {
			if (typeof value !== 'boolean')
				throw new TaskError(400, `"done" must be true or false, got ${JSON.stringify(value)}`);
			change.done = value;
		} else if (field === 'title') {
			if (typeof value !== 'string' || value.trim() === '' || value.length > 200)
				throw new TaskError(400, '"title" must be a non-empty string of at most 200 characters');
			change.title = value.trim();
		} else if (field === 'mutationId') {
			if (typeof value !== 'string' || value === '' || value.length > 100)
				throw new TaskError(
					400,
					'"mutationId" must be a non-empty string of at most 100 characters'
				);
			mutationId = value;
		} else if (!['id', 'version', 'updatedAt', 'actor'].includes(field)) {
			throw new TaskError(
				400,
				`Unknown field ${JSON.stringify(field)}; a change may set "done" and "title"`
			);
		}
	}
	if (change.done === undefined && change.title === undefined) {
		throw new TaskError(400, 'Nothing to change: give "done" or "title"');
	}
	return { change, mutationId };
}

/** The cookie that the sign-in form sets and that the page, the API and the socket require. */
export const SESSION_COOKIE = 'demo_user';

/**
 * The signed-in name in a `Cookie` header, or `undefined` (for the socket, which has no
 * SvelteKit `cookies`).
 * @param {string | undefined} header
 */
export function sessionUser(header) {
	for (const pair of header?.split(';') ?? []) {
		const at = pair.indexOf('=');
		if (at > 0 && pair.slice(0, at).trim() === SESSION_COOKIE) {
			const value = pair.slice(at + 1).trim();
			try {
				return decodeURIComponent(value) || undefined;
			} catch {
				return undefined;
			}
		}
	}
	return undefined;
}
