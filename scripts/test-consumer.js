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
// SCREENSHOTS=<dir> saves a screenshot of each page there.
import { execSync, spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { chromium } from 'playwright';
import { ensureChromium } from './chromium.js';
import { writeReadmeFiles } from './readme.js';

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

/** @type {import('node:child_process').ChildProcess | undefined} */
let server;
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
		filter: (source) => !/[/\\](node_modules|\.svelte-kit|build)$/.test(source)
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
	await timed('npm install', () => {
		// npm 11 lists the install scripts of packages from tarballs and git, `prepare` included.
		const install = spawnSync(
			`npm install --no-audit --no-fund --prefer-offline ${tarball} ${toolchain}`,
			{ cwd: app, encoding: 'utf8', shell: true }
		);
		const output = `${install.stdout}${install.stderr}`;
		if (install.status !== 0) throw new Error(`npm install failed:\n${output}`);
		if (/install-scripts\s+svelte-realtime-kit@/.test(output))
			throw new Error(`npm lists install scripts of the package:\n${output}`);
	});
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

	console.log('\nConsumer test timings');
	for (const [name, seconds] of timings)
		console.log(`  ${name.padEnd(42)} ${seconds.toFixed(1)} s`);
	console.log(
		`Consumer app (${toolchain}): the README's code type-checks, builds, renders on the server and goes live: ok (${((performance.now() - started) / 1000).toFixed(1)} s)`
	);
	await cleanup();
} catch (error) {
	fail(error);
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

	const chrome = await chromium.launch({
		executablePath: ensureChromium(),
		args: ['--no-sandbox']
	});
	browser = chrome;
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
	/** @param {import('playwright').Page} page @param {string} name */
	const shoot = async (page, name) => {
		if (!shots) return;
		mkdirSync(shots, { recursive: true });
		await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
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

async function cleanup() {
	await browser?.close();
	server?.kill();
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
