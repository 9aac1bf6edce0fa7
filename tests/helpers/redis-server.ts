// Real redis-server processes for the Redis tests: each on a free port of 127.0.0.1, in its own
// temporary directory, without persistence (a restart comes back empty, as a Redis without disks
// does after a crash), killed when the test process exits.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from 'redis';
import { findRedisServer, missingRedisServerMessage } from '../../scripts/redis.js';

export interface RedisServer {
	/** `redis://127.0.0.1:<port>` */
	readonly url: string;
	readonly port: number;
	/** The running process (a new one after `restart()`). */
	readonly process: ChildProcess;
	/** SIGTERM, then SIGKILL if it has not exited after 3 s; removes its directory. */
	stop(): Promise<void>;
	/** SIGKILL, as a crash: nothing is saved (nothing would be anyway). */
	kill(): Promise<void>;
	/** Kills the server and starts a new, empty one on the same port. */
	restart(): Promise<void>;
	/**
	 * Runs one command on a connection of its own, e.g. `cli('DBSIZE')`. The reply as redis-cli
	 * prints it without decoration: strings and numbers as text, nil as '', arrays one per line.
	 */
	cli(...args: string[]): Promise<string>;
}

const READY = /Ready to accept connections/;
const START_TIMEOUT_MS = 10_000;
const STOP_GRACE_MS = 3_000;

// Every child and directory still alive, for the exit handler: a test that fails before its
// afterAll must not leave servers behind.
const live = new Set<ChildProcess>();
const dirs = new Set<string>();
let exitHandler = false;
function track(child: ChildProcess, dir: string) {
	live.add(child);
	dirs.add(dir);
	const watchdog = watch(child, dir);
	child.once('exit', () => {
		live.delete(child);
		watchdog?.kill('SIGKILL');
	});
	if (exitHandler) return;
	exitHandler = true;
	process.on('exit', () => {
		for (const c of live) c.kill('SIGKILL');
		for (const d of dirs) rmSync(d, { recursive: true, force: true });
	});
}

/**
 * 'exit' handlers do not run when the process is ended by a signal, and Vitest ends its forks with
 * SIGTERM (SIGKILL 500 ms later). So a shell per server waits on a pipe from this process: when
 * this process is gone, however it went, the pipe closes and the shell kills the server and
 * removes its directory.
 */
function watch(child: ChildProcess, dir: string): ChildProcess | undefined {
	if (child.pid === undefined) return undefined;
	const script = 'read _; kill -9 "$1" 2>/dev/null; rm -rf "$2"';
	const watchdog = spawn('/bin/sh', ['-c', script, 'sh', String(child.pid), dir], {
		stdio: ['pipe', 'ignore', 'ignore']
	});
	watchdog.on('error', () => {
		// No /bin/sh: the exit handler still covers normal exits.
	});
	// Neither the shell nor its pipe keeps this process running.
	watchdog.unref();
	(watchdog.stdin as unknown as { unref?: () => void } | null)?.unref?.();
	return watchdog;
}

/** A port nothing listens on at the moment on 127.0.0.1. */
export function freePort(): Promise<number> {
	return new Promise((resolve, reject) => {
		const server = createServer();
		server.once('error', reject);
		server.listen(0, '127.0.0.1', () => {
			const address = server.address();
			server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
		});
	});
}

const exited = (child: ChildProcess) => child.exitCode !== null || child.signalCode !== null;

function waitExit(child: ChildProcess): Promise<void> {
	if (exited(child)) return Promise.resolve();
	return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** Starts redis-server on `port` and resolves once it accepts connections. */
function spawnServer(binary: string, port: number, dir: string): Promise<ChildProcess> {
	// The arguments come as separate argv entries (no shell): `--save ''` is an empty argument.
	const args = [
		'--port',
		String(port),
		'--bind',
		'127.0.0.1',
		'--save',
		'',
		'--appendonly',
		'no',
		'--daemonize',
		'no',
		'--protected-mode',
		'yes',
		'--dir',
		dir
	];
	const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
	track(child, dir);
	let output = '';
	return new Promise((resolve, reject) => {
		const onOutput = (chunk: Buffer) => {
			output += chunk;
			if (READY.test(output)) done();
		};
		const onError = (error: Error) => fail(`could not be started (${error.message})`);
		// 'close', not 'exit': by then all of its output (the reason it stopped) has been read.
		const onExit = (code: number | null, signal: NodeJS.Signals | null) =>
			fail(`exited (${signal ?? code}) before it was ready`);
		const timer = setTimeout(
			() => fail(`was not ready within ${START_TIMEOUT_MS / 1000} s`),
			START_TIMEOUT_MS
		);
		const settle = () => {
			clearTimeout(timer);
			child.stdout!.off('data', onOutput);
			child.stderr!.off('data', onOutput);
			child.off('error', onError);
			child.off('close', onExit);
			// Its later log lines are not needed; keep reading so the pipes never fill up.
			child.stdout!.resume();
			child.stderr!.resume();
			// A failed kill later on must not become an uncaught 'error'.
			child.on('error', () => {});
		};
		const done = () => {
			settle();
			resolve(child);
		};
		const fail = (why: string) => {
			settle();
			child.kill('SIGKILL');
			reject(new Error(`redis-server on port ${port} ${why}:\n${output}`));
		};
		child.stdout!.on('data', onOutput);
		child.stderr!.on('data', onOutput);
		child.once('error', onError);
		child.once('close', onExit);
	});
}

/** Formats a RESP reply the way redis-cli's raw output does. */
function format(reply: unknown): string {
	if (reply === null || reply === undefined) return '';
	if (Array.isArray(reply)) return reply.map(format).join('\n');
	if (Buffer.isBuffer(reply)) return reply.toString();
	// RESP3 maps (CONFIG GET, HGETALL): key and value lines, as redis-cli prints them.
	if (reply instanceof Map) return [...reply].flat().map(format).join('\n');
	if (typeof reply === 'object') return Object.entries(reply).flat().map(format).join('\n');
	return String(reply);
}

/**
 * A fresh redis-server. Without `port`, on a free one (another free port is tried if someone
 * takes it first). Throws how to install one when there is no redis-server.
 */
export async function startRedis(options: { port?: number } = {}): Promise<RedisServer> {
	const binary = findRedisServer();
	if (!binary) throw new Error(missingRedisServerMessage());
	const dir = mkdtempSync(join(tmpdir(), 'srk-redis-'));

	let port = options.port ?? 0;
	let child: ChildProcess | undefined;
	for (let attempt = 1; !child; attempt++) {
		const chosen = options.port ?? (await freePort());
		try {
			child = await spawnServer(binary, chosen, dir);
			port = chosen;
		} catch (error) {
			// freePort's port may be taken between its close and redis-server's bind.
			const taken = error instanceof Error && /Address already in use/.test(error.message);
			if (options.port !== undefined || !taken || attempt >= 3) {
				rmSync(dir, { recursive: true, force: true });
				dirs.delete(dir);
				throw error;
			}
		}
	}

	let current: ChildProcess = child;
	const kill = async () => {
		current.kill('SIGKILL');
		await waitExit(current);
	};
	return {
		url: `redis://127.0.0.1:${port}`,
		port,
		get process() {
			return current;
		},
		async stop() {
			const timer = setTimeout(() => current.kill('SIGKILL'), STOP_GRACE_MS);
			current.kill('SIGTERM');
			await waitExit(current);
			clearTimeout(timer);
			rmSync(dir, { recursive: true, force: true });
			dirs.delete(dir);
		},
		kill,
		async restart() {
			await kill();
			current = await spawnServer(binary, port, dir);
		},
		async cli(...args: string[]) {
			if (args.length === 0) throw new Error('cli() needs a command, e.g. cli("PING")');
			const client = createClient({
				url: `redis://127.0.0.1:${port}`,
				// One attempt: a server that is down is an answer, not something to wait out.
				socket: { reconnectStrategy: false, connectTimeout: 2_000 }
			});
			client.on('error', () => {
				// Reported through the rejected connect/sendCommand instead.
			});
			await client.connect();
			try {
				return format(await client.sendCommand(args));
			} finally {
				client.destroy();
			}
		}
	};
}
