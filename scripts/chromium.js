// Finds a Chromium for the browser tests without downloading one.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';

const SYSTEM_PATHS = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];

/**
 * The first of: $CHROMIUM_PATH, a system Chromium, Playwright's cached browser.
 * @returns {string | undefined}
 */
export function findChromium() {
	const fromEnv = process.env.CHROMIUM_PATH;
	if (fromEnv) return existsSync(fromEnv) ? fromEnv : undefined;
	const system = SYSTEM_PATHS.find((path) => existsSync(path));
	if (system) return system;
	try {
		const require = createRequire(import.meta.url);
		const { chromium } = require('playwright');
		const cached = chromium.executablePath();
		if (cached && existsSync(cached)) return cached;
	} catch {
		// playwright missing or without a cached browser
	}
	return undefined;
}

const HOW_TO_GET_ONE = `No Chromium found for the browser tests. Looked at $CHROMIUM_PATH, ${SYSTEM_PATHS.join(', ')} and Playwright's cache.
Get one of these:
  - Debian/Ubuntu:  sudo apt-get install -y chromium   (Ubuntu's snap package: chromium-browser)
  - any system:     npx playwright install chromium    (downloads Playwright's build)
  - or point CHROMIUM_PATH at an installed Chrome or Chromium.`;

function isDebianRoot() {
	if (process.getuid?.() !== 0 || !existsSync('/etc/debian_version')) return false;
	return spawnSync('apt-get', ['--version'], { stdio: 'ignore' }).status === 0;
}

/**
 * Returns a Chromium path, installing Debian's `chromium` package when running as root on Debian.
 * Exits with instructions when there is no way to get one.
 * @returns {string}
 */
export function ensureChromium() {
	const found = findChromium();
	if (found) return found;
	if (process.env.CHROMIUM_PATH) {
		console.error(`CHROMIUM_PATH is set to ${process.env.CHROMIUM_PATH}, which does not exist.`);
		process.exit(1);
	}
	if (isDebianRoot()) {
		console.log(
			'No Chromium found: installing Debian\'s "chromium" package (apt-get install chromium)…'
		);
		execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
		execFileSync('apt-get', ['install', '-y', '-qq', 'chromium'], {
			stdio: 'inherit',
			env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
		});
		const installed = findChromium();
		if (installed) return installed;
	}
	console.error(HOW_TO_GET_ONE);
	process.exit(1);
}

/** Chromium's flags for the check scripts: headless in a container, nothing fetched in the background. */
export const CHECK_ARGS = [
	'--no-sandbox',
	'--disable-gpu',
	'--disable-background-networking',
	'--disable-component-update',
	'--disable-sync',
	'--no-first-run'
];
