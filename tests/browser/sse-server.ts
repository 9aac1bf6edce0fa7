// A real SSE server on 127.0.0.1 for the browser tests (the browser's own EventSource talks to it).
import { createServer, type ServerResponse } from 'node:http';
import type { TestProject } from 'vitest/node';

interface Session {
	requests: Array<{ lastEventIdParam: string | null; lastEventIdHeader: string | null }>;
	open: Set<ServerResponse>;
	/** Requests per path. */
	hits: Record<string, number>;
}

/** The id `/unicode-id` sends: Cyrillic, CJK and an emoji (four UTF-8 bytes). */
const UNICODE_ID = 'ключ-日本-😀';

declare module 'vitest' {
	export interface ProvidedContext {
		sseOrigin: string;
	}
}

export default async function setup(project: TestProject) {
	const sessions = new Map<string, Session>();
	const session = (id: string) => {
		let s = sessions.get(id);
		if (!s) sessions.set(id, (s = { requests: [], open: new Set(), hits: {} }));
		return s;
	};
	const server = createServer((req, res) => {
		const url = new URL(req.url ?? '/', 'http://127.0.0.1');
		res.setHeader('Access-Control-Allow-Origin', '*');
		// Cross-origin, a page reads Retry-After only when the server exposes it.
		res.setHeader('Access-Control-Expose-Headers', 'Retry-After');
		const s = session(url.searchParams.get('session') ?? 'default');
		s.hits[url.pathname] = (s.hits[url.pathname] ?? 0) + 1;
		const hold = () => {
			s.open.add(res);
			res.on('close', () => s.open.delete(res));
		};
		switch (url.pathname) {
			case '/stream': {
				s.requests.push({
					lastEventIdParam: url.searchParams.get('lastEventId'),
					lastEventIdHeader: req.headers['last-event-id']?.toString() ?? null
				});
				res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' });
				s.open.add(res);
				res.on('close', () => s.open.delete(res));
				const round = s.requests.length;
				if (round === 1) {
					res.write('retry: 50\n\n');
					res.write(
						`id: 1\nevent: snapshot\ndata: ${JSON.stringify([{ id: 'a', title: 'Alpha', version: 1 }])}\n\n`
					);
					res.write('event: heartbeat\ndata: \n\n');
					res.write(`data: ${JSON.stringify({ id: 'b', title: 'Beta', version: 1 })}\n\n`);
					res.write(
						`id: 2\nevent: upsert\ndata: ${JSON.stringify({ id: 'a', title: 'Alpha 2', version: 2 })}\n\n`
					);
					// A partial event, then the end: the browser must not dispatch it.
					res.end('id: 3\ndata: {"id":"x","title":"cut off"');
				} else {
					res.write(
						`id: 3\nevent: upsert\ndata: ${JSON.stringify({ id: 'c', title: 'Gamma', version: 1 })}\n\n`
					);
				}
				return;
			}
			case '/unicode-id': {
				// A non-ASCII id, then the end; the reconnect's query parameter must carry it back.
				s.requests.push({
					lastEventIdParam: url.searchParams.get('lastEventId'),
					lastEventIdHeader: req.headers['last-event-id']?.toString() ?? null
				});
				res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' });
				if (s.requests.length > 1) return hold();
				return res.end(`id: ${UNICODE_ID}\nevent: upsert\ndata: {"id":"u","version":1}\n\n`);
			}
			case '/bytes': {
				// The chunks of `c` (base64url, separated by "."), written one by one, then the end.
				res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' });
				const chunks = (url.searchParams.get('c') ?? '')
					.split('.')
					.filter(Boolean)
					.map((chunk) => Buffer.from(chunk, 'base64url'));
				void (async () => {
					for (const chunk of chunks) {
						if (res.destroyed) return;
						res.write(chunk);
						await new Promise((resolve) => setTimeout(resolve, 1));
					}
					res.end();
				})();
				return;
			}
			case '/big': {
				// An event of more than `size` characters, then a small one; then the stream stays open.
				res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' });
				const size = Number(url.searchParams.get('size'));
				const big = JSON.stringify({ id: 'big', version: 1, pad: 'x'.repeat(size) });
				res.write(`id: big\nevent: upsert\ndata: ${big}\n\n`);
				res.write('event: upsert\ndata: {"id":"small","version":1}\n\n');
				return hold();
			}
			case '/hang':
				// No answer at all, not even headers.
				return hold();
			case '/unauthorized':
				res.writeHead(401, { 'content-type': 'text/plain' });
				return res.end('sign in first');
			case '/nocontent':
				res.writeHead(204);
				return res.end();
			case '/busy':
				res.writeHead(503, { 'content-type': 'text/plain', 'retry-after': '1' });
				return res.end('busy');
			case '/stats':
				res.writeHead(200, { 'content-type': 'application/json' });
				return res.end(JSON.stringify({ requests: s.requests, open: s.open.size, hits: s.hits }));
			case '/missing':
				res.writeHead(404, { 'content-type': 'text/plain' });
				return res.end('not here');
			case '/portal':
				res.writeHead(200, { 'content-type': 'text/html' });
				return res.end('<html>Sign in to the Wi-Fi</html>');
			default:
				res.writeHead(404);
				res.end();
		}
	});
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	const address = server.address();
	if (!address || typeof address === 'string') throw new Error('no address');
	project.provide('sseOrigin', `http://127.0.0.1:${address.port}`);
	return async () => {
		server.closeAllConnections();
		await new Promise((resolve) => server.close(resolve));
	};
}
