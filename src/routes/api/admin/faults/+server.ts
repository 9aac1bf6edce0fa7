import { env } from '$env/dynamic/private';
import { error, json } from '@sveltejs/kit';
import { taskStore } from '../../../../demo/shared.js';
import type { RequestHandler } from './$types.js';

/** Fault switches for demos and tests; the endpoint exists only with `DEMO_ADMIN=1`. */
function enabled() {
	if (env.DEMO_ADMIN !== '1') error(404, 'Not found');
}

export const GET: RequestHandler = () => {
	enabled();
	return json(taskStore().faults);
};

/** `{ "stream": true }` breaks the SSE route, `{ "socket": true }` the socket, `{ "slow": 1500 }` slows every answer. */
export const POST: RequestHandler = async ({ request }) => {
	enabled();
	const body = await request.json().catch(() => undefined);
	if (typeof body !== 'object' || body === null) error(400, 'Expected a JSON object');
	const next: { stream?: boolean; socket?: boolean; slow?: number } = {};
	for (const [name, value] of Object.entries(body)) {
		if ((name === 'stream' || name === 'socket') && typeof value === 'boolean') next[name] = value;
		else if (name === 'slow' && typeof value === 'number' && value >= 0 && value <= 60_000)
			next.slow = value;
		else error(400, `Unknown switch or bad value: ${name} = ${JSON.stringify(value)}`);
	}
	return json(taskStore().setFaults(next));
};
