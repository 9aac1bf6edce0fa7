// A real SSE server on 127.0.0.1 for the browser tests (the browser's own EventSource talks to it).
import { createServer, type ServerResponse } from 'node:http';
import type { TestProject } from 'vitest/node';

interface Session {
	requests: Array<{ lastEventIdParam: string | null; lastEventIdHeader: string | null }>;
	open: Set<ServerResponse>;
}

declare module 'vitest' {
	export interface ProvidedContext {
		sseOrigin: string;
	}
}

export default async function setup(project: TestProject) {
	const sessions = new Map<string, Session>();
	const session = (id: string) => {
		let s = sessions.get(id);
		if (!s) sessions.set(id, (s = { requests: [], open: new Set() }));
		return s;
	};
	const server = createServer((req, res) => {
		const url = new URL(req.url ?? '/', 'http://127.0.0.1');
		res.setHeader('Access-Control-Allow-Origin', '*');
		const s = session(url.searchParams.get('session') ?? 'default');
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
			case '/stats':
				res.writeHead(200, { 'content-type': 'application/json' });
				return res.end(JSON.stringify({ requests: s.requests, open: s.open.size }));
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
