import { fail, redirect } from '@sveltejs/kit';
import {
	NAME_MAX,
	SESSION_COOKIE,
	SESSION_SECONDS,
	safeNext,
	signSession
} from '../../demo/shared.js';
import type { Actions } from './$types.js';

/**
 * A demo sign-in: any name, kept in a signed cookie (see `signSession`), then back to `next` when
 * it is a path of this site (see `safeNext`).
 */
export const actions: Actions = {
	default: async ({ cookies, request, url }) => {
		const name = String((await request.formData()).get('name') ?? '').trim();
		if (name === '' || name.length > NAME_MAX)
			return fail(400, { name, error: `Enter a name (at most ${NAME_MAX} characters).` });
		cookies.set(SESSION_COOKIE, signSession(name), {
			path: '/',
			httpOnly: true,
			sameSite: 'lax',
			// Over plain http on a LAN address a Secure cookie would be dropped (SvelteKit sets Secure
			// everywhere but on localhost): Secure whenever the site is served over https.
			secure: url.protocol === 'https:',
			maxAge: SESSION_SECONDS
		});
		redirect(303, safeNext(url.searchParams.get('next')));
	}
};
