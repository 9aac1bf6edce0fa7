import { error } from '@sveltejs/kit';
import { sseResponse } from '$lib/server/index.js';
import { taskEvents } from '../../../../demo/events.js';
import { taskStore } from '../../../../demo/shared.js';
import type { RequestHandler } from './$types.js';

/**
 * The task list, then every change, from this process's change log (`src/demo/events.js`): in
 * memory with one server, a Redis stream shared by all of them with `REDIS_URL`, so a client
 * resumes with `Last-Event-ID` on whichever server it reaches next. While Redis is unreachable
 * `sseResponse` answers 503 with Retry-After, and the client tries again.
 */
export const GET: RequestHandler = ({ request }) => {
	const store = taskStore();
	if (store.faults.stream) error(503, 'The task stream is switched off');
	const events = taskEvents();
	const { log } = events;
	return sseResponse({
		request: new Request(request, { signal: AbortSignal.any([request.signal, events.cut]) }),
		log,
		// The list and the log's position read together, synchronously: every change up to that
		// id is in the list, so a reconnect from the snapshot replays only what came after.
		initial: () => ({ id: log.lastId, event: 'snapshot', data: store.list() }),
		heartbeat: 15_000,
		retry: 1000
	});
};
