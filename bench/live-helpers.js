// Shared by P6–P9: Fetch-API responses (the kit's `sseResponse`) served from node:http with a
// handle per response that lets a benchmark silence or cut that one stream, a seeded RNG, waiting
// for a condition, per-server byte counting, the kit's env for Node and task records.
import { performance } from 'node:perf_hooks';
import { EventSource } from 'eventsource';
import { WebSocket } from 'ws';
import { sleep } from './lib.js';

/**
 * The kit's env for Node 20, which has neither EventSource nor WebSocket: the `eventsource` and
 * `ws` packages stand in for the browser's.
 * @param {{ createEnv: (overrides: object) => unknown }} core the kit's `core` entry
 */
export function nodeEnv(core) {
	return /** @type {any} */ (
		core.createEnv({
			EventSource: /** @type {any} */ (EventSource),
			WebSocket: /** @type {any} */ (WebSocket)
		})
	);
}

/** Task records for a snapshot. @param {number} count */
export function makeTasks(count) {
	return Array.from({ length: count }, (_, i) => ({
		id: `task-${i + 1}`,
		title: `Task ${i + 1}`,
		actor: 'ada',
		done: i % 3 === 0,
		updatedAt: 1_700_000_000_000 + i * 60_000,
		version: 1
	}));
}

/**
 * A Fetch `Request` for a node:http request. Its signal aborts when the response closes (the
 * client went away or the benchmark cut the socket), which ends an `sseResponse` stream.
 * @param {import('node:http').IncomingMessage} req
 * @param {import('node:http').ServerResponse} res
 */
export function toRequest(req, res) {
	const controller = new AbortController();
	res.on('close', () => controller.abort());
	/** @type {[string, string][]} */
	const headers = [];
	for (const [name, value] of Object.entries(req.headers)) {
		if (value === undefined) continue;
		for (const v of Array.isArray(value) ? value : [value]) headers.push([name, v]);
	}
	return new Request(`http://${req.headers.host ?? '127.0.0.1'}${req.url ?? '/'}`, {
		method: req.method,
		headers,
		signal: controller.signal
	});
}

/**
 * @typedef {{
 *   res: import('node:http').ServerResponse;
 *   url: URL;
 *   chunks: number;
 *   lastWriteAt: number | undefined;
 *   silent: boolean;
 *   closed: boolean;
 *   cut: (prefix?: Uint8Array) => void;
 * }} StreamHandle
 * One streamed response. `silent` drops every later chunk while the socket stays open (a
 * half-open stream); `cut()` writes an optional partial chunk and destroys the socket.
 */

/**
 * Writes a Fetch `Response` to a node:http response, chunk by chunk (each chunk of `sseResponse`
 * holds the frames written in one turn of the event loop, often one). `onChunk` runs before each chunk is written and may return false to
 * skip it (after cutting the stream, for instance).
 * @param {Response} response
 * @param {import('node:http').IncomingMessage} req
 * @param {import('node:http').ServerResponse} res
 * @param {{ onChunk?: (chunk: Uint8Array, handle: StreamHandle) => boolean | void }} [options]
 * @returns {StreamHandle}
 */
export function pipeResponse(response, req, res, { onChunk } = {}) {
	/** @type {StreamHandle} */
	const handle = {
		res,
		url: new URL(req.url ?? '/', 'http://127.0.0.1'),
		chunks: 0,
		lastWriteAt: undefined,
		silent: false,
		closed: false,
		cut(prefix) {
			if (handle.closed) return;
			handle.closed = true;
			if (prefix && prefix.length > 0) res.write(prefix);
			res.socket?.destroy();
		}
	};
	res.on('close', () => (handle.closed = true));
	/** @type {Record<string, string>} */
	const headers = {};
	response.headers.forEach((value, name) => (headers[name] = value));
	res.writeHead(response.status, headers);
	res.flushHeaders();
	handle.lastWriteAt = performance.now();
	const body = response.body;
	if (!body) {
		res.end();
		return handle;
	}
	const reader = body.getReader();
	// As SvelteKit's adapter-node does: a response whose connection closed cancels its body, which
	// ends an sseResponse stream even if the request's signal does not reach it.
	res.on('close', () => void reader.cancel().catch(() => {}));
	(async () => {
		try {
			for (;;) {
				const { done, value } = await reader.read();
				if (done) break;
				if (handle.closed) break;
				if (onChunk?.(value, handle) === false) continue;
				if (handle.closed || handle.silent) continue;
				handle.chunks++;
				handle.lastWriteAt = performance.now();
				res.write(value);
			}
			if (!handle.closed) res.end();
		} catch {
			res.destroy();
		}
	})();
	return handle;
}

/**
 * Resolves once `predicate()` is true; resolves to false after `timeoutMs`.
 * @param {() => boolean} predicate
 * @param {number} timeoutMs
 */
export async function waitFor(predicate, timeoutMs, stepMs = 5) {
	const end = performance.now() + timeoutMs;
	while (!predicate()) {
		if (performance.now() > end) return false;
		await sleep(stepMs);
	}
	return true;
}

/**
 * Counts the bytes a server's sockets read and wrote (requests and responses, headers included,
 * TCP/IP overhead excluded), for sockets still open and those already closed.
 * @param {import('node:http').Server} server
 */
export function countBytes(server) {
	/** @type {Set<import('node:net').Socket>} */
	const open = new Set();
	let closed = 0;
	let connections = 0;
	server.on('connection', (socket) => {
		connections++;
		open.add(socket);
		socket.on('close', () => {
			open.delete(socket);
			closed += socket.bytesRead + socket.bytesWritten;
		});
	});
	return {
		get total() {
			let sum = closed;
			for (const socket of open) sum += socket.bytesRead + socket.bytesWritten;
			return sum;
		},
		get connections() {
			return connections;
		}
	};
}

export { seededRandom } from './lib.js';
