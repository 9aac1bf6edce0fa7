// The harness the Redis suites stand on: a real redis-server that answers node-redis, keeps to its
// own port, comes back empty from a restart on the same port, and is gone once stopped.
import { createClient } from 'redis';
import { afterAll, describe, expect, it } from 'vitest';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';

const servers: RedisServer[] = [];
afterAll(async () => {
	await Promise.all(servers.map((server) => server.stop()));
});

async function start(options?: { port?: number }) {
	const server = await startRedis(options);
	servers.push(server);
	return server;
}

async function connect(url: string) {
	const client = createClient({ url, socket: { reconnectStrategy: false } });
	client.on('error', () => {
		// A dropped connection shows as a rejected command in the test that caused it.
	});
	await client.connect();
	return client;
}

describe('startRedis', () => {
	it('serves node-redis on 127.0.0.1, and a restart on the same port comes back empty', async () => {
		const server = await start();
		expect(server.url).toBe(`redis://127.0.0.1:${server.port}`);

		const client = await connect(server.url);
		await client.set('greeting', 'hello');
		expect(await client.get('greeting')).toBe('hello');
		expect(await server.cli('GET', 'greeting')).toBe('hello');
		// Nothing written to disk, whatever happens to the process.
		expect(await server.cli('CONFIG', 'GET', 'save')).toBe('save\n');
		expect(await server.cli('CONFIG', 'GET', 'appendonly')).toBe('appendonly\nno');
		client.destroy();

		const before = server.process.pid;
		await server.restart();
		expect(server.process.pid).not.toBe(before);

		const again = await connect(server.url);
		expect(await again.get('greeting')).toBeNull();
		expect(await again.dbSize()).toBe(0);
		again.destroy();
	});

	it('gives each server its own port and data', async () => {
		const [a, b] = await Promise.all([start(), start()]);
		expect(a.port).not.toBe(b.port);
		await a.cli('SET', 'only-on', 'a');
		expect(await a.cli('GET', 'only-on')).toBe('a');
		expect(await b.cli('GET', 'only-on')).toBe('');
	});

	it('refuses a port that is taken, with the server output in the error', async () => {
		const first = await start();
		await expect(startRedis({ port: first.port })).rejects.toThrow(/Address already in use/);
	});

	it('is gone after stop(): the process exited and the port refuses connections', async () => {
		const server = await startRedis();
		await server.stop();
		expect(server.process.exitCode !== null || server.process.signalCode !== null).toBe(true);
		await expect(server.cli('PING')).rejects.toThrow(/ECONNREFUSED/);
	});

	it('kill() ends the process at once, and restart() brings it back', async () => {
		const server = await start();
		await server.kill();
		expect(server.process.signalCode).toBe('SIGKILL');
		await expect(server.cli('PING')).rejects.toThrow(/ECONNREFUSED/);
		await server.restart();
		expect(await server.cli('PING')).toBe('PONG');
	});
});
