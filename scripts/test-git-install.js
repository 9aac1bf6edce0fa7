// `npm run test:git-install`: installs the package from git, as `npm install git+https://…` does,
// from a clone of HEAD into a fresh project, and imports its framework-free entry points from Node.
// npm prepares a git dependency by running `npm install` (dev dependencies included) in its clone,
// which runs the `postprepare` script that builds `dist`; then it packs the clone as `npm pack`
// would. The test also fails when npm lists the package as having install scripts to review.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const root = resolve(import.meta.dirname, '..');
const work = mkdtempSync(join(tmpdir(), 'srk-git-install-'));
const started = performance.now();
const seconds = () => `${((performance.now() - started) / 1000).toFixed(1)} s`;

try {
	const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], {
		cwd: root,
		encoding: 'utf8'
	}).trim();
	if (dirty)
		console.log('Installing HEAD: uncommitted changes to tracked files are not part of it.');
	const repo = join(work, 'repo');
	execFileSync('git', ['clone', '--quiet', '--no-local', '--depth', '1', `file://${root}`, repo]);

	const app = join(work, 'app');
	mkdirSync(app);
	writeFileSync(
		join(app, 'package.json'),
		JSON.stringify({ name: 'git-install-check', private: true, type: 'module' }, null, '\t')
	);
	const url = `git+${pathToFileURL(repo).href}`;
	console.log(`npm install ${url}`);
	// npm's cache serves the clone's dev dependencies: the same lockfile as this repository's.
	const install = spawnSync(
		'npm',
		['install', '--no-audit', '--no-fund', '--prefer-offline', '--foreground-scripts=false', url],
		{ cwd: app, encoding: 'utf8' }
	);
	const output = `${install.stdout}\n${install.stderr}`;
	if (install.status !== 0) throw new Error(`npm install failed:\n${output}`);
	if (/install-scripts/.test(output))
		throw new Error(`npm lists install scripts to review:\n${output}`);

	const installed = join(app, 'node_modules', 'svelte-realtime-kit');
	for (const file of ['dist/index.js', 'dist/index.d.ts', 'dist/core/index.js'])
		if (!existsSync(join(installed, file))) throw new Error(`the git install has no ${file}`);

	// The framework-free entries from Node, resolved through the package's exports.
	const check = `
		import * as core from 'svelte-realtime-kit/core';
		import { createEventLog, sseResponse } from 'svelte-realtime-kit/server';
		for (const name of ['createLiveSource', 'createRecordStore', 'fallback', 'polling', 'sse', 'websocket'])
			if (typeof core[name] !== 'function') throw new Error('core has no ' + name);
		const log = createEventLog();
		log.append({ event: 'upsert', data: { id: 'a', title: 'From git' } });
		const controller = new AbortController();
		const request = new Request('http://localhost/stream', {
			headers: { 'last-event-id': '0' },
			signal: controller.signal
		});
		const response = sseResponse({ request, log, heartbeat: 0 });
		const reader = response.body.getReader();
		const { value } = await reader.read();
		controller.abort();
		const text = new TextDecoder().decode(value);
		if (!text.includes('"From git"')) throw new Error('the stream sent ' + JSON.stringify(text));
		console.log('svelte-realtime-kit/core and /server from Node: ok');
	`;
	execFileSync(process.execPath, ['--input-type=module', '-e', check], {
		cwd: app,
		stdio: 'inherit'
	});
	console.log(`Git install: dist built in the clone, no install scripts listed: ok (${seconds()})`);
} catch (error) {
	console.error(
		`Git install test failed after ${seconds()}: ${error instanceof Error ? error.message : error}`
	);
	process.exitCode = 1;
} finally {
	rmSync(work, { recursive: true, force: true });
}
