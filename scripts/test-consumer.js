// `npm run test:consumer`: the README's code, run as a user would run it. Packs the package (its
// `prepack` builds and checks dist), makes a SvelteKit app outside the workspace (so nothing
// resolves to the repository's own files) from tests/consumer and the README's code blocks
// (scripts/readme.js: every block is a file of the app or is marked as not being one), installs
// the tarball, type-checks the app under strict TypeScript (svelte-check), builds it with SSR,
// starts it, and checks in Chromium:
// - the Quick start page: rows rendered on the server, then "SSE · live"; a toggle clicked on the
//   page reaches the server (the README's `commit` and PATCH endpoint), and a change made on the
//   server reaches the page (its SSE endpoint, on `svelte-realtime-kit/server`);
// - the same stream read in fetch mode (whose parser the build splits into its own chunk);
// - the framework-free and the shared examples run in the browser, and the two-way adapters rendered;
// - no page error and no console error anywhere.
// Up to there the app has no Storybook, so none of that needs the optional peer. Then it installs
// `storybook` and `@storybook/sveltekit` (the versions installed here), type-checks the app's
// Storybook files (tests/consumer/.storybook, configured by hand with
// `addons: ['svelte-realtime-kit/storybook']` as the README says, and a CSF3 story in TypeScript),
// builds the static Storybook, serves it (with the app's own GET /api/tasks, so that the story's
// polling goes live) and checks in Chromium, with the story open and the Connection panel selected:
// - the panel's tab is there, titled "Connection";
// - it lists the story's inspected source, "consumer tasks", with its attempt, request, response
//   and the status change to live, and the source's status, live over polling with the server's
//   rows, as the story's own badge shows;
// - no page error and no console error in the manager or the preview frame.
// SCREENSHOTS=<dir> saves a screenshot of each page there.
import { execSync, spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createServer as createHttpServer, get } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { chromium } from 'playwright';
import { ensureChromium } from './chromium.js';
import { writeReadmeFiles } from './readme.js';
import { sendFile } from './static-files.js';

const root = resolve(import.meta.dirname, '..');
const work = mkdtempSync(join(tmpdir(), 'srk-consumer-'));
const app = join(work, 'app');
const shots = process.env.SCREENSHOTS ? resolve(process.env.SCREENSHOTS) : undefined;
const started = performance.now();
/** @type {Array<[string, number]>} */
const timings = [];
/** @param {string} name @param {() => unknown} step */
const timed = async (name, step) => {
	const t = performance.now();
	await step();
	timings.push([name, (performance.now() - t) / 1000]);
};
/** @param {string} command @param {string} cwd */
const run = (command, cwd = root) => execSync(command, { cwd, stdio: 'inherit' });
/** The version of a package installed here, so that the app builds with the same toolchain. */
const version = (/** @type {string} */ name) =>
	JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')).version;

/** The story the consumer app's Storybook has (tests/consumer/src/stories). */
const STORY = 'consumer-inspected-tasks--polling';
/** The Connection panel's id, as its documentation gives it for `addonPanel=`. */
const PANEL = 'svelte-realtime-kit/connection/panel';
/** The inspected source's label in the story. */
const SOURCE = 'consumer tasks';

/** @type {import('node:child_process').ChildProcess | undefined} */
let server;
/** @type {import('node:http').Server | undefined} */
let staticServer;
/** @type {import('playwright').Browser | undefined} */
let browser;
const watchdog = setTimeout(() => fail(new Error('timed out after 5 minutes')), 300_000);
watchdog.unref();

try {
	/** @type {string} */
	let tarball = '';
	await timed('npm pack (prepack: build and check dist)', () => {
		const output = execSync(`npm pack --silent --pack-destination ${work}`, {
			cwd: root,
			encoding: 'utf8',
			stdio: ['ignore', 'pipe', 'inherit']
		});
		tarball = join(work, output.trim().split('\n').at(-1) ?? '');
	});

	cpSync(join(root, 'tests/consumer'), app, {
		recursive: true,
		filter: (source) => !/[/\\](node_modules|\.svelte-kit|build|storybook-static)$/.test(source)
	});
	const readme = writeReadmeFiles(app);
	checkEveryFileIsBuilt(readme.map((file) => file.path));
	console.log(
		`The app: ${readme.length} files from the README (${readme.map((f) => f.path).join(', ')}) and tests/consumer`
	);

	const toolchain = [
		'svelte',
		'@sveltejs/kit',
		'@sveltejs/adapter-node',
		'@sveltejs/vite-plugin-svelte',
		'vite',
		'typescript',
		'svelte-check',
		'socket.io-client'
	]
		.map((name) => `${name}@${version(name)}`)
		.join(' ');
	await timed('npm install', () => npmInstall(`${tarball} ${toolchain}`));
	await timed('svelte-check (strict TypeScript)', () =>
		run(
			'npx svelte-kit sync && npx svelte-check --tsconfig ./tsconfig.json --fail-on-warnings',
			app
		)
	);
	await timed('vite build', () => run('npx vite build --logLevel warn', app));

	const port = await freePort();
	const origin = `http://127.0.0.1:${port}`;
	server = spawn(process.execPath, ['build'], {
		cwd: app,
		env: { ...process.env, HOST: '127.0.0.1', PORT: String(port), ORIGIN: origin },
		stdio: 'inherit'
	});
	await waitFor(async () => (await fetch(origin)).ok);
	await timed('Chromium', () => checkInChromium(origin));

	// The app's Storybook, with the kit's addon.
	const storybook = ['storybook', '@storybook/sveltekit']
		.map((name) => `${name}@${version(name)}`)
		.join(' ');
	await timed('npm install (Storybook)', () => npmInstall(`--save-dev ${storybook}`));
	await timed('svelte-check (the Storybook files)', () =>
		run('npx svelte-check --tsconfig ./tsconfig.storybook.json --fail-on-warnings', app)
	);
	await timed('storybook build', () => {
		const build = spawnSync(
			'npx storybook build --quiet --disable-telemetry --output-dir storybook-static',
			{ cwd: app, encoding: 'utf8', shell: true }
		);
		if (build.status !== 0)
			throw new Error(`storybook build failed:\n${build.stdout}${build.stderr}`);
	});
	const storybookOrigin = await serveStorybook(join(app, 'storybook-static'), origin);
	await timed('Chromium (the Connection panel)', () =>
		checkConnectionPanel(storybookOrigin, origin)
	);

	console.log('\nConsumer test timings');
	for (const [name, seconds] of timings)
		console.log(`  ${name.padEnd(42)} ${seconds.toFixed(1)} s`);
	console.log(
		`Consumer app (${toolchain}; ${storybook}): the README's code type-checks, builds, renders on the server and goes live, and its Storybook shows the Connection panel: ok (${((performance.now() - started) / 1000).toFixed(1)} s)`
	);
	await cleanup();
} catch (error) {
	fail(error);
}

/**
 * `npm install` in the app; fails with npm's output, and when npm lists install scripts of the
 * kit's tarball (npm 11 lists those of packages from tarballs and git, `prepare` included).
 * @param {string} specs
 */
function npmInstall(specs) {
	const install = spawnSync(`npm install --no-audit --no-fund --prefer-offline ${specs}`, {
		cwd: app,
		encoding: 'utf8',
		shell: true
	});
	const output = `${install.stdout}${install.stderr}`;
	if (install.status !== 0) throw new Error(`npm install failed:\n${output}`);
	if (/install-scripts\s+svelte-realtime-kit@/.test(output))
		throw new Error(`npm lists install scripts of the package:\n${output}`);
}

/**
 * Every README file must be part of the build: a route file, or imported by a file of the app.
 * @param {string[]} paths
 */
function checkEveryFileIsBuilt(paths) {
	const sources = listFiles(join(app, 'src')).map((file) => ({
		path: relative(app, file).replaceAll('\\', '/'),
		text: readFileSync(file, 'utf8')
	}));
	for (const path of paths) {
		if (/^src\/routes\/(.*\/)?\+/.test(path)) continue;
		const specifier = path.replace(/^src\/lib\//, '$lib/').replace(/\.(ts|js)$/, '');
		const imported = sources.some(
			(source) =>
				source.path !== path &&
				new RegExp(`from '${specifier.replace(/[$.]/g, '\\$&')}(\\.js|\\.ts)?'`).test(source.text)
		);
		if (!imported)
			throw new Error(
				`${path} (from the README) is imported by no file of the app, so the build would not include it`
			);
	}
}

/** @param {string} dir @returns {string[]} */
function listFiles(dir) {
	return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
		entry.isDirectory() ? listFiles(join(dir, entry.name)) : [join(dir, entry.name)]
	);
}

/** @param {string} origin */
async function checkInChromium(origin) {
	/** @returns {Promise<Array<{ id: string; title: string; done: boolean }>>} */
	const serverTasks = async () => (await fetch(`${origin}/api/tasks`)).json();
	/** @param {string} title @param {boolean} done */
	const setOnServer = async (title, done) => {
		const task = (await serverTasks()).find((t) => t.title === title);
		if (!task) throw new Error(`no task "${title}" on the server`);
		const response = await fetch(`${origin}/api/tasks/${task.id}`, {
			method: 'PATCH',
			headers: { 'content-type': 'application/json' },
			body: JSON.stringify({ done })
		});
		if (!response.ok) throw new Error(`PATCH ${title}: HTTP ${response.status}`);
	};

	const html = await (await fetch(origin)).text();
	const tasks = await serverTasks();
	for (const task of tasks)
		if (!html.includes(task.title)) throw new Error(`"${task.title}" is not in the server's HTML`);
	if (
		(
			await fetch(`${origin}/api/tasks/1`, {
				method: 'PATCH',
				headers: { 'content-type': 'application/json' },
				body: '{}'
			})
		).status !== 400
	)
		throw new Error('PATCH without `done` is not a 400');

	const chrome = await launchChromium();
	/** @type {string[]} */
	const errors = [];
	/** @param {string} path */
	const open = async (path) => {
		const page = await chrome.newPage({ viewport: { width: 720, height: 640 } });
		page.on('pageerror', (error) => errors.push(`${path}: ${error.message}`));
		page.on('console', (message) => {
			if (message.type() === 'error') errors.push(`${path}: console: ${message.text()}`);
		});
		/** @type {string[]} */
		const streams = [];
		page.on('request', (request) => {
			if (request.url().includes('/api/tasks/stream')) streams.push(request.resourceType());
		});
		await page.goto(`${origin}${path}`);
		return { page, streams };
	};
	const live = '.srk-badge[data-status="live"][data-transport="sse"]';
	/** @param {import('playwright').Page} page @param {string} title */
	const checkbox = (page, title) => page.getByRole('checkbox', { name: title });

	// The Quick start page.
	{
		const { page, streams } = await open('/');
		await page.locator(live).waitFor({ timeout: 20_000 });
		const rows = await page.getByRole('listitem').count();
		if (rows !== tasks.length)
			throw new Error(`Quick start: ${rows} rows, the server has ${tasks.length}`);
		if (streams[0] !== 'eventsource')
			throw new Error(`Quick start: the stream was a ${streams[0]} request`);
		// A toggle on the page goes through `commit` to PATCH /api/tasks/:id.
		await checkbox(page, 'Review the release').check();
		await waitFor(
			async () => (await serverTasks()).some((t) => t.title === 'Review the release' && t.done),
			10_000,
			'the toggle never reached the server'
		);
		// A change on the server is pushed to the page.
		await setOnServer('Ship it', true);
		await page.waitForFunction(
			() =>
				/** @type {HTMLInputElement | null} */ (
					[...document.querySelectorAll('li')]
						.find((li) => li.textContent?.includes('Ship it'))
						?.querySelector('input[type="checkbox"]')
				)?.checked === true,
			undefined,
			{ timeout: 10_000 }
		);
		await page.getByText('2 of 3 done').waitFor({ timeout: 5000 });
		if (!(await checkbox(page, 'Review the release').isChecked()))
			throw new Error('Quick start: the toggle was rolled back');
		await shoot(page, 'quick-start');
		await page.close();
	}

	// The same stream in fetch mode, which loads its parser on first use.
	{
		const { page, streams } = await open('/fetch-mode');
		await page.locator(live).waitFor({ timeout: 20_000 });
		await setOnServer('Ship it', false);
		await page.getByText('Ship it: open').waitFor({ timeout: 10_000 });
		if (streams[0] !== 'fetch')
			throw new Error(`fetch mode: the stream was a ${streams[0]} request`);
		await shoot(page, 'fetch-mode');
		await page.close();
	}

	// The framework-free example.
	{
		const { page } = await open('/core');
		await page.getByText('Ship it: open').waitFor({ timeout: 20_000 });
		await setOnServer('Write the docs', true);
		await page.getByText('Write the docs: done').waitFor({ timeout: 10_000 });
		await shoot(page, 'core');
		await page.close();
	}

	// The shared example: its sharing code loads, and the only tab leads.
	{
		const { page } = await open('/shared');
		await page.getByText('Connection: live leader').waitFor({ timeout: 20_000 });
		await setOnServer('Ship it', true);
		await page.getByText('Ship it: done').waitFor({ timeout: 10_000 });
		await page.close();
	}

	// The two-way adapters: built, and created during SSR and in the browser without opening anything.
	{
		const { page } = await open('/two-way');
		await page.getByText('Two-way chains:').waitFor({ timeout: 10_000 });
		await page.close();
	}

	if (errors.length) throw new Error(`errors in the pages:\n${errors.join('\n')}`);
}

/**
 * The static Storybook with the story open and the Connection panel selected: the tab, the
 * source's events and status, the story's badge, and no error in the manager or the preview.
 * @param {string} origin the static Storybook's
 * @param {string} appOrigin the app's, whose GET /api/tasks the story polls
 */
async function checkConnectionPanel(origin, appOrigin) {
	/** @type {unknown[]} */
	const tasks = JSON.parse((await getFresh(`${appOrigin}/api/tasks`)).body.toString());
	const chrome = await launchChromium();
	const page = await chrome.newPage({ viewport: { width: 1280, height: 800 } });
	/** @type {string[]} */
	const errors = [];
	// The preview frame's errors and console messages are reported on its page too.
	page.on('pageerror', (error) => errors.push(error.message));
	page.on('console', (message) => {
		if (message.type() === 'error')
			errors.push(`console: ${message.text()} (${message.location().url})`);
	});
	try {
		await page.goto(`${origin}/?path=/story/${STORY}&addonPanel=${PANEL}`);

		const tab = page.getByRole('tab', { name: 'Connection', exact: true });
		await tab.waitFor({ timeout: 20_000 }).catch(async () => {
			const tabs = await page.getByRole('tab').allTextContents();
			throw new Error(`Storybook: no "Connection" tab among the addon panels (${tabs.join(', ')})`);
		});
		if ((await tab.getAttribute('aria-selected')) !== 'true')
			throw new Error(`Storybook: addonPanel=${PANEL} did not select the Connection tab`);
		const panel = page.getByRole('tabpanel', { name: 'Connection' });
		const events = panel.getByRole('list', { name: `Events of ${SOURCE}` });
		/** The panel's rows: each one's time, type and line. @returns {Promise<string[][]>} */
		const rows = () =>
			events
				.locator(':scope > li > button')
				.evaluateAll((buttons) =>
					buttons.map((button) => [...button.children].map((cell) => cell.textContent ?? ''))
				);
		/** @type {Array<[string, RegExp]>} */
		const expected = [
			['attempt', /polling/],
			['request', /^GET \/api\/tasks$/],
			['response', /^GET \/api\/tasks → 200\b/],
			['status', /→ live\b/]
		];
		try {
			await waitFor(async () => {
				const seen = await rows();
				return expected.every(([type, line]) =>
					seen.some(([, t, l = '']) => t === type && line.test(l))
				);
			}, 20_000);
		} catch {
			const seen = (await rows().catch(() => [])).map((row) => `  ${row.join('  ')}`).join('\n');
			const sources = await panel.getByRole('heading').allTextContents();
			throw new Error(
				`Connection panel: "${SOURCE}" should list ${expected.map(([type, line]) => `${type} ${line}`).join(', ')}; it lists:\n${seen || '  (nothing)'}\nThe panel's sources: ${sources.join('; ') || '(none)'}`
			);
		}
		const heading = (await panel.getByRole('heading', { name: SOURCE }).textContent()) ?? '';
		const status = `live · polling · ${tasks.length} row${tasks.length === 1 ? '' : 's'}`;
		if (!heading.includes(status))
			throw new Error(`Connection panel: "${SOURCE}" is "${heading}", not "${status}"`);
		await page
			.frameLocator('#storybook-preview-iframe')
			.locator('.srk-badge[data-status="live"][data-transport="polling"]')
			.waitFor({ timeout: 10_000 });
		await shoot(page, 'storybook-connection-panel');
	} catch (error) {
		// The page's errors may say why.
		if (errors.length && error instanceof Error)
			error.message += `\nerrors in the Storybook:\n${errors.join('\n')}`;
		throw error;
	}
	if (errors.length) throw new Error(`errors in the Storybook:\n${errors.join('\n')}`);
	await page.close();
}

/**
 * Serves the static Storybook in `dir` on 127.0.0.1 (a free port) until the script ends, and the
 * path the story polls, GET /api/tasks, from the app at `appOrigin`.
 * @param {string} dir @param {string} appOrigin @returns {Promise<string>} its origin
 */
async function serveStorybook(dir, appOrigin) {
	const http = createHttpServer(async (request, response) => {
		try {
			const { pathname } = new URL(request.url ?? '/', 'http://127.0.0.1');
			if (pathname === '/api/tasks') {
				const upstream = await getFresh(`${appOrigin}/api/tasks`);
				response.writeHead(upstream.status, { 'content-type': upstream.type });
				response.end(upstream.body);
				return;
			}
			sendFile(dir, decodeURIComponent(pathname), response);
		} catch (error) {
			response.writeHead(500, { 'content-type': 'text/plain' }).end(String(error));
		}
	});
	staticServer = http;
	await new Promise((listening, failed) => {
		http.once('error', failed);
		http.listen(0, '127.0.0.1', () => listening(undefined));
	});
	const address = http.address();
	if (typeof address !== 'object' || !address) throw new Error('the static server has no port');
	return `http://127.0.0.1:${address.port}`;
}

/**
 * GET on a connection of its own. `fetch` would reuse a kept-alive connection that the server
 * closed while the Storybook steps (synchronous child processes) kept this process from noticing,
 * and fail with "other side closed".
 * @param {string} url
 * @returns {Promise<{ status: number; type: string; body: Buffer }>}
 */
function getFresh(url) {
	return new Promise((done, failed) => {
		get(url, { agent: false }, (response) => {
			/** @type {Buffer[]} */
			const chunks = [];
			response.on('data', (chunk) => chunks.push(chunk));
			response.on('error', failed);
			response.on('end', () =>
				done({
					status: response.statusCode ?? 0,
					type: response.headers['content-type'] ?? 'application/octet-stream',
					body: Buffer.concat(chunks)
				})
			);
		}).on('error', failed);
	});
}

/** Chromium, launched once for every check. */
async function launchChromium() {
	browser ??= await chromium.launch({ executablePath: ensureChromium(), args: ['--no-sandbox'] });
	return browser;
}

/** Saves a screenshot of `page` as `<name>.png` when SCREENSHOTS is set. */
async function shoot(/** @type {import('playwright').Page} */ page, /** @type {string} */ name) {
	if (!shots) return;
	mkdirSync(shots, { recursive: true });
	await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
}

async function cleanup() {
	await browser?.close();
	server?.kill();
	staticServer?.closeAllConnections();
	staticServer?.close();
	if (process.env.KEEP_CONSUMER) console.log(`The app is kept in ${app}`);
	else rmSync(work, { recursive: true, force: true });
}

/** @param {unknown} error */
async function fail(error) {
	console.error(`Consumer test failed: ${error instanceof Error ? error.message : error}`);
	await cleanup();
	process.exit(1);
}

/** @returns {Promise<number>} */
function freePort() {
	return new Promise((done) => {
		const probe = createServer().listen(0, '127.0.0.1', () => {
			const address = probe.address();
			probe.close(() => done(typeof address === 'object' && address ? address.port : 0));
		});
	});
}

/** @param {() => Promise<boolean>} check */
async function waitFor(check, timeout = 20_000, message = 'the app did not start') {
	const until = Date.now() + timeout;
	for (;;) {
		try {
			if (await check()) return;
		} catch {
			// not up yet
		}
		if (Date.now() > until) throw new Error(message);
		await new Promise((resolve) => setTimeout(resolve, 200));
	}
}
