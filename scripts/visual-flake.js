// `npm run test:visual:flake -- 20`: runs the visual suite (every story, each compared with its
// screenshot baseline) N times and counts the screenshots that differed. The goal is 0.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { ensureChromium } from './chromium.js';

const runs = Number(process.argv[2] ?? 10);
if (!Number.isInteger(runs) || runs < 1) {
	console.error(
		`usage: npm run test:visual:flake -- <runs>   (got ${JSON.stringify(process.argv[2])})`
	);
	process.exit(2);
}

const OUT = 'node_modules/.cache/srk-visual-flake';
rmSync(OUT, { recursive: true, force: true });
mkdirSync(OUT, { recursive: true });
const env = { ...process.env, CHROMIUM_PATH: ensureChromium() };

/** @type {Map<string, number>} story → runs in which its screenshot differed */
const diffs = new Map();
let otherFailures = 0;
for (let run = 1; run <= runs; run++) {
	const file = `${OUT}/run-${run}.json`;
	const started = performance.now();
	spawnSync(
		`npx vitest run --project storybook --reporter=dot --reporter=json --outputFile.json=${file}`,
		{ stdio: ['ignore', 'ignore', 'inherit'], env, shell: true }
	);
	if (!existsSync(file)) {
		otherFailures++;
		console.error(`run ${run}: the suite did not run (no report)`);
		continue;
	}
	const result = JSON.parse(readFileSync(file, 'utf8'));
	const differed = [];
	for (const suite of result.testResults) {
		for (const test of suite.assertionResults) {
			if (test.status !== 'failed') continue;
			const message = test.failureMessages.join('\n');
			if (/toMatchScreenshot|[Ss]creenshot/.test(message)) {
				differed.push(test.fullName);
				diffs.set(test.fullName, (diffs.get(test.fullName) ?? 0) + 1);
			} else {
				otherFailures++;
				console.error(`run ${run}: ${test.fullName} failed (not a screenshot):\n${message}`);
			}
		}
	}
	const seconds = ((performance.now() - started) / 1000).toFixed(0);
	console.log(
		`run ${run}/${runs}: ${result.numTotalTests} stories, ${differed.length} screenshot diffs (${seconds} s)${differed.length ? `: ${differed.join(', ')}` : ''}`
	);
}

const total = [...diffs.values()].reduce((sum, n) => sum + n, 0);
console.log(`\n${runs} runs: ${total} screenshot diffs, ${otherFailures} other failures`);
for (const [story, count] of diffs) console.log(`  ${story}: differed in ${count} of ${runs} runs`);
process.exit(total > 0 || otherFailures > 0 ? 1 : 0);
