// Serving a built site's files (a static Storybook) from the check scripts' local servers.
import { createReadStream, existsSync, statSync } from 'node:fs';
import { extname, join, normalize, resolve, sep } from 'node:path';

/** @type {Record<string, string>} */
const TYPES = {
	'.html': 'text/html; charset=utf-8',
	'.js': 'text/javascript',
	'.mjs': 'text/javascript',
	'.css': 'text/css',
	'.json': 'application/json',
	'.svg': 'image/svg+xml',
	'.png': 'image/png',
	'.woff': 'font/woff',
	'.woff2': 'font/woff2'
};

/**
 * Answers with the file at `path` (URL-decoded, relative to `root`; a directory's `index.html`):
 * 403 for a path that leaves `root`, 404 for a missing file.
 * @param {string} root
 * @param {string} path
 * @param {import('node:http').ServerResponse} response
 */
export function sendFile(root, path, response) {
	const base = resolve(root);
	let file = normalize(join(base, path));
	if (file !== base && !file.startsWith(base + sep)) return void response.writeHead(403).end();
	if (existsSync(file) && statSync(file).isDirectory()) file = join(file, 'index.html');
	if (!existsSync(file)) return void response.writeHead(404).end();
	response.writeHead(200, { 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream' });
	createReadStream(file).pipe(response);
}
