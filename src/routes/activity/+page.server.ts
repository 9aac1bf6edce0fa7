import { error, redirect } from '@sveltejs/kit';
import { taskStore } from '../../demo/shared.js';
import { TRANSPORT_PARAM, parseTransportChoice } from '../../demo/transports.js';
import type { PageServerLoad } from './$types.js';

export const load: PageServerLoad = ({ locals, url }) => {
	const user = locals.user;
	// Back here after signing in, with the same transport choice.
	if (!user) redirect(303, `/signin?next=${encodeURIComponent(url.pathname + url.search)}`);
	const parsed = parseTransportChoice(url.searchParams.get(TRANSPORT_PARAM));
	if (!parsed.ok) error(400, parsed.message);
	return { user, transport: parsed.choice, tasks: taskStore().list() };
};
