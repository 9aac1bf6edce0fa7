import { fail, redirect } from '@sveltejs/kit';
import { SESSION_COOKIE } from '../../demo/shared.js';
import type { Actions } from './$types.js';

/** A demo sign-in: any name, kept in a cookie. */
export const actions: Actions = {
	default: async ({ cookies, request, url }) => {
		const name = String((await request.formData()).get('name') ?? '').trim();
		if (name === '' || name.length > 60)
			return fail(400, { name, error: 'Enter a name (at most 60 characters).' });
		cookies.set(SESSION_COOKIE, name, {
			path: '/',
			httpOnly: true,
			sameSite: 'lax',
			maxAge: 60 * 60 * 24
		});
		const next = url.searchParams.get('next');
		redirect(303, next?.startsWith('/') && !next.startsWith('//') ? next : '/activity');
	}
};
