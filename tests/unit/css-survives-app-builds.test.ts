// Apps transpile CSS for their own browser targets (Vite's default is Chrome 111 / Safari 16.4).
// The shipped styles must come through unchanged in meaning: no feature that gets polyfilled with
// variables the app would have to define.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Features, transform } from 'lightningcss';
import { compile } from 'svelte/compiler';
import { describe, expect, it } from 'vitest';

const VITE_DEFAULT_TARGETS = {
	chrome: 111 << 16,
	firefox: 114 << 16,
	safari: (16 << 16) | (4 << 8)
};
const root = join(import.meta.dirname, '../../src/lib/components');

function shippedCss(): Array<[string, string]> {
	const files: Array<[string, string]> = [];
	const walk = (dir: string) => {
		for (const entry of readdirSync(dir, { withFileTypes: true })) {
			const path = join(dir, entry.name);
			if (entry.isDirectory()) walk(path);
			else if (entry.name.endsWith('.css')) files.push([path, readFileSync(path, 'utf8')]);
			else if (entry.name.endsWith('.svelte')) {
				const { css } = compile(readFileSync(path, 'utf8'), { filename: path, css: 'external' });
				if (css) files.push([path, css.code]);
			}
		}
	};
	walk(root);
	return files;
}

describe('component CSS in an app build', () => {
	const files = shippedCss();

	it('finds the component styles', () => {
		expect(files.map(([path]) => path).join('\n')).toMatch(/transport-badge\.svelte/);
	});

	it.each(files)('%s needs no polyfill variables at Vite’s default targets', (path, code) => {
		const { code: out } = transform({
			filename: path,
			code: Buffer.from(code),
			minify: true,
			targets: VITE_DEFAULT_TARGETS,
			include: Features.Colors
		});
		expect(out.toString()).not.toMatch(/--lightningcss-/);
	});
});
