// The kit's server entries built for child processes: Node 20 cannot run the TypeScript sources,
// so the test server processes import this bundle (from the directory in KIT_DIR) instead.
import { build } from 'esbuild';
import { readdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '../../..');

let built: Promise<string> | undefined;

/**
 * Builds `src/lib/server/index.ts` and `src/lib/server/redis.ts` once per test process and
 * resolves with the directory holding `index.js` and `redis.js`. The directory is inside
 * node_modules, so that the bundle's `import('redis')` (the `url` option) finds the package; it is
 * removed when the process exits. With KIT_DIR set (a build made elsewhere, e.g. of another
 * version of the kit), that directory is used as it is.
 */
export function buildServer(): Promise<string> {
	if (process.env.KIT_DIR) return Promise.resolve(process.env.KIT_DIR);
	return (built ??= (async () => {
		const parent = join(root, 'node_modules/.cache/srk-redis-tests');
		removeStale(parent);
		const outdir = join(parent, String(process.pid));
		rmSync(outdir, { recursive: true, force: true });
		process.once('exit', () => rmSync(outdir, { recursive: true, force: true }));
		await build({
			entryPoints: [join(root, 'src/lib/server/index.ts'), join(root, 'src/lib/server/redis.ts')],
			bundle: true,
			// One copy of sse.ts for both entries, as a package import would give.
			splitting: true,
			platform: 'node',
			format: 'esm',
			target: 'node20',
			outdir,
			external: ['redis'],
			logLevel: 'warning'
		});
		return outdir;
	})());
}

/**
 * Removes the builds of test processes that are gone: Vitest ends its workers with signals,
 * which skip the 'exit' handler that would have removed them.
 */
function removeStale(parent: string) {
	let names: string[];
	try {
		names = readdirSync(parent);
	} catch {
		return;
	}
	for (const name of names) {
		const pid = Number(name);
		if (!Number.isSafeInteger(pid) || pid === process.pid) continue;
		try {
			process.kill(pid, 0);
		} catch (error) {
			if ((error as NodeJS.ErrnoException).code === 'ESRCH') {
				rmSync(join(parent, name), { recursive: true, force: true });
			}
		}
	}
}

/** Vitest globalSetup form: builds once and hands the directory to the test files in KIT_DIR. */
export default async function setup() {
	process.env.KIT_DIR = await buildServer();
}
