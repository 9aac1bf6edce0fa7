// Finds a redis-server for the Redis tests, installing Debian's package when it can.
import { execFileSync, spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';

const SYSTEM_PATHS = ['/usr/bin/redis-server', '/usr/local/bin/redis-server'];

/** @param {string} path */
function isExecutable(path) {
	try {
		accessSync(path, constants.X_OK);
		return true;
	} catch {
		return false;
	}
}

/**
 * The first of: $REDIS_SERVER_PATH, a system redis-server, `redis-server` on $PATH.
 * @returns {string | undefined}
 */
export function findRedisServer() {
	const fromEnv = process.env.REDIS_SERVER_PATH;
	if (fromEnv) return isExecutable(fromEnv) ? fromEnv : undefined;
	const system = SYSTEM_PATHS.find(isExecutable);
	if (system) return system;
	for (const dir of (process.env.PATH ?? '').split(delimiter)) {
		if (!dir) continue;
		const candidate = join(dir, 'redis-server');
		if (isExecutable(candidate)) return candidate;
	}
	return undefined;
}

/** What to do when there is no redis-server: thrown by the test helper, printed by `npm test`. */
export const HOW_TO_GET_REDIS = `No redis-server found for the Redis tests. Looked at $REDIS_SERVER_PATH, ${SYSTEM_PATHS.join(', ')} and $PATH.
Get one of these:
  - Debian/Ubuntu:  sudo apt-get install -y redis-server
  - macOS:          brew install redis
  - or point REDIS_SERVER_PATH at an installed redis-server.`;

/**
 * Why there is no redis-server: a wrong $REDIS_SERVER_PATH, or none installed.
 * @returns {string}
 */
export function missingRedisServerMessage() {
	const fromEnv = process.env.REDIS_SERVER_PATH;
	if (fromEnv) return `REDIS_SERVER_PATH is set to ${fromEnv}, which is not an executable file.`;
	return HOW_TO_GET_REDIS;
}

function isDebianRoot() {
	if (process.getuid?.() !== 0 || !existsSync('/etc/debian_version')) return false;
	return spawnSync('apt-get', ['--version'], { stdio: 'ignore' }).status === 0;
}

/** @param {string} command @param {string[]} args */
const tryRun = (command, args) => spawnSync(command, args, { stdio: 'ignore' }).status === 0;

/**
 * Debian's package starts a system service on port 6379; the tests start their own servers on
 * free ports, and a service left running would only hold memory and that port.
 */
function stopSystemService() {
	tryRun('service', ['redis-server', 'stop']);
	tryRun('systemctl', ['disable', '--now', 'redis-server']);
}

/**
 * Returns a redis-server path, installing Debian's `redis-server` package when running as root on
 * Debian. Exits with instructions when there is no way to get one.
 * @returns {string}
 */
export function ensureRedisServer() {
	const found = findRedisServer();
	if (found) return found;
	if (process.env.REDIS_SERVER_PATH) {
		console.error(missingRedisServerMessage());
		process.exit(1);
	}
	if (isDebianRoot()) {
		console.log(
			'No redis-server found: installing Debian\'s "redis-server" package (apt-get install redis-server)…'
		);
		const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
		const install = () =>
			spawnSync('apt-get', ['install', '-y', '-qq', 'redis-server'], { stdio: 'inherit', env })
				.status === 0;
		// The package lists may be fresh already (CI updates them for Chromium): update only if needed.
		if (!install()) {
			execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
			install();
		}
		stopSystemService();
		const installed = findRedisServer();
		if (installed) return installed;
	}
	console.error(HOW_TO_GET_REDIS);
	process.exit(1);
}
