import * as messages from '../messages.js';
import { TransportError } from '../errors.js';
import type { Attempt, Transport, TransportConnection, TransportSink } from './types.js';

export interface FallbackOptions {
	/**
	 * Failed attempts (before opening) on one transport before moving to the next. A non-retryable
	 * failure (a 404, the wrong content type, no `WebSocket`) moves on at once.
	 * @defaultValue `1`
	 */
	moveAfter?: number;
	/**
	 * While on a fallback, how often to try the better transports again (milliseconds). When one
	 * opens, the chain switches back up; the old transport keeps delivering until then.
	 * @defaultValue `60000`
	 */
	probeInterval?: number;
}

/**
 * An ordered chain of transports: the first that works is used. It moves down on failure
 * (skipping transports this environment does not support), remembers the winner for the next
 * attempt, and probes back up on an interval.
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
	const moveAfter = options.moveAfter ?? 1;
	const probeInterval = options.probeInterval ?? 60_000;
	// Shared across attempts: the winner is remembered.
	let winner = 0;
	const failures = members.map(() => 0);

	return {
		kind: members[0]!.kind,
		bidirectional: members.some((member) => member.bidirectional === true),
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
			let closed = false;
			let active: Running | undefined;
			let probe: Running | undefined;
			let probeTimer: unknown;

			interface Running {
				index: number;
				controller: AbortController;
				connection?: TransportConnection<unknown>;
				opened: boolean;
			}

			const stop = (running: Running | undefined) => {
				if (!running) return;
				running.controller.abort();
				try {
					running.connection?.close();
				} catch {
					// ignore: the member is being dropped anyway
				}
			};

			function start(index: number, asProbe: boolean): void {
				const running: Running = { index, controller: new AbortController(), opened: false };
				// Set before open(): a member may fail synchronously and start the next one.
				if (asProbe) probe = running;
				else active = running;
				const forward = () => !closed && active === running;
				const member = members[index]!;
				const sink: TransportSink<In> = {
					opened(info = {}) {
						if (closed || running.controller.signal.aborted) return;
						running.opened = true;
						failures[index] = 0;
						winner = index;
						if (asProbe) {
							// A better transport is back: switch to it, then drop the old one.
							const old = active;
							active = running;
							probe = undefined;
							stop(old);
						}
						outer.opened({
							...info,
							transport: info.transport ?? member.kind,
							degraded: index !== preferred
						});
						scheduleProbe();
					},
					message: (data, meta) => forward() && outer.message(data, meta),
					dropped: (error) => forward() && outer.dropped(error),
					heartbeat: () => forward() && outer.heartbeat(),
					hint: (hints) => forward() && outer.hint(hints),
					failed(error) {
						if (closed || running.controller.signal.aborted) return;
						stop(running);
						if (asProbe) {
							if (probe === running) probe = undefined;
							return probeFrom(index + 1);
						}
						if (running.opened) return outer.failed(error);
						failures[index] = (failures[index] ?? 0) + 1;
						const next = usable.find((i) => i > index);
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
						if (closed || running.controller.signal.aborted) return;
						stop(running);
						if (asProbe) {
							if (probe === running) probe = undefined;
							return;
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
					stop(probe);
					stop(active);
				},
				send(data, sendOptions) {
					const connection = active?.opened ? active.connection : undefined;
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
