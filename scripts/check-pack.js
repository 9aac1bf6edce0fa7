// Fails when `npm pack` would publish tests, stories, screenshots or other files users should not get.
import { execFileSync } from 'node:child_process';

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
