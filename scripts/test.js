// `npm test`: everything CI runs, in order, with the time each part took.
import { spawnSync } from 'node:child_process';
import { ensureChromium } from './chromium.js';

const env = { ...process.env, CHROMIUM_PATH: ensureChromium() };

/** @type {Array<[name: string, command: string]>} */
const steps = [
	['check', 'npm run --silent check'],
	['lint', 'npm run --silent lint'],
	['unit (jsdom)', 'npx vitest run --project unit'],
	['browser + stories (Chromium)', 'npx vitest run --project browser --project storybook'],
	['package', 'npm run --silent package'],
	['pack contents', 'node scripts/check-pack.js']
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
process.exit(failed ? 1 : 0);
