// The two-way adapters in Chromium against MSW's WebSocket interception (`ws.link`), as an app's
// own tests would use them.
import { toSocketIo } from '@mswjs/socket.io-binding';
import { ws } from 'msw';
import { setupWorker } from 'msw/browser';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLiveSource, websocket, type LiveSourceHandle } from '../../src/lib/core/index.js';

interface Task {
	id: string;
	title: string;
	done: boolean;
	version: number;
}
const tasks: Task[] = [
	{ id: 'a', title: 'Alpha', done: false, version: 1 },
	{ id: 'b', title: 'Beta', done: false, version: 1 }
];

const plain = ws.link('wss://realtime.test/tasks');
const io = ws.link('wss://realtime.test/*');
const received: unknown[] = [];
let refuse = false;

const worker = setupWorker(
	plain.addEventListener('connection', ({ client }) => {
		client.send(JSON.stringify({ type: 'snapshot', items: tasks }));
		client.addEventListener('message', (event) => {
			const message = JSON.parse(String(event.data));
			received.push(message);
			if (message.type !== 'mutation') return;
			if (refuse) {
				client.send(
					JSON.stringify({ type: 'ack', ref: message.ref, ok: false, error: 'conflict' })
				);
				return;
			}
			const item = { ...message.item, version: message.item.version + 1 };
			client.send(JSON.stringify({ type: 'ack', ref: message.ref, ok: true, result: item }));
		});
	})
);

let live: LiveSourceHandle<Task> | undefined;
beforeAll(async () => {
	await worker.start({ quiet: true, onUnhandledRequest: 'bypass' });
});
afterEach(() => {
	live?.stop();
	worker.resetHandlers();
	received.length = 0;
	refuse = false;
});
afterAll(() => worker.stop());

describe('websocket() against MSW ws.link', () => {
	it('receives the snapshot and confirms a toggle by its ack', async () => {
		live = createLiveSource<Task>({
			transport: websocket({ url: 'wss://realtime.test/tasks' }),
			version: (t) => t.version
		});
		live.start();
		await expect.poll(() => live!.store.getSnapshot().items.length).toBe(2);
		expect(live.connection.getSnapshot()).toMatchObject({
			status: 'live',
			transport: 'websocket',
			bidirectional: true
		});
		await live.store.toggle('a');
		live.store.flush();
		expect(live.store.getSnapshot().rows[0]).toMatchObject({
			status: 'settled',
			item: { done: true, version: 2 }
		});
		expect(received).toEqual([
			expect.objectContaining({ type: 'mutation', key: 'a', ref: expect.any(String) })
		]);
	});

	it('S18 a refused toggle rolls back and is marked failed', async () => {
		refuse = true;
		live = createLiveSource<Task>({ transport: websocket({ url: 'wss://realtime.test/tasks' }) });
		live.start();
		await expect.poll(() => live!.store.getSnapshot().items.length).toBe(2);
		await expect(live.store.toggle('b')).rejects.toThrow(/conflict/);
		live.store.flush();
		expect(live.store.getSnapshot().rows[1]).toMatchObject({
			status: 'failed',
			item: { done: false }
		});
	});

	it('S05 a socket the mock closes is reconnected by the engine', async () => {
		let connections = 0;
		worker.use(
			plain.addEventListener('connection', ({ client }) => {
				connections++;
				client.send(JSON.stringify({ type: 'snapshot', items: tasks }));
				if (connections === 1) queueMicrotask(() => client.close(1011, 'restart'));
			})
		);
		live = createLiveSource<Task>({
			transport: websocket({ url: 'wss://realtime.test/tasks' }),
			retry: { baseDelay: 20, minDelay: 10 }
		});
		live.start();
		await expect.poll(() => connections).toBeGreaterThanOrEqual(2);
		await expect.poll(() => live!.connection.getSnapshot().status).toBe('live');
	});
});

describe('socketIo() against MSW with @mswjs/socket.io-binding', () => {
	it('receives events and its emits reach the mock', async () => {
		const emitted: unknown[] = [];
		worker.use(
			io.addEventListener('connection', (connection) => {
				const server = toSocketIo(connection);
				// After the client joined the namespace (the binding completes the handshake first).
				setTimeout(() => server.client.emit('task:snapshot', tasks), 20);
				server.client.on('task:update', (_event, data) => {
					emitted.push(data);
					server.client.emit('task:sync', { ...(data as Task), version: 2 });
				});
			})
		);
		// socket.io-client captures WebSocket when it loads: load it after the worker started.
		const { socketIo } = await import('../../src/lib/socket.io/index.js');
		live = createLiveSource<Task>({
			transport: socketIo({ url: 'wss://realtime.test', options: { transports: ['websocket'] } }),
			version: (t) => t.version
		});
		live.start();
		await expect
			.poll(() => {
				const { status, error } = live!.connection.getSnapshot();
				return `${status} ${error?.message ?? ''}`;
			})
			.toBe('live ');
		await expect
			.poll(() => live!.store.getSnapshot().items.map((t) => t.title))
			.toEqual(['Alpha', 'Beta']);
		expect(live.connection.getSnapshot()).toMatchObject({ status: 'live', transport: 'socket.io' });
		await live.connection.send({ id: 'a', title: 'Alpha, renamed', done: false, version: 1 });
		await expect.poll(() => emitted).toHaveLength(1);
		await expect
			.poll(() => live!.store.getSnapshot().items.find((t) => t.id === 'a')?.title)
			.toBe('Alpha, renamed');
	});
});
