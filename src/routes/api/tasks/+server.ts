import { json } from '@sveltejs/kit';
import { pause, taskStore } from '../../../demo/shared.js';
import type { RequestHandler } from './$types.js';

/** The task list, with an ETag: an unchanged list costs a 304 and no body. */
export const GET: RequestHandler = async ({ request }) => {
	const store = taskStore();
	if (store.faults.slow) await pause(store.faults.slow);
	const etag = `"r${store.revision()}"`;
	const headers = { ETag: etag, 'Cache-Control': 'no-cache' };
	if (request.headers.get('If-None-Match') === etag)
		return new Response(null, { status: 304, headers });
	return json(store.list(), { headers });
};
