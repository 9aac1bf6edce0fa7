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
	/** What was sent on this attempt, in order. */
	sent: unknown[];
}

/** A transport whose attempts the test drives by hand. */
export function fakeTransport(kind = 'fake', supported = true, bidirectional = false) {
	const attempts: FakeAttempt[] = [];
	const transport: Transport<unknown> & {
		attempts: FakeAttempt[];
		readonly last: FakeAttempt;
		readonly open: (sink: TransportSink<unknown>, attempt: Attempt) => TransportConnection<unknown>;
		/** Runs inside open(), for tests of synchronous failures. */
		onOpen?: (attempt: FakeAttempt) => void;
		readonly openCount: number;
	} = {
		kind,
		bidirectional,
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
			const record: FakeAttempt = { sink, attempt, closed: false, closeCalls: 0, sent: [] };
			attempts.push(record);
			transport.onOpen?.(record);
			const connection: TransportConnection<unknown> = {
				close() {
					record.closeCalls++;
					record.closed = true;
				}
			};
			if (bidirectional) {
				connection.send = (data) => {
					if (record.closed) return Promise.reject(new Error('closed'));
					record.sent.push(data);
					return Promise.resolve({ echoed: data });
				};
			}
			return connection;
		}
	};
	return transport;
}
