// The pieces every cross-tab test file shares: the page bundled once per file, one Chromium (its
// pages are tabs of one profile, sharing locks and channels), a server per test, and cleanups that
// run after each test whatever happened.
import type { BrowserContext } from 'playwright';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { ensureChromium } from '../../scripts/chromium.js';
import { createEventLog, sseResponse } from '../../src/lib/server/index.js';
import { bundlePage, launchTabs, openPages, startTabsServer } from './harness.js';

export * from './harness.js';

let bundle: Awaited<ReturnType<typeof bundlePage>>;
let chromium: Awaited<ReturnType<typeof launchTabs>>;
const cleanups: Array<() => unknown> = [];

beforeAll(async () => {
	[bundle, chromium] = await Promise.all([
		bundlePage(),
		// TABS_THROTTLE=1: background tabs throttled as in a user's browser.
		launchTabs(ensureChromium(), { throttle: process.env.TABS_THROTTLE === '1' })
	]);
});
afterEach(async () => {
	for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});
afterAll(async () => {
	await chromium?.close();
	bundle?.remove();
});

export const bundled = () => bundle;
export const browserContext = (): BrowserContext => chromium.context;

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

/**
 * `count` tabs of `url` (one profile: they share locks and channels), closed after this test;
 * `init` runs in each before its scripts.
 */
export async function tabs(
	url: string,
	count: number,
	options: Parameters<typeof openPages>[3] = {}
) {
	const opened = await openPages(chromium.context, url, count, options);
	cleanups.push(opened.close);
	return opened;
}

/** Runs `cleanup` after this test. */
export const after = (cleanup: () => unknown) => void cleanups.push(cleanup);
