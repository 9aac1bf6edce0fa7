// The transports the /activity page can be told to use (`?transport=…`), with what each costs.
// Plain data, shared by the page's server load (which checks the parameter) and the page (which
// builds the adapter): the numbers match the adapters' options there and the servers' settings
// (the SSE route's heartbeat, socket.io's default 25 s ping).

/**
 * @typedef {'auto' | 'socket.io' | 'sse' | 'polling'} TransportChoice
 * @typedef {{ id: TransportChoice; name: string; cost: string }} TransportOption
 */

/** Polling's interval and the chain's probe interval, in milliseconds. */
export const POLL_INTERVAL = 3000;
export const PROBE_INTERVAL = 10_000;

/** @type {readonly TransportOption[]} */
export const TRANSPORT_OPTIONS = [
	{
		id: 'auto',
		name: 'Automatic',
		cost: `socket.io, else SSE, else polling: the cost of the one in use, plus a probe back up every ${PROBE_INTERVAL / 1000} s while on a fallback.`
	},
	{
		id: 'socket.io',
		name: 'WebSocket',
		cost: 'One held socket.io connection, pinged every 25 s; a change arrives at once, toggles ride the same socket.'
	},
	{
		id: 'sse',
		name: 'SSE',
		cost: 'One held HTTP response, a heartbeat every 15 s; a change arrives at once, toggles are PATCH requests.'
	},
	{
		id: 'polling',
		name: 'Polling',
		cost: `${60_000 / POLL_INTERVAL} requests a minute (a bodiless 304 when nothing changed), nothing held; a change shows within ${POLL_INTERVAL / 1000} s.`
	}
];

/** The query parameter that picks a transport; without it, `auto`. */
export const TRANSPORT_PARAM = 'transport';

/**
 * The transport a `?transport=` value names. Missing or empty means `auto`; anything else that is
 * not one of {@link TRANSPORT_OPTIONS} is refused with a message listing the values.
 * @param {string | null | undefined} value
 * @returns {{ ok: true; choice: TransportChoice } | { ok: false; message: string }}
 */
export function parseTransportChoice(value) {
	if (value === null || value === undefined || value === '') return { ok: true, choice: 'auto' };
	const option = TRANSPORT_OPTIONS.find((candidate) => candidate.id === value);
	if (option) return { ok: true, choice: option.id };
	return {
		ok: false,
		message: `Unknown transport ${JSON.stringify(value.slice(0, 40))}: use ${TRANSPORT_OPTIONS.map((o) => o.id).join(', ')}, or leave ?${TRANSPORT_PARAM}= out for the automatic chain.`
	};
}
