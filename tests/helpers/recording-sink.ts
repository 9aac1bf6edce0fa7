import type { DecodeError, TransportError } from '../../src/lib/core/errors.js';
import type {
	MessageMeta,
	OpenedInfo,
	TransportHints,
	TransportSink
} from '../../src/lib/core/transports/types.js';

export type SinkCall<In> =
	| { type: 'opened'; info?: OpenedInfo }
	| { type: 'message'; data: In; meta?: MessageMeta }
	| { type: 'heartbeat' }
	| { type: 'hint'; hints: TransportHints }
	| { type: 'dropped'; error: DecodeError }
	| { type: 'failed'; error: TransportError }
	| { type: 'ended'; info?: { final?: boolean } };

/** A sink that records every call an adapter makes, in order. */
export function recordingSink<In = unknown>() {
	const calls: SinkCall<In>[] = [];
	const sink: TransportSink<In> = {
		opened: (info) => void calls.push({ type: 'opened', info }),
		message: (data, meta) => void calls.push({ type: 'message', data, meta }),
		heartbeat: () => void calls.push({ type: 'heartbeat' }),
		hint: (hints) => void calls.push({ type: 'hint', hints }),
		dropped: (error) => void calls.push({ type: 'dropped', error }),
		failed: (error) => void calls.push({ type: 'failed', error }),
		ended: (info) => void calls.push({ type: 'ended', info })
	};
	return {
		sink,
		calls,
		types: () => calls.map((call) => call.type),
		failure: () => {
			const call = calls.find((c) => c.type === 'failed');
			if (!call) throw new Error(`no failed() call, got ${calls.map((c) => c.type).join(', ')}`);
			return call.error;
		},
		messages: () =>
			calls.filter((c): c is Extract<SinkCall<In>, { type: 'message' }> => c.type === 'message')
	};
}
