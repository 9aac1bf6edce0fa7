// Starts the demo's production server (`src/demo/server.js` over the built app) or `vite preview`
// for a test, on a free port of 127.0.0.1, with its own database file, a known session secret
// (sessions survive a restart) and the fault switches' endpoint on.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The key the servers started here sign session cookies with. */
export const TEST_SECRET = 'test-secret-for-the-demo-servers';

export interface DemoServer {
	origin: string;
	database: string;
	process: ChildProcess;
	/** Ends the process with a signal and waits for it to exit. */
	kill(signal?: NodeJS.Signals): Promise<void>;
}

/** A fresh database directory; removed by the returned function. */
export function tempDatabase(): { path: string; remove(): void } {
	const dir = mkdtempSync(join(tmpdir(), 'srk-demo-'));
	return {
		path: join(dir, 'demo.db'),
		remove: () => rmSync(dir, { recursive: true, force: true })
	};
}

/**
 * `src/demo/server.js` over the built app. `env` adds to or overrides the server's variables
 * (`REDIS_URL` for a node of a cluster).
 */
export function startDemo(
	database: string,
	port = 0,
	env: Record<string, string> = {}
): Promise<DemoServer> {
	return start(['src/demo/server.js'], database, port, /Demo on (http:\/\/[\d.]+:\d+)\//, env);
}

/** `vite preview` (what `vite build` suggests) on a free port. */
export async function startPreview(database: string): Promise<DemoServer> {
	const port = await freePort();
	return start(
		[
			'node_modules/vite/bin/vite.js',
			'preview',
			'--host',
			'127.0.0.1',
			'--port',
			String(port),
			'--strictPort'
		],
		database,
		port,
		/Local:\s+(http:\/\/[\d.]+:\d+)\//
	);
}

// Servers still running when the test process exits (a test that failed before its afterAll).
const running = new Set<ChildProcess>();
let exitHooked = false;
function killOnExit(child: ChildProcess) {
	if (!exitHooked) {
		exitHooked = true;
		process.on('exit', () => {
			for (const server of running) server.kill('SIGKILL');
		});
	}
	running.add(child);
	child.once('exit', () => running.delete(child));
}

function freePort(): Promise<number> {
	return new Promise((resolve, reject) => {
		const server = createServer();
		server.once('error', reject);
		server.listen(0, '127.0.0.1', () => {
			const address = server.address();
			server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
		});
	});
}

async function start(
	args: string[],
	database: string,
	port: number,
	ready: RegExp,
	env: Record<string, string> = {}
): Promise<DemoServer> {
	// Not Vitest's variables: the servers would take themselves for a test run (the Vite plugin that
	// attaches socket.io skips test runs).
	const inherited = Object.fromEntries(
		Object.entries(process.env).filter(
			([name]) => !/^VITEST/.test(name) && name !== 'TEST' && name !== 'NODE_ENV'
		)
	);
	const child = spawn(process.execPath, args, {
		env: {
			...inherited,
			HOST: '127.0.0.1',
			PORT: String(port),
			DEMO_DB: database,
			DEMO_ADMIN: '1',
			DEMO_FAULTS: '',
			DEMO_SECRET: TEST_SECRET,
			NO_COLOR: '1',
			...env
		},
		stdio: ['ignore', 'pipe', 'pipe']
	});
	killOnExit(child);
	let output = '';
	const origin = await new Promise<string>((resolve, reject) => {
		const timer = setTimeout(() => {
			child.kill();
			reject(new Error(`demo server did not start:\n${output}`));
		}, 20_000);
		const onData = (chunk: Buffer) => {
			output += chunk;
			const match = ready.exec(output);
			if (match) {
				clearTimeout(timer);
				resolve(match[1]!);
			}
		};
		child.stdout!.on('data', onData);
		child.stderr!.on('data', (chunk: Buffer) => (output += chunk));
		child.once('exit', (code) => {
			clearTimeout(timer);
			reject(new Error(`demo server exited (${code}):\n${output}`));
		});
	});
	return {
		origin,
		database,
		process: child,
		kill(signal = 'SIGTERM') {
			if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
			return new Promise((resolve) => {
				child.once('exit', () => resolve());
				child.kill(signal);
			});
		}
	};
}

/**
 * Signs in through the form, as a browser does, and returns the session cookie's value (signed by
 * the server; see `signSession` in src/demo/shared.js).
 */
export async function signIn(origin: string, name: string, next?: string): Promise<string> {
	const response = await signInResponse(origin, name, next);
	if (response.status !== 303) throw new Error(`sign-in: HTTP ${response.status}`);
	const cookie = /^demo_user=([^;]+)/.exec(response.headers.get('set-cookie') ?? '');
	if (!cookie) throw new Error(`sign-in set no cookie: ${response.headers.get('set-cookie')}`);
	return decodeURIComponent(cookie[1]!);
}

/** The sign-in form's answer (a 303 and its Location), not followed. */
export function signInResponse(origin: string, name: string, next?: string): Promise<Response> {
	const url = new URL('/signin', origin);
	if (next !== undefined) url.searchParams.set('next', next);
	return fetch(url, {
		method: 'POST',
		headers: {
			// SvelteKit refuses form posts from other origins, and answers JSON without this accept.
			origin,
			accept: 'text/html',
			'content-type': 'application/x-www-form-urlencoded'
		},
		body: new URLSearchParams({ name }),
		redirect: 'manual'
	});
}
