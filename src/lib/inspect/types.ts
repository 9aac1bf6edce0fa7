import type { Continuity, ConnectionState } from '../core/connection/machine.js';
import type { TransportHints } from '../core/transports/types.js';
import type { ConnectionStatus, TransportKind } from '../core/types.js';

/** An error as the inspector reports it: plain data, safe to copy as JSON. */
export interface InspectedError {
	name: string;
	message: string;
	/** A `TransportError`'s code (`http`, `network`, `timeout`...) or a `MutationError`'s reason. */
	code?: string;
	/** The HTTP status, when there was one. */
	status?: number;
	/** Whether the engine will try again. */
	retryable?: boolean;
}

/**
 * What made the status change:
 * - `start`, `stop`, `pause`, `resume`, `retry`: the app called that method;
 * - `opened`, `failed`, `ended`, `message`, `heartbeat`, `resync-asked`: the transport reported it;
 * - `backoff`: the wait before the next attempt ended; `silence`: nothing arrived for too long;
 * - `offline`, `online`, `hidden`, `visible`: the browser said so;
 * - `resync`: the fetch of a fresh copy ended.
 */
export type StatusCause =
	| 'start'
	| 'stop'
	| 'pause'
	| 'resume'
	| 'retry'
	| 'opened'
	| 'failed'
	| 'ended'
	| 'message'
	| 'heartbeat'
	| 'resync-asked'
	| 'backoff'
	| 'silence'
	| 'offline'
	| 'online'
	| 'hidden'
	| 'visible'
	| 'resync';

/** What every inspection event carries. */
export interface InspectBase {
	/** Increases by one per event of one inspected source, from 1. */
	seq: number;
	/** When it happened: epoch milliseconds, from the source's `env`. */
	at: number;
	/** The inspected source's id, unique in the page (`inspect()` hands them out from 1). */
	source: number;
	/** The source's label (the `label` option, or its transport's kind and URL). */
	label: string;
}

/** The connection's status changed. */
export interface StatusEvent extends InspectBase {
	type: 'status';
	from: ConnectionStatus;
	to: ConnectionStatus;
	cause: StatusCause;
	transport: TransportKind | undefined;
	degraded: boolean;
	/** The number of the current or next attempt. */
	attempt: number;
	/** While `reconnecting`: how long until the next attempt (milliseconds). */
	retryIn?: number;
	continuity: Continuity;
	/** The failure the connection's state holds, if any. */
	error?: InspectedError;
}

/** Whether the data is known to be complete changed without a change of status (a resync ended). */
export interface ContinuityEvent extends InspectBase {
	type: 'continuity';
	from: Continuity;
	to: Continuity;
}

/** An attempt to connect began. */
export interface AttemptEvent extends InspectBase {
	type: 'attempt';
	/** The attempt's number since the last success (1 for the first). */
	n: number;
	/** The configured transport's kind (a `fallback()` chain reports its first member's). */
	transport: TransportKind;
	/** The id it resumes after (sent as `Last-Event-ID`), if any. */
	lastEventId?: string;
}

/** The attempt connected. */
export interface OpenedEvent extends InspectBase {
	type: 'opened';
	transport: TransportKind | undefined;
	/** On a fallback rather than the preferred transport. */
	degraded: boolean;
	/** The server proved it resumed after the id sent. */
	resumed: boolean;
	bidirectional: boolean;
}

/** The live transport is another one than before: a fallback moved down, or a probe took over. */
export interface TransportEvent extends InspectBase {
	type: 'transport';
	from: TransportKind | undefined;
	to: TransportKind | undefined;
	degraded: boolean;
}

/**
 * A request on the network, made by the transport or by one of a `fallback()` chain's members:
 * `probe` when it tries a better transport while another is live.
 */
export interface RequestEvent extends InspectBase {
	type: 'request';
	/** Pairs the request with its `response`. */
	request: number;
	/** `sse` (an `EventSource`, or a fetch asking for `text/event-stream`), `websocket`, or `http`. */
	kind: 'sse' | 'websocket' | 'http';
	method: string;
	url: string;
	probe: boolean;
}

/** How a request went: a status (or `open` for sockets and event sources), or an error. */
export interface ResponseEvent extends InspectBase {
	type: 'response';
	request: number;
	kind: 'sse' | 'websocket' | 'http';
	/** The request's method, URL and `probe`, as its `request` event gave them. */
	method: string;
	url: string;
	probe: boolean;
	/** The HTTP status; for an `EventSource` or a WebSocket, 200 once it opened. */
	status?: number;
	/** Why it failed or closed (`network error`, `closed 1012 restart`). */
	error?: string;
	/** Milliseconds since the request (on a monotonic clock: a stopped `Date` does not stop it). */
	ms: number;
}

/** A message arrived. */
export interface MessageEvent extends InspectBase {
	type: 'message';
	id?: string;
	/** The event type (SSE `event:`, a socket message's `type`), if any. */
	event?: string;
	/** The length of its data as text (characters of its JSON when it came decoded). */
	size: number;
	data: unknown;
	/**
	 * What the store's decoder made of it; absent when it was not decoded (a duplicate id already
	 * applied, or a malformed message, which a `dropped` event follows).
	 */
	update?: unknown;
}

export interface HeartbeatEvent extends InspectBase {
	type: 'heartbeat';
}

/** The server said how it behaves: its retry delay, heartbeat interval, the id to resume from. */
export interface HintEvent extends InspectBase {
	type: 'hint';
	hints: TransportHints;
}

/** A message was dropped before the store took it (malformed, or over a size limit). */
export interface DroppedEvent extends InspectBase {
	type: 'dropped';
	error: InspectedError;
}

/** The attempt failed. */
export interface FailedEvent extends InspectBase {
	type: 'failed';
	error: InspectedError;
}

/** The attempt's connection ended; `final`: the server said not to reconnect. */
export interface EndedEvent extends InspectBase {
	type: 'ended';
	final: boolean;
}

/**
 * A resync: `asked` (the server sent a `resync` event), `start` (the fresh copy is being fetched),
 * `done` (merged; `items` rows came), `failed`.
 */
export interface ResyncEvent extends InspectBase {
	type: 'resync';
	phase: 'asked' | 'start' | 'done' | 'failed';
	items?: number;
	error?: InspectedError;
}

/**
 * A change of a row: `pending` (applied on screen, on its way), `sent` (over the socket or the
 * HTTP `commit`), `confirmed`, `rolled-back` (the server refused it or it timed out: `error` says
 * why).
 */
export interface ChangeEvent extends InspectBase {
	type: 'change';
	phase: 'pending' | 'sent' | 'confirmed' | 'rolled-back';
	key: string;
	mutationId?: string;
	/** How it was sent (`sent` only). */
	via?: 'socket' | 'http';
	error?: InspectedError;
}

/** The browser went offline or online, or the page was hidden or shown. */
export interface PlatformEvent extends InspectBase {
	type: 'platform';
	change: 'offline' | 'online' | 'hidden' | 'visible';
}

/** Everything an inspected source reports, in the order it happened. */
export type InspectEvent =
	| StatusEvent
	| ContinuityEvent
	| AttemptEvent
	| OpenedEvent
	| TransportEvent
	| RequestEvent
	| ResponseEvent
	| MessageEvent
	| HeartbeatEvent
	| HintEvent
	| DroppedEvent
	| FailedEvent
	| EndedEvent
	| ResyncEvent
	| ChangeEvent
	| PlatformEvent;

/** Every inspection event type. */
export type InspectEventType = InspectEvent['type'];

/** Receives inspection events. What it throws is reported and does not stop the source. */
export type InspectObserver = (event: InspectEvent) => void;

/** Where an inspected source stands now: what the settled signal and the panel read. */
export interface InspectedSource {
	id: number;
	label: string;
	/** The `scope` option (a Storybook story's id). */
	scope: string | undefined;
	/** The connection's state; `undefined` until it is created. */
	state: ConnectionState | undefined;
	/** Whether any data arrived yet. */
	loaded: boolean;
	/** How many rows the list has. */
	rows: number;
	/** How many changes are on their way. */
	pending: number;
	/** Whether the connection was stopped (the component unmounted). */
	stopped: boolean;
}

export interface InspectOptions {
	/** A name for the source in logs and the Connection panel. @defaultValue the transport's kind and URL */
	label?: string;
	/**
	 * What the source belongs to, for {@link whenSettled} (a Storybook story's id: the addon's
	 * sources on a docs page are told apart by it).
	 */
	scope?: string;
	/** Receives every event of this source, besides the page-wide listeners ({@link onInspect}). */
	onEvent?: InspectObserver;
}
