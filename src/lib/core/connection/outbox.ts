import type { Env } from '../env/env.js';
import * as messages from '../messages.js';
import { TransportError } from '../errors.js';

export interface OutboxOptions {
	/** How many messages may wait; beyond it `push` rejects at once. */
	max: number;
	/** How long one message may wait (milliseconds) before it is rejected. */
	timeout: number;
	env: Env;
}

interface Waiting<O> {
	data: unknown;
	options: O;
	resolve: (value: unknown) => void;
	reject: (error: unknown) => void;
	release: () => void;
}

/**
 * Messages waiting for a connection: bounded, ordered, each waiting at most `timeout`, each
 * delivered or rejected exactly once.
 */
export function createOutbox<O extends { signal?: AbortSignal }>({
	max,
	timeout,
	env
}: OutboxOptions) {
	const waiting: Waiting<O>[] = [];

	function take(item: Waiting<O>) {
		const index = waiting.indexOf(item);
		if (index === -1) return false;
		waiting.splice(index, 1);
		item.release();
		return true;
	}

	return {
		get size() {
			return waiting.length;
		},
		push(data: unknown, options: O): Promise<unknown> {
			const { signal } = options;
			if (signal?.aborted) return Promise.reject(signal.reason);
			if (waiting.length >= max) {
				return Promise.reject(
					new TransportError(messages.queueFull(waiting.length), {
						code: 'queue-full',
						retryable: false
					})
				);
			}
			return new Promise((resolve, reject) => {
				const onAbort = () => take(item) && reject(signal?.reason);
				const timer = Number.isFinite(timeout)
					? env.setTimeout(() => {
							if (!take(item)) return;
							reject(
								new TransportError(messages.queueTimeout(timeout), {
									code: 'timeout',
									retryable: true
								})
							);
						}, timeout)
					: undefined;
				const item: Waiting<O> = {
					data,
					options,
					resolve,
					reject,
					release() {
						if (timer !== undefined) env.clearTimeout(timer);
						signal?.removeEventListener('abort', onAbort);
					}
				};
				signal?.addEventListener('abort', onAbort, { once: true });
				waiting.push(item);
			});
		},
		/** Hands every waiting message to `deliver`, in order, once. */
		flush(deliver: (data: unknown, options: O) => Promise<unknown>) {
			for (const item of waiting.splice(0)) {
				item.release();
				let sent: Promise<unknown>;
				try {
					sent = deliver(item.data, item.options);
				} catch (error) {
					sent = Promise.reject(error);
				}
				sent.then(item.resolve, item.reject);
			}
		},
		reject(error: unknown) {
			for (const item of waiting.splice(0)) {
				item.release();
				item.reject(error);
			}
		}
	};
}
