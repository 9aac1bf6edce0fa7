import type {
	Attempt,
	Transport,
	TransportConnection,
	TransportSink
} from '../../src/lib/core/transports/types.js';

export interface FakeAttempt {
	sink: TransportSink<unknown>;
	attempt: Attempt;
	closed: boolean;
	closeCalls: number;
}

/** A transport whose attempts the test drives by hand. */
export function fakeTransport(kind = 'fake', supported = true) {
	const attempts: FakeAttempt[] = [];
	const transport: Transport<unknown> & {
		attempts: FakeAttempt[];
		readonly last: FakeAttempt;
		readonly open: (sink: TransportSink<unknown>, attempt: Attempt) => TransportConnection;
		/** Runs inside open(), for tests of synchronous failures. */
		onOpen?: (attempt: FakeAttempt) => void;
		readonly openCount: number;
	} = {
		kind,
		supported: () => supported,
		attempts,
		get last() {
			const last = attempts.at(-1);
			if (!last) throw new Error('no attempt was opened');
			return last;
		},
		get openCount() {
			return attempts.filter((a) => !a.closed).length;
		},
		open(sink, attempt) {
			const record: FakeAttempt = { sink, attempt, closed: false, closeCalls: 0 };
			attempts.push(record);
			transport.onOpen?.(record);
			return {
				close() {
					record.closeCalls++;
					record.closed = true;
				}
			};
		}
	};
	return transport;
}
