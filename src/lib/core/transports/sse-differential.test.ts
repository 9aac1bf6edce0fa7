// Fetch-mode SSE against the spec's algorithm (tests/support/sse-reference.ts) on random streams cut
// at random byte offsets: after every chunk, the events, retry hints and last event id reported so
// far equal the spec's for the bytes received so far (an event ended by a CR at the end of a chunk
// is dispatched at once); at the end, the last event id equals the one the spec would send.
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { createFakeEnv } from '../../../../tests/helpers/fake-env.js';
import { recordingSink } from '../../../../tests/helpers/recording-sink.js';
import { interpret } from '../../../../tests/support/sse-reference.js';
import {
	concat,
	cut,
	cutting,
	expected,
	observe,
	show,
	streamBytes
} from '../../../../tests/support/sse-streams.js';
import { sse } from './sse.js';

const SEED = Number(process.env.SSE_SEED ?? 20_260_511);
const RUNS = Number(process.env.SSE_RUNS ?? 400);

/** Lets the chunk flow through the decoder and the adapter (all microtasks). */
const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

async function run(chunks: Uint8Array[], initialLastEventId: string | undefined, max?: number) {
	let controller!: ReadableStreamDefaultController<Uint8Array>;
	const body = new ReadableStream<Uint8Array>({ start: (c) => void (controller = c) });
	const env = createFakeEnv({
		fetch: async () => new Response(body, { headers: { 'content-type': 'text/event-stream' } })
	});
	const recorder = recordingSink<string>();
	const transport = sse({
		url: 'https://api.test/events',
		mode: 'fetch',
		heartbeatEvents: [],
		maxEventSize: max
	});
	const connection = transport.open(recorder.sink, {
		n: 1,
		lastEventId: initialLastEventId,
		signal: new AbortController().signal,
		env
	});
	try {
		for (let i = 0; i < 1000 && !recorder.types().includes('opened'); i++) await tick();
		expect(recorder.types()).toEqual(['opened']);
		const received: Uint8Array[] = [];
		for (const chunk of chunks) {
			controller.enqueue(chunk);
			received.push(chunk);
			await tick();
			const prefix = interpret(concat(...received), initialLastEventId);
			expect(
				observe(recorder.calls, initialLastEventId),
				`after ${received.length} chunks`
			).toEqual(expected(prefix, max));
		}
		controller.close();
		for (let i = 0; i < 50 && !recorder.types().includes('ended'); i++) await tick();
		expect(recorder.types().filter((t) => t === 'ended' || t === 'failed')).toEqual(['ended']);
		return observe(recorder.calls, initialLastEventId);
	} finally {
		connection.close();
	}
}

describe('S08 S09 S10 fetch-mode SSE equals the WHATWG algorithm', () => {
	// The adapter loads the parser with its first stream: load it before the clock matters.
	beforeAll(() => import('eventsource-parser'));

	it(`on every chunking of random streams (${RUNS} runs, seed ${SEED})`, async () => {
		await fc.assert(
			fc.asyncProperty(
				streamBytes,
				cutting,
				fc.option(fc.constantFrom('7', 'ключ', 'a b'), { nil: undefined }),
				fc.constantFrom(undefined, 1, 4),
				async (bytes, how, initial, max) => {
					const observed = await run(cut(bytes, how), initial, max);
					expect(observed, show(bytes)).toEqual(expected(interpret(bytes, initial), max));
				}
			),
			{ seed: SEED, numRuns: RUNS }
		);
	}, 60_000);

	it('S08 the reference itself: CR, LF and CRLF, BOM, ids, retry and an unfinished event', () => {
		const bytes = new TextEncoder().encode(
			'\uFEFFid: 1\rdata: a\r\n\r\nid: 2\n\nretry: 0300\nretry: 3x\ndata:b\ndata\n\n: c\nid: n\0l\ndata:  d\n\nevent: e\ndata: f'
		);
		expect(interpret(bytes)).toEqual({
			events: [
				{ type: 'message', data: 'a', lastEventId: '1' },
				{ type: 'message', data: 'b\n', lastEventId: '2' },
				{ type: 'message', data: ' d', lastEventId: '2' }
			],
			retries: [300],
			lastEventId: '2'
		});
	});
});
