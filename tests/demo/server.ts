// Starts the demo's production server (`src/demo/server.js` over the built app) for a test, on a
// free port of 127.0.0.1, with its own database file and the fault switches' endpoint on.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

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

export async function startDemo(database: string, port = 0): Promise<DemoServer> {
	const child = spawn(process.execPath, ['src/demo/server.js'], {
		env: {
			...process.env,
			HOST: '127.0.0.1',
			PORT: String(port),
			DEMO_DB: database,
			DEMO_ADMIN: '1',
			DEMO_FAULTS: ''
		},
		stdio: ['ignore', 'pipe', 'pipe']
	});
	let output = '';
	const origin = await new Promise<string>((resolve, reject) => {
		const timer = setTimeout(
			() => reject(new Error(`demo server did not start:\n${output}`)),
			20_000
		);
		const onData = (chunk: Buffer) => {
			output += chunk;
			const match = /Demo on (http:\/\/[\d.]+:\d+)\//.exec(output);
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
