/**
 * The socket.io adapter against a real socket.io server on 127.0.0.1 (websocket transport only).
 * Real timers and sockets throughout; scenario numbers refer to ../shared/design/SCENARIOS.md.
 */
import { createServer } from 'node:http';
import {
	createServer as createTcpServer,
	type AddressInfo,
	type Socket as TcpSocket
} from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { Server, type Socket as ServerSocket } from 'socket.io';
import { io as ioClient, type Socket } from 'socket.io-client';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createFakeEnv } from '../../../tests/helpers/fake-env.js';
import type { Env } from '../core/env/env.js';
import { DecodeError, TransportError, messages } from '../core/errors.js';
import { createLiveSource, type LiveSourceHandle } from '../core/live-source.js';
import type {
	MessageMeta,
	OpenedInfo,
	TransportConnection,
	TransportSink
} from '../core/transports/types.js';
import { socketIo, type SocketIoOptions } from './index.js';

const cleanups: Array<() => unknown> = [];

afterEach(async () => {
	for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const WAIT = { timeout: 1500, interval: 10 };

interface TestServer {
	io: Server;
	url: string;
	/** Server-side sockets, in connection order. */
	sockets: ServerSocket[];
	/** Disconnect reasons the server saw, in order. */
	disconnects: string[];
	/** Kills the server: every connection is dropped without a goodbye. */
	stop(): void;
}

async function startServer(
	setup?: (io: Server, socket: ServerSocket) => void,
	serverOptions: ConstructorParameters<typeof Server>[1] = {}
): Promise<TestServer> {
	const httpServer = createServer();
	const io = new Server(httpServer, { transports: ['websocket'], ...serverOptions });
	const sockets: ServerSocket[] = [];
	const disconnects: string[] = [];
	io.on('connection', (socket) => {
		sockets.push(socket);
		socket.on('disconnect', (reason) => disconnects.push(reason));
		setup?.(io, socket);
	});
	await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
	const { port } = httpServer.address() as AddressInfo;
	let stopped = false;
	const stop = () => {
		if (stopped) return;
		stopped = true;
		void io.close();
		httpServer.closeAllConnections();
	};
	cleanups.push(stop);
	return { io, url: `http://127.0.0.1:${port}`, sockets, disconnects, stop };
}

type Call =
	| { type: 'opened'; info: OpenedInfo | undefined }
	| { type: 'message'; data: unknown; meta: MessageMeta | undefined }
	| { type: 'heartbeat' }
	| { type: 'hint' }
	| { type: 'dropped'; error: DecodeError }
	| { type: 'failed'; error: TransportError }
	| { type: 'ended' };

interface Opened {
	connection: TransportConnection<unknown>;
	calls: Call[];
	controller: AbortController;
	messages(): Array<{ data: unknown; event: string | undefined }>;
	waitOpened(): Promise<OpenedInfo | undefined>;
	waitFailed(): Promise<TransportError>;
}

/** Opens one attempt of `socketIo(options)` with a sink that records every call. */
function openAttempt(options: SocketIoOptions, env: Env = createFakeEnv()): Opened {
	const calls: Call[] = [];
	const sink: TransportSink<unknown> = {
		opened: (info) => calls.push({ type: 'opened', info }),
		message: (data, meta) => calls.push({ type: 'message', data, meta }),
		heartbeat: () => calls.push({ type: 'heartbeat' }),
		hint: () => calls.push({ type: 'hint' }),
		dropped: (error) => calls.push({ type: 'dropped', error }),
		failed: (error) => calls.push({ type: 'failed', error }),
		ended: () => calls.push({ type: 'ended' })
	};
	const transport = socketIo(
		options.socket
			? options
			: { ...options, options: { transports: ['websocket'], ...options.options } }
	);
	const controller = new AbortController();
	const connection = transport.open(sink, {
		n: 1,
		lastEventId: undefined,
		signal: controller.signal,
		env
	});
	cleanups.push(() => connection.close());
	const find = <K extends Call['type']>(type: K) =>
		calls.find((call): call is Extract<Call, { type: K }> => call.type === type);
	return {
		connection,
		calls,
		controller,
		messages: () =>
			calls.flatMap((call) =>
				call.type === 'message' ? [{ data: call.data, event: call.meta?.event }] : []
			),
		async waitOpened() {
			await vi.waitFor(() => expect(find('opened')).toBeDefined(), WAIT);
			return find('opened')!.info;
		},
		async waitFailed() {
			await vi.waitFor(() => expect(find('failed')).toBeDefined(), WAIT);
			return find('failed')!.error;
		}
	};
}

/** A port on 127.0.0.1 that nobody listens on. */
async function freePort(): Promise<number> {
	const server = createTcpServer();
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	const { port } = server.address() as AddressInfo;
	await new Promise((resolve) => server.close(resolve));
	return port;
}

const callTypes = (calls: Call[]) => calls.map((call) => call.type);

describe('socketIo() options', () => {
	it('needs a url or a socket, not both, and event names socket.io does not reserve', () => {
		expect(() => socketIo({})).toThrow(TypeError);
		const socket = ioClient('http://127.0.0.1:1', { autoConnect: false });
		expect(() => socketIo({ socket, url: 'http://127.0.0.1:1' })).toThrow(TypeError);
		expect(() => socketIo({ url: 'http://x', events: { update: 'disconnect' } })).toThrow(
			/events\.update/
		);
		expect(() => socketIo({ url: 'http://x', ackTimeout: 0 })).toThrow(/ackTimeout/);
		expect(() => socketIo({ url: 'http://x', connectTimeout: -1 })).toThrow(/connectTimeout/);
		const transport = socketIo({ url: 'http://x' });
		expect(transport.kind).toBe('socket.io');
		expect(transport.bidirectional).toBe(true);
		expect(transport.supported?.(createFakeEnv())).toBe(true);
	});
});

describe('socket.io adapter against a real server', () => {
	it('opens, reports a bidirectional attempt, and runs its connect timer on the env', async () => {
		const server = await startServer();
		const setTimeoutSpy = vi.fn((callback: () => void, ms: number) => setTimeout(callback, ms));
		const clearTimeoutSpy = vi.fn((handle: unknown) =>
			clearTimeout(handle as ReturnType<typeof setTimeout>)
		);
		const env = createFakeEnv({ setTimeout: setTimeoutSpy, clearTimeout: clearTimeoutSpy });
		const attempt = openAttempt({ url: server.url }, env);

		expect(await attempt.waitOpened()).toEqual({ bidirectional: true, resumed: false });
		expect(server.sockets).toHaveLength(1);
		expect(setTimeoutSpy).toHaveBeenCalledTimes(1);
		expect(setTimeoutSpy.mock.calls[0]![1]).toBe(10_000);
		// The connect timer is cleared once connected.
		expect(clearTimeoutSpy).toHaveBeenCalledWith(setTimeoutSpy.mock.results[0]!.value);
		expect(callTypes(attempt.calls)).toEqual(['opened']);
	});

	it('receives sync, snapshot, remove and resync events with meta.event upsert, snapshot, remove and resync', async () => {
		const server = await startServer((_io, socket) => {
			socket.emit('task:snapshot', [{ id: 't1', done: false }]);
			socket.emit('task:sync', { id: 't2', done: true });
			socket.emit('task:sync', [{ id: 't3' }]);
			socket.emit('task:remove', 't1');
			socket.emit('task:resync');
			socket.emit('presence', { online: 3 });
		});
		const attempt = openAttempt({ url: server.url });
		await vi.waitFor(() => expect(attempt.messages()).toHaveLength(5), WAIT);

		expect(attempt.messages()).toEqual([
			{ data: [{ id: 't1', done: false }], event: 'snapshot' },
			{ data: { id: 't2', done: true }, event: 'upsert' },
			{ data: [{ id: 't3' }], event: 'upsert' },
			{ data: 't1', event: 'remove' },
			// The server's "fetch the list again": the engine resyncs.
			{ data: undefined, event: 'resync' }
		]);
		// socket.io parsed the data: the store must take it as it is, never parse it again.
		for (const call of attempt.calls)
			if (call.type === 'message') expect(call.meta?.decoded).toBe(true);
		// An event the adapter does not map proves liveness only.
		await vi.waitFor(() => expect(callTypes(attempt.calls)).toContain('heartbeat'), WAIT);
		expect(callTypes(attempt.calls)[0]).toBe('opened');
	});

	it('uses custom event names', async () => {
		const received: unknown[] = [];
		const server = await startServer((_io, socket) => {
			socket.emit('list', [{ id: 'a' }]);
			socket.emit('task:snapshot', [{ id: 'ignored' }]);
			socket.on('change', (data) => received.push(data));
		});
		const attempt = openAttempt({
			url: server.url,
			events: { snapshot: 'list', update: 'change' }
		});
		await vi.waitFor(() => expect(attempt.messages()).toHaveLength(1), WAIT);
		expect(attempt.messages()[0]).toEqual({ data: [{ id: 'a' }], event: 'snapshot' });

		await attempt.connection.send!({ id: 'a', done: true });
		await vi.waitFor(() => expect(received).toEqual([{ id: 'a', done: true }]), WAIT);
	});

	it("counts the engine's pings as heartbeats", async () => {
		const server = await startServer(undefined, { pingInterval: 40, pingTimeout: 1000 });
		const attempt = openAttempt({ url: server.url });
		await attempt.waitOpened();
		await vi.waitFor(
			() =>
				expect(attempt.calls.filter((call) => call.type === 'heartbeat').length).toBeGreaterThan(1),
			WAIT
		);
		expect(attempt.messages()).toEqual([]);
	});

	it('send without ack reaches the server and resolves undefined', async () => {
		const received: unknown[] = [];
		const server = await startServer((_io, socket) => {
			socket.on('task:update', (...args: unknown[]) => received.push(args));
		});
		const attempt = openAttempt({ url: server.url });
		await attempt.waitOpened();

		await expect(attempt.connection.send!({ id: 't1', done: true })).resolves.toBeUndefined();
		// No acknowledgement callback was sent along.
		await vi.waitFor(() => expect(received).toEqual([[{ id: 't1', done: true }]]), WAIT);
	});

	it('send rejects with notOpen before the socket is connected', async () => {
		const server = await startServer();
		const attempt = openAttempt({ url: server.url });
		const error = await attempt.connection.send!({ id: 't1' }).catch((e: unknown) => e);
		expect(error).toBeInstanceOf(TransportError);
		expect(error).toMatchObject({ message: messages.notOpen(), transport: 'socket.io' });
		await attempt.waitOpened();
	});

	describe('S18 acknowledgements', () => {
		const ackServer = () =>
			startServer((_io, socket) => {
				socket.on('task:update', (data: { mode: string }, ack: (reply: unknown) => void) => {
					if (data.mode === 'ok') ack({ ok: true, result: { id: 't1', version: 2 } });
					else if (data.mode === 'nack') ack({ ok: false, error: 'forbidden' });
					else if (data.mode === 'plain') ack('plain reply');
					// 'silent': never acknowledges.
				});
			});

		it("S18 send with ack resolves with the server's { ok: true, result }", async () => {
			const server = await ackServer();
			const attempt = openAttempt({ url: server.url });
			await attempt.waitOpened();
			await expect(attempt.connection.send!({ mode: 'ok' }, { ack: true })).resolves.toEqual({
				id: 't1',
				version: 2
			});
			// A reply without the envelope is passed through as it is.
			await expect(attempt.connection.send!({ mode: 'plain' }, { ack: true })).resolves.toBe(
				'plain reply'
			);
		});

		it("S18 send with ack rejects with code 'nack' on { ok: false, error }", async () => {
			const server = await ackServer();
			const attempt = openAttempt({ url: server.url });
			await attempt.waitOpened();
			const error = await attempt.connection.send!({ mode: 'nack' }, { ack: true }).catch(
				(e: unknown) => e
			);
			expect(error).toBeInstanceOf(TransportError);
			expect(error).toMatchObject({
				code: 'nack',
				retryable: false,
				message: messages.nack('forbidden')
			});
			// The connection is unaffected.
			expect(callTypes(attempt.calls)).toEqual(['opened']);
		});

		it("S18 send with ack rejects with code 'timeout' when the server never acknowledges", async () => {
			const server = await ackServer();
			const attempt = openAttempt({ url: server.url });
			await attempt.waitOpened();
			const started = performance.now();
			const error = await attempt.connection.send!(
				{ mode: 'silent' },
				{ ack: true, timeoutMs: 80 }
			).catch((e: unknown) => e);
			expect(performance.now() - started).toBeGreaterThanOrEqual(70);
			expect(error).toBeInstanceOf(TransportError);
			expect(error).toMatchObject({
				code: 'timeout',
				retryable: true,
				message: messages.ackTimeout(80)
			});
			expect(callTypes(attempt.calls)).toEqual(['opened']);
		});

		it('S18 the default ack timeout is the ackTimeout option', async () => {
			const server = await ackServer();
			const attempt = openAttempt({ url: server.url, ackTimeout: 60 });
			await attempt.waitOpened();
			const error = await attempt.connection.send!({ mode: 'silent' }, { ack: true }).catch(
				(e: unknown) => e
			);
			expect(error).toMatchObject({ code: 'timeout', message: messages.ackTimeout(60) });
		});

		it('pending acks reject with messages.closed() on close', async () => {
			const server = await ackServer();
			const attempt = openAttempt({ url: server.url });
			await attempt.waitOpened();
			const pending = attempt.connection.send!({ mode: 'silent' }, { ack: true, timeoutMs: 5000 });
			await vi.waitFor(() => expect(server.sockets).toHaveLength(1));
			const started = performance.now();
			attempt.connection.close();
			const error = await pending.catch((e: unknown) => e);
			expect(performance.now() - started).toBeLessThan(100);
			expect(error).toBeInstanceOf(TransportError);
			expect(error).toMatchObject({ code: 'closed', message: messages.closed() });
		});

		it('pending acks reject when the connection is lost', async () => {
			const server = await ackServer();
			const attempt = openAttempt({ url: server.url });
			await attempt.waitOpened();
			const pending = attempt.connection.send!({ mode: 'silent' }, { ack: true, timeoutMs: 5000 });
			await sleep(20);
			server.stop();
			const error = await pending.catch((e: unknown) => e);
			expect(error).toMatchObject({ code: 'closed', message: messages.closed() });
			expect((await attempt.waitFailed()).retryable).toBe(true);
		});
	});

	describe('S18 every answer read one way (readReply)', () => {
		const ROW = { id: 't1', title: 'One', done: true, version: 2 };
		/** What the server passes to the ack callback, built on the server's side. */
		const answers: Record<string, () => unknown[]> = {
			'ack()': () => [],
			'ack(null)': () => [null],
			'ack(true)': () => [true],
			'ack({ ok: true })': () => [{ ok: true }],
			'ack({ ok: true, result: row })': () => [{ ok: true, result: ROW }],
			'ack({ ok: true, item: row })': () => [{ ok: true, item: ROW }],
			'ack(row)': () => [ROW],
			'ack({ item: row })': () => [{ item: ROW }],
			'ack(false)': () => [false],
			'ack({ ok: false })': () => [{ ok: false }],
			"ack({ ok: false, error: 'forbidden' })": () => [{ ok: false, error: 'forbidden' }],
			"ack({ ok: false, error: { message: 'read-only' } })": () => [
				{ ok: false, error: { message: 'read-only' } }
			],
			'ack({ ok: false, error: { code: 409 } })': () => [{ ok: false, error: { code: 409 } }],
			"ack({ error: 'forbidden' })": () => [{ error: 'forbidden' }],
			"ack(new Error('read-only'))": () => [new Error('read-only')],
			'ack({})': () => [{}]
		};
		const answering = () =>
			startServer((_io, socket) => {
				socket.on('task:update', (data: { answer: string }, ack: (...args: unknown[]) => void) =>
					ack(...answers[data.answer]!())
				);
			});

		it.each([
			{ answer: 'ack()', result: undefined },
			{ answer: 'ack(null)', result: undefined },
			{ answer: 'ack(true)', result: undefined },
			{ answer: 'ack({ ok: true })', result: undefined },
			{ answer: 'ack({ ok: true, result: row })', result: ROW },
			{ answer: 'ack({ ok: true, item: row })', result: { item: ROW } },
			{ answer: 'ack(row)', result: ROW },
			{ answer: 'ack({ item: row })', result: { item: ROW } }
		])('accepted: $answer', async ({ answer, result }) => {
			const server = await answering();
			const attempt = openAttempt({ url: server.url });
			await attempt.waitOpened();
			await expect(attempt.connection.send!({ answer }, { ack: true })).resolves.toEqual(result);
		});

		it.each([
			{ answer: 'ack(false)', message: messages.nack(undefined) },
			{ answer: 'ack({ ok: false })', message: messages.nack(undefined) },
			{ answer: "ack({ ok: false, error: 'forbidden' })", message: messages.nack('forbidden') },
			{
				answer: "ack({ ok: false, error: { message: 'read-only' } })",
				message: 'The server refused the message: read-only'
			},
			{
				answer: 'ack({ ok: false, error: { code: 409 } })',
				message: 'The server refused the message: {"code":409}'
			},
			{ answer: "ack({ error: 'forbidden' })", message: messages.nack('forbidden') },
			// An Error does not survive socket.io's JSON: it arrives as {}.
			{ answer: "ack(new Error('read-only'))", message: messages.emptyAck() },
			{ answer: 'ack({})', message: messages.emptyAck() }
		])('refused: $answer', async ({ answer, message }) => {
			const server = await answering();
			const attempt = openAttempt({ url: server.url });
			await attempt.waitOpened();
			const error = await attempt.connection.send!({ answer }, { ack: true }).catch(
				(e: unknown) => e
			);
			expect(error).toBeInstanceOf(TransportError);
			expect(error).toMatchObject({
				code: 'nack',
				retryable: false,
				transport: 'socket.io',
				message
			});
			expect((error as Error).message).not.toContain('[object Object]');
			// The connection is unaffected.
			expect(callTypes(attempt.calls)).toEqual(['opened']);
		});
	});

	it('S30 data socket.io cannot encode (a cycle) rejects the send with a TransportError, nothing thrown', async () => {
		const server = await startServer();
		const attempt = openAttempt({ url: server.url });
		await attempt.waitOpened();
		const cyclic: Record<string, unknown> = { id: 't1' };
		cyclic.self = cyclic;
		for (const options of [{}, { ack: true }]) {
			let result: Promise<unknown> | undefined;
			expect(() => (result = attempt.connection.send!(cyclic, options))).not.toThrow();
			await expect(result).rejects.toMatchObject({
				code: 'protocol',
				retryable: false,
				transport: 'socket.io'
			});
		}
		expect(callTypes(attempt.calls)).toEqual(['opened']);
		await expect(attempt.connection.send!({ id: 't1' })).resolves.toBeUndefined();
	});

	it('connectTimeout: Infinity waits as long as a timer can instead of firing at once', async () => {
		const server = await startServer();
		const attempt = openAttempt({ url: server.url, connectTimeout: Infinity });
		await attempt.waitOpened();
		expect(callTypes(attempt.calls)).toEqual(['opened']);
	});

	it('a huge ackTimeout waits instead of firing at once', async () => {
		const server = await startServer((_io, socket) => {
			socket.on('task:update', (_data: unknown, ack: (reply: unknown) => void) =>
				setTimeout(() => ack({ ok: true, result: 'late but fine' }), 50)
			);
		});
		const attempt = openAttempt({ url: server.url, ackTimeout: Number.MAX_SAFE_INTEGER });
		await attempt.waitOpened();
		await expect(attempt.connection.send!({ id: 't1' }, { ack: true })).resolves.toBe(
			'late but fine'
		);
	});

	it('two clients: a toggle sent by one is broadcast by the server to the other', async () => {
		const server = await startServer((_io, socket) => {
			socket.on('task:update', (data: unknown, ack?: (reply: unknown) => void) => {
				socket.broadcast.emit('task:sync', data);
				ack?.({ ok: true, result: data });
			});
		});
		const a = openAttempt({ url: server.url });
		const b = openAttempt({ url: server.url });
		await a.waitOpened();
		await b.waitOpened();

		await expect(a.connection.send!({ id: 't1', done: true }, { ack: true })).resolves.toEqual({
			id: 't1',
			done: true
		});
		await vi.waitFor(
			() => expect(b.messages()).toEqual([{ data: { id: 't1', done: true }, event: 'upsert' }]),
			WAIT
		);
		expect(a.messages()).toEqual([]);
	});

	it("a server-side socket.disconnect() fails the attempt for good (code 'closed', not retryable)", async () => {
		const server = await startServer();
		const attempt = openAttempt({ url: server.url });
		await attempt.waitOpened();
		server.sockets[0]!.disconnect();

		const error = await attempt.waitFailed();
		expect(error).toMatchObject({
			code: 'closed',
			retryable: false,
			transport: 'socket.io',
			message: messages.serverDisconnected(server.url)
		});
		await sleep(30);
		expect(callTypes(attempt.calls)).toEqual(['opened', 'failed']);
	});

	it("killing the server fails the attempt, retryable, code 'closed'", async () => {
		const server = await startServer();
		const attempt = openAttempt({ url: server.url });
		await attempt.waitOpened();
		server.stop();

		const error = await attempt.waitFailed();
		expect(error).toMatchObject({ code: 'closed', retryable: true, transport: 'socket.io' });
		expect(error.message).toBe(messages.connectionLost(server.url, 'transport close'));
		await sleep(30);
		expect(callTypes(attempt.calls)).toEqual(['opened', 'failed']);
	});

	it("a ping timeout fails the attempt, retryable, code 'timeout'", async () => {
		// The server pings every 40 ms; a client that stops hearing them gives up after 40 + 40 ms.
		const server = await startServer(undefined, { pingInterval: 40, pingTimeout: 40 });
		const attempt = openAttempt({ url: server.url });
		await attempt.waitOpened();
		// Stop the server's heartbeat without closing the connection (engine.io internals): no more
		// pings reach the client, and the server waits for no pong.
		const raw = server.sockets[0]!.conn as unknown as Record<
			'pingIntervalTimer' | 'pingTimeoutTimer',
			ReturnType<typeof setTimeout> | null
		>;
		for (const name of ['pingIntervalTimer', 'pingTimeoutTimer'] as const) {
			if (raw[name]) clearTimeout(raw[name]);
			raw[name] = null;
		}
		const error = await attempt.waitFailed();
		expect(error).toMatchObject({
			code: 'timeout',
			retryable: true,
			message: messages.connectionLost(server.url, 'ping timeout')
		});
	});

	it('a middleware rejection fails the attempt for good', async () => {
		const server = await startServer();
		server.io.use((_socket, next) => next(new Error('unauthorized')));
		const attempt = openAttempt({ url: server.url });

		const error = await attempt.waitFailed();
		expect(error).toMatchObject({
			code: 'network',
			retryable: false,
			message: messages.connectRefused(server.url, 'unauthorized')
		});
		expect(callTypes(attempt.calls)).toEqual(['failed']);
	});

	it("connecting to a port nobody listens on fails with 'network', retryable", async () => {
		const url = `http://127.0.0.1:${await freePort()}`;
		const attempt = openAttempt({ url });

		const error = await attempt.waitFailed();
		expect(error).toMatchObject({
			code: 'network',
			retryable: true,
			message: messages.network(url)
		});
		expect(callTypes(attempt.calls)).toEqual(['failed']);
	});

	it("a connect that never completes fails with 'timeout' and releases the socket", async () => {
		// Accepts TCP connections and never answers the HTTP upgrade.
		const accepted: TcpSocket[] = [];
		const closedSockets: TcpSocket[] = [];
		const tcp = createTcpServer((socket) => {
			accepted.push(socket);
			// Read (and ignore) the upgrade request, or the client's FIN would never surface.
			socket.resume();
			socket.on('close', () => closedSockets.push(socket));
		});
		await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', resolve));
		cleanups.push(() => {
			for (const socket of accepted) socket.destroy();
			return new Promise((resolve) => tcp.close(resolve));
		});
		const url = `http://127.0.0.1:${(tcp.address() as AddressInfo).port}`;

		const started = performance.now();
		const attempt = openAttempt({ url, connectTimeout: 150 });
		const error = await attempt.waitFailed();
		expect(performance.now() - started).toBeGreaterThanOrEqual(140);
		expect(error).toMatchObject({
			code: 'timeout',
			retryable: true,
			message: messages.connectTimeout(url, 150)
		});
		expect(accepted).toHaveLength(1);
		await vi.waitFor(() => expect(closedSockets).toHaveLength(1), WAIT);
		expect(callTypes(attempt.calls)).toEqual(['failed']);
	});

	it('S12 close() twice is harmless, stops every sink call and disconnects', async () => {
		const server = await startServer((io) => {
			setTimeout(() => io.emit('task:sync', { id: 'late' }), 30);
		});
		const attempt = openAttempt({ url: server.url });
		await attempt.waitOpened();

		attempt.connection.close();
		attempt.connection.close();
		await vi.waitFor(
			() => expect(server.disconnects).toEqual(['client namespace disconnect']),
			WAIT
		);
		await sleep(60);
		// No failure for our own disconnect, and nothing after close.
		expect(callTypes(attempt.calls)).toEqual(['opened']);
		await expect(attempt.connection.send!({ id: 't1' })).rejects.toMatchObject({
			message: messages.notOpen()
		});
	});

	it('S12 close() while connecting: no sink call, the connect timer is cleared', async () => {
		const server = await startServer();
		const clearTimeoutSpy = vi.fn((handle: unknown) =>
			clearTimeout(handle as ReturnType<typeof setTimeout>)
		);
		const attempt = openAttempt(
			{ url: server.url, connectTimeout: 100 },
			createFakeEnv({ clearTimeout: clearTimeoutSpy })
		);
		attempt.connection.close();
		expect(clearTimeoutSpy).toHaveBeenCalledTimes(1);
		await sleep(150);
		expect(attempt.calls).toEqual([]);
		expect(server.sockets.filter((socket) => socket.connected)).toHaveLength(0);
	});

	it("S13 the attempt's aborted signal releases it like close()", async () => {
		const server = await startServer();
		const attempt = openAttempt({ url: server.url });
		await attempt.waitOpened();
		attempt.controller.abort();
		await vi.waitFor(
			() => expect(server.disconnects).toEqual(['client namespace disconnect']),
			WAIT
		);
		expect(callTypes(attempt.calls)).toEqual(['opened']);
	});

	it('S14 an attempt whose signal is already aborted connects nothing', async () => {
		const server = await startServer();
		const controller = new AbortController();
		controller.abort();
		const calls: string[] = [];
		const connection = socketIo({
			url: server.url,
			options: { transports: ['websocket'] }
		}).open(
			{
				opened: () => calls.push('opened'),
				message: () => calls.push('message'),
				heartbeat: () => calls.push('heartbeat'),
				hint: () => calls.push('hint'),
				dropped: () => calls.push('dropped'),
				failed: () => calls.push('failed'),
				ended: () => calls.push('ended')
			},
			{ n: 1, lastEventId: undefined, signal: controller.signal, env: createFakeEnv() }
		);
		await sleep(80);
		expect(server.sockets).toHaveLength(0);
		expect(calls).toEqual([]);
		await expect(connection.send!({ id: 't1' })).rejects.toMatchObject({
			message: messages.notOpen()
		});
		connection.close();
	});

	describe('an existing socket', () => {
		const clientFor = (url: string, autoConnect = false): Socket => {
			const socket = ioClient(url, { autoConnect, transports: ['websocket'], forceNew: true });
			cleanups.push(() => socket.disconnect());
			return socket;
		};

		it('is connected and disconnected by the adapter per attempt, its reconnection turned off', async () => {
			const server = await startServer((_io, socket) => socket.emit('task:snapshot', []));
			const socket = clientFor(server.url);
			expect(socket.io.reconnection()).toBe(true);
			const listenersBefore = {
				connect: socket.listeners('connect').length,
				any: socket.listenersAny().length,
				ping: socket.io.listeners('ping').length
			};

			const first = openAttempt({ socket });
			expect(socket.io.reconnection()).toBe(false);
			expect(await first.waitOpened()).toEqual({ bidirectional: true, resumed: false });
			expect(socket.connected).toBe(true);
			await vi.waitFor(() => expect(first.messages()).toHaveLength(1), WAIT);

			first.connection.close();
			expect(socket.connected).toBe(false);
			await vi.waitFor(
				() => expect(server.disconnects).toEqual(['client namespace disconnect']),
				WAIT
			);
			// Every listener the attempt added is gone.
			expect({
				connect: socket.listeners('connect').length,
				any: socket.listenersAny().length,
				ping: socket.io.listeners('ping').length
			}).toEqual(listenersBefore);
			expect(socket.listeners('task:sync')).toHaveLength(0);
			expect(socket.listeners('disconnect')).toHaveLength(0);

			// The next attempt connects the same socket again.
			const second = openAttempt({ socket });
			await second.waitOpened();
			await vi.waitFor(() => expect(second.messages()).toHaveLength(1), WAIT);
			expect(server.sockets).toHaveLength(2);
			expect(first.messages()).toHaveLength(1);
		});

		it("the app's own socket.disconnect() is not reported as a failure", async () => {
			const server = await startServer();
			const socket = clientFor(server.url);
			const attempt = openAttempt({ socket });
			await attempt.waitOpened();
			socket.disconnect();
			await vi.waitFor(
				() => expect(server.disconnects).toEqual(['client namespace disconnect']),
				WAIT
			);
			expect(callTypes(attempt.calls)).toEqual(['opened']);
			await expect(attempt.connection.send!({ id: 't1' })).rejects.toMatchObject({
				message: messages.notOpen()
			});
		});

		it('S20 a session the server recovered opens with resumed: true', async () => {
			const server = await startServer((io) => io.emit('task:sync', { id: 't1' }), {
				connectionStateRecovery: {}
			});
			const socket = clientFor(server.url);
			const first = openAttempt({ socket });
			expect(await first.waitOpened()).toEqual({ bidirectional: true, resumed: false });
			await vi.waitFor(() => expect(first.messages()).toHaveLength(1), WAIT);
			// The connection drops below socket.io (no DISCONNECT packet): the server keeps the session.
			server.sockets[0]!.conn.close();
			expect(await first.waitFailed()).toMatchObject({ code: 'closed', retryable: true });

			const second = openAttempt({ socket });
			expect(await second.waitOpened()).toEqual({ bidirectional: true, resumed: true });
		});

		it('already connected when the attempt opens: reports opened at once', async () => {
			const server = await startServer();
			const socket = clientFor(server.url, true);
			await vi.waitFor(() => expect(socket.connected).toBe(true), WAIT);
			const attempt = openAttempt({ socket });
			expect(await attempt.waitOpened()).toEqual({ bidirectional: true, resumed: false });
			expect(server.sockets).toHaveLength(1);
		});
	});
});

describe('through the engine (createLiveSource)', () => {
	interface Task {
		id: string;
		title: string;
		done: boolean;
		version: number;
	}

	/** A task list that takes changes as `{ type: 'mutation', mutationId, key, item }`. */
	async function startTaskServer(options: { refuse?: boolean | 'error' } = {}) {
		const tasks = new Map<string, Task>([
			['t1', { id: 't1', title: 'One', done: false, version: 1 }],
			['t2', { id: 't2', title: 'Two', done: true, version: 1 }]
		]);
		const server = await startServer((_io, socket) => {
			socket.emit('task:snapshot', [...tasks.values()]);
			socket.on(
				'task:update',
				(message: { key: string; item: Task }, ack: (reply: unknown) => void) => {
					// A server that refuses by acknowledging an Error, as a Node callback would.
					if (options.refuse === 'error') return ack(new Error('read-only'));
					if (options.refuse) return ack({ ok: false, error: 'read-only' });
					const current = tasks.get(message.key)!;
					const item = { ...current, done: message.item.done, version: current.version + 1 };
					tasks.set(item.id, item);
					socket.broadcast.emit('task:sync', item);
					ack({ ok: true, result: { item } });
				}
			);
		});
		return { ...server, tasks };
	}

	function liveSource(
		url: string,
		options: { onError?: (error: unknown) => void } = {}
	): LiveSourceHandle<Task> {
		const source = createLiveSource<Task>({
			transport: socketIo({ url, options: { transports: ['websocket'] } }),
			version: (task) => task.version,
			...options
		});
		cleanups.push(() => source.stop());
		source.start();
		return source;
	}

	it("reaches 'live' over socket.io and shows the server's snapshot", async () => {
		const server = await startTaskServer();
		const source = liveSource(server.url);

		await vi.waitFor(
			() =>
				expect(source.connection.getSnapshot()).toMatchObject({
					status: 'live',
					transport: 'socket.io'
				}),
			WAIT
		);
		await vi.waitFor(
			() => expect(source.store.getSnapshot().items).toEqual([...server.tasks.values()]),
			WAIT
		);
	});

	it('a toggle in one page reaches the other', async () => {
		const server = await startTaskServer();
		const a = liveSource(server.url);
		const b = liveSource(server.url);
		await vi.waitFor(() => expect(a.store.getSnapshot().items).toHaveLength(2), WAIT);
		await vi.waitFor(() => expect(b.store.getSnapshot().items).toHaveLength(2), WAIT);

		await expect(a.store.toggle('t1')).resolves.toMatchObject({ id: 't1', done: true });
		expect(server.tasks.get('t1')).toMatchObject({ done: true, version: 2 });
		await vi.waitFor(
			() =>
				expect(b.store.getSnapshot().items.find((task) => task.id === 't1')).toMatchObject({
					done: true,
					version: 2
				}),
			WAIT
		);
		const row = a.store.getSnapshot().rows.find((r) => r.key === 't1');
		expect(row).toMatchObject({ status: 'settled', item: { done: true } });
	});

	it('S18 a refused toggle rolls back and is marked failed', async () => {
		const server = await startTaskServer({ refuse: true });
		const a = liveSource(server.url);
		await vi.waitFor(() => expect(a.store.getSnapshot().items).toHaveLength(2), WAIT);

		await expect(a.store.toggle('t1')).rejects.toThrow(messages.nack('read-only'));
		await vi.waitFor(
			() =>
				expect(a.store.getSnapshot().rows.find((r) => r.key === 't1')).toMatchObject({
					status: 'failed',
					item: { done: false }
				}),
			WAIT
		);
		expect(server.tasks.get('t1')!.done).toBe(false);
	});

	it('S18 a toggle refused with ack(new Error()) (arriving as {}) rolls back, failed, and says what to send', async () => {
		const server = await startTaskServer({ refuse: 'error' });
		const a = liveSource(server.url);
		await vi.waitFor(() => expect(a.store.getSnapshot().items).toHaveLength(2), WAIT);

		const error = await a.store.toggle('t1').catch((e: unknown) => e);
		expect(error).toBeInstanceOf(Error);
		expect((error as Error).message).toContain('{ ok: false, error: message }');
		await vi.waitFor(
			() =>
				expect(a.store.getSnapshot().rows.find((r) => r.key === 't1')).toMatchObject({
					status: 'failed',
					item: { done: false }
				}),
			WAIT
		);
		expect(server.tasks.get('t1')!.done).toBe(false);
	});

	it('S11 a string payload socket.io already parsed is not parsed again: "[]" under the snapshot event is dropped, not an empty list', async () => {
		const server = await startTaskServer();
		const errors: unknown[] = [];
		const a = liveSource(server.url, { onError: (error) => errors.push(error) });
		await vi.waitFor(() => expect(a.store.getSnapshot().items).toHaveLength(2), WAIT);

		server.io.emit('task:snapshot', '[]');
		await vi.waitFor(() => expect(a.store.getSnapshot().dropped).toBe(1), WAIT);
		a.store.flush();
		expect(a.store.getSnapshot().items).toHaveLength(2);
		expect(errors).toHaveLength(1);
		expect(errors[0]).toBeInstanceOf(DecodeError);

		server.io.emit('task:snapshot', []);
		await vi.waitFor(() => expect(a.store.getSnapshot().items).toEqual([]), WAIT);
		expect(a.connection.getSnapshot().status).toBe('live');
	});
});
