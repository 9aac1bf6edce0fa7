// Fails when `npm pack` would publish tests, stories, screenshots or other files users should not get,
// or when the published manifest has install scripts. (The README's blocks and links are held to
// the consumer app and the npm page by tests/unit/readme.test.ts.)
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

const [pack] = JSON.parse(
	execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { encoding: 'utf8' })
);
/** @type {string[]} */
const files = pack.files.map((/** @type {{ path: string }} */ file) => file.path);
const forbidden = [
	/\.(test|spec)\.[cm]?[jt]s$/,
	/\.stories\.(svelte|[cm]?[jt]s)$/,
	/\.mdx$/,
	/__screenshots__\//,
	/(^|\/)tests?\//,
	/(^|\/)stories\//,
	/\.png$/
];
const leaked = files.filter((path) => forbidden.some((pattern) => pattern.test(path)));
const outside = files.filter(
	(path) => !path.startsWith('dist/') && !['package.json', 'README.md', 'LICENSE'].includes(path)
);

if (leaked.length || outside.length) {
	console.error('npm pack would publish files that do not belong in the package:');
	for (const path of [...leaked, ...outside]) console.error(`  ${path}`);
	process.exit(1);
}
console.log(
	`npm pack: ${files.length} files, ${(pack.size / 1024).toFixed(1)} kB packed, no tests, stories or screenshots.`
);

// npm runs these in the projects that install the package, or lists them to review (npm 11 does
// so for `prepare` when the package comes from git or a tarball).
const manifest = JSON.parse(readFileSync('package.json', 'utf8'));
const installScripts = ['preinstall', 'install', 'postinstall', 'prepare'].filter(
	(name) => manifest.scripts?.[name]
);
if (installScripts.length) {
	console.error(`package.json has install scripts: ${installScripts.join(', ')}`);
	process.exit(1);
}
if (!pack.files.some((/** @type {{ path: string }} */ file) => file.path === 'dist/index.js')) {
	console.error('npm pack would publish no dist/index.js: run `npm run package` first.');
	process.exit(1);
}

// What each entry pulls in: follow relative imports through dist/ and collect the packages reached.

/** @param {string} entry */
function packagesReached(entry) {
	const seen = new Set();
	const packages = new Set();
	const stack = [resolve(entry)];
	while (stack.length) {
		const file = /** @type {string} */ (stack.pop());
		if (seen.has(file) || !existsSync(file)) continue;
		seen.add(file);
		// Comments out: a JSDoc example's `import … from` is not an import.
		const source = readFileSync(file, 'utf8')
			.replace(/\/\*[\s\S]*?\*\//g, '')
			.replace(/^\s*\/\/.*$/gm, '');
		for (const [, from, bare] of source.matchAll(
			/(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\s*\(?\s*['"]([^'"]+)['"]/g
		)) {
			const specifier = from ?? bare;
			if (!specifier) continue;
			if (specifier.startsWith('.')) stack.push(resolve(dirname(file), specifier));
			else
				packages.add(
					specifier
						.split('/')
						.slice(0, specifier.startsWith('@') ? 2 : 1)
						.join('/')
				);
		}
	}
	return packages;
}

const optionalPeers = ['socket.io-client', 'msw', 'redis', 'storybook', 'react'];
/**
 * What an entry may import, where it is narrower than "anything but an optional peer".
 * @type {Record<string, string[]>}
 */
const only = {
	// The server helper runs on any Fetch-API server: no packages at all, not even Node's.
	'dist/server/index.js': [],
	// The Redis log runs on Node; its client is the application's, or loaded only for `url`.
	'dist/server/redis.js': ['node:crypto', 'redis'],
	// Inspection runs wherever the engine does.
	'dist/inspect/index.js': [],
	// The addon: its preset runs in Storybook's Node process, its panel in the manager (React),
	// its preview part in the preview.
	'dist/storybook/preset.js': ['node:fs', 'node:path', 'node:url'],
	'dist/storybook/manager.js': ['react', 'storybook'],
	'dist/storybook/preview.js': ['storybook']
};
for (const entry of [
	'dist/index.js',
	'dist/core/index.js',
	'dist/server/index.js',
	'dist/server/redis.js',
	'dist/inspect/index.js',
	'dist/storybook/preset.js',
	'dist/storybook/manager.js',
	'dist/storybook/preview.js'
]) {
	const reached = packagesReached(entry);
	const allowed = only[entry] ?? [...reached].filter((name) => !optionalPeers.includes(name));
	const leaked = [...reached].filter((name) => !allowed.includes(name));
	if (leaked.length) {
		console.error(
			`${entry} pulls in ${leaked.join(', ')}: optional peers stay in their own entry, and the server helper imports no package.`
		);
		process.exit(1);
	}
	console.log(`${entry}: imports ${[...reached].sort().join(', ') || 'no packages'}.`);
}
