// eventsource-parser is loaded with the first fetch-mode stream, not with the adapter: EventSource
// mode never loads it, and a failed load fails the attempt (retryable) instead of the stream.
import { http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, beforeEach, expect, it, vi } from 'vitest';
import { createFakeEnv } from '../../../../tests/helpers/fake-env.js';
import { recordingSink } from '../../../../tests/helpers/recording-sink.js';
import type { Env } from '../env/env.js';
import type { Transport } from './types.js';

const URL_ = 'https://api.test/events';
const server = setupServer(
	http.get(URL_, () =>
		HttpResponse.text('data: one\n\n', { headers: { 'content-type': 'text/event-stream' } })
	)
);
beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
afterAll(() => server.close());

let loads = 0;
let failLoad = false;
beforeEach(() => {
	loads = 0;
	failLoad = false;
	vi.resetModules();
	vi.doMock('eventsource-parser', async (importOriginal) => {
		loads++;
		if (failLoad) throw new Error('chunk not found');
		return importOriginal();
	});
});
afterEach(() => {
	vi.doUnmock('eventsource-parser');
});

function open(transport: Transport<string>, env: Env) {
	const recorder = recordingSink<string>();
	const connection = transport.open(recorder.sink, {
		n: 1,
		lastEventId: undefined,
		signal: new AbortController().signal,
		env
	});
	return { ...recorder, connection };
}

class QuietEventSource {
	static readonly CLOSED = 2;
	readyState = 0;
	constructor(readonly url: string) {}
	addEventListener() {}
	removeEventListener() {}
	close() {}
}

it('EventSource mode never loads eventsource-parser; the first fetch-mode stream does', async () => {
	const { sse } = await import('./sse.js');
	const env = createFakeEnv({ EventSource: QuietEventSource as unknown as typeof EventSource });
	const quiet = open(sse({ url: URL_ }), env);
	await new Promise((resolve) => setTimeout(resolve, 20));
	quiet.connection.close();
	expect(loads).toBe(0);

	const attempt = open(sse({ url: URL_, mode: 'fetch' }), createFakeEnv());
	await vi.waitFor(() => expect(attempt.types()).toContain('ended'));
	expect(attempt.types()).toEqual(['opened', 'message', 'ended']);
	expect(loads).toBe(1);
});

it('a parser that fails to load fails the attempt, retryable, without opening; the next attempt loads it again', async () => {
	const { sse } = await import('./sse.js');
	const transport = sse({ url: URL_, mode: 'fetch' });
	failLoad = true;
	const first = open(transport, createFakeEnv());
	await vi.waitFor(() => expect(first.types()).toContain('failed'));
	expect(first.types()).toEqual(['failed']);
	expect(first.failure()).toMatchObject({ code: 'network', retryable: true, transport: 'sse' });
	expect(first.failure()?.message).toContain('eventsource-parser');

	failLoad = false;
	const second = open(transport, createFakeEnv());
	await vi.waitFor(() => expect(second.types()).toContain('ended'));
	expect(second.types()).toEqual(['opened', 'message', 'ended']);
	expect(loads).toBe(2);
});
