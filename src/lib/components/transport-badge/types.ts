import type { HTMLAttributes } from 'svelte/elements';
import type { Transport } from '../../core/transports/types.js';
import type { ConnectionStatus, TransportKind } from '../../core/types.js';

/** A point in time: epoch milliseconds or a `Date`. */
export type Instant = number | Date;

/** How much the badge shows. */
export type TransportBadgeVariant = 'dot' | 'pill' | 'detailed';

/** Every text the badge renders, for translation or rewording. */
export interface TransportBadgeLabels {
	/** Per status, e.g. `{ live: 'live', reconnecting: 'reconnecting' }`. */
	status: Record<ConnectionStatus, string>;
	/** Per transport kind, e.g. `{ sse: 'SSE' }`; an unlisted kind is shown as given. */
	transport: Record<string, string>;
	/** Marks a connection running on a fallback transport. */
	fallback: string;
	/** The countdown to the next attempt, in whole seconds (at least 1). */
	retryingIn: (seconds: number) => string;
	/** Shown while the next attempt is due now. */
	retryingNow: string;
	/** The attempt number while connecting, reconnecting or failed. */
	attempt: (attempt: number) => string;
	/** How long ago the last message or heartbeat arrived, in milliseconds. */
	lastEvent: (ageMs: number) => string;
	/** Marks a connection that this browser's tabs share (`shared` set, leader or follower). */
	shared: string;
	/** The detailed variant's note in a tab that gets the connection from another tab. */
	throughTab: string;
	/** The detailed variant's note in the tab that runs the shared connection: how many tabs share it. */
	sharedBy: (tabs: number) => string;
}

/** Labels to override: any subset, including a subset of `status` or `transport`. */
export type TransportBadgeLabelsInput = Partial<
	Omit<TransportBadgeLabels, 'status' | 'transport'>
> & {
	status?: Partial<Record<ConnectionStatus, string>>;
	transport?: Record<string, string>;
};

/** What the badge shows, independent of where it came from. */
export interface TransportBadgeState {
	/**
	 * Where the connection stands.
	 * @defaultValue `'idle'`
	 */
	status?: ConnectionStatus;
	/**
	 * The transport now in use (`'sse'`, `'polling'`, `'websocket'`, `'socket.io'` or a custom kind).
	 * @defaultValue none (no transport named)
	 */
	transport?: TransportKind;
	/**
	 * Whether the connection runs on a fallback rather than the preferred transport.
	 * @defaultValue `false`
	 */
	degraded?: boolean;
	/**
	 * The current attempt number (1 for the first attempt).
	 * @defaultValue none (not shown)
	 */
	attempt?: number;
	/**
	 * When the next attempt starts, while `reconnecting`.
	 * @defaultValue none (no countdown)
	 */
	retryAt?: Instant;
	/**
	 * When the last message or heartbeat arrived.
	 * @defaultValue none (no age shown)
	 */
	lastEventAt?: Instant;
	/**
	 * Set when tabs share the connection (`share` on `<LiveSource>`): `role` `'leader'` in the tab
	 * that runs it, `'follower'` in a tab that gets it through another tab; `tabs`, how many share it
	 * (1 or more).
	 * @defaultValue none (not shared)
	 */
	shared?: { role: 'leader' | 'follower'; tabs: number };
}

export interface TransportBadgeProps
	extends Omit<TransportBadgeState, 'transport'>, Omit<HTMLAttributes<HTMLDivElement>, 'children'> {
	/**
	 * A transport adapter: the badge shows the state of the connection that the components using
	 * this adapter opened (it never opens one itself). Or a kind
	 * (`'sse'`, `'polling'`, ...) to show with the other props. Without it and without `status`, the
	 * badge shows the nearest `<LiveSource>`.
	 * @defaultValue none: the nearest `<LiveSource>`, unless `status` is given
	 */
	transport?: TransportKind | Transport<unknown, unknown>;
	/**
	 * The clock the countdown and the last-event age are measured against. Pass a fixed value for
	 * stable rendering (stories, screenshots, tests); leave it out to tick every second.
	 * @defaultValue the current time, updated every second while a countdown or age is shown
	 */
	now?: Instant;
	/**
	 * `dot`: a coloured dot, its text for screen readers only; `pill`: dot, transport and status;
	 * `detailed`: the pill plus the countdown, attempt and last-event age.
	 * @defaultValue `'pill'`
	 */
	variant?: TransportBadgeVariant;
	/**
	 * Texts to override, for translation or rewording.
	 * @defaultValue English labels ({@link defaultTransportBadgeLabels})
	 */
	labels?: TransportBadgeLabelsInput;
}
