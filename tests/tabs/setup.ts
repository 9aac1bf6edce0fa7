// The pieces every cross-tab test file shares: the page bundled once per file, Chromium, a server
// per test, and cleanups that run after each test whatever happened.
import { chromium, type Browser, type BrowserContext } from 'playwright';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { ensureChromium } from '../../scripts/chromium.js';
import { createEventLog, sseResponse } from '../../src/lib/server/index.js';
import { bundlePage, CHROMIUM_ARGS, startTabsServer } from './harness.js';

export * from './harness.js';

let bundle: Awaited<ReturnType<typeof bundlePage>>;
let browser: Browser;
const cleanups: Array<() => unknown> = [];

beforeAll(async () => {
	[bundle, browser] = await Promise.all([
		bundlePage(),
		chromium.launch({ executablePath: ensureChromium(), args: CHROMIUM_ARGS })
	]);
});
afterEach(async () => {
	for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});
afterAll(async () => {
	await browser?.close();
	bundle?.remove();
});

export const bundled = () => bundle;

/** A server for this test, closed after it. */
export async function server(options: { ackDelayMs?: number } = {}) {
	const s = await startTabsServer({
		kit: { createEventLog, sseResponse },
		dir: bundle.dir,
		...options
	});
	cleanups.push(() => s.close());
	return s;
}

/** A browser context (one profile: its pages share locks and channels) for this test. */
export async function context(init?: () => void): Promise<BrowserContext> {
	const ctx = await browser.newContext({ viewport: { width: 420, height: 300 } });
	if (init) await ctx.addInitScript(init);
	cleanups.push(() => ctx.close());
	return ctx;
}

/** Runs `cleanup` after this test. */
export const after = (cleanup: () => unknown) => void cleanups.push(cleanup);
