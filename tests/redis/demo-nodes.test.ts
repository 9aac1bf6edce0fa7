// Two demo servers (the production build, `src/demo/server.js`) sharing one SQLite file and one
// Redis, as `npm run demo:cluster` runs them: a change made through one reaches the clients of the
// other over SSE and socket.io, an SSE client resumes on the other with `Last-Event-ID`, and with
// Redis gone the health check and the stream say so at once instead of hanging.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signIn, startDemo, tempDatabase, type DemoServer } from '../demo/server.js';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';

const HANDLER = resolve(import.meta.dirname, '../../build/handler.js');
/** How long an awaited event may take before the test fails with what did arrive. */
const WAIT_MS = 10_000;

interface Task {
	id: string;
	done: boolean;
	title: string;
	actor: string;
	version: number;
}
interface Message {
	id: string | undefined;
	event: string;
	data: string;
}

let redis: RedisServer;
let database: ReturnType<typeof tempDatabase>;
let a: DemoServer;
let b: DemoServer;
let cookie: string;
const sockets: Socket[] = [];
const streams: Array<{ close(): void }> = [];

beforeAll(async () => {
	if (!existsSync(HANDLER)) {
		throw new Error(
			`${HANDLER} is missing: these tests run the demo's production build; run \`npx vite build\` first`
		);
	}
	redis = await startRedis();
	database = tempDatabase();
	const env = { REDIS_URL: redis.url };
	// One after the other: the first creates and seeds the database (the second would wait anyway).
	a = await startDemo(database.path, 0, env);
	b = await startDemo(database.path, 0, env);
	// Both nodes sign with the same key: a cookie from one is good on the other.
	cookie = `demo_user=${encodeURIComponent(await signIn(a.origin, 'Tester'))}`;
});

afterAll(async () => {
	for (const socket of sockets) socket.close();
	for (const stream of streams) stream.close();
	await Promise.all([a?.kill(), b?.kill()]);
	await redis?.stop();
	database?.remove();
});

/** Fails with `what` after `ms`, so a missing event reads as such rather than as a test timeout. */
function within<T>(promise: Promise<T>, what: string, ms = WAIT_MS): Promise<T> {
	let timer: ReturnType<typeof setTimeout>;
	return Promise.race([
		promise,
		new Promise<never>((_, reject) => {
			timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms);
		})
	]).finally(() => clearTimeout(timer));
}

/** Changes a task through `origin`'s HTTP API, with a mutation id to recognise it by. */
async function patch(origin: string, id: string, done: boolean, mutationId: string) {
	const response = await fetch(`${origin}/api/tasks/${id}`, {
		method: 'PATCH',
		headers: { cookie, 'content-type': 'application/json' },
		body: JSON.stringify({ done, mutationId }),
		signal: AbortSignal.timeout(WAIT_MS)
	});
	expect(response.status, await response.clone().text()).toBe(200);
	return (await response.json()) as Task;
}

/**
 * Opens the task stream on `origin` and reads it as an EventSource would (events without their
 * pings; `retry:` frames carry no event).
 */
async function openStream(origin: string, lastEventId?: string) {
	const cut = new AbortController();
	const response = await fetch(`${origin}/api/tasks/stream`, {
		headers: {
			cookie,
			accept: 'text/event-stream',
			...(lastEventId !== undefined ? { 'last-event-id': lastEventId } : {})
		},
		signal: AbortSignal.any([cut.signal, AbortSignal.timeout(60_000)])
	});
	const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
	let buffer = '';
	const ready: Message[] = [];
	const seen: Message[] = [];
	const stream = {
		response,
		/** Every event read so far, for failure messages. */
		seen,
		async next(): Promise<Message> {
			while (ready.length === 0) {
				const { value, done } = await within(reader.read(), `an event from ${origin}`);
				if (done) throw new Error(`the stream from ${origin} ended after ${JSON.stringify(seen)}`);
				buffer += value;
				let end: number;
				while ((end = buffer.search(/\r?\n\r?\n/)) >= 0) {
					const frame = buffer.slice(0, end);
					buffer = buffer.slice(end).replace(/^\r?\n\r?\n/, '');
					const message = parse(frame);
					if (message && message.event !== 'ping') ready.push(message);
				}
			}
			const message = ready.shift()!;
			seen.push(message);
			return message;
		},
		close: () => cut.abort()
	};
	streams.push(stream);
	return stream;
}

function parse(frame: string): Message | undefined {
	let id: string | undefined;
	let event = 'message';
	const data: string[] = [];
	for (const line of frame.split(/\r?\n/)) {
		const at = line.indexOf(':');
		if (at === 0) continue;
		const field = at < 0 ? line : line.slice(0, at);
		const value = at < 0 ? '' : line.slice(at + 1).replace(/^ /, '');
		if (field === 'id') id = value;
		else if (field === 'event') event = value;
		else if (field === 'data') data.push(value);
	}
	return data.length ? { id, event, data: data.join('\n') } : undefined;
}

const upsert = (message: Message) => {
	expect(message.event).toBe('upsert');
	return JSON.parse(message.data) as { item: Task; mutationId?: string };
};

/** A signed-in socket on `origin`'s `/realtime`, once it has its snapshot. */
async function connectSocket(origin: string) {
	const socket = io(`${origin}/realtime`, {
		transports: ['websocket'],
		extraHeaders: { cookie },
		reconnection: false,
		forceNew: true
	});
	sockets.push(socket);
	await within(
		new Promise<void>((resolve, reject) => {
			socket.once('task:snapshot', () => resolve());
			socket.once('connect_error', reject);
		}),
		`the socket snapshot from ${origin}`
	);
	return socket;
}

/** The next `task:sync` on `socket` for `mutationId`. */
const syncOf = (socket: Socket, mutationId: string) =>
	within(
		new Promise<{ item: Task; mutationId?: string }>((resolve) => {
			const listener = (payload: { item: Task; mutationId?: string }) => {
				if (payload.mutationId !== mutationId) return;
				socket.off('task:sync', listener);
				resolve(payload);
			};
			socket.on('task:sync', listener);
		}),
		`task:sync for ${mutationId}`
	);

describe('two demo servers on one Redis', () => {
	it('a change made through one server reaches an SSE client of the other', async () => {
		const stream = await openStream(a.origin);
		expect(stream.response.status).toBe(200);
		const snapshot = await stream.next();
		expect(snapshot.event).toBe('snapshot');
		expect(JSON.parse(snapshot.data)).toHaveLength(7);

		const saved = await patch(b.origin, 't-101', true, 'sse-across');
		const { item, mutationId } = upsert(await stream.next());
		expect(mutationId).toBe('sse-across');
		expect(item).toEqual(saved);
		stream.close();
	});

	it('a change made through one server reaches socket.io clients of the other, both ways', async () => {
		const onA = await connectSocket(a.origin);
		const onB = await connectSocket(b.origin);

		// Over HTTP on B, to the socket on A.
		const arriving = syncOf(onA, 'socket-from-http');
		const saved = await patch(b.origin, 't-102', false, 'socket-from-http');
		expect((await arriving).item).toEqual(saved);

		// Over the socket on B, to the socket on A and an SSE client of A.
		const stream = await openStream(a.origin);
		expect((await stream.next()).event).toBe('snapshot');
		const toA = syncOf(onA, 'socket-from-socket');
		const ack = await within(
			onB.emitWithAck('task:update', {
				key: 't-103',
				done: true,
				mutationId: 'socket-from-socket'
			}),
			'the acknowledgement of task:update'
		);
		expect(ack).toMatchObject({ ok: true, result: { id: 't-103', done: true, actor: 'Tester' } });
		expect((await toA).item).toEqual(ack.result);
		// A's snapshot is as new as the list; A's reader may not have read the first change yet
		// when the stream opened, and then sends it again after the snapshot (an upsert the client
		// already has, never a gap). Nothing else may come first.
		let overSse = upsert(await stream.next());
		if (overSse.mutationId === 'socket-from-http') {
			expect(overSse.item).toEqual(saved);
			overSse = upsert(await stream.next());
		}
		expect(overSse).toEqual({ item: ack.result, mutationId: 'socket-from-socket' });
		stream.close();
	});

	it('an SSE client resumes on the other server with Last-Event-ID: every missed change, once', async () => {
		const first = await openStream(a.origin);
		expect((await first.next()).event).toBe('snapshot');
		await patch(b.origin, 't-104', false, 'resume-1');
		const last = await first.next();
		expect(upsert(last).mutationId).toBe('resume-1');
		first.close();

		// Missed while away: one change through each server.
		await patch(a.origin, 't-105', true, 'resume-2');
		await patch(b.origin, 't-106', true, 'resume-3');

		const resumed = await openStream(b.origin, last.id);
		expect(resumed.response.status).toBe(200);
		const replayed = [await resumed.next(), await resumed.next()];
		expect(replayed.map((message) => upsert(message).mutationId)).toEqual(['resume-2', 'resume-3']);
		// Then live, with nothing sent twice in between.
		await patch(a.origin, 't-107', true, 'resume-4');
		expect(upsert(await resumed.next()).mutationId).toBe('resume-4');

		// Ids of one epoch, in order, the same whichever server sent them.
		const ids = [last, ...resumed.seen].map((message) => message.id!);
		const epoch = ids[0]!.split(':')[0];
		expect(ids.every((id) => id.startsWith(`${epoch}:`))).toBe(true);
		const streamIds = ids.map((id) =>
			id
				.slice(epoch!.length + 1)
				.split('-')
				.map(Number)
		);
		for (let i = 1; i < streamIds.length; i++) {
			const [ms, seq] = streamIds[i]!;
			const [prevMs, prevSeq] = streamIds[i - 1]!;
			expect(ms! > prevMs! || (ms === prevMs && seq! > prevSeq!), ids.join(', ')).toBe(true);
		}
		resumed.close();
	});

	it.each(['garbage', 'otherEpoch:1-0'])(
		'a Last-Event-ID the log cannot replay from (%s) gets a snapshot first',
		async (lastEventId) => {
			const stream = await openStream(b.origin, lastEventId);
			expect(stream.response.status).toBe(200);
			const first = await stream.next();
			expect(first.event).toBe('snapshot');
			expect(JSON.parse(first.data)).toHaveLength(7);
			stream.close();
		}
	);

	it('when Redis loses the log (FLUSHALL), the other server tells its own clients to resync', async () => {
		const socket = await connectSocket(a.origin);
		const stream = await openStream(a.origin);
		expect((await stream.next()).event).toBe('snapshot');
		const told = within(
			new Promise<void>((resolve) => socket.once('task:resync', () => resolve())),
			'task:resync on the socket'
		);

		await redis.cli('FLUSHALL');
		// The next change starts a new epoch; A's reader finds it and cannot prove it missed nothing.
		await patch(b.origin, 't-102', true, 'after-flush');

		await told;
		const resync = await stream.next();
		expect(resync.event).toBe('resync');
		const health = await (await fetch(`${a.origin}/api/health`)).json();
		expect(resync.id).toMatch(new RegExp(`^${health.epoch}:`));
		stream.close();
	});

	it('with Redis gone, /api/health answers 503 and a new stream 503 with Retry-After', async () => {
		for (const server of [a, b]) {
			const response = await fetch(`${server.origin}/api/health`);
			expect(response.status).toBe(200);
			expect(await response.json()).toMatchObject({ ok: true, redis: 'up' });
		}

		await redis.kill();

		for (const server of [a, b]) {
			await expect
				.poll(async () => (await fetch(`${server.origin}/api/health`)).status, {
					timeout: WAIT_MS
				})
				.toBe(503);
			const health = await fetch(`${server.origin}/api/health`);
			expect(await health.json()).toMatchObject({
				ok: false,
				redis: 'down',
				error: expect.any(String)
			});

			const stream = await fetch(`${server.origin}/api/tasks/stream`, {
				headers: { cookie, accept: 'text/event-stream' },
				signal: AbortSignal.timeout(WAIT_MS)
			});
			expect(stream.status).toBe(503);
			expect(stream.headers.get('retry-after')).toMatch(/^\d+$/);
			await stream.body?.cancel();
		}

		// Changes are still saved (SQLite): only their streaming waits for Redis.
		expect((await patch(a.origin, 't-101', false, 'while-redis-is-down')).done).toBe(false);
	});
});
