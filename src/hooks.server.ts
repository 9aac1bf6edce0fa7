import { json, type Handle, type ServerInit } from '@sveltejs/kit';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { taskEvents } from './demo/events.js';
import { SESSION_COOKIE, STORE, verifySession } from './demo/shared.js';

/**
 * Opens the demo database unless the server entry already did (`npm run demo` and the dev and
 * preview servers' plugin do), then the change log, so that with REDIS_URL its reader is running
 * (and the first stream is served, not answered 503) before the first request.
 */
export const init: ServerInit = async () => {
	await openDatabase();
	await taskEvents().ready();
};

/**
 * `tasks.js` loads better-sqlite3, a native module that must not be bundled, so it is loaded from
 * the repository at run time: the first folder above this file that holds `src/demo/tasks.js`,
 * else the working directory.
 */
async function openDatabase() {
	if ((globalThis as Record<symbol, unknown>)[STORE]) return;
	let dir = dirname(fileURLToPath(import.meta.url));
	while (!existsSync(join(dir, 'src/demo/tasks.js')) && dirname(dir) !== dir) dir = dirname(dir);
	const file = existsSync(join(dir, 'src/demo/tasks.js'))
		? join(dir, 'src/demo/tasks.js')
		: join(process.cwd(), 'src/demo/tasks.js');
	const { tasks } = await import(/* @vite-ignore */ pathToFileURL(file).href);
	tasks();
}

/**
 * The signed-in name comes from a session cookie this server signed; a missing, forged or tampered
 * one is no user. The task API answers signed-in readers only, like the page that uses it;
 * `/api/health` is outside it on purpose: load balancers and uptime checks have no session.
 */
export const handle: Handle = ({ event, resolve }) => {
	event.locals.user = verifySession(event.cookies.get(SESSION_COOKIE));
	if (event.url.pathname.startsWith('/api/tasks') && !event.locals.user) {
		return json({ message: 'Sign in first: POST a name to /signin' }, { status: 401 });
	}
	return resolve(event);
};
