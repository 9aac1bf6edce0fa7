// Checks the Connection panel (the svelte-realtime-kit/storybook addon) in a built Storybook, in
// Chromium, the way a person uses it:
//   - "SSE live" with the panel open: the timeline lists the transitions (connecting → live) and
//     the messages; the filter narrows the rows; Copy as JSON copies them; Pause holds a flood of
//     events and Resume shows them;
//   - "Drop the stream": the canvas badge goes reconnecting, the panel logs the failure and the
//     retry delay, then the recovery (live again), and the badge is live again;
//   - "Two timelines, one connection", "Restart the server": both timelines' badges recover to live;
//   - a story without a mock server: the fault buttons are disabled, with the hint;
//   - axe finds nothing in the panel, light or dark;
//   - no page errors, no console errors but the network failures the faults cause on purpose.
// With SCREENSHOTS=<dir>, saves the panel of three stories in light and dark.
// Options: --dir <build> (default storybook-static; build it with `npx storybook build`).
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright';
import { sendFile } from './static-files.js';
import { CHECK_ARGS, ensureChromium } from './chromium.js';

const DIR = resolve(option('--dir') ?? 'storybook-static');
const SHOTS = process.env.SCREENSHOTS ? resolve(process.env.SCREENSHOTS) : undefined;
const PANEL = 'svelte-realtime-kit/connection/panel';
/** How long one step may take (a story to settle, a reconnect), in milliseconds. */
const STEP_TIMEOUT = 20_000;
/** The whole run. */
const RUN_TIMEOUT = 180_000;
const STORIES = {
	live: 'live-livesource--sse-live',
	two: 'live-livesource--two-timelines-one-connection',
	refused: 'live-livesource--web-socket-toggle-refused',
	noMock: 'components-transportbadge--live'
};

/** @param {string} name */
function option(name) {
	const at = process.argv.indexOf(name);
	return at === -1 ? undefined : process.argv[at + 1];
}

/** @param {string} message */
function fail(message) {
	console.error(`Connection panel check failed:\n${message}`);
	process.exit(1);
}

if (!existsSync(join(DIR, 'index.json')))
	fail(`no Storybook build in ${DIR} (run \`npx storybook build -o ${DIR}\`, or pass --dir)`);

// Never outlive a hung browser.
const watchdog = setTimeout(() => fail(`timed out after ${RUN_TIMEOUT / 1000} s`), RUN_TIMEOUT);
watchdog.unref();

const server = createServer((request, response) => {
	const path = decodeURIComponent(new URL(request.url ?? '/', 'http://x').pathname);
	sendFile(DIR, path, response);
});
await new Promise((done) => server.listen(0, '127.0.0.1', () => done(undefined)));
const address = server.address();
const origin = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;

const axeSource = readFileSync(
	createRequire(import.meta.url).resolve('axe-core/axe.min.js'),
	'utf8'
);

/** @type {string[]} */
const problems = [];
let step = 'start';
const started = performance.now();

const browser = await chromium.launch({
	executablePath: ensureChromium(),
	args: CHECK_ARGS
});
try {
	const context = await browser.newContext({ viewport: { width: 1280, height: 1000 } });
	await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin });
	const page = await context.newPage();
	page.on('pageerror', (error) => problems.push(`${step}: page error: ${error.message}`));
	page.on('console', (message) => {
		if (message.type() !== 'error') return;
		const text = message.text();
		// The faults fail requests on purpose (a restart answers 503, offline fails the network).
		if (text.startsWith('Failed to load resource:') || /^EventSource's response/.test(text)) return;
		problems.push(`${step}: console error: ${text.slice(0, 300)}`);
	});
	const panel = page.getByRole('region', { name: 'Connection' });

	// 1. SSE live: transitions and messages.
	step = 'SSE live';
	await open(page, STORIES.live);
	await expectRows(page, 'the connection going live', (rows) =>
		rows.some((row) => row.type === 'status' && row.summary.includes('connecting → live'))
	);
	await expectRows(page, 'a message', (rows) => rows.some((row) => row.type === 'message'));
	const heading = await panel.locator('section h3').first().innerText();
	if (!/live/.test(heading)) problems.push(`${step}: the connection's heading reads "${heading}"`);

	// The filter, and Copy as JSON (what the filter shows).
	step = 'SSE live: filter and copy';
	const filter = panel.getByRole('searchbox', { name: 'Filter events' });
	await filter.fill('message');
	const filtered = await rows(page);
	if (
		filtered.length === 0 ||
		filtered.some((row) => !`${row.type} ${row.summary}`.includes('message'))
	)
		problems.push(`${step}: filtering by "message" shows ${JSON.stringify(filtered.slice(0, 3))}`);
	await panel.getByRole('button', { name: 'Copy as JSON' }).click();
	await panel.getByText(/^Copied \d+ events?$/).waitFor({ timeout: STEP_TIMEOUT });
	const copied = JSON.parse(await page.evaluate(() => navigator.clipboard.readText()));
	if (
		!Array.isArray(copied) ||
		copied.length !== filtered.length ||
		copied.some((/** @type {any} */ event) => event.type !== 'message')
	)
		problems.push(`${step}: copied ${JSON.stringify(copied).slice(0, 200)}`);
	await filter.fill('');

	// Pause holds what arrives (a flood), Resume shows it.
	step = 'SSE live: pause';
	const before = (await rows(page)).length;
	await panel.getByRole('button', { name: 'Pause' }).click();
	await panel.getByRole('button', { name: 'Flood 100 events' }).click();
	await panel
		.getByRole('button', { name: /^Resume \(\d+ held\)$/ })
		.waitFor({ timeout: STEP_TIMEOUT });
	if ((await rows(page)).length !== before) problems.push(`${step}: rows were added while paused`);
	await panel.getByRole('button', { name: /^Resume/ }).click();
	await expectRows(page, 'the flood after Resume', (list) =>
		list.some((row) => row.type === 'fault' && row.summary.startsWith('Flood 100 events'))
	);

	// 2. Drop the stream: reconnecting, the failure and the retry delay, then live again.
	step = 'SSE live: Drop the stream';
	await watchBadges(page);
	await panel.getByRole('button', { name: 'Drop the stream' }).click();
	const dropped = await expectRows(
		page,
		'the failure, the retry delay and the recovery',
		(list) => {
			const fault = list.findIndex((row) => row.summary.startsWith('Drop the stream'));
			if (fault === -1) return false;
			const after = list.slice(fault + 1);
			const retry = after.findIndex(
				(row) =>
					row.type === 'status' &&
					row.summary.includes('→ reconnecting') &&
					/retry in \d/.test(row.summary)
			);
			return (
				after.some((row) => row.type === 'failed' || row.type === 'ended') &&
				retry !== -1 &&
				after
					.slice(retry + 1)
					.some((row) => row.type === 'status' && row.summary.includes('reconnecting → live'))
			);
		}
	);
	if (dropped.some((row) => row.summary.startsWith('Drop the stream · no mock server')))
		problems.push(`${step}: the panel found no mock server`);
	await expectBadges(page, 1);

	// Go offline: the browser says so and the badge goes offline; Back online: live again.
	step = 'SSE live: Go offline, Back online';
	await watchBadges(page);
	await panel.getByRole('button', { name: 'Go offline' }).click();
	await expectBadgeStatus(page, 'offline');
	const online = await page.frame({ url: /iframe\.html/ })?.evaluate(() => navigator.onLine);
	if (online !== false) problems.push(`${step}: navigator.onLine is ${online} while offline`);
	await panel.getByRole('button', { name: 'Back online' }).click();
	await expectBadgeStatus(page, 'live');

	// 3. Two timelines on one connection: Restart the server, both recover.
	step = 'Two timelines: Restart the server';
	await open(page, STORIES.two);
	await watchBadges(page);
	await panel.getByRole('button', { name: 'Restart the server' }).click();
	await expectRows(page, 'the restart and the recovery', (list) => {
		const fault = list.findIndex((row) => row.summary.startsWith('Restart the server'));
		return (
			fault !== -1 &&
			list
				.slice(fault + 1)
				.some((row) => row.type === 'status' && row.summary.includes('reconnecting → live'))
		);
	});
	await expectBadges(page, 2);

	// 4. No mock server: the buttons are disabled, and say why.
	step = 'no mock server';
	await page.goto(`${origin}/?path=/story/${STORIES.noMock}&addonPanel=${PANEL}`);
	await panel.getByText(/No mock server answered in this story/).waitFor({ timeout: STEP_TIMEOUT });
	for (const name of ['Drop the stream', 'Go offline', 'Restart the server'])
		if (!(await panel.getByRole('button', { name }).isDisabled()))
			problems.push(`${step}: "${name}" is enabled`);

	// 5. axe on the panel, light and dark, with a row open.
	for (const theme of /** @type {const} */ (['light', 'dark'])) {
		step = `axe (${theme})`;
		await open(page, STORIES.refused, theme);
		await panel.locator('ol > li > button').first().click();
		await page.mouse.move(0, 0);
		await page.addScriptTag({ content: axeSource });
		const violations = await page.evaluate(async () => {
			const axe = /** @type {any} */ (window).axe;
			const result = await axe.run(
				{ include: ['[role="region"][aria-label="Connection"]'] },
				{ resultTypes: ['violations'] }
			);
			return result.violations.map(
				(/** @type {any} */ v) =>
					`${v.id}: ${v.help} (${v.nodes
						.map((/** @type {any} */ n) => n.target.join(' '))
						.slice(0, 3)
						.join(', ')})`
			);
		});
		for (const violation of violations) problems.push(`${step}: ${violation}`);
	}

	// 6. Screenshots of the panel, light and dark.
	if (SHOTS) {
		step = 'screenshots';
		mkdirSync(SHOTS, { recursive: true });
		for (const id of [STORIES.live, STORIES.two, STORIES.refused]) {
			for (const theme of /** @type {const} */ (['light', 'dark'])) {
				await open(page, id, theme);
				// The panel with its tab bar.
				await page
					.locator('#storybook-panel-root')
					.screenshot({ path: join(SHOTS, `${id}.${theme}.png`) });
			}
		}
	}
} catch (error) {
	problems.push(`${step}: check stopped: ${error instanceof Error ? error.message : error}`);
} finally {
	await browser.close();
	server.close();
}

const seconds = ((performance.now() - started) / 1000).toFixed(1);
if (problems.length)
	fail(`${problems.map((problem) => `  - ${problem}`).join('\n')}\n(${seconds} s)`);
console.log(
	`Connection panel: timeline, filter, copy, pause, Drop the stream, Go offline and back, Restart the server on two timelines, disabled faults without a mock server, axe light and dark: all as expected in ${seconds} s${SHOTS ? `; screenshots in ${SHOTS}` : ''}.`
);

/**
 * Opens a story with the Connection panel (in a theme), and waits until the panel says the story
 * settled and the page carries the same signal.
 * @param {import('playwright').Page} page
 * @param {string} id
 * @param {'light' | 'dark'} [theme]
 */
async function open(page, id, theme = 'light') {
	await page.goto(
		`${origin}/?path=/story/${id}&addonPanel=${PANEL}${theme === 'dark' ? '&globals=theme:dark' : ''}`
	);
	await page.waitForSelector('#storybook-preview-iframe', { timeout: STEP_TIMEOUT });
	if (theme === 'dark')
		await page.evaluate(() => {
			const w = /** @type {any} */ (window);
			w.__STORYBOOK_ADDONS_MANAGER.setConfig({ theme: w.__STORYBOOK_THEMING__.themes.dark });
		});
	const panel = page.getByRole('region', { name: 'Connection' });
	await panel
		.getByRole('status')
		.filter({ hasText: /^Settled$/ })
		.waitFor({ timeout: STEP_TIMEOUT })
		.catch(() => {
			throw new Error(`${id}: the panel never said the story settled`);
		});
	const preview = page.frame({ url: /iframe\.html/ });
	const mark = await preview?.evaluate(() => document.documentElement.dataset.connectionSettled);
	if (mark !== 'true')
		problems.push(`${id}: data-connection-settled is ${mark}, the panel says settled`);
}

/**
 * The panel's rows, in order: their connection, type and line.
 * @param {import('playwright').Page} page
 * @returns {Promise<Array<{ section: string, type: string, summary: string }>>}
 */
function rows(page) {
	return page
		.getByRole('region', { name: 'Connection' })
		.locator('section')
		.evaluateAll((sections) =>
			sections.flatMap((section) => {
				const name = section.querySelector('h3 span')?.textContent ?? '';
				return [...section.querySelectorAll('ol > li > button')].map((button) => {
					const [, type, summary] = [...button.children].map((child) => child.textContent ?? '');
					return { section: name, type: type ?? '', summary: summary ?? '' };
				});
			})
		);
}

/**
 * Waits until the rows satisfy `check`; returns them.
 * @param {import('playwright').Page} page
 * @param {string} what
 * @param {(rows: Array<{ section: string, type: string, summary: string }>) => boolean} check
 */
async function expectRows(page, what, check) {
	const deadline = Date.now() + STEP_TIMEOUT;
	for (;;) {
		const list = await rows(page);
		if (check(list)) return list;
		if (Date.now() > deadline) {
			problems.push(
				`${step}: the panel never showed ${what}; its last rows:\n${list
					.slice(-15)
					.map((row) => `      ${row.type.padEnd(10)} ${row.summary}`)
					.join('\n')}`
			);
			return list;
		}
		await page.waitForTimeout(100);
	}
}

/**
 * Records every status each badge in the canvas takes from now on (`window.__badges`).
 * @param {import('playwright').Page} page
 */
async function watchBadges(page) {
	const preview = page.frame({ url: /iframe\.html/ });
	if (!preview) throw new Error('no preview frame');
	await preview.evaluate(() => {
		const w = /** @type {any} */ (window);
		w.__badgeWatch?.disconnect();
		const badges = [...document.querySelectorAll('#storybook-root .srk-badge')];
		w.__badges = badges.map((badge) => [badge.getAttribute('data-status')]);
		w.__badgeWatch = new MutationObserver(() => {
			badges.forEach((badge, i) => {
				const status = badge.getAttribute('data-status');
				const seen = w.__badges[i];
				if (seen.at(-1) !== status) seen.push(status);
			});
		});
		for (const badge of badges)
			w.__badgeWatch.observe(badge, { attributes: true, attributeFilter: ['data-status'] });
	});
}

/**
 * Expects `count` badges that went reconnecting since {@link watchBadges} and are live again.
 * @param {import('playwright').Page} page
 * @param {number} count
 */
async function expectBadges(page, count) {
	const preview = page.frame({ url: /iframe\.html/ });
	if (!preview) throw new Error('no preview frame');
	/** @type {string[][]} */
	let seen;
	const deadline = Date.now() + STEP_TIMEOUT;
	for (;;) {
		seen = await preview.evaluate(() => /** @type {any} */ (window).__badges);
		const recovered = seen.filter(
			(history) => history.includes('reconnecting') && history.at(-1) === 'live'
		);
		if (seen.length === count && recovered.length === count) return;
		if (Date.now() > deadline) break;
		await page.waitForTimeout(100);
	}
	problems.push(
		`${step}: expected ${count} badge(s) to go reconnecting and back to live, saw ${JSON.stringify(seen)}`
	);
}

/**
 * Waits until every badge in the canvas shows `status`.
 * @param {import('playwright').Page} page
 * @param {string} status
 */
async function expectBadgeStatus(page, status) {
	const preview = page.frame({ url: /iframe\.html/ });
	if (!preview) throw new Error('no preview frame');
	const reached = await preview
		.waitForFunction(
			(status) => {
				const badges = [...document.querySelectorAll('#storybook-root .srk-badge')];
				return (
					badges.length > 0 && badges.every((badge) => badge.getAttribute('data-status') === status)
				);
			},
			status,
			{ timeout: STEP_TIMEOUT }
		)
		.then(
			() => true,
			() => false
		);
	if (!reached) {
		const seen = await preview.evaluate(() => /** @type {any} */ (window).__badges);
		problems.push(`${step}: the badge never showed ${status}; it went ${JSON.stringify(seen)}`);
	}
}
