// Pages that share one connection across tabs, against a real server: the page bundled for the
// browser with esbuild (the sharing code stays a lazy chunk), a Node server with the kit's SSE
// helper and a socket.io server, and Chromium pages in one context. Used by tests/tabs/*.test.ts
// (the kit from src/lib) and by the benchmarks P10 and P11 (the kit from dist/).
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { build } from 'esbuild';
import { Server } from 'socket.io';
import { pipeResponse, toRequest } from '../../bench/live-helpers.js';

const ROOT = resolve(import.meta.dirname, '../..');

/**
 * Chromium flags for the pages of one site in one window, as a user's tabs: each page in its own
 * renderer process (ProcessPerSiteUpToMainFrameThreshold would put same-site pages in one, and
 * crashing one page would crash them all), background tabs not throttled unless asked.
 * @param {{ throttle?: boolean }} [options]
 */
export const chromiumArgs = ({ throttle = false } = {}) => [
	'--headless',
	'--no-sandbox',
	'--disable-gpu',
	'--disable-quic',
	'--no-first-run',
	'--no-default-browser-check',
	'--disable-background-networking',
	'--disable-component-update',
	'--disable-sync',
	'--disable-dev-shm-usage',
	'--disable-breakpad',
	'--renderer-process-limit=32',
	'--disable-features=ProcessPerSiteUpToMainFrameThreshold,MediaRouter,OptimizationHints',
	...(throttle
		? []
		: [
				'--disable-background-timer-throttling',
				'--disable-renderer-backgrounding',
				'--disable-backgrounding-occluded-windows'
			])
];

/**
 * Starts Chromium and attaches Playwright over CDP without its default overrides. Playwright's
 * own launch turns focus emulation on for every page, which keeps each page visible and makes
 * CDP's `Page.setWebLifecycleState` `frozen` a no-op; here the pages are tabs of one window (the
 * last opened is visible, the others hidden) and freezing one really stops it.
 * @param {string} executablePath
 * @param {{ throttle?: boolean }} [options]
 */
export async function launchTabs(executablePath, options = {}) {
	const profile = mkdtempSync(join(tmpdir(), 'srk-tabs-profile-'));
	const child = spawn(
		executablePath,
		[
			...chromiumArgs(options),
			'--remote-debugging-port=0',
			`--user-data-dir=${profile}`,
			'about:blank'
		],
		// Its own process group: closing kills every process it started, whatever happened.
		{ stdio: ['ignore', 'ignore', 'pipe'], detached: true }
	);
	const killAll = () => {
		try {
			if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
		} catch {
			// gone already
		}
	};
	process.once('exit', killAll);
	const endpoint = await new Promise((resolve, reject) => {
		let text = '';
		const timer = setTimeout(() => reject(new Error(`Chromium did not start: ${text}`)), 20_000);
		child.stderr.on('data', (chunk) => {
			text += chunk;
			const found = /DevTools listening on (ws:\S+)/.exec(text);
			if (found) {
				clearTimeout(timer);
				resolve(found[1]);
			}
		});
		child.once('exit', (code) => reject(new Error(`Chromium exited (${code}): ${text}`)));
	});
	child.stderr.resume();
	const { chromium } = await import('playwright');
	const browser = await chromium.connectOverCDP(/** @type {string} */ (endpoint), {
		noDefaults: true
	});
	const context = browser.contexts()[0];
	if (!context) throw new Error('Chromium has no default context');
	return {
		browser,
		context,
		async close() {
			const exited = new Promise((done) =>
				child.exitCode !== null ? done(undefined) : child.once('exit', done)
			);
			// connectOverCDP's close only disconnects: ask Chromium itself to quit, then make sure.
			await browser
				.newBrowserCDPSession()
				.then((cdp) => cdp.send('Browser.close'))
				.catch(() => {});
			await browser.close().catch(() => {});
			const timer = setTimeout(killAll, 5000);
			await exited;
			clearTimeout(timer);
			killAll();
			process.off('exit', killAll);
			try {
				rmSync(profile, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
			} catch {
				// A file a helper process wrote last: a temporary directory left behind, nothing more.
			}
		}
	};
}

/**
 * Bundles tests/tabs/page.js for the browser into a temporary directory: ES modules with code
 * splitting, so that the sharing code (`share/tabs`) is a chunk of its own, loaded on first start.
 * `from: 'dist'` takes the kit from the built package (dist/) instead of src/lib.
 * @param {{ from?: 'src' | 'dist'; minify?: boolean }} [options]
 * @returns {Promise<{ dir: string; files: string[]; remove: () => void }>}
 */
export async function bundlePage({ from = 'src', minify = false } = {}) {
	const dir = mkdtempSync(join(tmpdir(), 'srk-tabs-'));
	/** @type {import('esbuild').Plugin[]} */
	const plugins =
		from === 'dist'
			? [
					{
						name: 'kit-from-dist',
						setup(b) {
							b.onResolve({ filter: /src\/lib\/(core|socket\.io)\/index\.js$/ }, (args) => {
								const which = /src\/lib\/(core|socket\.io)\//.exec(args.path)?.[1];
								return { path: join(ROOT, 'dist', `${which}/index.js`) };
							});
						}
					}
				]
			: [];
	const result = await build({
		entryPoints: { page: join(ROOT, 'tests/tabs/page.js') },
		bundle: true,
		format: 'esm',
		splitting: true,
		platform: 'browser',
		target: 'es2022',
		outdir: dir,
		chunkNames: 'chunks/[name]-[hash]',
		minify,
		metafile: true,
		logLevel: 'warning',
		plugins
	});
	const files = Object.keys(result.metafile.outputs).map((path) =>
		path.slice(path.indexOf('srk-tabs-')).split('/').slice(1).join('/')
	);
	return { dir, files, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

const TYPES = /** @type {Record<string, string>} */ ({
	'.html': 'text/html; charset=utf-8',
	'.js': 'text/javascript; charset=utf-8'
});

const PAGE = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>tab</title>
<style>body{font:13px system-ui;margin:8px}b{font-size:15px}ol{columns:4;font:11px monospace}</style>
</head>
<body><p id="state">loading</p><ol id="rows"></ol><script type="module" src="/page.js"></script></body>
</html>`;

/**
 * @typedef {{ id: string; n: number; done: boolean; version: number }} Row
 * One record: `emit` upserts `r<n>` rows, so a row missing in a page is an event lost there.
 */

/**
 * The server the pages talk to, on 127.0.0.1 and a free port. It serves the bundled page (`/`,
 * `/page.js` and its chunks), `GET /stream` (the kit's `sseResponse` over a `createEventLog`,
 * replaying after `Last-Event-ID`), `PATCH /rows/:id` (a change, echoed on the stream with its
 * `mutationId`), and socket.io (a `task:snapshot` on connect, `task:sync` upserts, `task:update`
 * changes). Each `mutationId` is applied at most once, whichever way it comes. It closes itself
 * after `lifetimeMs` if nobody closes it.
 * @param {{
 *   kit: { createEventLog: (o?: object) => any; sseResponse: (o: any) => Response };
 *   dir: string;
 *   logLimit?: number;
 *   ackDelayMs?: number;
 *   lifetimeMs?: number;
 * }} options
 */
export async function startTabsServer({
	kit,
	dir,
	logLimit = 50_000,
	ackDelayMs = 0,
	lifetimeMs = 5 * 60_000
}) {
	const log = kit.createEventLog({ limit: logLimit });
	/** @type {Map<string, Row>} */
	const rows = new Map();
	let emitted = 0;
	let streams = 0;
	let peakStreams = 0;
	let sockets = 0;
	let peakSockets = 0;
	/** Every `/stream` request's Last-Event-ID (header or query parameter), in order. */
	/** @type {(string | null)[]} */
	const streamRequests = [];
	/** Files served, by path: how often. */
	/** @type {Record<string, number>} */
	const served = {};
	/** `task:update` or PATCH receipts and applications, by mutation id. */
	/** @type {Map<string, { received: number; applied: number; via: string[] }>} */
	const mutations = new Map();
	/** Emission times (performance.now()) of the events, by row number. */
	/** @type {number[]} */
	const emittedAt = [];
	let delay = ackDelayMs;
	/** @type {Array<(id: string) => void>} */
	const onReceipt = [];
	let closing = false;

	/**
	 * Counts a change's arrival, waits `ackDelayMs`, then applies it once per mutation id (a change
	 * sent again is answered with the row as it is) and echoes it with its mutation id.
	 * @param {string} mutationId
	 * @param {string} key
	 * @param {Partial<Row>} item
	 * @param {string} via
	 * @returns {Promise<{ ok: true; item: Row } | { ok: false; error: string }>}
	 */
	async function change(mutationId, key, item, via) {
		const seen = mutations.get(mutationId) ?? { received: 0, applied: 0, via: [] };
		mutations.set(mutationId, seen);
		seen.received++;
		seen.via.push(via);
		for (const listener of [...onReceipt]) listener(mutationId);
		if (delay > 0) await new Promise((done) => setTimeout(done, delay));
		const row = rows.get(key);
		if (!row) return { ok: false, error: `no row ${key}` };
		if (seen.applied > 0) return { ok: true, item: row };
		seen.applied++;
		const next = { ...row, done: Boolean(item.done), version: row.version + 1 };
		rows.set(key, next);
		log.append({ event: 'upsert', data: { item: next, mutationId } });
		io.emit('task:sync', { item: next, mutationId });
		return { ok: true, item: next };
	}

	const server = createServer(async (req, res) => {
		const url = new URL(req.url ?? '/', 'http://127.0.0.1');
		const path = url.pathname;
		if (path === '/stream') {
			const request = toRequest(req, res);
			streamRequests.push(
				request.headers.get('last-event-id') ?? url.searchParams.get('lastEventId')
			);
			streams++;
			peakStreams = Math.max(peakStreams, streams);
			res.on('close', () => streams--);
			const response = kit.sseResponse({
				request,
				log,
				heartbeat: 5000,
				initial: () => ({ id: log.lastId, event: 'snapshot', data: [...rows.values()] })
			});
			return void pipeResponse(response, req, res);
		}
		if (path.startsWith('/rows/') && req.method === 'PATCH') {
			let body = '';
			for await (const chunk of req) body += chunk;
			const { mutationId, item } = JSON.parse(body);
			const outcome = await change(mutationId, decodeURIComponent(path.slice(6)), item, 'http');
			res.writeHead(outcome.ok ? 200 : 409, { 'content-type': 'application/json' });
			return void res.end(JSON.stringify(outcome.ok ? outcome.item : { error: outcome.error }));
		}
		if (path === '/favicon.ico') return void res.writeHead(204).end();
		const file = path === '/' ? null : join(dir, path);
		if (file !== null && !file.startsWith(dir)) return void res.writeHead(404).end();
		served[path] = (served[path] ?? 0) + 1;
		try {
			const body = file === null ? PAGE : readFileSync(file);
			res.writeHead(200, {
				'content-type': TYPES[extname(path)] ?? TYPES['.html'],
				'cache-control': 'no-store'
			});
			res.end(body);
		} catch {
			res.writeHead(404).end();
		}
	});
	const io = new Server(server, { serveClient: false, transports: ['websocket'] });
	io.on('connection', (socket) => {
		sockets++;
		peakSockets = Math.max(peakSockets, sockets);
		socket.on('disconnect', () => sockets--);
		socket.emit('task:snapshot', [...rows.values()]);
		socket.on('task:update', async (message, ack) => {
			const { mutationId, key, item } = message ?? {};
			if (typeof mutationId !== 'string' || typeof key !== 'string') {
				return typeof ack === 'function' && ack({ ok: false, error: 'bad change' });
			}
			const outcome = await change(mutationId, key, item ?? {}, 'socket.io');
			if (typeof ack === 'function') ack(outcome);
		});
	});
	await new Promise((done) => server.listen(0, '127.0.0.1', () => done(undefined)));
	const { port } = /** @type {import('node:net').AddressInfo} */ (server.address());
	const timer = setTimeout(() => void close(), lifetimeMs);
	timer.unref();

	function close() {
		if (closing) return Promise.resolve();
		closing = true;
		clearTimeout(timer);
		return new Promise((done) => {
			io.close();
			server.closeAllConnections();
			server.close(() => done(undefined));
		});
	}

	return {
		origin: `http://127.0.0.1:${port}`,
		server,
		log,
		rows,
		mutations,
		served,
		streamRequests,
		emittedAt,
		/** SSE streams open at the server now. */
		get streams() {
			return streams;
		},
		get peakStreams() {
			return peakStreams;
		},
		/** socket.io clients connected now. */
		get sockets() {
			return sockets;
		},
		get peakSockets() {
			return peakSockets;
		},
		get emitted() {
			return emitted;
		},
		/**
		 * How long the server waits before it applies and acknowledges a change.
		 * @param {number} ms
		 */
		set ackDelayMs(ms) {
			delay = ms;
		},
		/**
		 * Appends `count` events, each the upsert of a new row `r<n>` (on the stream and on socket.io).
		 * @param {number} count
		 */
		emit(count) {
			for (let i = 0; i < count; i++) {
				const n = ++emitted;
				const row = { id: `r${n}`, n, done: false, version: 1 };
				rows.set(row.id, row);
				emittedAt[n] = performance.now();
				log.append({ event: 'upsert', data: row });
				io.emit('task:sync', row);
			}
		},
		/**
		 * Resolves with the next mutation id the server receives.
		 * @returns {Promise<string>}
		 */
		nextReceipt() {
			return new Promise((done) => {
				const listener = (/** @type {string} */ id) => {
					onReceipt.splice(onReceipt.indexOf(listener), 1);
					done(id);
				};
				onReceipt.push(listener);
			});
		},
		close
	};
}

/**
 * @typedef {{
 *   status: string;
 *   transport: string | undefined;
 *   shared: { role: 'leader' | 'follower'; tabs: number } | undefined;
 * }} PageState
 * @typedef {{ t: number; status: string; role: string | undefined; tabs: number | undefined }} Step
 * A page's connection state as it changed, with `Date.now()` times.
 * @typedef {{
 *   state: PageState;
 *   count: number;
 *   dropped: number;
 *   duplicates: string[];
 *   twice: Record<string, number>;
 *   decoded: number;
 *   snapshots: number;
 *   errors: string[];
 * }} Summary
 */

/**
 * A page's summary: state, how many rows, dropped, the event ids it decoded more than once.
 * @param {import('playwright').Page} page
 * @returns {Promise<Summary>}
 */
export const summary = (page) => page.evaluate(() => window.tab.summary());

/**
 * The keys of a page's rows, in order.
 * @param {import('playwright').Page} page
 * @returns {Promise<string[]>}
 */
export const keys = (page) => page.evaluate(() => window.tab.keys());

/**
 * Rows the server has that the page lacks, and rows of the page that differ from the server's
 * (`done`) or that the server does not have.
 * @param {import('playwright').Page} page
 * @param {Map<string, Row>} rows
 */
export async function compare(page, rows) {
	/** @type {Array<[string, boolean]>} */
	const seen = await page.evaluate(() => window.tab.items().map((r) => [r.id, r.done]));
	const here = new Map(seen);
	const lost = [...rows.keys()].filter((key) => !here.has(key));
	const wrong = seen.filter(([key, done]) => rows.get(key)?.done !== done).map(([key]) => key);
	return { lost, wrong, count: seen.length };
}

/**
 * Resolves once `predicate` holds, polling every `stepMs`; throws after `timeoutMs` with `what`
 * and, if given, what `explain()` says about the pages then.
 * @param {() => boolean | Promise<boolean>} predicate
 * @param {string} what
 * @param {number} [timeoutMs]
 * @param {{ stepMs?: number; explain?: () => unknown }} [options]
 */
export async function until(predicate, what, timeoutMs = 20_000, { stepMs = 50, explain } = {}) {
	const end = performance.now() + timeoutMs;
	for (;;) {
		if (await predicate()) return;
		if (performance.now() > end) {
			const detail = explain ? `\n${JSON.stringify(await explain())}` : '';
			throw new Error(`Timed out after ${timeoutMs} ms: ${what}${detail}`);
		}
		await new Promise((done) => setTimeout(done, stepMs));
	}
}

/**
 * Opens `count` pages of `url` in `context`, one after the other (as a user opens tabs), each
 * with `init` run before its own scripts, and records which of them crash. `close()` closes those
 * still open.
 * @param {import('playwright').BrowserContext} context
 * @param {string} url
 * @param {number} count
 * @param {{ waitUntil?: 'load' | 'commit' | 'domcontentloaded'; timeout?: number; init?: () => void }} [options]
 */
export async function openPages(context, url, count, options = {}) {
	/** @type {import('playwright').Page[]} */
	const pages = [];
	/** @type {Set<import('playwright').Page>} */
	const crashed = new Set();
	for (let i = 0; i < count; i++) {
		const page = await context.newPage();
		page.on('crash', () => crashed.add(page));
		pages.push(page);
		if (options.init) await page.addInitScript(options.init);
		await page.goto(url, { waitUntil: options.waitUntil ?? 'load', timeout: options.timeout });
	}
	const close = () =>
		Promise.all(pages.map((page) => (page.isClosed() ? undefined : page.close().catch(() => {}))));
	return { pages, crashed, close };
}

/**
 * How long after `since` (the fault's `Date.now()` time) each remaining page was live again, from
 * the state changes the pages recorded: the first `live` after the page left `live`, or, for a
 * page that never left it, the moment the new leader was live. Undefined while any page is not
 * live again, or no page leads live.
 * @param {Step[][]} histories the remaining pages' state changes
 * @param {number} since
 * @returns {{ each: number[]; ms: number } | undefined}
 */
export function recovery(histories, since) {
	const leaderLive = histories
		.map((steps) => steps.find((s) => s.t >= since && s.status === 'live' && s.role === 'leader'))
		.find(Boolean);
	if (!leaderLive) return undefined;
	const each = [];
	for (const steps of histories) {
		const after = steps.filter((s) => s.t >= since);
		const left = after.findIndex((s) => s.status !== 'live');
		const back = left < 0 ? leaderLive : after.slice(left).find((s) => s.status === 'live');
		if (!back || after.at(-1)?.status !== 'live') return undefined;
		each.push(back.t - since);
	}
	return { each, ms: Math.max(...each) };
}
