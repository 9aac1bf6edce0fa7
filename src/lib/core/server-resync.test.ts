// A server that loses events for its clients (its link to the other servers broke) and says so
// with a `resync` event: generated interleavings of delivered changes, lost changes, resyncs and
// reconnects, with and without a `resync` function, checked against the server's list.
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createFakeEnv } from '../../../tests/helpers/fake-env.js';
import { fakeTransport } from '../../../tests/helpers/fake-transport.js';
import { TransportError } from './errors.js';
import { createLiveSource } from './live-source.js';

interface Row {
	id: string;
	version: number;
}

const KEYS = ['a', 'b', 'c'];

type Step =
	| { type: 'change'; key: string; delivered: boolean }
	| { type: 'resync' }
	| { type: 'drop' }
	| { type: 'open' };

const step: fc.Arbitrary<Step> = fc.oneof(
	fc.record({
		type: fc.constant('change' as const),
		key: fc.constantFrom(...KEYS),
		delivered: fc.boolean()
	}),
	fc.constant({ type: 'resync' as const }),
	fc.constant({ type: 'drop' as const }),
	fc.constant({ type: 'open' as const })
);

beforeEach(() => void vi.useFakeTimers({ now: 0 }));
afterEach(() => void vi.useRealTimers());

async function run(steps: Step[], withResync: boolean) {
	const env = createFakeEnv();
	const transport = fakeTransport('sse');
	const server = new Map(KEYS.map((id) => [id, { id, version: 1 }]));
	const list = () => [...server.values()].map((row) => ({ ...row }));
	let eventId = 0;
	/** Changes this client never heard of and no resync, reconnect or snapshot has covered yet. */
	let missed = false;
	const resyncs = vi.fn(async () => list());
	const live = createLiveSource<Row>({
		transport,
		env,
		key: (row) => row.id,
		version: (row) => row.version,
		retry: { baseDelay: 100, minDelay: 10, maxDelay: 200, minUptime: 100 },
		...(withResync ? { resync: resyncs } : {})
	});
	live.start();
	/** The attempt the server talks to, once it has opened it and sent its snapshot. */
	let open: (typeof transport.attempts)[number] | undefined;
	const openLatest = () => {
		const attempt = transport.attempts.at(-1);
		if (!attempt || attempt.closed || attempt === open) return;
		attempt.sink.opened();
		// Like sseResponse without a usable Last-Event-ID: the whole list first.
		attempt.sink.message(JSON.stringify(list()), { id: String(eventId), event: 'snapshot' });
		open = attempt;
		missed = false;
	};
	openLatest();
	/** A change on the server, which this client hears of only if `delivered`. */
	const change = (key: string, delivered: boolean) => {
		const row = server.get(key)!;
		server.set(key, { ...row, version: row.version + 1 });
		eventId++;
		if (!open || open.closed) return;
		if (delivered) {
			open.sink.message(JSON.stringify(server.get(key)), { id: String(eventId), event: 'upsert' });
		} else missed = true;
	};
	const resync = (reason: string) => {
		if (!open || open.closed) return;
		open.sink.message(JSON.stringify({ reason }), { id: String(eventId), event: 'resync' });
		missed = false;
	};
	for (const s of steps) {
		if (s.type === 'change') change(s.key, s.delivered);
		else if (s.type === 'resync') resync('epoch');
		else if (s.type === 'open') openLatest();
		else if (open && !open.closed) {
			open.sink.failed(new TransportError('gone', { code: 'network', retryable: true }));
			open = undefined;
		}
		await vi.advanceTimersByTimeAsync(50);
	}
	/** Lets the engine act, answering any attempt it opens as the server would. */
	const settle = async () => {
		for (let i = 0; i < 20; i++) {
			await vi.advanceTimersByTimeAsync(250);
			openLatest();
		}
	};
	await settle();
	return { live, list, resyncs, change, resync, settle, missed: () => missed };
}

describe('a resync event from the server', () => {
	it("S65 brings the list back to the server's after lost events, with or without a resync function", async () => {
		await fc.assert(
			fc.asyncProperty(
				fc.array(step, { maxLength: 30 }),
				fc.boolean(),
				fc.constantFrom(...KEYS),
				async (steps, withResync, lostKey) => {
					const world = await run(steps, withResync);
					expect(world.live.connection.getSnapshot().status, 'the client came back up').toBe(
						'live'
					);
					// A change this client never hears of, then the server saying it lost track.
					world.change(lostKey, false);
					expect(world.missed()).toBe(true);
					const resyncsBefore = world.resyncs.mock.calls.length;
					world.resync('lost');
					await world.settle();
					world.live.store.flush();
					const rows = world.live.store
						.getSnapshot()
						.rows.map((row) => ({ ...row.item }))
						.sort((x, y) => x.id.localeCompare(y.id));
					expect(rows).toEqual(world.list());
					const state = world.live.connection.getSnapshot();
					expect(state.status).toBe('live');
					if (withResync) {
						// Once per resync event, and the state says the list was fetched again.
						expect(world.resyncs.mock.calls.length).toBe(resyncsBefore + 1);
						expect(state.continuity).toBe('resynced');
					}
					world.live.stop();
					world.live.store.dispose();
				}
			),
			{ numRuns: 150 }
		);
	});
});
