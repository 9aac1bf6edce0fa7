import { json, type Handle } from '@sveltejs/kit';
import { SESSION_COOKIE } from './demo/shared.js';

/** The task API answers signed-in readers only, like the page that uses it. */
export const handle: Handle = ({ event, resolve }) => {
	event.locals.user = event.cookies.get(SESSION_COOKIE) || undefined;
	if (event.url.pathname.startsWith('/api/tasks') && !event.locals.user) {
		return json({ message: 'Sign in first: POST a name to /signin' }, { status: 401 });
	}
	return resolve(event);
};
