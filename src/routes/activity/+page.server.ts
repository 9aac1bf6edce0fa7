import { redirect } from '@sveltejs/kit';
import { taskStore } from '../../demo/shared.js';
import type { PageServerLoad } from './$types.js';

export const load: PageServerLoad = ({ locals, url }) => {
	const user = locals.user;
	if (!user) redirect(303, `/signin?next=${encodeURIComponent(url.pathname)}`);
	return { user, tasks: taskStore().list() };
};
