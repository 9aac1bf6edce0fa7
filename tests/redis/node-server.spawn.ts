// Starting test server nodes (node-server.js) as child processes, and a raw SSE reader that
// records every event it gets, for the Redis fault tests.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { createClient } from 'redis';
import { buildServer } from './setup/build-server.js';

const script = join(import.meta.dirname, 'node-server.js');
const READY = /^ready (\d+)$/m;

export interface ServerNode {
	readonly name: string;
	readonly port: number;
	/** `http://127.0.0.1:<port>` */
	readonly origin: string;
	readonly process: ChildProcess;
	/** Everything the process printed (stdout and stderr), for checks and failure messages. */
	readonly output: string;
	readonly exited: boolean;
	/** SIGKILL, as a crash; resolves once the process is gone. */
	kill(): Promise<void>;
}

const children = new Set<ChildProcess>();
let exitHook = false;

/**
 * Vitest ends its workers with signals, which skip 'exit' handlers: a shell per child waits on a
 * pipe from this process and kills the child when the pipe closes, however this process went.
 */
function guard(child: ChildProcess) {
	children.add(child);
	const watchdog = spawn(
		'/bin/sh',
		['-c', 'read _; kill -9 "$1" 2>/dev/null', 'sh', String(child.pid)],
		{
			stdio: ['pipe', 'ignore', 'ignore']
		}
	);
	watchdog.on('error', () => {});
	watchdog.unref();
	(watchdog.stdin as unknown as { unref?: () => void } | null)?.unref?.();
	child.once('exit', () => {
		children.delete(child);
		watchdog.kill('SIGKILL');
	});
	if (exitHook) return;
	exitHook = true;
	process.on('exit', () => {
		for (const c of children) c.kill('SIGKILL');
	});
}

/** Kills every node still running (for afterEach/afterAll). */
export async function killAllNodes(): Promise<void> {
	await Promise.all(
		[...children].map(
			(child) =>
				new Promise<void>((resolve) => {
					child.once('exit', () => resolve());
					child.kill('SIGKILL');
				})
		)
	);
}

/** A fresh directory for a shared SQLite file; removed at exit. */
export function sharedDb(): string {
	const dir = mkdtempSync(join(tmpdir(), 'srk-nodes-'));
	process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
	return join(dir, 'items.db');
}

/** Starts a node and resolves once it printed its ready line. */
export async function startNode(
	name: string,
	env: { REDIS_URL: string; DB_PATH: string } & Record<string, string>,
	options: { healthy?: boolean } = {}
): Promise<ServerNode> {
	const kit = await buildServer();
	const child = spawn(process.execPath, [script], {
		env: { ...process.env, PORT: '0', KIT_DIR: kit, ...env },
		stdio: ['ignore', 'pipe', 'pipe']
	});
	guard(child);
	let output = '';
	const port = await new Promise<number>((resolve, reject) => {
		const timer = setTimeout(() => fail('was not ready within 15 s'), 15_000);
		const onData = (chunk: Buffer) => {
			output += chunk;
			const match = READY.exec(output);
			if (match) {
				clearTimeout(timer);
				child.off('exit', onExit);
				resolve(Number(match[1]));
			}
		};
		const onExit = (code: number | null, signal: string | null) =>
			fail(`exited (${signal ?? code}) before it was ready`);
		const fail = (why: string) => {
			clearTimeout(timer);
			child.kill('SIGKILL');
			reject(new Error(`node ${name} ${why}:\n${output}`));
		};
		child.stdout!.on('data', onData);
		child.stderr!.on('data', onData);
		child.once('exit', onExit);
	});
	const done = new Promise<void>((resolve) => child.once('exit', () => resolve()));
	// It listens before its log is ready (and answers 503 meanwhile): wait for that too.
	if (options.healthy !== false) {
		const until = Date.now() + 15_000;
		for (;;) {
			const response = await fetch(`http://127.0.0.1:${port}/health`).catch(() => undefined);
			await response?.body?.cancel();
			if (response?.ok) break;
			if (Date.now() > until)
				throw new Error(`node ${name} was not healthy within 15 s:\n${output}`);
			await new Promise((resolve) => setTimeout(resolve, 25));
		}
	}
	return {
		name,
		port,
		origin: `http://127.0.0.1:${port}`,
		process: child,
		get output() {
			return output;
		},
		get exited() {
			return child.exitCode !== null || child.signalCode !== null;
		},
		async kill() {
			child.kill('SIGKILL');
			await done;
		}
	};
}

/** POSTs /write?n=K; resolves with the events the node appended (some, if it failed midway). */
export async function write(
	node: ServerNode,
	n: number
): Promise<{ ok: boolean; events: Array<{ id: string; event: string; data: Item }> }> {
	const response = await fetch(`${node.origin}/write?n=${n}`, { method: 'POST' });
	const body = (await response.json()) as {
		events: Array<{ id: string; event: string; data: Item }>;
	};
	return { ok: response.ok, events: body.events ?? [] };
}

export interface Item {
	id: string;
	version: number;
}

export const getList = async (node: ServerNode): Promise<Item[]> =>
	(await fetch(`${node.origin}/list`)).json() as Promise<Item[]>;

/** A small seeded PRNG (mulberry32): the same seed gives the same cuts. */
export function prng(seed: number) {
	let a = seed >>> 0;
	const next = () => {
		a = (a + 0x6d2b79f5) >>> 0;
		let t = a;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
	/** An integer in [min, max]. */
	const int = (min: number, max: number) => min + Math.floor(next() * (max - min + 1));
	return { next, int };
}

/** The events of the log as Redis holds them (markers left out), with the kit's wire ids. */
export async function streamEvents(
	url: string,
	key: string
): Promise<Array<{ id: string; event?: string; data: unknown }>> {
	const client = createClient({ url, socket: { reconnectStrategy: false } });
	client.on('error', () => {});
	await client.connect();
	try {
		const epoch = String(await client.sendCommand(['GET', `${key}:epoch`]));
		const entries = (await client.sendCommand(['XRANGE', key, '-', '+'])) as Array<
			[string, string[]]
		>;
		const events = [];
		for (const [id, flat] of entries) {
			const fields = new Map<string, string>();
			for (let i = 0; i + 1 < flat.length; i += 2) fields.set(String(flat[i]), String(flat[i + 1]));
			if (fields.has('m')) continue;
			events.push({
				id: `${epoch}:${id}`,
				event: fields.has('r') ? 'resync' : fields.get('n'),
				data: fields.has('d') ? JSON.parse(fields.get('d')!) : undefined
			});
		}
		return events;
	} finally {
		client.destroy();
	}
}

export interface RawEvent {
	id: string | undefined;
	event: string;
	data: string;
}

/** One stream attempt of a raw reader: what it got, and how it ended. */
export interface RawAttempt {
	node: string;
	status: number;
	retryAfter: string | null;
	lastEventId: string | undefined;
	events: RawEvent[];
	end: 'done' | 'error' | 'cut' | 'refused';
}

/**
 * Opens one SSE stream with fetch and eventsource-parser, recording every event but pings;
 * `cutAfter` aborts it after that many events (a client going away mid-stream). Resolves when the
 * stream ends, fails, or is cut. `stop` aborts it from outside.
 */
export function openRaw(
	node: ServerNode,
	options: {
		lastEventId?: string;
		query?: string;
		cutAfter?: number;
		onEvent?: (event: RawEvent) => void;
		signal?: AbortSignal;
	} = {}
): Promise<RawAttempt> {
	const controller = new AbortController();
	const abort = () => controller.abort();
	if (options.signal?.aborted) controller.abort();
	options.signal?.addEventListener('abort', abort, { once: true });
	const attempt: RawAttempt = {
		node: node.name,
		status: 0,
		retryAfter: null,
		lastEventId: options.lastEventId,
		events: [],
		end: 'done'
	};
	let cut = false;
	const parser = createParser({
		onEvent(message: EventSourceMessage) {
			if (cut || message.event === 'ping') return;
			const event = { id: message.id, event: message.event ?? 'message', data: message.data };
			attempt.events.push(event);
			options.onEvent?.(event);
			if (options.cutAfter !== undefined && attempt.events.length >= options.cutAfter) {
				cut = true;
				controller.abort();
			}
		}
	});
	return (async () => {
		try {
			const headers: Record<string, string> = {};
			if (options.lastEventId !== undefined) headers['Last-Event-ID'] = options.lastEventId;
			const response = await fetch(`${node.origin}/stream${options.query ?? ''}`, {
				headers,
				signal: controller.signal
			});
			attempt.status = response.status;
			attempt.retryAfter = response.headers.get('retry-after');
			if (!response.ok || !response.body) {
				await response.body?.cancel();
				return attempt;
			}
			const decoder = new TextDecoder();
			for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
				parser.feed(decoder.decode(chunk, { stream: true }));
				if (cut) break;
			}
			attempt.end = cut ? 'cut' : 'done';
		} catch {
			attempt.end = cut ? 'cut' : attempt.status === 0 ? 'refused' : 'error';
		} finally {
			// Many attempts share one outside signal: leave no listener on it.
			options.signal?.removeEventListener('abort', abort);
		}
		return attempt;
	})();
}
