/**
 * Where a connection stands.
 *
 * - `idle` — created, not started.
 * - `connecting` — the first attempt is under way.
 * - `live` — connected and receiving.
 * - `stale` — connected, but nothing (data or heartbeat) arrived for a while.
 * - `reconnecting` — the last attempt failed or ended; the next one is scheduled.
 * - `offline` — the browser reports no network; waiting for it to return.
 * - `paused` — live updates paused by the user or the app.
 * - `failed` — gave up (terminal error or retries exhausted); `retry()` starts over.
 * - `closed` — stopped for good, by the app or by the server.
 */
export type ConnectionStatus =
	| 'idle'
	| 'connecting'
	| 'live'
	| 'stale'
	| 'reconnecting'
	| 'offline'
	| 'paused'
	| 'failed'
	| 'closed';

/** Every {@link ConnectionStatus}, in lifecycle order. */
export const CONNECTION_STATUSES: readonly ConnectionStatus[] = [
	'idle',
	'connecting',
	'live',
	'stale',
	'reconnecting',
	'offline',
	'paused',
	'failed',
	'closed'
];

/** The transports the kit ships adapters for. */
export type KnownTransportKind = 'sse' | 'polling' | 'websocket' | 'socket.io';

/** A transport's kind: one of the kit's own, or any name a custom adapter gives itself. */
// `string & {}` keeps editor completion for the known kinds while accepting any string.
export type TransportKind = KnownTransportKind | (string & {});

/** Every {@link KnownTransportKind}. */
export const KNOWN_TRANSPORT_KINDS: readonly KnownTransportKind[] = [
	'sse',
	'polling',
	'websocket',
	'socket.io'
];
