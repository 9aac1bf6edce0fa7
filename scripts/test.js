// `npm test`: everything CI runs, in order, with the time each part took.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { ensureChromium } from './chromium.js';
import { ensureRedisServer } from './redis.js';

const RESULTS = 'node_modules/.cache/srk-test';
rmSync(RESULTS, { recursive: true, force: true });
mkdirSync(RESULTS, { recursive: true });
/** @param {string} name */
const vitest = (name, projects = [name]) =>
	`npx vitest run ${projects.map((p) => `--project ${p}`).join(' ')} --reporter=default --reporter=json --outputFile.json=${RESULTS}/${name}.json`;

const env = {
	...process.env,
	CHROMIUM_PATH: ensureChromium(),
	REDIS_SERVER_PATH: ensureRedisServer()
};

/** @type {Array<[name: string, command: string]>} */
const steps = [
	['check', 'npm run --silent check'],
	['lint', 'npm run --silent lint'],
	['unit (jsdom + node, core coverage)', `${vitest('unit', ['unit', 'node'])} --coverage`],
	['browser + stories (Chromium)', vitest('browser', ['browser', 'storybook'])],
	['Storybook static build under a sub-path', 'node scripts/check-storybook-build.js'],
	['Storybook Connection panel and its fault buttons', 'node scripts/check-storybook-panel.js'],
	['demo: build, then the production server in Chromium', `npx vite build && ${vitest('demo')}`],
	['tabs: Chromium pages sharing one connection', vitest('tabs')],
	['redis: real redis-server, several server processes', vitest('redis')],
	['package', 'npm run --silent package'],
	['pack contents', 'node scripts/check-pack.js'],
	['size budgets (min+gzip of typical imports)', 'node scripts/size.js'],
	[
		'consumer app: the packed package, the README and the addon in its Storybook',
		'node scripts/test-consumer.js'
	]
];

/** @type {Array<[string, string, string]>} */
const report = [];
let failed = false;
for (const [name, command] of steps) {
	console.log(`\n▶ ${name}: ${command}`);
	const started = performance.now();
	const { status } = spawnSync(command, { stdio: 'inherit', env, shell: true });
	const seconds = ((performance.now() - started) / 1000).toFixed(1);
	report.push([name, status === 0 ? 'ok' : 'FAILED', `${seconds} s`]);
	if (status !== 0) {
		failed = true;
		break;
	}
}

console.log('\nnpm test summary');
for (const [name, result, time] of report)
	console.log(`  ${name.padEnd(30)} ${result.padEnd(7)} ${time}`);

// Test counts over every Vitest run, as one closing line.
let passed = 0;
let failedTests = 0;
for (const name of ['unit', 'browser', 'demo', 'tabs', 'redis']) {
	const file = `${RESULTS}/${name}.json`;
	if (!existsSync(file)) continue;
	const result = JSON.parse(readFileSync(file, 'utf8'));
	passed += result.numPassedTests;
	failedTests += result.numFailedTests;
}
console.log(`\nTests: ${passed} passed, ${failedTests} failed`);
process.exit(failed || failedTests > 0 ? 1 : 0);
