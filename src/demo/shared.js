// What the demo's routes need from its data layer, without loading SQLite: the routes are bundled
// by SvelteKit, the database is opened by the server entry (`server.js`, the dev and preview
// servers' plugin, or `init` in hooks.server.ts) and found here through `globalThis`.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * A task; `actor` is the signed-in name of whoever changed it last (the seed's names at first).
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
			'The demo database is not open: start the demo with `npm run dev`, `npm run preview` or `npm run demo`, which open it before serving.'
		);
	}
	return store;
}

/** Where this process's change log lives (see `events.js`), once the routes have opened it. */
export const EVENTS = Symbol.for('svelte-realtime-kit.demo.events');
const RESYNC = Symbol.for('svelte-realtime-kit.demo.resync');

/**
 * Who to tell when the shared change log says this process may have missed changes (Redis came
 * back empty, or entries were lost): the socket server adds itself here and tells its own clients
 * to fetch the list again. On `globalThis`, like the store: the socket server is loaded by the
 * server entry, the log by the bundled routes, in either order.
 * @returns {Set<(reason: string) => void>}
 */
export function resyncListeners() {
	const holder = /** @type {Record<symbol, Set<(reason: string) => void> | undefined>} */ (
		/** @type {unknown} */ (globalThis)
	);
	return (holder[RESYNC] ??= new Set());
}

/**
 * Closes this process's change log if the routes opened one (on shutdown: stops its Redis reader),
 * giving up after `ms` so that a Redis that does not answer cannot hold the exit.
 * @param {number} [ms]
 */
export async function closeTaskEvents(ms = 2000) {
	const holder = /** @type {Record<symbol, { close(): Promise<void> } | undefined>} */ (
		/** @type {unknown} */ (globalThis)
	);
	const events = holder[EVENTS];
	if (!events) return;
	await Promise.race([events.close().catch(() => {}), pause(ms)]);
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

/** How long a sign-in lasts, in seconds (the cookie's `Max-Age` and the signed expiry). */
export const SESSION_SECONDS = 60 * 60 * 24;

/** The longest name the sign-in accepts. */
export const NAME_MAX = 60;

const SECRET = Symbol.for('svelte-realtime-kit.demo.secret');

/**
 * The key that signs session cookies: `$DEMO_SECRET`, or random bytes made once per process and
 * kept in memory only (a restart then signs everyone out). Held on `globalThis` because the server
 * entry's copy of this module and the bundled routes' copy must sign with the same key.
 * @returns {Buffer}
 */
function secret() {
	const holder = /** @type {Record<symbol, Buffer | undefined>} */ (
		/** @type {unknown} */ (globalThis)
	);
	const fromEnv = process.env.DEMO_SECRET;
	return (holder[SECRET] ??= fromEnv ? Buffer.from(fromEnv, 'utf8') : randomBytes(32));
}

/** @param {string} payload */
const mac = (payload) => createHmac('sha256', secret()).update(payload).digest('base64url');

/**
 * A session cookie's value for `name`: `<name, base64url>.<expiry, epoch seconds>.<HMAC-SHA256 of
 * both, base64url>`. Only this server can make one; changing any part breaks the signature.
 * @param {string} name
 * @param {number} [now] epoch milliseconds
 */
export function signSession(name, now = Date.now()) {
	const payload = `${Buffer.from(name, 'utf8').toString('base64url')}.${Math.floor(now / 1000) + SESSION_SECONDS}`;
	return `${payload}.${mac(payload)}`;
}

/**
 * The name in a session cookie's value, or `undefined` if the value is not one this server signed
 * (forged, tampered with, truncated, expired or a bare name). The signatures are compared in
 * constant time.
 * @param {string | undefined} value
 * @param {number} [now] epoch milliseconds
 * @returns {string | undefined}
 */
export function verifySession(value, now = Date.now()) {
	if (typeof value !== 'string' || value.length > 512) return undefined;
	const match = /^([A-Za-z0-9_-]+)\.(\d{1,12})\.([A-Za-z0-9_-]{43})$/.exec(value);
	if (!match) return undefined;
	const [, encodedName, expires, signature] = /** @type {[string, string, string, string]} */ (
		/** @type {unknown} */ (match)
	);
	// The signature as text, not decoded: base64url decoding ignores the last character's low
	// bits, so two spellings of one signature would both pass.
	const expected = Buffer.from(mac(`${encodedName}.${expires}`), 'ascii');
	const given = Buffer.from(signature, 'ascii');
	if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
	if (Number(expires) * 1000 <= now) return undefined;
	const name = Buffer.from(encodedName, 'base64url').toString('utf8');
	return name.trim() !== '' && name.length <= NAME_MAX ? name : undefined;
}

/**
 * The signed-in name in a `Cookie` header, or `undefined` (for the socket, which has no
 * SvelteKit `cookies`).
 * @param {string | undefined} header
 */
export function sessionUser(header) {
	for (const pair of header?.split(';') ?? []) {
		const at = pair.indexOf('=');
		if (at > 0 && pair.slice(0, at).trim() === SESSION_COOKIE) {
			let value;
			try {
				value = decodeURIComponent(pair.slice(at + 1).trim());
			} catch {
				return undefined;
			}
			return verifySession(value);
		}
	}
	return undefined;
}

/** Where the sign-in sends a reader when `next` is missing or not a path of this site. */
export const DEFAULT_NEXT = '/activity';

/**
 * A `next` parameter that is a path on this site, or {@link DEFAULT_NEXT}. Accepted: one `/`
 * followed by anything but `/` or `\`, with no backslash and no control character, as given and
 * percent-decoded, both before and after a browser would resolve its dot segments (browsers read
 * `/\host` and `/%5Chost` as `//host`, another site, resolve `/.//host` to `//host`, and drop tabs
 * and newlines from URLs); anything else, including `//host`, `https://…` and `javascript:`, is
 * replaced by the default.
 * @param {string | null | undefined} next the parameter as read from the URL (decoded once)
 * @returns {string}
 */
export function safeNext(next) {
	if (typeof next !== 'string' || next.length > 2000 || !isLocalPath(next)) return DEFAULT_NEXT;
	// What a browser would make of it, resolved against a stand-in origin: still that origin, and
	// still a path that cannot be read as another host.
	const base = 'http://next.invalid';
	const resolved = new URL(next, base);
	const path = resolved.pathname + resolved.search + resolved.hash;
	return resolved.origin === base && isLocalPath(path) ? path : DEFAULT_NEXT;
}

/** One `/`, then no second `/` or a backslash or a control character, raw and decoded. */
function isLocalPath(/** @type {string} */ path) {
	/** @type {string} */
	let decoded;
	try {
		decoded = decodeURIComponent(path);
	} catch {
		return false;
	}
	return [path, decoded].every(
		(form) =>
			form.startsWith('/') &&
			form[1] !== '/' &&
			!form.includes('\\') &&
			// C0 controls, DEL and the C1 range: none belongs in a path, and browsers strip some.
			// eslint-disable-next-line no-control-regex -- control characters are what it looks for
			!/[\u0000-\u001f\u007f-\u009f]/.test(form)
	);
}
