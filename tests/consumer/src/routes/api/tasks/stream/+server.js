import { sseResponse } from 'svelte-realtime-kit/server';
import { list, log } from '$lib/server/tasks.js';

export const GET = ({ request }) =>
	sseResponse({
		request,
		log,
		initial: () => ({ id: log.lastId, event: 'snapshot', data: list() })
	});
