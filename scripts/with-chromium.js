// Runs a command with CHROMIUM_PATH pointing at a usable Chromium: `node scripts/with-chromium.js vitest run`.
import { spawnSync } from 'node:child_process';
import { ensureChromium } from './chromium.js';

const [command, ...args] = process.argv.slice(2);
if (!command) {
	console.error('usage: node scripts/with-chromium.js <command> [args…]');
	process.exit(2);
}
const env = { ...process.env, CHROMIUM_PATH: ensureChromium() };
const result = spawnSync(command, args, {
	stdio: 'inherit',
	env,
	shell: process.platform === 'win32'
});
process.exit(result.status ?? 1);
