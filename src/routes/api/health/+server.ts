import { json } from '@sveltejs/kit';
import { taskEvents } from '../../../demo/events.js';
import type { RequestHandler } from './$types.js';

/**
 * For a load balancer or an uptime check, without signing in: 200 `{ ok: true, redis: 'up' }`
 * (or `'off'` without REDIS_URL), 503 `{ ok: false, redis: 'down', error }` while this server
 * cannot reach Redis (its streams would only answer 503), and 503 with `redis: 'up'` while its
 * reader has not caught up yet.
 */
export const GET: RequestHandler = async () => {
	const health = await taskEvents().health();
	return json(health, {
		status: health.ok ? 200 : 503,
		headers: { 'Cache-Control': 'no-store' }
	});
};
