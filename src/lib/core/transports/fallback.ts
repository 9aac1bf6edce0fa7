import * as messages from '../messages.js';
import { TransportError } from '../errors.js';
import { positive } from '../options.js';
import type {
	Attempt,
	OpenedInfo,
	Transport,
	TransportHints,
	TransportConnection,
	TransportSink
} from './types.js';

export interface FallbackOptions {
	/**
	 * Failed attempts (before opening) on one transport before moving to the next. A non-retryable
	 * failure (a 404, the wrong content type, no `WebSocket`) moves on at once.
	 * @defaultValue `1`
	 */
	moveAfter?: number;
	/**
	 * While on a fallback, how often to try the better transports again (milliseconds). A socket
	 * probe takes over when it opens; a stream (SSE) when it delivers its first message or
	 * heartbeat, or it is dropped after this long. The old transport keeps delivering until then.
	 * @defaultValue `60000`
	 */
	probeInterval?: number;
	/**
	 * A transport that opens but whose connection dies sooner than this (milliseconds), or dies
	 * before delivering anything, died young. After `maxShortLived` such connections in a row the
	 * chain moves down, as if the transport had failed to open.
	 * @defaultValue `1000`
	 */
	minLifetime?: number;
	/**
	 * Connections in a row that die young before the chain moves down.
	 * @defaultValue `3`
	 */
	maxShortLived?: number;
}

interface Running {
	index: number;
	controller: AbortController;
	connection?: TransportConnection<unknown>;
	/** What the member said when it opened; undefined before. */
	openedInfo?: OpenedInfo;
	openedAt: number;
	/** A message or heartbeat arrived. */
	delivered: boolean;
	/** Hints a probe gave before it took over, passed on when it does. */
	hints?: TransportHints;
	/** A probe that opened has until this fires to deliver something. */
	timer?: unknown;
}

/**
 * An ordered chain of transports: the first that works is used. It moves down on failure
 * (skipping transports this environment does not support), remembers the winner for the next
 * attempt, and probes back up on an interval.
 *
 * A transport counts as failing, and the chain moves down, when it cannot open; when it fails
 * for good after opening (a WebSocket closed with 1008) while a later transport could work; when
 * it opens but is dropped as silent before delivering anything (a proxy that buffers the stream);
 * and after `maxShortLived` connections in a row that die young (a socket closed with 1011 each
 * time). The error in the connection's state says why.
 *
 * @example fallback(websocket({ url }), sse({ url }), polling({ url }))
 * @example fallback([sse({ url }), polling({ url })], { probeInterval: 30_000 })
 */
export function fallback<In = unknown>(
	...args: Transport<In, unknown>[] | [Transport<In, unknown>[], FallbackOptions?]
): Transport<In, unknown> {
	const [members, options = {}] = Array.isArray(args[0])
		? (args as [Transport<In, unknown>[], FallbackOptions?])
		: [args as Transport<In, unknown>[]];
	if (members.length === 0) throw new TypeError(messages.emptyFallback());
	for (const member of members) {
		if (!member || typeof member.open !== 'function') {
			throw new TypeError(messages.badOption('fallback()', 'transports', member));
		}
	}
	const moveAfter = positive(`fallback() moveAfter`, options.moveAfter, 1);
	const probeInterval = positive(`fallback() probeInterval`, options.probeInterval, 60_000);
	const minLifetime = positive(`fallback() minLifetime`, options.minLifetime, 1000);
	const maxShortLived = positive(`fallback() maxShortLived`, options.maxShortLived, 3);
	// Shared across attempts: the winner is remembered, and so are failures in a row.
	let winner = 0;
	const failures = members.map(() => 0);
	const shortLived = members.map(() => 0);

	return {
		kind: members[0]!.kind,
		bidirectional: members.some((member) => member.bidirectional === true),
		// Without a member's identity (or with a URL made per attempt) the chain has none.
		identity: members.every(
			(member) =>
				member.identity && typeof (member.identity as { url?: unknown }).url !== 'function'
		)
			? members.map((member) => [member.kind, member.identity])
			: undefined,
		supported: (env) => members.some((member) => member.supported?.(env) ?? true),
		open(outer, attempt) {
			const { env } = attempt;
			const usable = members.flatMap((member, index) =>
				(member.supported?.(env) ?? true) ? [index] : []
			);
			if (usable.length === 0) {
				outer.failed(
					new TransportError(messages.allUnsupported(members.map((m) => m.kind)), {
						code: 'unsupported',
						retryable: false
					})
				);
				return { close() {} };
			}
			const preferred = usable[0]!;
			const below = (index: number) => usable.find((i) => i > index);
			let closed = false;
			let active: Running | undefined;
			let probe: Running | undefined;
			let probeTimer: unknown;

			const stop = (running: Running | undefined) => {
				if (!running) return;
				if (running.timer !== undefined) env.clearTimeout(running.timer);
				running.controller.abort();
				try {
					running.connection?.close();
				} catch {
					// ignore: the member is being dropped anyway
				}
			};

			/** The active member's connection ended after it opened: was it healthy? */
			function judge(running: Running, silent: boolean) {
				const young = !running.delivered || env.now() - running.openedAt < minLifetime;
				const { index } = running;
				if (!young) {
					shortLived[index] = 0;
					return false;
				}
				shortLived[index] = silent ? maxShortLived : (shortLived[index] ?? 0) + 1;
				if (shortLived[index]! < maxShortLived || below(index) === undefined) return false;
				shortLived[index] = 0;
				winner = below(index)!;
				return true;
			}

			/** Makes a member that opened the one the engine sees. */
			function promote(running: Running) {
				const member = members[running.index]!;
				if (running.timer !== undefined) env.clearTimeout(running.timer);
				running.timer = undefined;
				if (active !== running) {
					const old = active;
					active = running;
					probe = undefined;
					stop(old);
				}
				winner = running.index;
				const info = running.openedInfo ?? {};
				outer.opened({
					...info,
					transport: info.transport ?? member.kind,
					degraded: running.index !== preferred
				});
				if (running.hints) outer.hint(running.hints);
				running.hints = undefined;
				scheduleProbe();
			}

			function start(index: number, asProbe: boolean): void {
				const running: Running = {
					index,
					controller: new AbortController(),
					openedAt: 0,
					delivered: false
				};
				// Set before open(): a member may fail synchronously and start the next one.
				if (asProbe) probe = running;
				else active = running;
				const member = members[index]!;
				// The role is read when a callback runs: a probe that took over is the active member.
				const gone = () => closed || running.controller.signal.aborted;
				const isActive = () => !gone() && active === running;
				const isProbe = () => !gone() && probe === running;
				/** A probe proves itself with its first delivery, then takes over. */
				const deliver = () => {
					running.delivered = true;
					if (isProbe() && running.openedInfo) promote(running);
					return isActive();
				};
				const sink: TransportSink<In> = {
					opened(info = {}) {
						if (gone() || running.openedInfo) return;
						running.openedInfo = info;
						running.openedAt = env.now();
						failures[index] = 0;
						// A socket takes over when it opens (proxies do not hold back its frames); a stream
						// only once it delivers, since a buffering proxy opens it and passes on nothing.
						if (isActive() || info.bidirectional === true) return promote(running);
						// Such a probe must not hold a connection forever: it gets one probe interval.
						running.timer = env.setTimeout(() => {
							if (!isProbe()) return;
							stop(running);
							probe = undefined;
							probeFrom(index + 1);
						}, probeInterval);
					},
					message: (data, meta) => deliver() && outer.message(data, meta),
					dropped: (error) => deliver() && outer.dropped(error),
					heartbeat: () => deliver() && outer.heartbeat(),
					hint(hints) {
						if (isActive()) outer.hint(hints);
						else if (isProbe()) running.hints = { ...running.hints, ...hints };
					},
					failed(error) {
						if (gone()) return;
						const wasProbe = isProbe();
						stop(running);
						if (wasProbe) {
							probe = undefined;
							return probeFrom(index + 1);
						}
						if (running.openedInfo) return afterOpen(running, error);
						failures[index] = (failures[index] ?? 0) + 1;
						const next = below(index);
						if (next !== undefined && (!error.retryable || failures[index]! >= moveAfter)) {
							failures[index] = 0;
							start(next, false);
							return;
						}
						// The whole chain failed: begin at the top next time.
						if (next === undefined) winner = preferred;
						outer.failed(error);
					},
					ended(info) {
						if (gone()) return;
						const wasProbe = isProbe();
						stop(running);
						if (wasProbe) {
							probe = undefined;
							return probeFrom(index + 1);
						}
						if (!info?.final && running.openedInfo && judge(running, false)) {
							return outer.failed(
								new TransportError(messages.streamEnded(member.kind), {
									code: 'closed',
									retryable: true,
									transport: member.kind
								})
							);
						}
						outer.ended(info);
					}
				};
				const forwardAbort = () => running.controller.abort();
				attempt.signal.addEventListener('abort', forwardAbort, { once: true });
				running.controller.signal.addEventListener(
					'abort',
					() => attempt.signal.removeEventListener('abort', forwardAbort),
					{ once: true }
				);
				const memberAttempt: Attempt = { ...attempt, signal: running.controller.signal };
				try {
					const connection = member.open(sink, memberAttempt);
					if (running.controller.signal.aborted) connection.close();
					else running.connection = connection;
				} catch (cause) {
					sink.failed(
						cause instanceof TransportError
							? cause
							: new TransportError(String(cause), {
									code: 'protocol',
									retryable: false,
									transport: member.kind,
									cause
								})
					);
				}
			}

			/** The active member failed after opening: the engine hears of it, always. */
			function afterOpen(running: Running, error: TransportError) {
				const next = below(running.index);
				if (!error.retryable && next !== undefined) {
					// This member cannot work; a later one may. The engine retries, down the chain.
					winner = next;
					shortLived[running.index] = 0;
					return outer.failed(
						new TransportError(error.message, {
							code: error.code,
							status: error.status,
							retryable: true,
							transport: error.transport ?? members[running.index]!.kind,
							cause: error
						})
					);
				}
				judge(running, false);
				outer.failed(error);
			}

			function scheduleProbe() {
				if (probeTimer !== undefined) env.clearTimeout(probeTimer);
				probeTimer = undefined;
				if (closed || !active || active.index === preferred) return;
				probeTimer = env.setTimeout(() => {
					probeTimer = undefined;
					probeFrom(preferred);
				}, probeInterval);
			}

			/** Tries the better transports from `index` up to the active one; then waits again. */
			function probeFrom(index: number) {
				if (closed || !active) return;
				const candidate = usable.find((i) => i >= index && i < active!.index);
				if (candidate === undefined) return scheduleProbe();
				start(candidate, true);
			}

			const first = usable.includes(winner) ? winner : preferred;
			start(first, false);

			return {
				close() {
					if (closed) return;
					closed = true;
					if (probeTimer !== undefined) env.clearTimeout(probeTimer);
					// Dropped by the engine for silence before it delivered anything: it does not work here.
					const reason: unknown = attempt.signal.reason;
					if (
						active?.openedInfo &&
						!active.delivered &&
						reason instanceof TransportError &&
						reason.code === 'timeout'
					) {
						judge(active, true);
					}
					stop(probe);
					stop(active);
				},
				send(data, sendOptions) {
					const connection = active?.openedInfo ? active.connection : undefined;
					if (!closed && connection?.send) return connection.send(data, sendOptions);
					return Promise.reject(
						new TransportError(messages.oneWay(active ? members[active.index]!.kind : 'none'), {
							code: 'unsupported',
							retryable: false
						})
					);
				}
			};
		}
	};
}
