import { CONNECTION_STATUSES, type ConnectionStatus } from '../../core/types.js';
import type {
	Instant,
	TransportBadgeLabels,
	TransportBadgeLabelsInput,
	TransportBadgeState
} from './types.js';

/** An age in whole seconds, minutes, hours or days, the largest unit it has one of: `12 s`, `3 h`. */
function formatAge(ms: number): string {
	const seconds = Math.max(0, Math.floor(ms / 1000));
	return seconds < 60
		? `${seconds} s`
		: seconds < 3600
			? `${Math.floor(seconds / 60)} min`
			: seconds < 86400
				? `${Math.floor(seconds / 3600)} h`
				: `${Math.floor(seconds / 86400)} d`;
}

/** Each status named as it is spelled: `{ idle: 'idle', connecting: 'connecting', … }`. */
const STATUS_LABELS = Object.fromEntries(
	CONNECTION_STATUSES.map((status) => [status, status])
) as Record<ConnectionStatus, string>;

/** The badge's English texts. */
export const defaultTransportBadgeLabels: TransportBadgeLabels = {
	status: STATUS_LABELS,
	transport: { sse: 'SSE', polling: 'Polling', websocket: 'WebSocket', 'socket.io': 'Socket.IO' },
	fallback: 'fallback',
	retryingIn: (seconds) => `retrying in ${seconds} s`,
	retryingNow: 'retrying now',
	attempt: (attempt) => `attempt ${attempt}`,
	lastEvent: (ageMs) => `last event ${formatAge(ageMs)} ago`,
	shared: 'shared',
	throughTab: 'through another tab',
	sharedBy: (tabs) => (tabs > 1 ? `shared by ${tabs} tabs` : 'no other tab yet')
};

/**
 * A label of `table` for `name`, if `table` has one of its own: a name such as `constructor` or
 * `__proto__` must not find what every object inherits.
 */
function ownLabel(table: Record<string, string> | undefined, name: string): string | undefined {
	if (!table || !Object.hasOwn(table, name)) return undefined;
	const label = table[name];
	return typeof label === 'string' ? label : undefined;
}

/** Merges overrides over the defaults, one level deep for `status` and `transport`. */
export function resolveLabels(input: TransportBadgeLabelsInput | undefined): TransportBadgeLabels {
	if (!input) return defaultTransportBadgeLabels;
	const defaults = defaultTransportBadgeLabels;
	return {
		...defaults,
		...input,
		status: { ...defaults.status, ...input.status },
		transport: { ...defaults.transport, ...input.transport }
	};
}

/** The parts given, empty ones left out, as one phrase: `SSE · live · shared`. */
export const joinParts = (...parts: (string | false | undefined)[]): string =>
	parts.filter(Boolean).join(' · ');

/** Everything the badge renders, as text. */
export interface BadgeDescription {
	status: ConnectionStatus;
	/** The transport's display name, if a transport is known. */
	transportLabel: string | undefined;
	statusLabel: string;
	/** The transport and status in one phrase, e.g. `SSE · live`, or `SSE · live · shared`. */
	summary: string;
	/** `fallback` when degraded. */
	fallbackLabel: string | undefined;
	/** The countdown (`retrying in 4 s`), while reconnecting with a known `retryAt`. */
	retry: string | undefined;
	/** `attempt 3`, while an attempt number matters. */
	attempt: string | undefined;
	/** `last event 12 s ago`, when `lastEventAt` is known. */
	lastEvent: string | undefined;
	/** `through another tab` (a follower) or `shared by 3 tabs` (the leader), when shared. */
	sharing: string | undefined;
}

const ATTEMPT_STATUSES: ReadonlySet<ConnectionStatus> = new Set([
	'connecting',
	'reconnecting',
	'failed'
]);

/**
 * Turns a connection's state into the badge's texts. Pure: the clock is an argument.
 * @throws {TypeError} for an unknown status, an invalid time or an invalid `shared`, naming the value.
 */
export function describeBadge(
	state: TransportBadgeState,
	now: Instant,
	labels: TransportBadgeLabels = defaultTransportBadgeLabels
): BadgeDescription {
	const status = state.status ?? 'idle';
	if (!CONNECTION_STATUSES.includes(status)) {
		throw new TypeError(
			`TransportBadge: unknown status ${preview(status)}; expected one of ${CONNECTION_STATUSES.join(', ')}`
		);
	}
	const statusLabel = ownLabel(labels.status, status) ?? defaultTransportBadgeLabels.status[status];
	const nowMs = checkedMs(now, 'now');
	const kind = state.transport;
	const transportLabel = kind ? (ownLabel(labels.transport, kind) ?? kind) : undefined;

	let retry: string | undefined;
	if (status === 'reconnecting' && state.retryAt !== undefined) {
		const seconds = Math.ceil((checkedMs(state.retryAt, 'retryAt') - nowMs) / 1000);
		retry = seconds > 0 ? labels.retryingIn(seconds) : labels.retryingNow;
	}
	const attempt =
		state.attempt !== undefined && state.attempt > 0 && ATTEMPT_STATUSES.has(status)
			? labels.attempt(state.attempt)
			: undefined;
	const lastEvent =
		state.lastEventAt === undefined
			? undefined
			: labels.lastEvent(Math.max(0, nowMs - checkedMs(state.lastEventAt, 'lastEventAt')));

	const shared = state.shared;
	let sharing: string | undefined;
	if (shared) {
		const { role, tabs } = shared;
		if ((role !== 'leader' && role !== 'follower') || !(tabs >= 1)) {
			throw new TypeError(
				`TransportBadge: \`shared\` needs role 'leader' | 'follower', tabs ≥ 1; got ${preview(role)}, ${preview(tabs)}`
			);
		}
		sharing = role === 'leader' ? labels.sharedBy(tabs) : labels.throughTab;
	}

	return {
		status,
		transportLabel,
		statusLabel,
		summary: joinParts(transportLabel, statusLabel, shared && labels.shared),
		fallbackLabel: state.degraded ? labels.fallback : undefined,
		retry,
		attempt,
		lastEvent,
		sharing
	};
}

function preview(value: unknown): string {
	if (typeof value === 'string') return JSON.stringify(value);
	try {
		return String(value);
	} catch {
		return typeof value; // an object without a prototype
	}
}

function checkedMs(instant: Instant, name: string): number {
	const ms = typeof instant === 'number' ? instant : instant.getTime();
	if (!Number.isFinite(ms)) {
		throw new TypeError(
			`TransportBadge: \`${name}\` must be a finite epoch-millisecond number or a valid Date, got ${String(instant)}`
		);
	}
	return ms;
}
