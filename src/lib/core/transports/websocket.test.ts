/**
 * The WebSocket adapter alone, against a real `ws` server on 127.0.0.1 (real timers and sockets).
 * Scenario numbers refer to ../shared/design/SCENARIOS.md.
 */
import { once } from 'node:events';
import { createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { createEnv } from '../env/env.js';
import { createLiveSource } from '../live-source.js';
import { DecodeError, TransportError, messages as text } from '../errors.js';
import type { Attempt, MessageMeta, TransportConnection, TransportSink } from './types.js';
import { readReply, websocket, type WebSocketOptions } from './websocket.js';

const env = createEnv({ WebSocket: WebSocket as unknown as typeof globalThis.WebSocket });

/** One connection as the server sees it. */
interface Peer {
	socket: WebSocket;
	/** Every frame received: parsed JSON, or the text when it is not JSON. */
	received: unknown[];
	/** Resolves with the close code once the socket is closed. */
	closed: Promise<number>;
}

interface TestServer {
	url: string;
	peers: Peer[];
	/** The first connection, once it is there. */
	peer(): Promise<Peer>;
}

const cleanups: Array<() => Promise<void> | void> = [];
const connections: TransportConnection<unknown>[] = [];

afterEach(async () => {
	for (const connection of connections.splice(0)) connection.close();
	for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function parse(data: RawData): unknown {
	const text = Buffer.isBuffer(data)
		? data.toString('utf8')
		: Array.isArray(data)
			? Buffer.concat(data).toString('utf8')
			: Buffer.from(data).toString('utf8');
	try {
		return JSON.parse(text);
	} catch {
		return text;
	}
}

/** A `ws` server; `onConnection` and `onMessage` script its side of each test. */
async function startServer(
	script: {
		onConnection?: (peer: Peer) => void;
		onMessage?: (peer: Peer, message: unknown) => void;
	} = {}
): Promise<TestServer> {
	const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
	await once(wss, 'listening');
	const peers: Peer[] = [];
	wss.on('connection', (socket) => {
		const peer: Peer = {
			socket,
			received: [],
			closed: new Promise((resolve) => socket.on('close', (code) => resolve(code)))
		};
		peers.push(peer);
		socket.on('message', (data) => {
			const message = parse(data);
			peer.received.push(message);
			script.onMessage?.(peer, message);
		});
		script.onConnection?.(peer);
	});
	cleanups.push(async () => {
		for (const client of wss.clients) client.terminate();
		await new Promise<void>((resolve) => wss.close(() => resolve()));
	});
	const { port } = wss.address() as AddressInfo;
	return {
		url: `ws://127.0.0.1:${port}`,
		peers,
		peer: () =>
			vi.waitFor(() => {
				expect(peers.length).toBeGreaterThan(0);
				return peers[0]!;
			})
	};
}

/** A TCP server that accepts connections and never answers: the handshake never completes. */
async function startBlackhole() {
	const sockets = new Set<Socket>();
	const accepted: Socket[] = [];
	const server = createNetServer((socket) => {
		sockets.add(socket);
		accepted.push(socket);
		socket.on('close', () => sockets.delete(socket));
		socket.on('error', () => {});
		// Read (and ignore) the upgrade request, so that the client's hang-up is noticed.
		socket.resume();
	});
	server.listen(0, '127.0.0.1');
	await once(server, 'listening');
	cleanups.push(async () => {
		for (const socket of sockets) socket.destroy();
		await new Promise<void>((resolve) => server.close(() => resolve()));
	});
	const { port } = server.address() as AddressInfo;
	return { url: `ws://127.0.0.1:${port}`, accepted, open: () => sockets.size };
}

/** A port on which nothing listens (it was free a moment ago). */
async function freePort(): Promise<number> {
	const server = createNetServer();
	server.listen(0, '127.0.0.1');
	await once(server, 'listening');
	const { port } = server.address() as AddressInfo;
	await new Promise<void>((resolve) => server.close(() => resolve()));
	return port;
}

type Call =
	| ['opened', unknown]
	| ['message', unknown, MessageMeta | undefined]
	| ['heartbeat']
	| ['hint', unknown]
	| ['dropped', DecodeError]
	| ['failed', TransportError]
	| ['ended', unknown];

function recordingSink() {
	const calls: Call[] = [];
	const sink: TransportSink<unknown> = {
		opened: (info) => calls.push(['opened', info]),
		message: (data, meta) => calls.push(['message', data, meta]),
		heartbeat: () => calls.push(['heartbeat']),
		hint: (hints) => calls.push(['hint', hints]),
		dropped: (error) => calls.push(['dropped', error]),
		failed: (error) => calls.push(['failed', error]),
		ended: (info) => calls.push(['ended', info])
	};
	const names = () => calls.map((call) => call[0]);
	const failures = () =>
		calls.filter((call): call is ['failed', TransportError] => call[0] === 'failed');
	const messages = () => calls.filter((call) => call[0] === 'message').map((call) => call[1]);
	const metas = () => calls.filter((call) => call[0] === 'message').map((call) => call[2]);
	const drops = () =>
		calls
			.filter((call): call is ['dropped', DecodeError] => call[0] === 'dropped')
			.map((c) => c[1]);
	return { sink, calls, names, failures, messages, metas, drops };
}

const attempt = (overrides: Partial<Attempt> = {}): Attempt => ({
	n: 1,
	lastEventId: undefined,
	signal: new AbortController().signal,
	env,
	...overrides
});

function open(options: WebSocketOptions<unknown>, attemptOverrides: Partial<Attempt> = {}) {
	const recorder = recordingSink();
	const connection = websocket(options).open(recorder.sink, attempt(attemptOverrides));
	connections.push(connection);
	return { ...recorder, connection };
}

async function openLive(options: WebSocketOptions<unknown>) {
	const opened = open(options);
	await vi.waitFor(() => expect(opened.names()).toContain('opened'));
	return opened;
}

/** The one failure reported, once it is there. */
async function theFailure(recorder: ReturnType<typeof recordingSink>): Promise<TransportError> {
	return vi.waitFor(() => {
		expect(recorder.names()).toEqual(['failed']);
		return recorder.failures()[0]![1];
	});
}

describe('websocket adapter against a real ws server', () => {
	it('opens with bidirectional true and reports itself as a two-way websocket transport', async () => {
		const server = await startServer();
		const transport = websocket({ url: server.url });
		expect(transport.kind).toBe('websocket');
		expect(transport.bidirectional).toBe(true);
		expect(transport.supported?.(env)).toBe(true);
		const { calls } = await openLive({ url: server.url });
		expect(calls).toEqual([['opened', { bidirectional: true }]]);
		expect(server.peers).toHaveLength(1);
	});

	it('resolves a url function per attempt', async () => {
		const server = await startServer();
		const seen: number[] = [];
		const recorder = recordingSink();
		const connection = websocket({
			url: (a) => {
				seen.push(a.n);
				return `${server.url}/?attempt=${a.n}`;
			}
		}).open(recorder.sink, attempt({ n: 3 }));
		connections.push(connection);
		await vi.waitFor(() => expect(recorder.names()).toEqual(['opened']));
		expect(seen).toEqual([3]);
	});

	it('hands JSON frames on as parsed objects and a non-JSON frame as the string, in order', async () => {
		const server = await startServer({
			onConnection(peer) {
				peer.socket.send(JSON.stringify({ type: 'upsert', items: [{ id: 'a', n: 1 }] }));
				peer.socket.send('not json {');
				peer.socket.send(JSON.stringify([{ id: 'b' }]));
				peer.socket.send('42');
			}
		});
		const recorder = await openLive({ url: server.url });
		await vi.waitFor(() => expect(recorder.messages()).toHaveLength(4));
		expect(recorder.messages()).toEqual([
			{ type: 'upsert', items: [{ id: 'a', n: 1 }] },
			'not json {',
			[{ id: 'b' }],
			42
		]);
		expect(recorder.names()).toEqual(['opened', 'message', 'message', 'message', 'message']);
		// Decoded once, here: the store takes those as they are. The text that is not JSON goes on
		// as it is, for the store to report.
		expect(recorder.metas()).toEqual([
			{ decoded: true },
			undefined,
			{ decoded: true },
			{ decoded: true }
		]);
	});

	it('a frame whose JSON is a string is handed on as that string, marked decoded', async () => {
		const server = await startServer({
			onConnection: (peer) => peer.socket.send(JSON.stringify('[]'))
		});
		const recorder = await openLive({ url: server.url });
		await vi.waitFor(() => expect(recorder.messages()).toHaveLength(1));
		expect(recorder.calls[1]).toEqual(['message', '[]', { decoded: true }]);
	});

	it('a custom decode marks what it returns as decoded; binary frames are decoded too', async () => {
		const server = await startServer({
			onConnection(peer) {
				peer.socket.send('a|b');
				peer.socket.send(Buffer.from([1, 2, 3]));
			}
		});
		const recorder = await openLive({
			url: server.url,
			decode: (data) => (typeof data === 'string' ? data.split('|') : 'binary')
		});
		await vi.waitFor(() => expect(recorder.messages()).toHaveLength(2));
		expect(recorder.messages()).toEqual([['a', 'b'], 'binary']);
		expect(recorder.metas()).toEqual([{ decoded: true }, { decoded: true }]);
	});

	it('sends without an ack: resolves at once with undefined and adds no ref', async () => {
		const server = await startServer();
		const { connection } = await openLive({ url: server.url });
		await expect(connection.send!({ type: 'hello', n: 1 })).resolves.toBeUndefined();
		await expect(
			connection.send!({ type: 'hello', n: 2 }, { ack: false })
		).resolves.toBeUndefined();
		const peer = await server.peer();
		await vi.waitFor(() => expect(peer.received).toHaveLength(2));
		expect(peer.received).toEqual([
			{ type: 'hello', n: 1 },
			{ type: 'hello', n: 2 }
		]);
	});

	it('S18 send with ack resolves with the result of the matching ack, whatever the order of replies', async () => {
		const held: Array<{ peer: Peer; ref: string; n: number }> = [];
		const server = await startServer({
			onMessage(peer, message) {
				const { ref, n } = message as { ref: string; n: number };
				held.push({ peer, ref, n });
				// Answer both at once, the second one first.
				if (held.length === 2) {
					for (const h of [...held].reverse()) {
						h.peer.socket.send(
							JSON.stringify({ type: 'ack', ref: h.ref, ok: true, result: { saved: h.n } })
						);
					}
				}
			}
		});
		const recorder = await openLive({ url: server.url });
		const first = recorder.connection.send!({ type: 'save', n: 1 }, { ack: true });
		const second = recorder.connection.send!({ type: 'save', n: 2 }, { ack: true });
		await expect(first).resolves.toEqual({ saved: 1 });
		await expect(second).resolves.toEqual({ saved: 2 });
		const peer = await server.peer();
		const refs = peer.received.map((m) => (m as { ref: unknown }).ref);
		expect(refs.every((ref) => typeof ref === 'string')).toBe(true);
		expect(new Set(refs).size).toBe(2);
		expect(peer.received).toEqual([
			{ type: 'save', n: 1, ref: refs[0] },
			{ type: 'save', n: 2, ref: refs[1] }
		]);
		// Acks prove liveness; they are never handed on as messages.
		expect(recorder.messages()).toEqual([]);
		expect(recorder.names().filter((name) => name === 'heartbeat')).toHaveLength(2);
	});

	it('S18 send with ack rejects with code "nack" when the server answers ok: false', async () => {
		const server = await startServer({
			onMessage(peer, message) {
				const { ref } = message as { ref: string };
				peer.socket.send(JSON.stringify({ type: 'ack', ref, ok: false, error: 'conflict' }));
			}
		});
		const { connection, names } = await openLive({ url: server.url });
		const error: unknown = await connection.send!({ type: 'save' }, { ack: true }).catch((e) => e);
		expect(error).toBeInstanceOf(TransportError);
		expect(error).toMatchObject({
			code: 'nack',
			retryable: false,
			transport: 'websocket',
			cause: 'conflict'
		});
		expect((error as Error).message).toContain('conflict');
		// The socket stays open after a refusal.
		expect(names()).toEqual(['opened', 'heartbeat']);
		await expect(connection.send!({ type: 'again' })).resolves.toBeUndefined();
	});

	it('S18 send with ack rejects with code "timeout" when the server never acks; a late ack is ignored', async () => {
		const server = await startServer();
		const recorder = await openLive({ url: server.url });
		const started = performance.now();
		const error: unknown = await recorder.connection.send!(
			{ type: 'save' },
			{ ack: true, timeoutMs: 120 }
		).catch((e) => e);
		const elapsed = performance.now() - started;
		expect(error).toBeInstanceOf(TransportError);
		expect(error).toMatchObject({ code: 'timeout', retryable: true });
		expect(elapsed).toBeGreaterThanOrEqual(110);
		expect(elapsed).toBeLessThan(1000);

		// The server answers after all: nothing resolves twice, nothing reaches the store.
		const peer = await server.peer();
		const { ref } = peer.received[0] as { ref: string };
		peer.socket.send(JSON.stringify({ type: 'ack', ref, ok: true, result: 'late' }));
		await vi.waitFor(() => expect(recorder.names()).toContain('heartbeat'));
		expect(recorder.messages()).toEqual([]);
		expect(recorder.failures()).toEqual([]);
	});

	it('uses the ackTimeout option when send gives no timeoutMs', async () => {
		const server = await startServer();
		const { connection } = await openLive({ url: server.url, ackTimeout: 80 });
		const started = performance.now();
		await expect(connection.send!({ type: 'save' }, { ack: true })).rejects.toMatchObject({
			code: 'timeout'
		});
		expect(performance.now() - started).toBeLessThan(1000);
	});

	it('an ack timeout too long for a timer (Infinity) waits instead of firing at once', async () => {
		const server = await startServer({
			onMessage(peer, message) {
				const { ref } = message as { ref: string };
				setTimeout(() => peer.socket.send(JSON.stringify({ type: 'ack', ref, ok: true })), 50);
			}
		});
		const { connection } = await openLive({ url: server.url });
		await expect(
			connection.send!({ type: 'save' }, { ack: true, timeoutMs: Infinity })
		).resolves.toBeUndefined();
	});

	it('rejects pending acks when the socket closes, then reports the failure', async () => {
		const server = await startServer({
			onMessage(peer, message) {
				if ((message as { type: string }).type === 'last') peer.socket.terminate();
			}
		});
		const recorder = await openLive({ url: server.url });
		const first = recorder.connection.send!({ type: 'save', n: 1 }, { ack: true });
		const second = recorder.connection.send!({ type: 'last' }, { ack: true, timeoutMs: 60_000 });
		const started = performance.now();
		await expect(first).rejects.toMatchObject({ code: 'closed', retryable: true });
		await expect(second).rejects.toMatchObject({ code: 'closed', retryable: true });
		// Rejected by the close, not by the (10 s / 60 s) ack timeouts.
		expect(performance.now() - started).toBeLessThan(2000);
		await vi.waitFor(() => expect(recorder.names()).toEqual(['opened', 'failed']));
		expect(recorder.failures()[0]![1]).toMatchObject({ code: 'closed', retryable: true });
		// A send on the dead socket rejects instead of throwing.
		await expect(recorder.connection.send!({ type: 'after' })).rejects.toMatchObject({
			code: 'closed'
		});
	});

	it('close code 1000 from the server after opening ends the attempt cleanly', async () => {
		const server = await startServer({
			onConnection: (peer) => setTimeout(() => peer.socket.close(1000, 'bye'), 20)
		});
		const recorder = open({ url: server.url });
		await vi.waitFor(() => expect(recorder.names()).toEqual(['opened', 'ended']));
		expect(recorder.failures()).toEqual([]);
		await sleep(50);
		expect(recorder.names()).toEqual(['opened', 'ended']);
	});

	it.each([
		{ label: '1011 (server error)', code: 1011, drop: (s: WebSocket) => s.close(1011, 'oops') },
		{ label: '1001 (going away)', code: 1001, drop: (s: WebSocket) => s.close(1001) },
		{ label: '1006 (no close frame)', code: 1006, drop: (s: WebSocket) => s.terminate() }
	])('a drop with $label fails the attempt as retryable', async ({ code, drop }) => {
		const server = await startServer({
			onConnection: (peer) => setTimeout(() => drop(peer.socket), 20)
		});
		const recorder = open({ url: server.url });
		await vi.waitFor(() => expect(recorder.names()).toEqual(['opened', 'failed']));
		const error = recorder.failures()[0]![1];
		expect(error).toBeInstanceOf(TransportError);
		expect(error).toMatchObject({ code: 'closed', retryable: true, transport: 'websocket' });
		expect(error.message).toContain(`code ${code}`);
	});

	it.each([1008, 4001])(
		'close code %i fails the attempt for good (retryable false)',
		async (code) => {
			const server = await startServer({
				onConnection: (peer) => setTimeout(() => peer.socket.close(code, 'policy'), 20)
			});
			const recorder = open({ url: server.url });
			await vi.waitFor(() => expect(recorder.names()).toEqual(['opened', 'failed']));
			const error = recorder.failures()[0]![1];
			expect(error).toMatchObject({ code: 'closed', retryable: false });
			expect(error.message).toContain(`code ${code}`);
			expect(error.message).toContain('policy');
		}
	);

	it('honours terminalCloseCodes', async () => {
		const server = await startServer({
			onConnection: (peer) => setTimeout(() => peer.socket.close(4001), 20)
		});
		const recorder = open({ url: server.url, terminalCloseCodes: [4403] });
		await vi.waitFor(() => expect(recorder.names()).toEqual(['opened', 'failed']));
		expect(recorder.failures()[0]![1]).toMatchObject({ code: 'closed', retryable: true });
	});

	it('connecting to a port where nothing listens fails with code "network", retryable', async () => {
		const port = await freePort();
		const recorder = open({ url: `ws://127.0.0.1:${port}` });
		const error = await theFailure(recorder);
		expect(error).toBeInstanceOf(TransportError);
		expect(error).toMatchObject({ code: 'network', retryable: true, transport: 'websocket' });
		await sleep(50);
		expect(recorder.names()).toEqual(['failed']);
	});

	it('S22 a handshake that never completes fails with code "timeout" after connectTimeout and drops the TCP connection', async () => {
		const blackhole = await startBlackhole();
		const started = performance.now();
		const recorder = open({ url: blackhole.url, connectTimeout: 300 });
		const error = await theFailure(recorder);
		const elapsed = performance.now() - started;
		expect(error).toMatchObject({ code: 'timeout', retryable: true, transport: 'websocket' });
		expect(error.message).toContain('300 ms');
		expect(elapsed).toBeGreaterThanOrEqual(290);
		expect(elapsed).toBeLessThan(1500);
		expect(blackhole.accepted).toHaveLength(1);
		// The attempt released its socket.
		await vi.waitFor(() => expect(blackhole.open()).toBe(0));
		await sleep(50);
		expect(recorder.names()).toEqual(['failed']);
	});

	it('connectTimeout: Infinity waits as long as a timer can instead of firing at once', async () => {
		const server = await startServer();
		const recorder = await openLive({ url: server.url, connectTimeout: Infinity });
		expect(recorder.names()).toEqual(['opened']);
	});

	it('S12 close() while connecting: no sink call, nothing thrown, the socket goes away', async () => {
		const blackhole = await startBlackhole();
		const recorder = open({ url: blackhole.url, connectTimeout: 200 });
		await vi.waitFor(() => expect(blackhole.accepted).toHaveLength(1));
		recorder.connection.close();
		recorder.connection.close();
		await vi.waitFor(() => expect(blackhole.open()).toBe(0));
		// Past the connect timeout: it was cleared.
		await sleep(300);
		expect(recorder.calls).toEqual([]);
	});

	it('heartbeat: pings go out every interval, pongs become heartbeats (not messages), and stop on close', async () => {
		const server = await startServer({
			onMessage(peer, message) {
				if ((message as { type?: string }).type === 'ping')
					peer.socket.send(JSON.stringify({ type: 'pong' }));
				else peer.socket.send(JSON.stringify({ type: 'upsert', items: [{ id: 'x' }] }));
			}
		});
		const recorder = await openLive({
			url: server.url,
			heartbeat: { interval: 50, isPong: (m) => (m as { type?: string } | null)?.type === 'pong' }
		});
		const peer = await server.peer();
		await vi.waitFor(() => expect(peer.received.length).toBeGreaterThanOrEqual(3), {
			timeout: 2000
		});
		expect(peer.received.every((m) => JSON.stringify(m) === '{"type":"ping"}')).toBe(true);
		// P7 a server that answers pings: the engine learns the interval
		expect(recorder.calls).toContainEqual(['hint', { heartbeatMs: 50 }]);
		await recorder.connection.send!({ type: 'data' });
		await vi.waitFor(() => expect(recorder.messages()).toHaveLength(1));
		expect(recorder.messages()).toEqual([{ type: 'upsert', items: [{ id: 'x' }] }]);
		await vi.waitFor(() =>
			expect(recorder.names().filter((n) => n === 'heartbeat').length).toBeGreaterThanOrEqual(3)
		);

		recorder.connection.close();
		await peer.closed;
		const pings = peer.received.length;
		const calls = recorder.calls.length;
		await sleep(200);
		expect(peer.received).toHaveLength(pings);
		expect(recorder.calls).toHaveLength(calls);
	});

	it('heartbeat with a custom message; no heartbeat option sends no pings', async () => {
		const server = await startServer();
		const withoutPong = await openLive({
			url: server.url,
			heartbeat: { interval: 40, message: { op: 'hb' } }
		});
		// no isPong: nothing says the server answers, so no interval to expect frames at
		expect(withoutPong.names()).not.toContain('hint');
		await openLive({ url: server.url });
		await vi.waitFor(() => expect(server.peers).toHaveLength(2));
		const [withBeat, without] = server.peers;
		await vi.waitFor(() => expect(withBeat!.received.length).toBeGreaterThanOrEqual(2));
		expect(withBeat!.received.every((m) => JSON.stringify(m) === '{"op":"hb"}')).toBe(true);
		expect(without!.received).toEqual([]);
	});

	it('S12 close() twice is harmless: the server sees one clean close, and no sink call follows', async () => {
		let serverSocket: WebSocket | undefined;
		const server = await startServer({
			onConnection(peer) {
				serverSocket = peer.socket;
			}
		});
		const recorder = await openLive({ url: server.url });
		const peer = await server.peer();
		expect(serverSocket).toBe(peer.socket);
		const pendingAck = recorder.connection.send!({ type: 'save' }, { ack: true });
		recorder.connection.close();
		expect(() => recorder.connection.close()).not.toThrow();
		await expect(pendingAck).rejects.toMatchObject({ code: 'closed' });
		// Sent by the server before it learns of the close: must not reach the sink.
		peer.socket.send(JSON.stringify({ type: 'upsert', items: [{ id: 'late' }] }));
		expect(await peer.closed).toBe(1000);
		await sleep(100);
		expect(recorder.calls).toEqual([['opened', { bidirectional: true }]]);
		expect(server.peers).toHaveLength(1);
		await expect(recorder.connection.send!({ type: 'after' })).rejects.toMatchObject({
			code: 'closed'
		});
	});

	it('supported is false without env.WebSocket, and open() fails with code "unsupported"', () => {
		const bare = createEnv({ WebSocket: undefined });
		const transport = websocket({ url: 'ws://127.0.0.1:1' });
		expect(transport.supported?.(bare)).toBe(false);
		const recorder = recordingSink();
		const connection = transport.open(recorder.sink, attempt({ env: bare }));
		expect(recorder.names()).toEqual(['failed']);
		expect(recorder.failures()[0]![1]).toMatchObject({
			code: 'unsupported',
			retryable: false,
			transport: 'websocket'
		});
		expect(() => connection.close()).not.toThrow();
		expect(connection.send).toBeUndefined();
	});

	it('a malformed URL fails at once, not retryable', () => {
		const recorder = recordingSink();
		const connection = websocket({ url: 'not a url' }).open(recorder.sink, attempt());
		expect(recorder.names()).toEqual(['failed']);
		expect(recorder.failures()[0]![1]).toMatchObject({ code: 'protocol', retryable: false });
		connection.close();
	});
});

describe('websocket() options', () => {
	it('rejects a connectTimeout, ackTimeout or maxMessageSize that is not a positive number', () => {
		expect(() => websocket({ url: 'ws://127.0.0.1:1', connectTimeout: 0 })).toThrow(
			/`connectTimeout`/
		);
		expect(() => websocket({ url: 'ws://127.0.0.1:1', ackTimeout: -1 })).toThrow(/`ackTimeout`/);
		expect(() => websocket({ url: 'ws://127.0.0.1:1', maxMessageSize: 0 })).toThrow(
			/`maxMessageSize`/
		);
		expect(() => websocket({ url: 'ws://127.0.0.1:1', maxMessageSize: Infinity })).not.toThrow();
	});
});

const ROW = { id: 't1', title: 'One', done: true, version: 2 };

describe('readReply: how a server answers a change (websocket and socket.io alike)', () => {
	it.each([
		{ label: 'nothing (undefined)', reply: undefined, read: { ok: true } },
		{ label: 'null', reply: null, read: { ok: true } },
		{ label: 'true', reply: true, read: { ok: true } },
		{ label: '{ ok: true }', reply: { ok: true }, read: { ok: true, result: undefined } },
		{
			label: '{ ok: true, result }',
			reply: { ok: true, result: ROW },
			read: { ok: true, result: ROW }
		},
		{
			label: '{ ok: true, item }',
			reply: { ok: true, item: ROW },
			read: { ok: true, result: { item: ROW } }
		},
		{ label: '{ result } without ok', reply: { result: ROW }, read: { ok: true, result: ROW } },
		{ label: 'the row itself', reply: ROW, read: { ok: true, result: ROW } },
		{ label: '{ item }', reply: { item: ROW }, read: { ok: true, result: { item: ROW } } },
		{ label: 'a string', reply: 'saved', read: { ok: true, result: 'saved' } },
		{
			label: '{ error: null } (no error)',
			reply: { error: null, id: 't1' },
			read: { ok: true, result: { error: null, id: 't1' } }
		},
		{ label: 'false', reply: false, read: { ok: false } },
		{ label: '{ ok: false }', reply: { ok: false }, read: { ok: false, error: undefined } },
		{
			label: '{ ok: false, error }',
			reply: { ok: false, error: 'conflict' },
			read: { ok: false, error: 'conflict' }
		},
		{
			label: '{ error } without ok',
			reply: { error: 'conflict' },
			read: { ok: false, error: 'conflict' }
		},
		{
			label: '{ error: {} } (an Error through JSON)',
			reply: { error: {} },
			read: { ok: false, error: {} }
		},
		{ label: '{} (an Error through socket.io)', reply: {}, read: { ok: false, error: {} } },
		{
			label: 'binary data (no keys, but not a plain {})',
			reply: new Uint8Array([1]).buffer,
			read: { ok: true, result: new Uint8Array([1]).buffer }
		}
	])('$label', ({ reply, read }) => {
		expect(readReply(reply)).toEqual(read);
	});
});

describe('S18 acknowledgements over a WebSocket: one reading of every answer', () => {
	/** What the server puts beside `type: 'ack'` and `ref`, built on the server's side. */
	const answers: Record<string, () => Record<string, unknown>> = {
		'bare { type, ref }': () => ({}),
		'{ ok: true }': () => ({ ok: true }),
		'{ ok: true, result: row }': () => ({ ok: true, result: ROW }),
		'{ result: row }': () => ({ result: ROW }),
		'{ ok: true, item: row }': () => ({ ok: true, item: ROW }),
		'{ item: row }': () => ({ item: ROW }),
		'the row itself': () => ({ ...ROW }),
		'{ ok: false }': () => ({ ok: false }),
		"{ ok: false, error: 'conflict' }": () => ({ ok: false, error: 'conflict' }),
		"{ ok: false, error: { message: 'read-only' } }": () => ({
			ok: false,
			error: { message: 'read-only' }
		}),
		'{ ok: false, error: { code: 409 } }': () => ({ ok: false, error: { code: 409 } }),
		"{ error: 'conflict' } (no ok)": () => ({ error: 'conflict' }),
		'{ error: new Error() } (arrives as error: {})': () => ({ error: new Error('read-only') })
	};

	async function answering() {
		const server = await startServer({
			onMessage(peer, message) {
				const { ref, answer } = message as { ref: string; answer: string };
				peer.socket.send(JSON.stringify({ type: 'ack', ref, ...answers[answer]!() }));
			}
		});
		return openLive({ url: server.url });
	}

	it.each([
		{ answer: 'bare { type, ref }', result: undefined },
		{ answer: '{ ok: true }', result: undefined },
		{ answer: '{ ok: true, result: row }', result: ROW },
		{ answer: '{ result: row }', result: ROW },
		{ answer: '{ ok: true, item: row }', result: { item: ROW } },
		{ answer: '{ item: row }', result: { item: ROW } },
		{ answer: 'the row itself', result: ROW }
	])('accepted: $answer', async ({ answer, result }) => {
		const { connection, names } = await answering();
		await expect(connection.send!({ type: 'save', answer }, { ack: true })).resolves.toEqual(
			result
		);
		expect(names()).toEqual(['opened', 'heartbeat']);
	});

	it.each([
		{ answer: '{ ok: false }', message: text.nack(undefined) },
		{ answer: "{ ok: false, error: 'conflict' }", message: text.nack('conflict') },
		{
			answer: "{ ok: false, error: { message: 'read-only' } }",
			message: 'The server refused the message: read-only'
		},
		{
			answer: '{ ok: false, error: { code: 409 } }',
			message: 'The server refused the message: {"code":409}'
		},
		{ answer: "{ error: 'conflict' } (no ok)", message: text.nack('conflict') },
		{ answer: '{ error: new Error() } (arrives as error: {})', message: text.emptyAck() }
	])('refused: $answer', async ({ answer, message }) => {
		const { connection, names } = await answering();
		const error: unknown = await connection.send!({ type: 'save', answer }, { ack: true }).catch(
			(e) => e
		);
		expect(error).toBeInstanceOf(TransportError);
		expect(error).toMatchObject({
			code: 'nack',
			retryable: false,
			transport: 'websocket',
			message
		});
		expect((error as Error).message).not.toContain('[object Object]');
		// A refusal leaves the socket open.
		expect(names()).toEqual(['opened', 'heartbeat']);
		await expect(connection.send!({ type: 'again' })).resolves.toBeUndefined();
	});
});

describe('S30 a callback option or a frame that throws never escapes the socket', () => {
	it('a decode that throws drops the frame (reported); later frames still arrive', async () => {
		const server = await startServer({
			onConnection(peer) {
				peer.socket.send('bad');
				peer.socket.send('good');
			}
		});
		const recorder = await openLive({
			url: server.url,
			decode: (data) => {
				if (data === 'bad') throw new Error('unreadable frame');
				return { type: 'upsert', items: [{ id: String(data) }] };
			}
		});
		await vi.waitFor(() => expect(recorder.messages()).toHaveLength(1));
		expect(recorder.messages()).toEqual([{ type: 'upsert', items: [{ id: 'good' }] }]);
		expect(recorder.drops()).toHaveLength(1);
		const [drop] = recorder.drops();
		expect(drop).toBeInstanceOf(DecodeError);
		expect(drop!.message).toBe(text.undecodable(new Error('unreadable frame')));
		expect(drop!.data).toBe('bad');
		expect(recorder.failures()).toEqual([]);
	});

	it('a readAck that throws drops the frame; the socket stays open', async () => {
		const server = await startServer({
			onConnection(peer) {
				peer.socket.send(JSON.stringify({ type: 'odd' }));
				peer.socket.send(JSON.stringify({ type: 'upsert', items: [{ id: 'a' }] }));
			}
		});
		const recorder = await openLive({
			url: server.url,
			readAck: (message) => {
				if ((message as { type: string }).type === 'odd') throw new TypeError('no ref');
				return undefined;
			}
		});
		await vi.waitFor(() => expect(recorder.messages()).toHaveLength(1));
		expect(recorder.drops().map((d) => d.message)).toEqual([
			text.undecodable(new TypeError('no ref'))
		]);
		expect(recorder.failures()).toEqual([]);
	});

	it('an isPong that throws drops the frame; the socket stays open', async () => {
		const server = await startServer({
			onConnection(peer) {
				peer.socket.send('"pong?"');
				peer.socket.send(JSON.stringify([{ id: 'a' }]));
			}
		});
		const recorder = await openLive({
			url: server.url,
			heartbeat: {
				interval: 60_000,
				isPong: (message) => {
					if (message === 'pong?') throw new Error('cannot tell');
					return false;
				}
			}
		});
		await vi.waitFor(() => expect(recorder.messages()).toHaveLength(1));
		expect(recorder.drops()).toHaveLength(1);
		expect(recorder.failures()).toEqual([]);
	});

	it('send rejects with a TransportError when encode or withRef throws; the socket stays open', async () => {
		const server = await startServer();
		const cyclic: Record<string, unknown> = { type: 'save' };
		cyclic.self = cyclic;
		const { connection, names } = await openLive({ url: server.url });
		// JSON.stringify of a cycle throws.
		for (const options of [{}, { ack: true }]) {
			const error: unknown = await connection.send!(cyclic, options).catch((e) => e);
			expect(error).toBeInstanceOf(TransportError);
			expect(error).toMatchObject({ code: 'protocol', retryable: false, transport: 'websocket' });
		}
		const withRefThrows = await openLive({
			url: server.url,
			withRef: () => {
				throw new Error('no place for a ref');
			}
		});
		await expect(
			withRefThrows.connection.send!({ type: 'save' }, { ack: true })
		).rejects.toMatchObject({
			code: 'protocol',
			message: text.unsendable(new Error('no place for a ref'))
		});
		await expect(connection.send!({ type: 'fine' })).resolves.toBeUndefined();
		const peer = await server.peer();
		await vi.waitFor(() => expect(peer.received).toEqual([{ type: 'fine' }]));
		expect(names()).toEqual(['opened']);
		expect(withRefThrows.names()).toEqual(['opened']);
	});

	it('an encode that throws on the heartbeat message fails the attempt for good, nothing thrown', async () => {
		const server = await startServer();
		const recorder = await openLive({
			url: server.url,
			heartbeat: { interval: 30 },
			encode: () => {
				throw new Error('cannot encode');
			}
		});
		const error = await vi.waitFor(() => {
			expect(recorder.names()).toEqual(['opened', 'failed']);
			return recorder.failures()[0]![1];
		});
		expect(error).toMatchObject({ code: 'protocol', retryable: false });
		const peer = await server.peer();
		expect(await peer.closed).toBe(1000);
	});
});

describe('S32 maxMessageSize: a frame over the limit is dropped and reported, the socket stays open', () => {
	it('a text frame over the limit (characters) is dropped before it is decoded', async () => {
		const big = JSON.stringify([{ id: 'x', title: 'y'.repeat(2000) }]);
		const server = await startServer({
			onConnection(peer) {
				peer.socket.send(big);
				peer.socket.send(JSON.stringify([{ id: 'small' }]));
			}
		});
		const decode = vi.fn((data: unknown) => JSON.parse(String(data)) as unknown);
		const recorder = await openLive({ url: server.url, maxMessageSize: 1000, decode });
		await vi.waitFor(() => expect(recorder.messages()).toHaveLength(1));
		expect(recorder.messages()).toEqual([[{ id: 'small' }]]);
		expect(decode).toHaveBeenCalledTimes(1);
		const [drop] = recorder.drops();
		expect(drop).toBeInstanceOf(DecodeError);
		expect(drop!.message).toBe(text.messageTooLarge(big.length, 1000, 'characters'));
		// A preview, not the frame.
		expect(String(drop!.data).length).toBeLessThanOrEqual(100);
		// It proved the socket alive all the same.
		expect(recorder.names()).toEqual(['opened', 'heartbeat', 'dropped', 'message']);
	});

	it('a binary frame over the limit (bytes) is dropped; one at the limit is kept', async () => {
		const server = await startServer({
			onConnection(peer) {
				peer.socket.send(Buffer.alloc(1001));
				peer.socket.send(Buffer.alloc(1000));
			}
		});
		const recorder = await openLive({ url: server.url, maxMessageSize: 1000 });
		await vi.waitFor(() => expect(recorder.messages()).toHaveLength(1));
		expect((recorder.messages()[0] as Uint8Array).byteLength).toBe(1000);
		expect(recorder.drops().map((d) => d.message)).toEqual([
			text.messageTooLarge(1001, 1000, 'bytes')
		]);
		expect(recorder.failures()).toEqual([]);
	});

	it('the default limit is 1 MiB of text', async () => {
		// JSON strings of exactly 1 MiB and one character more.
		const frame = (length: number) => `"${'a'.repeat(length - 2)}"`;
		const server = await startServer({
			onConnection(peer) {
				peer.socket.send(frame(1_048_577));
				peer.socket.send(frame(1_048_576));
			}
		});
		const recorder = await openLive({ url: server.url });
		await vi.waitFor(() => expect(recorder.messages()).toHaveLength(1));
		expect((recorder.messages()[0] as string).length).toBe(1_048_574);
		expect(recorder.drops().map((d) => d.message)).toEqual([
			text.messageTooLarge(1_048_577, 1_048_576, 'characters')
		]);
	});
});

describe('through the engine (createLiveSource)', () => {
	interface Item {
		id: string;
		title?: string;
	}
	const ITEMS: Item[] = [{ id: 'a' }, { id: 'b' }];

	/** A live list over a server that sends ITEMS on connect; `peer` pushes more frames. */
	async function liveList(options: Partial<WebSocketOptions<unknown>> = {}) {
		const server = await startServer({
			onConnection: (peer) => peer.socket.send(JSON.stringify(ITEMS))
		});
		const errors: unknown[] = [];
		const source = createLiveSource<Item>({
			transport: websocket({ url: server.url, ...options }),
			env,
			onError: (error) => errors.push(error)
		});
		cleanups.push(() => {
			source.stop();
			source.store.dispose();
		});
		source.start();
		await vi.waitFor(() => expect(source.store.getSnapshot().items).toEqual(ITEMS));
		const peer = await server.peer();
		return { source, errors, peer, items: () => source.store.getSnapshot().items };
	}

	it('S11 a frame "[]" (a JSON string) is parsed once: dropped as a bad shape and reported, the list intact; a frame [] is a snapshot', async () => {
		const { source, errors, peer, items } = await liveList();
		peer.socket.send(JSON.stringify('[]'));
		await vi.waitFor(() => expect(source.store.getSnapshot().dropped).toBe(1));
		source.store.flush();
		expect(items()).toEqual(ITEMS);
		expect(errors).toHaveLength(1);
		expect(errors[0]).toBeInstanceOf(DecodeError);
		expect((errors[0] as DecodeError).message).toBe(
			text.badShape(undefined, 'an array or an object')
		);
		expect(source.connection.getSnapshot().status).toBe('live');

		peer.socket.send('[]');
		await vi.waitFor(() => expect(items()).toEqual([]));
		expect(errors).toHaveLength(1);
	});

	it('S11 a text frame that is not JSON reaches the store, which reports it as invalid JSON; the socket stays open', async () => {
		const { source, errors, peer, items } = await liveList();
		peer.socket.send('{"id": "c", ');
		await vi.waitFor(() => expect(errors).toHaveLength(1));
		expect((errors[0] as DecodeError).message).toBe(text.invalidJson(undefined));
		expect(source.store.getSnapshot().dropped).toBe(1);
		peer.socket.send(JSON.stringify({ id: 'c' }));
		await vi.waitFor(() => expect(items()).toHaveLength(3));
		expect(source.connection.getSnapshot().status).toBe('live');
	});

	it('S32 a frame over maxMessageSize is counted and reported by the store; the list and the socket stay', async () => {
		const { source, errors, peer, items } = await liveList({ maxMessageSize: 100 });
		peer.socket.send(JSON.stringify([{ id: 'x', title: 'y'.repeat(200) }]));
		await vi.waitFor(() => expect(errors).toHaveLength(1));
		expect(errors[0]).toBeInstanceOf(DecodeError);
		expect((errors[0] as DecodeError).message).toMatch(/over the limit of 100/);
		await vi.waitFor(() => expect(source.store.getSnapshot().dropped).toBe(1));
		expect(items()).toEqual(ITEMS);
		peer.socket.send(JSON.stringify({ id: 'c' }));
		await vi.waitFor(() => expect(items()).toHaveLength(3));
		expect(source.connection.getSnapshot().status).toBe('live');
		expect(peer.socket.readyState).toBe(WebSocket.OPEN);
	});

	it('S30 a decode that throws drops the frame, counted by the store; the socket stays live', async () => {
		const { source, errors, peer, items } = await liveList({
			decode: (data) => {
				if (data === 'boom') throw new Error('unreadable');
				return JSON.parse(String(data)) as unknown;
			}
		});
		peer.socket.send('boom');
		await vi.waitFor(() => expect(errors).toHaveLength(1));
		expect((errors[0] as DecodeError).message).toBe(text.undecodable(new Error('unreadable')));
		peer.socket.send(JSON.stringify({ id: 'c' }));
		await vi.waitFor(() => expect(items()).toHaveLength(3));
		expect(source.connection.getSnapshot().status).toBe('live');
	});
});
