// Size budgets of the built package (`dist/`, from `npm run package`): each typical import is
// bundled the way an app's build would (Vite, Svelte compiled, tree-shaken, minified; `svelte`
// itself left out, since every Svelte app has it), then gzipped. Also checks that importing one
// adapter pulls in no other adapter's code. Code an import loads later (a dynamic import) is
// measured apart from what loads up front. The components' styles count as an app ships them: in
// the minified stylesheet its build emits, which loads up front with the code (the badge's code and
// styles are also counted apart). `node scripts/size.js --json` prints the results.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { build, minify } from 'vite';

const KiB = 1024;
const DIST = resolve('dist');
const WORK = resolve('node_modules/.cache/srk-size');

/**
 * @typedef {{ name: string; code: string; budget: number; goal?: number; count?: 'js' | 'css'; forbid?: string[]; lazy?: { module: string; budget: number; goal?: number } }} Case
 * `budget`: the ceiling `npm test` enforces (today's size and a little room, so that growth is a
 * decision). `goal`: where the size should get to. `count`: what of the up-front bytes the budget
 * counts, `'js'` the code alone or `'css'` the stylesheet alone (by default both, gzipped together).
 * `forbid`: dist/ files that must not be bundled. `lazy`: the code loaded later with `module` (a
 * dist/ file), with its own budget.
 */
/** The inspection hook: what an app that does not inspect must not carry. */
const INSPECTION = ['inspect/inspect.js', 'inspect/hub.js', 'inspect/describe.js'];

/** @type {Case[]} */
export const cases = [
	// The badge's code and its styles, each with its own budget: the goal is for the code.
	{
		name: 'badge only (JavaScript)',
		code: `export { TransportBadge } from 'svelte-realtime-kit';`,
		count: 'js',
		budget: 2.35 * KiB,
		goal: 1.5 * KiB,
		forbid: [
			'core/transports/sse.js',
			'core/transports/websocket.js',
			'core/transports/polling.js',
			...INSPECTION
		]
	},
	{
		name: 'badge only (CSS)',
		code: `export { TransportBadge } from 'svelte-realtime-kit';`,
		count: 'css',
		budget: 1.3 * KiB
	},
	{
		name: 'SSE adapter alone (core)',
		code: `export { sse } from 'svelte-realtime-kit/core';`,
		budget: 2.7 * KiB,
		goal: 3 * KiB,
		forbid: ['core/transports/websocket.js', 'core/transports/polling.js', 'core/store/store.js']
	},
	{
		name: 'SSE with the engine (core)',
		code: `export { sse, createLiveSource } from 'svelte-realtime-kit/core';`,
		budget: 12.65 * KiB,
		forbid: [
			'core/transports/websocket.js',
			'core/transports/polling.js',
			'core/transports/fallback.js'
		]
	},
	{
		name: 'timeline with SSE',
		code: `export { LiveSource, ActivityTimeline, sse } from 'svelte-realtime-kit';`,
		budget: 21.5 * KiB,
		forbid: ['core/transports/websocket.js', 'core/transports/polling.js', ...INSPECTION]
	},
	{
		name: 'everything one-way',
		code: `export { LiveSource, ActivityTimeline, TransportBadge, sse, polling, fallback } from 'svelte-realtime-kit';`,
		budget: 25.8 * KiB,
		forbid: ['core/transports/websocket.js', ...INSPECTION]
	},
	{
		name: 'WebSocket path (core)',
		code: `export { websocket, createLiveSource } from 'svelte-realtime-kit/core';`,
		budget: 12.25 * KiB,
		forbid: ['core/transports/sse.js', 'core/transports/polling.js']
	},
	{
		name: 'everything without Svelte (core)',
		code: `export * from 'svelte-realtime-kit/core';`,
		budget: 16.5 * KiB,
		goal: 8 * KiB,
		forbid: INSPECTION
	},
	{
		name: 'sharing across tabs',
		code: `export { sse, createLiveSource } from 'svelte-realtime-kit/core';`,
		budget: 12.65 * KiB,
		lazy: { module: 'core/share/tabs.js', budget: 3.2 * KiB, goal: 2 * KiB }
	},
	{
		name: 'server helper',
		code: `export * from 'svelte-realtime-kit/server';`,
		budget: 2.3 * KiB
	},
	{
		name: 'server helper on Redis',
		code: `export * from 'svelte-realtime-kit/server'; export * from 'svelte-realtime-kit/server/redis';`,
		budget: 5.25 * KiB
	},
	{
		name: 'inspection with the console logger',
		code: `export { inspect, consoleLogger } from 'svelte-realtime-kit/inspect';`,
		budget: 5 * KiB
	}
];

/**
 * Bundles `code` as an app would and returns its min+gzip size (up front: `gzip`, the code and the
 * stylesheet together; `js` and `css`, each alone), what loads later, and the dist/ files it
 * includes.
 * @param {string} name
 * @param {string} code
 * @param {{ alias?: Record<string, string>, external?: (id: string) => boolean }} [options]
 */
export async function measure(name, code, options = {}) {
	const dir = join(WORK, name.replace(/\W+/g, '-'));
	rmSync(dir, { recursive: true, force: true });
	mkdirSync(dir, { recursive: true });
	const entry = join(dir, 'entry.js');
	writeFileSync(entry, code);
	const output = await build({
		configFile: false,
		logLevel: 'silent',
		root: dir,
		plugins: [svelte({ emitCss: true })],
		resolve: {
			alias: options.alias ?? {
				'svelte-realtime-kit/core': join(DIST, 'core/index.js'),
				'svelte-realtime-kit/server/redis': join(DIST, 'server/redis.js'),
				'svelte-realtime-kit/server': join(DIST, 'server/index.js'),
				'svelte-realtime-kit/inspect': join(DIST, 'inspect/index.js'),
				'svelte-realtime-kit': join(DIST, 'index.js')
			},
			conditions: ['svelte', 'browser', 'import']
		},
		build: {
			write: false,
			minify: true,
			target: 'es2022',
			lib: { entry, formats: ['es'], fileName: 'out' },
			rollupOptions: {
				external:
					options.external ??
					((id) => id === 'svelte' || id.startsWith('svelte/') || id.startsWith('node:'))
			}
		}
	});
	const chunks = (Array.isArray(output) ? output : [output]).flatMap((o) =>
		'output' in o ? o.output : []
	);
	// What loads up front (the entry and what it imports statically), and what loads later
	// (dynamic imports, such as the parser of fetch-mode SSE), measured apart.
	/** @type {Map<string, import('rolldown').OutputChunk>} */
	const byFile = new Map();
	let styles = '';
	for (const chunk of chunks) {
		if (chunk.type === 'chunk') byFile.set(chunk.fileName, chunk);
		else if (chunk.fileName.endsWith('.css')) styles += String(chunk.source);
	}
	/** @type {Set<string>} */
	const upFront = new Set();
	const visit = (/** @type {string} */ fileName) => {
		if (upFront.has(fileName)) return;
		upFront.add(fileName);
		for (const imported of byFile.get(fileName)?.imports ?? []) visit(imported);
	};
	for (const chunk of byFile.values()) if (chunk.isEntry) visit(chunk.fileName);
	let scripts = '';
	let later = '';
	/** @type {string[]} */
	const modules = [];
	/** @type {Record<string, number>} min+gzip of each chunk that loads later, by the dist/ files it holds */
	const lazyChunks = {};
	for (const chunk of byFile.values()) {
		const ids = chunk.moduleIds.map((id) => relative(DIST, id));
		// Library mode keeps the whitespace of ES output (so that pure annotations survive for the
		// app's bundler); an app's own build then removes it. Measured as the app ships it.
		const { code } = await minify(chunk.fileName, chunk.code, {
			compress: false,
			mangle: false,
			codegen: { removeWhitespace: true }
		});
		if (upFront.has(chunk.fileName)) scripts += code;
		else {
			later += code;
			const size = gzipSync(code, { level: 9 }).length;
			for (const id of ids) lazyChunks[id] = (lazyChunks[id] ?? 0) + size;
		}
		modules.push(...ids);
	}
	const bytes = styles + scripts;
	const size = (/** @type {string} */ text) => ({
		gzip: gzipSync(text, { level: 9 }).length,
		min: Buffer.byteLength(text)
	});
	return {
		...size(bytes),
		js: size(scripts),
		css: size(styles),
		lazyGzip: later ? gzipSync(later, { level: 9 }).length : 0,
		lazyChunks,
		modules
	};
}

if (import.meta.url === `file://${process.argv[1]}`) {
	const results = [];
	let failed = false;
	const kib = (/** @type {number} */ bytes) => `${(bytes / KiB).toFixed(2)} KiB`;
	for (const { name, code, budget, goal, count, forbid = [], lazy } of cases) {
		const measured = await measure(name, code);
		const { lazyGzip, lazyChunks, modules } = measured;
		const { gzip, min } = count ? measured[count] : measured;
		const leaked = forbid.filter((file) => modules.includes(file));
		const lazySize = lazy ? (lazyChunks[lazy.module] ?? Infinity) : undefined;
		const ok = gzip <= budget && leaked.length === 0 && (!lazy || (lazySize ?? 0) <= lazy.budget);
		failed ||= !ok;
		results.push({ name, gzip, min, lazyGzip, budget, goal, ok, leaked, lazy, lazySize });
		if (lazy)
			console.log(
				`${(lazySize ?? 0) <= lazy.budget ? 'ok  ' : 'FAIL'} ${`${name}: ${lazy.module}, loaded when used`.padEnd(34)} ${kib(lazySize ?? 0).padStart(10)} min+gzip  (budget ${kib(lazy.budget)}${lazy.goal ? `, goal ${kib(lazy.goal)}${(lazySize ?? 0) > lazy.goal ? ' not met' : ' met'}` : ''})`
			);
		const goalNote =
			goal === undefined ? '' : `, goal ${kib(goal)}${gzip > goal ? ' not met' : ' met'}`;
		console.log(
			`${ok ? 'ok  ' : 'FAIL'} ${name.padEnd(34)} ${kib(gzip).padStart(10)} min+gzip  (budget ${kib(budget)}${goalNote}; ${(min / KiB).toFixed(1)} KiB min${lazyGzip ? `; + ${kib(lazyGzip)} loaded on first use` : ''})${leaked.length ? `  pulls in ${leaked.join(', ')}` : ''}`
		);
	}
	if (process.argv.includes('--json')) console.log(JSON.stringify(results, null, 2));
	if (failed) {
		console.error('\nA size budget is exceeded, or an import pulls in code it does not use.');
		process.exit(1);
	}
}
