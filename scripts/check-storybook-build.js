// `npm run test:storybook-build`: builds the static Storybook, serves it under a sub-path
// (`/kit/`, as on a project site), and checks in Chromium that
//   1. the MSW service worker registers from that sub-path and a live story goes live on it;
//   2. switching to another story leaves no EventSource or WebSocket of the first one open.
import { spawnSync } from 'node:child_process';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { extname, join, normalize } from 'node:path';
import { chromium } from 'playwright';
import { ensureChromium } from './chromium.js';

const OUT = 'storybook-static';
const PREFIX = '/kit/';
/** @type {Record<string, string>} */
const TYPES = {
	'.html': 'text/html; charset=utf-8',
	'.js': 'text/javascript',
	'.mjs': 'text/javascript',
	'.css': 'text/css',
	'.json': 'application/json',
	'.svg': 'image/svg+xml',
	'.png': 'image/png',
	'.woff': 'font/woff',
	'.woff2': 'font/woff2'
};

/** Counts, per frame, the EventSources and WebSockets opened and not closed yet. */
const COUNT_CONNECTIONS = `(() => {
	const open = new Set();
	window.__openConnections = () => open.size;
	for (const name of ['EventSource', 'WebSocket']) {
		const Native = window[name];
		if (!Native) continue;
		window[name] = class extends Native {
			constructor(...args) {
				super(...args);
				open.add(this);
				this.addEventListener('close', () => open.delete(this));
				const close = this.close.bind(this);
				this.close = (...rest) => {
					open.delete(this);
					return close(...rest);
				};
			}
		};
	}
})();`;

/** @param {import('playwright').Page} page */
const openConnections = (page) =>
	page
		.frame({ url: /iframe\.html/ })
		?.evaluate(() => /** @type {any} */ (window).__openConnections());

if (!process.argv.includes('--no-build')) {
	const built = spawnSync('npx storybook build --quiet --disable-telemetry -o ' + OUT, {
		stdio: 'inherit',
		shell: true
	});
	if (built.status !== 0) process.exit(built.status ?? 1);
}

/** Requests outside the sub-path: a build that asks for them would break on a project site. */
/** @type {string[]} */
const outside = [];
const server = createServer((request, response) => {
	const path = decodeURIComponent(new URL(request.url ?? '/', 'http://x').pathname);
	if (!path.startsWith(PREFIX)) {
		outside.push(path);
		response.writeHead(404).end();
		return;
	}
	let file = normalize(join(OUT, path.slice(PREFIX.length)));
	if (!file.startsWith(OUT)) return response.writeHead(403).end();
	if (existsSync(file) && statSync(file).isDirectory()) file = join(file, 'index.html');
	if (!existsSync(file)) return response.writeHead(404).end();
	response.writeHead(200, {
		'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream'
	});
	createReadStream(file).pipe(response);
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(undefined)));
const address = server.address();
const origin = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
// Never outlive a hung browser.
const watchdog = setTimeout(() => fail('timed out after 120 s'), 120_000);
watchdog.unref();

const browser = await chromium.launch({
	executablePath: ensureChromium(),
	args: ['--no-sandbox', '--disable-gpu']
});
/** @type {string[]} */
const problems = [];
try {
	const context = await browser.newContext();
	// Counts the sockets and event sources each frame opened and has not closed.
	await context.addInitScript({ content: COUNT_CONNECTIONS });
	const page = await context.newPage();
	page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));

	await page.goto(`${origin}${PREFIX}?path=/story/live-livesource--sse-live`);
	const story = page.frameLocator('#storybook-preview-iframe');
	await story.locator('.srk-badge[data-status="live"]').waitFor({ timeout: 30_000 });
	const rows = await story.getByRole('listitem').count();
	if (rows !== 5) problems.push(`SSE live on ${PREFIX}: ${rows} rows, expected 5`);
	const registration = await page
		.frame({ url: /iframe\.html/ })
		?.evaluate(async () => (await navigator.serviceWorker.getRegistration())?.scope);
	if (!registration?.endsWith(PREFIX))
		problems.push(`service worker scope ${registration}, expected …${PREFIX}`);
	const before = await openConnections(page);
	if (before !== 1) problems.push(`SSE live: ${before} open connections, expected 1`);

	// Switch stories the way a reader does: through the sidebar.
	await page.locator('#live-livesource--empty').click();
	await story.getByText('No activity yet.').waitFor({ timeout: 30_000 });
	await page.locator('button#components-transportbadge').click(); // expands the component
	await page.locator('#components-transportbadge--live').click();
	await story.locator('.srk-badge[data-status="live"]').first().waitFor({ timeout: 30_000 });
	await story.getByText('No activity yet.').waitFor({ state: 'detached', timeout: 30_000 });
	const after = await openConnections(page);
	if (after !== 0)
		problems.push(`after switching to a static story: ${after} open connections, expected 0`);
	console.log(
		`Storybook under ${origin}${PREFIX}: ${rows} live rows, service worker scope ${registration}, open connections ${before} → ${after}`
	);
} catch (error) {
	problems.push(String(error));
} finally {
	await browser.close();
	server.close();
}
const stray = outside.filter((path) => path !== '/favicon.ico');
if (stray.length) problems.push(`requests outside ${PREFIX}: ${[...new Set(stray)].join(', ')}`);
if (problems.length) fail(problems.join('\n'));
console.log('Static Storybook works from a sub-path.');

/** @param {string} message */
function fail(message) {
	console.error(`Static Storybook check failed:\n${message}`);
	process.exit(1);
}
