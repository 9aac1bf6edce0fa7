// `vite build` ends with "Run npm run preview to preview your production build locally": that
// server must serve the demo too (the database opened on start, socket.io on its port).
import { io } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signIn, startPreview, tempDatabase, type DemoServer } from './server.js';

describe('npm run preview', () => {
	let server: DemoServer;
	const database = tempDatabase();
	beforeAll(async () => {
		server = await startPreview(database.path);
	});
	afterAll(async () => {
		await server?.kill();
		database.remove();
	});

	it('answers 200 on /activity with the list, and the API, the stream and the socket work', async () => {
		const cookie = `demo_user=${await signIn(server.origin, 'Ada')}`;
		const page = await fetch(`${server.origin}/activity`, { headers: { cookie } });
		expect(page.status).toBe(200);
		expect(await page.text()).toContain('Ship the release notes');
		for (const query of ['?transport=sse', '?transport=polling', '?transport=socket.io'])
			expect(
				(await fetch(`${server.origin}/activity${query}`, { headers: { cookie } })).status
			).toBe(200);
		expect((await fetch(`${server.origin}/api/tasks`, { headers: { cookie } })).status).toBe(200);
		const stream = await fetch(`${server.origin}/api/tasks/stream`, { headers: { cookie } });
		expect(stream.headers.get('content-type')).toContain('text/event-stream');
		await stream.body?.cancel();

		const socket = io(`${server.origin}/realtime`, {
			transports: ['websocket'],
			extraHeaders: { cookie },
			reconnection: false
		});
		try {
			const snapshot = await new Promise<unknown[]>((resolve, reject) => {
				socket.once('task:snapshot', resolve);
				socket.once('connect_error', reject);
			});
			expect(snapshot).toHaveLength(7);
		} finally {
			socket.close();
		}
	});

	it('serves the favicon the pages link to', async () => {
		const html = await (await fetch(`${server.origin}/signin`)).text();
		const href = /<link rel="icon" href="([^"]+)"/.exec(html)?.[1];
		expect(href).toBeDefined();
		const icon = await fetch(new URL(href!, `${server.origin}/signin`));
		expect(icon.status).toBe(200);
		expect(icon.headers.get('content-type')).toContain('image/svg+xml');
		expect(await icon.text()).toContain('<svg');
	});
});
