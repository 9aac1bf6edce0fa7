// `npm run test:consumer`: installs the packed package into the SvelteKit app in tests/consumer
// (copied outside the workspace, so nothing resolves to the repository's own files), builds it
// with SSR, starts it, and checks in Chromium: rows rendered on the server, then a live update
// pushed by the app's own SSE endpoint (built on `svelte-realtime-kit/server`), received once over
// EventSource and once in fetch mode (whose parser the app's build splits into its own chunk).
import { execSync, spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright';
import { ensureChromium } from './chromium.js';

const root = resolve('.');
const work = mkdtempSync(join(tmpdir(), 'srk-consumer-'));
const app = join(work, 'app');
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
	run('npx svelte-kit sync && npx svelte-package');
	const tarball = join(
		work,
		execSync(`npm pack --silent --pack-destination ${work}`, { cwd: root, encoding: 'utf8' })
			.trim()
			.split('\n')
			.at(-1) ?? ''
	);
	cpSync(join(root, 'tests/consumer'), app, { recursive: true });
	const toolchain = [
		'svelte',
		'@sveltejs/kit',
		'@sveltejs/adapter-node',
		'@sveltejs/vite-plugin-svelte',
		'vite'
	]
		.map((name) => `${name}@${version(name)}`)
		.join(' ');
	run(`npm install --no-audit --no-fund --loglevel=error ${tarball} ${toolchain}`, app);
	run('npx svelte-kit sync && npx vite build --logLevel warn', app);

	const port = await freePort();
	const origin = `http://127.0.0.1:${port}`;
	server = spawn(process.execPath, ['build'], {
		cwd: app,
		env: { ...process.env, HOST: '127.0.0.1', PORT: String(port), ORIGIN: origin },
		stdio: 'inherit'
	});
	await waitFor(async () => (await fetch(origin)).ok);

	const html = await (await fetch(origin)).text();
	if (!html.includes('Rendered on the server'))
		throw new Error('no server-rendered rows in the HTML');

	browser = await chromium.launch({ executablePath: ensureChromium(), args: ['--no-sandbox'] });
	// EventSource mode (the default), then fetch mode, which loads its parser on first use.
	for (const { query, title, expectedRows, resourceType } of [
		{ query: '', title: 'Pushed over SSE', expectedRows: 3, resourceType: 'eventsource' },
		{
			query: '?sse=fetch',
			title: 'Pushed over fetch-mode SSE',
			expectedRows: 4,
			resourceType: 'fetch'
		}
	]) {
		const page = await browser.newPage();
		/** @type {string[]} */
		const streams = [];
		page.on('request', (request) => {
			if (request.url().includes('/api/tasks/stream')) streams.push(request.resourceType());
		});
		await page.goto(`${origin}/${query}`);
		await page
			.locator('.srk-badge[data-status="live"][data-transport="sse"]')
			.waitFor({ timeout: 20_000 });
		await fetch(`${origin}/api/tasks`, {
			method: 'POST',
			headers: { 'content-type': 'application/json' },
			body: JSON.stringify({ title })
		});
		await page.getByText(title).waitFor({ timeout: 10_000 });
		const rows = await page.getByRole('listitem').count();
		if (rows !== expectedRows)
			throw new Error(
				`${query || 'EventSource mode'}: expected ${expectedRows} rows, found ${rows}`
			);
		if (streams[0] !== resourceType)
			throw new Error(`${query || 'EventSource mode'}: the stream was a ${streams[0]} request`);
		await page.close();
	}
	console.log(
		`Consumer app (${toolchain}): server-rendered rows, "SSE · live", then a pushed row, in EventSource and in fetch mode: ok`
	);
	await cleanup();
} catch (error) {
	fail(error);
}

async function cleanup() {
	await browser?.close();
	server?.kill();
	rmSync(work, { recursive: true, force: true });
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
async function waitFor(check, timeout = 20_000) {
	const until = Date.now() + timeout;
	for (;;) {
		try {
			if (await check()) return;
		} catch {
			// not up yet
		}
		if (Date.now() > until) throw new Error('the app did not start');
		await new Promise((resolve) => setTimeout(resolve, 200));
	}
}
