import { error } from '@sveltejs/kit';
import { createEventLog, sseResponse, type EventLog } from '$lib/server/index.js';
import { taskStore } from '../../../../demo/shared.js';
import type { RequestHandler } from './$types.js';

/**
 * The change feed as a replayable log whose ids are the database's revisions, so that a client's
 * `Last-Event-ID` means the same thing to every process that serves it; after a restart the log
 * starts at the current revision and an older id gets a snapshot instead.
 */
let feed: { log: EventLog; cut: AbortController } | undefined;
function changes() {
	if (feed) return feed;
	const store = taskStore();
	const log = createEventLog({ limit: 500, startId: store.revision() });
	const current = { log, cut: new AbortController() };
	store.subscribe(({ task, mutationId }) => {
		log.append({ event: 'upsert', data: { item: task, ...(mutationId ? { mutationId } : {}) } });
	});
	// The `stream` fault switch ends the open streams; new ones get a 503 while it is on.
	store.onFaults((faults) => {
		if (!faults.stream) return;
		current.cut.abort();
		current.cut = new AbortController();
	});
	return (feed = current);
}

export const GET: RequestHandler = ({ request }) => {
	const store = taskStore();
	if (store.faults.stream) error(503, 'The task stream is switched off');
	const { log, cut } = changes();
	return sseResponse({
		request: new Request(request, { signal: AbortSignal.any([request.signal, cut.signal]) }),
		log,
		// The snapshot carries its revision: a reconnect from it replays only what came after.
		initial: () => ({ id: store.revision(), event: 'snapshot', data: store.list() }),
		heartbeat: 15_000,
		retry: 1000
	});
};
