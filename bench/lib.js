// Shared pieces of the benchmarks: the result row, servers that stop by themselves, Chromium,
// and small statistics. Each benchmark (`p1-size.js` …) default-exports `run()`, which returns
// `{ rows, notes }`; `run.js` collects them into results.json and RESULTS.md.
import { createServer } from 'node:http';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

/**
 * @typedef {{
 *   id: string; metric: string; unit: string;
 *   ours: number | null; baseline: number | null; baselineName: string | null;
 *   ratio: number | null; goal: string; pass: boolean | null;
 * }} Row
 * One measured metric. `ratio` is `ours / baseline` (lower is better unless the goal says otherwise);
 * `pass` is null when the row has no goal of its own (a comparison only).
 */

/**
 * Builds a row; computes `ratio` from `ours` and `baseline` when both are numbers.
 * @param {Omit<Row, 'ratio' | 'baseline' | 'baselineName' | 'pass'> & Partial<Pick<Row, 'ratio' | 'baseline' | 'baselineName' | 'pass'>>} fields
 * @returns {Row}
 */
export function row(fields) {
	const baseline = fields.baseline ?? null;
	const ours = fields.ours;
	const ratio =
		fields.ratio !== undefined
			? fields.ratio
			: typeof ours === 'number' && typeof baseline === 'number' && baseline !== 0
				? round(ours / baseline, 3)
				: null;
	return {
		id: fields.id,
		metric: fields.metric,
		unit: fields.unit,
		ours: typeof ours === 'number' ? round(ours, 3) : ours,
		baseline: typeof baseline === 'number' ? round(baseline, 3) : baseline,
		baselineName: fields.baselineName ?? null,
		ratio,
		goal: fields.goal,
		pass: fields.pass ?? null
	};
}

/** @param {number} value @param {number} digits */
export function round(value, digits) {
	const f = 10 ** digits;
	return Math.round(value * f) / f;
}

/** @param {number[]} values @param {number} p in [0, 100] */
export function percentile(values, p) {
	if (values.length === 0) return Number.NaN;
	const sorted = [...values].sort((a, b) => a - b);
	const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
	return sorted[index];
}

/** @param {number[]} values */
export const median = (values) => percentile(values, 50);

/** @param {number} ms */
export const sleep = (ms) => new Promise((done) => setTimeout(done, ms));

/** The built package (`npm run bench` runs svelte-package first). */
export const DIST = resolve('dist');

/**
 * Imports a module of the built package, e.g. `kit('core/index.js')`.
 * @param {string} path relative to dist/
 */
export const kit = (path) => import(pathToFileURL(resolve(DIST, path)).href);

/**
 * An HTTP server on 127.0.0.1 (a free port) that closes itself after `lifetimeMs` even if the
 * benchmark forgets to (`run.js` also exits when the benchmarks are done).
 * @param {import('node:http').RequestListener} handler
 * @param {{ lifetimeMs?: number }} [options]
 */
export async function startServer(handler, { lifetimeMs = 5 * 60_000 } = {}) {
	const server = createServer(handler);
	await new Promise((done) => server.listen(0, '127.0.0.1', () => done(undefined)));
	const address = /** @type {import('node:net').AddressInfo} */ (server.address());
	const timer = setTimeout(() => close(), lifetimeMs);
	timer.unref();
	const close = () =>
		new Promise((done) => {
			clearTimeout(timer);
			server.closeAllConnections?.();
			server.close(() => done(undefined));
		});
	return { server, port: address.port, origin: `http://127.0.0.1:${address.port}`, close };
}

/** Launches headless Chromium (Debian's, or $CHROMIUM_PATH), as the browser tests do. */
export async function launchChromium() {
	const { ensureChromium } = await import('../scripts/chromium.js');
	const { chromium } = await import('playwright');
	return chromium.launch({
		executablePath: ensureChromium(),
		args: ['--no-sandbox', '--js-flags=--expose-gc', '--enable-precise-memory-info']
	});
}

/**
 * Deterministic pseudo-random numbers in [0, 1) (mulberry32), so that every run of a benchmark
 * sends the same events.
 * @param {number} seed
 */
export function seededRandom(seed) {
	let a = seed >>> 0;
	return () => {
		a = (a + 0x6d2b79f5) >>> 0;
		let t = a;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
}
