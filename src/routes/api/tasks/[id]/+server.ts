import { error, json } from '@sveltejs/kit';
import { pause, refusedStatus, taskStore } from '../../../../demo/shared.js';
import type { RequestHandler } from './$types.js';

/**
 * Changes one task: `{ "done": true }`, `{ "title": "…" }`, with an optional `mutationId`. The
 * task's `actor` becomes the signed-in name.
 */
export const PATCH: RequestHandler = async ({ params, request, locals }) => {
	const store = taskStore();
	if (store.faults.slow) await pause(store.faults.slow);
	let body: unknown;
	try {
		body = await request.json();
	} catch {
		error(400, 'Expected a JSON body such as {"done": true}');
	}
	try {
		// hooks.server.ts lets only signed-in requests reach /api/tasks: the change is theirs.
		return json(store.update(params.id, body, locals.user!));
	} catch (failure) {
		const status = refusedStatus(failure);
		if (status) error(status, (failure as Error).message);
		throw failure;
	}
};
