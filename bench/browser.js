// Shared pieces of the Chromium benchmarks (P3–P5): the pages under bench/pages/ built against
// dist/ with Vite (and, to render on the server, their server modules built for Node), a server
// for them (with Fetch-API handlers such as the kit's `sseResponse`), and Chromium pages with
// precise timers.
import { createReadStream, existsSync, statSync } from 'node:fs';
import { extname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { build } from 'vite';
import { DIST, startServer } from './lib.js';

const PAGES = resolve('bench/pages');
const OUT = resolve('node_modules/.cache/srk-bench-pages');
const OUT_SERVER = resolve('node_modules/.cache/srk-bench-server');
const ENTRIES = ['flood', 'list', 'list/hydrate', 'leaks'];

/** The package's entries resolve to dist/, as an app that installed it would get them. */
const alias = {
	'svelte-realtime-kit/core': join(DIST, 'core/index.js'),
	'svelte-realtime-kit/server': join(DIST, 'server/index.js'),
	'svelte-realtime-kit': join(DIST, 'index.js')
};

/** @type {Promise<string> | undefined} */
let built;
/** @type {Map<string, Promise<any>>} */
const serverModules = new Map();

/**
 * Builds every page of bench/pages/ once per process (production mode, minified, the kit from
 * dist/ as an app's Vite build would compile it) and returns the output directory.
 */
export function buildPages() {
	built ??= (async () => {
		await build({
			configFile: false,
			logLevel: 'warn',
			mode: 'production',
			root: PAGES,
			base: '/',
			plugins: [svelte({ configFile: false })],
			resolve: { alias, conditions: ['svelte', 'browser', 'import'] },
			build: {
				outDir: OUT,
				emptyOutDir: true,
				minify: true,
				target: 'es2022',
				modulePreload: false,
				rollupOptions: {
					input: Object.fromEntries(
						ENTRIES.map((name) => [name.replaceAll('/', '-'), join(PAGES, name, 'index.html')])
					)
				}
			}
		});
		return OUT;
	})();
	return built;
}

/**
 * Builds a module of bench/pages/ for Node, as an app's server build would (Vite's SSR build:
 * Svelte components compiled for the server, the kit from dist/, `svelte` itself from
 * node_modules), once per process, and imports it.
 * @param {string} path relative to bench/pages/, e.g. `list/hydrate/server.js`
 */
export function importServerModule(path) {
	let module = serverModules.get(path);
	if (!module) {
		const name = path.replace(/\.js$/, '').replaceAll('/', '-');
		module = (async () => {
			await build({
				configFile: false,
				logLevel: 'warn',
				mode: 'production',
				root: PAGES,
				plugins: [svelte({ configFile: false })],
				resolve: { alias },
				build: {
					ssr: true,
					outDir: OUT_SERVER,
					emptyOutDir: false,
					minify: false,
					target: 'node20',
					rollupOptions: { input: { [name]: join(PAGES, path) }, output: { format: 'es' } }
				}
			});
			return import(pathToFileURL(join(OUT_SERVER, `${name}.js`)).href);
		})();
		serverModules.set(path, module);
	}
	return module;
}

const TYPES = {
	'.html': 'text/html; charset=utf-8',
	'.js': 'text/javascript; charset=utf-8',
	'.css': 'text/css; charset=utf-8'
};

/**
 * A Fetch-API handler: returns a Response for the requests it answers, `undefined` for the others.
 * @typedef {(request: Request) => Response | undefined | Promise<Response | undefined>} FetchHandler
 */

/**
 * Serves the built pages, cross-origin isolated (so that `performance.now()` has 5 µs resolution
 * instead of 100 µs), and hands other requests to `handler`, a Fetch-API function (the request's
 * signal aborts when the client goes away). `open` counts the responses still being written.
 * @param {FetchHandler} [handler]
 */
export async function servePages(handler) {
	const root = await buildPages();
	let open = 0;
	const isolation = {
		'Cross-Origin-Opener-Policy': 'same-origin',
		'Cross-Origin-Embedder-Policy': 'require-corp'
	};
	const server = await startServer(async (req, res) => {
		open++;
		res.on('close', () => open--);
		const url = new URL(req.url ?? '/', 'http://127.0.0.1');
		const controller = new AbortController();
		res.on('close', () => controller.abort());
		const request = new Request(url, {
			method: req.method,
			headers: /** @type {Record<string, string>} */ (req.headers),
			signal: controller.signal
		});
		const response = await handler?.(request);
		if (response) return pipeResponse(response, res, isolation);
		if (url.pathname === '/favicon.ico') return res.writeHead(204).end();
		let path = join(root, decodeURIComponent(url.pathname));
		if (existsSync(path) && statSync(path).isDirectory()) path = join(path, 'index.html');
		if (!path.startsWith(root) || !existsSync(path)) return res.writeHead(404).end();
		res.writeHead(200, {
			'Content-Type': TYPES[/** @type {keyof typeof TYPES} */ (extname(path))] ?? 'text/plain',
			'Cache-Control': 'no-store',
			...isolation
		});
		createReadStream(path).pipe(res);
	});
	return {
		...server,
		/** Responses not finished yet (open streams included). */
		get open() {
			return open;
		}
	};
}

/**
 * Writes a Fetch-API Response to a Node response, chunk by chunk as the body produces them.
 * @param {Response} response
 * @param {import('node:http').ServerResponse} res
 * @param {Record<string, string>} extraHeaders
 */
async function pipeResponse(response, res, extraHeaders) {
	res.writeHead(response.status, { ...Object.fromEntries(response.headers), ...extraHeaders });
	res.flushHeaders();
	if (!response.body) return void res.end();
	const reader = response.body.getReader();
	res.on('close', () => void reader.cancel().catch(() => {}));
	try {
		for (;;) {
			const { done, value } = await reader.read();
			if (done) break;
			res.write(value);
		}
	} catch {
		// The client went away.
	}
	res.end();
}

/**
 * Opens a page in a new context (one page per context, nothing shared between benchmarks).
 * @param {import('playwright').Browser} browser
 * @param {{ initScript?: () => void; reducedMotion?: 'reduce' | 'no-preference' }} [options]
 */
export async function newPage(browser, options = {}) {
	const context = await browser.newContext({
		viewport: { width: 1000, height: 800 },
		reducedMotion: options.reducedMotion ?? 'no-preference'
	});
	const page = await context.newPage();
	/** @type {string[]} */
	const errors = [];
	page.on('pageerror', (error) => errors.push(error.message));
	page.on('console', (message) => {
		if (message.type() === 'error') errors.push(message.text());
	});
	if (options.initScript) await page.addInitScript(options.initScript);
	return { context, page, errors };
}
