// The kit's server entries built for child processes: Node 20 cannot run the TypeScript sources,
// so the test server processes import this bundle (from the directory in KIT_DIR) instead.
import { build } from 'esbuild';
import { rmSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '../../..');

let built: Promise<string> | undefined;

/**
 * Builds `src/lib/server/index.ts` and `src/lib/server/redis.ts` once per test process and
 * resolves with the directory holding `index.js` and `redis.js`. The directory is inside
 * node_modules, so that the bundle's `import('redis')` (the `url` option) finds the package; it is
 * removed when the process exits.
 */
export function buildServer(): Promise<string> {
	return (built ??= (async () => {
		const outdir = join(root, 'node_modules/.cache/srk-redis-tests', String(process.pid));
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

/** Vitest globalSetup form: builds once and hands the directory to the test files in KIT_DIR. */
export default async function setup() {
	process.env.KIT_DIR = await buildServer();
}
