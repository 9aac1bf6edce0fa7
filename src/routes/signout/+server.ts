import { redirect } from '@sveltejs/kit';
import { SESSION_COOKIE } from '../../demo/shared.js';
import type { RequestHandler } from './$types.js';

/** Signs out: clears the session cookie, then shows the sign-in form. A form POST only. */
export const POST: RequestHandler = ({ cookies, url }) => {
	cookies.delete(SESSION_COOKIE, {
		path: '/',
		httpOnly: true,
		sameSite: 'lax',
		secure: url.protocol === 'https:'
	});
	redirect(303, '/signin');
};
