// The Introduction's table of custom properties is generated from the components' CSS. These tests
// hold the components to the convention it reads (docs-theme.ts), and the table to the sources:
// every --srk-* property the components use is in the table, with what it sets.
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import fc from 'fast-check';
import { isValidElement, type ReactElement, type ReactNode } from 'react';
import { describe, expect, it } from 'vitest';
import {
	INTERNAL_PROPERTIES,
	markdownTables,
	readThemeProperties,
	usedProperties,
	type ThemeSource
} from '../../.storybook/docs-theme.js';
import { ThemeProperties, themeSources, themeTable } from '../../.storybook/docs-theme-table.js';

const repo = join(import.meta.dirname, '../..');
const components = join(repo, 'src/lib/components');

/** Every component source on disk: .svelte, .css and non-test .ts files. */
function componentSources(): ThemeSource[] {
	const found: ThemeSource[] = [];
	const walk = (dir: string) => {
		for (const entry of readdirSync(dir, { withFileTypes: true })) {
			const path = join(dir, entry.name);
			if (entry.isDirectory()) walk(path);
			else if (/\.(svelte|css|ts)$/.test(entry.name) && !/\.(test|spec)\.ts$/.test(entry.name))
				found.push({ file: relative(repo, path), text: readFileSync(path, 'utf8') });
		}
	};
	walk(components);
	return found;
}

type Props = { children?: ReactNode; [key: string]: unknown };

/** The host elements of a rendered tree, depth first. */
function* elements(node: ReactNode): Generator<ReactElement<Props>> {
	if (Array.isArray(node)) for (const child of node) yield* elements(child);
	else if (isValidElement<Props>(node)) {
		if (typeof node.type === 'function') throw new Error('expected host elements only');
		yield node;
		yield* elements(node.props.children);
	}
}

function text(node: ReactNode): string {
	if (typeof node === 'string' || typeof node === 'number') return String(node);
	if (Array.isArray(node)) return node.map(text).join('');
	if (isValidElement<Props>(node)) return text(node.props.children);
	return '';
}

/** What the rendered table shows: each row's three cells as text, by property name. */
function shownRows(node: ReactNode): Map<string, string[]> {
	const rows = new Map<string, string[]>();
	for (const element of elements(node)) {
		if (element.type !== 'tr') continue;
		const cells = [...elements(element.props.children)].filter((cell) => cell.type === 'td');
		if (cells.length === 0) continue;
		const texts = cells.map((cell) => text(cell).trim());
		rows.set(texts[0]!, texts);
	}
	return rows;
}

describe('the custom property table, against the components', () => {
	const sources = componentSources();
	const used = new Set(
		sources
			.flatMap((source) => [...usedProperties(source).keys()])
			.filter((name) => !INTERNAL_PROPERTIES.has(name))
	);

	it('reads every .svelte and .css file of the components', () => {
		const onDisk = sources
			.filter((source) => !source.file.endsWith('.ts'))
			.map((source) => source.file);
		expect(themeSources.map((source) => source.file).sort()).toEqual(onDisk.sort());
		expect(used.size).toBeGreaterThan(20);
	});

	it('finds no source that breaks the convention', () => {
		expect(themeTable.problems).toEqual([]);
	});

	it('shows every --srk-* property the components use, with what it sets and a default', () => {
		const rows = shownRows(ThemeProperties());
		const missing = [...used].filter((name) => !rows.has(name)).sort();
		expect(missing, 'used in src/lib/components but not in the table').toEqual([]);
		for (const name of used) {
			const [, shownDefault, whatItSets] = rows.get(name)!;
			expect(whatItSets, `${name}: what it sets`).toMatch(/\w/);
			expect(shownDefault, `${name}: default`).toMatch(/\S/);
		}
		const extra = [...rows.keys()].filter((name) => !used.has(name));
		expect(extra, 'in the table but used by no component').toEqual([]);
	});
});

// Generated sources: properties in both forms of the convention, shuffled between uncommented
// reads of the same properties, CSS rules and a component's markup.
const word = fc.stringMatching(/^[a-z][a-z0-9]{0,7}$/);
const colour = fc
	.integer({ min: 0, max: 0xffffff })
	.map((n) => `#${n.toString(16).padStart(6, '0')}`);
const plain = fc.constantFrom(
	'0.6em',
	'999px',
	'inherit',
	'0.25em 0.7em',
	'none',
	'calc(1rem + 2px)'
);
const description = fc
	.array(
		fc.constantFrom('the', 'text', 'pill', 'row', 'colour', "badge's", 'gap', '(dark)', 'a, b'),
		{
			minLength: 1,
			maxLength: 6
		}
	)
	.map((words) => words.join(' '));

interface Spec {
	name: string;
	description: string;
	light?: string;
	dark?: string;
	value?: string;
	form: 'declared' | 'read';
	file: number;
	/** Other files that describe the property too, with the same line. */
	shared: number[];
}

const spec = fc.record({
	name: fc.array(word, { minLength: 1, maxLength: 3 }).map((parts) => `--srk-${parts.join('-')}`),
	description,
	pair: fc.option(fc.tuple(colour, colour), { nil: undefined }),
	value: plain,
	form: fc.constantFrom<'declared' | 'read'>('declared', 'read'),
	file: fc.nat(2),
	shared: fc.subarray([0, 1, 2])
});

const specs = fc
	.uniqueArray(spec, { minLength: 1, maxLength: 12, selector: (s) => s.name })
	.filter((list) => list.every((s) => !INTERNAL_PROPERTIES.has(s.name)))
	.map((list) =>
		list.map((s): Spec => ({
			name: s.name,
			description: s.description,
			form: s.form,
			file: s.file,
			shared: s.shared.filter((file) => file !== s.file),
			...(s.pair ? { light: s.pair[0], dark: s.pair[1] } : { value: s.value })
		}))
	);

const defaultOf = (s: Spec) =>
	s.light ? `var(--srk-light, ${s.light}) var(--srk-dark, ${s.dark})` : s.value!;

function documentedLine(s: Spec, index: number): string {
	return s.form === 'declared'
		? `\t${s.name}: ${defaultOf(s)}; /* ${s.description} */`
		: `\t--_p${index}: var(${s.name}, ${defaultOf(s)}); /* ${s.description} */`;
}

const FILES = [
	'src/lib/components/theme.css',
	'src/lib/components/a/alpha-box.svelte',
	'src/lib/components/b/b.svelte'
];

function build(
	list: Spec[],
	seed: number,
	mutate?: (lines: string[], s: Spec, bodies: (file: number) => string[]) => void
): ThemeSource[] {
	const bodies: string[][] = FILES.map(() => []);
	list.forEach((s, index) => {
		const lines = bodies[s.file]!;
		lines.push(documentedLine(s, index));
		for (const file of s.shared) bodies[file]!.push(documentedLine(s, index));
		// Uncommented reads elsewhere: another variant, a calc(), a read in another file.
		lines.push(`\tmargin: calc(var(${s.name}, 1px) * 2);`);
		bodies[(s.file + 1 + (seed % 2)) % FILES.length]!.push(`\tpadding: var(${s.name}, 0);`);
		mutate?.(lines, s, (file) => bodies[file % FILES.length]!);
	});
	return FILES.map((file, i) => {
		const rule = `.x${i} {\n\tcolor: var(--srk-light, red) var(--srk-dark, blue);\n${bodies[i]!.join('\n')}\n}`;
		const text = file.endsWith('.css')
			? `/* Theme: --srk-not-a-property in a comment */\n${rule}\n`
			: `<script lang="ts">\n\t// a --srk-comment-only mention\n\tlet open = $state(false);\n</script>\n\n<div class="x${i}">{open}</div>\n\n<style>\n${rule}\n</style>\n`;
		return { file, text };
	});
}

describe('readThemeProperties on generated sources', () => {
	it('finds each property once, with its default, description, owner and readers', () => {
		fc.assert(
			fc.property(specs, fc.nat(), (list, seed) => {
				const { properties, problems } = readThemeProperties(build(list, seed));
				expect(problems).toEqual([]);
				expect(properties.map((p) => p.name).sort()).toEqual(list.map((s) => s.name).sort());
				for (const s of list) {
					const found = properties.find((p) => p.name === s.name)!;
					expect(found.description).toBe(s.description);
					expect(found.default).toBe(defaultOf(s));
					expect(found.light).toBe(s.light);
					expect(found.dark).toBe(s.dark);
					const declaring = [s.file, ...s.shared].sort();
					expect(found.file).toBe(FILES[declaring[0]!]);
					expect(found.owners).toEqual(
						declaring.map((file) => ['theme.css', 'AlphaBox', 'B'][file])
					);
					expect(found.readBy.length).toBeGreaterThanOrEqual(1);
				}
			})
		);
	});

	it('names the property and the line when a comment is missing, empty, doubled or differs', () => {
		fc.assert(
			fc.property(
				specs,
				fc.nat(),
				fc.constantFrom('missing', 'empty', 'twice', 'unclosed', 'no default', 'differs'),
				(list, seed, fault) => {
					const victim = list[seed % list.length]!;
					victim.shared = [];
					const sources = build(list, seed, (lines, s, bodies) => {
						if (s !== victim) return;
						const documented = lines.length - 2;
						const line = lines[documented]!;
						if (fault === 'missing') lines[documented] = line.replace(/\s*\/\*.*\*\/$/, '');
						if (fault === 'empty') lines[documented] = line.replace(/\/\*.*\*\/$/, '/*  */');
						if (fault === 'twice') lines.push(`\tgap: var(${s.name}, 1px); /* again */`);
						if (fault === 'unclosed') lines[documented] = line.replace(/\*\/$/, '');
						if (fault === 'differs')
							bodies(s.file + 1).push(documentedLine({ ...s, light: undefined, value: '7px' }, 99));
						if (fault === 'no default')
							lines[documented] = `\tgap: var(${s.name}); /* ${s.description} */`;
					});
					const { properties, problems } = readThemeProperties(sources);
					const file = FILES[victim.file]!;
					expect(problems.length).toBeGreaterThanOrEqual(1);
					expect(problems.some((p) => p.includes(victim.name) || p.startsWith(`${file}:`))).toBe(
						true
					);
					if (fault !== 'twice' && fault !== 'differs')
						expect(properties.map((p) => p.name)).not.toContain(victim.name);
					for (const problem of problems)
						expect(problem).toMatch(/^src\/lib\/components\/\S+:\d+: /);
				}
			)
		);
	});
});

describe('readThemeProperties on hand-written sources', () => {
	it('reads the one-line forms and ignores comments, markup and the theme switches', () => {
		const { properties, problems } = readThemeProperties([
			{
				file: 'src/lib/components/theme.css',
				text: [
					'/* Each default is var(--srk-light, A) var(--srk-dark, B). */',
					':where(:root) { --srk-light: initial; --srk-dark: ; }',
					':where(.srk) {',
					"\t--srk-space-2: 0.5rem; /* the gap between a row's parts */",
					'\tcolor: var(--srk-light, #000) var(--srk-dark, #fff); /* not a property */',
					'}'
				].join('\n')
			},
			{
				file: 'src/lib/components/transport-badge/transport-badge.svelte',
				text: [
					'<span class="badge" style:gap="var(--srk-space-2)">x</span>',
					'<style>',
					'\t.badge {',
					'\t\t--_fg: var(--srk-badge-fg, var(--srk-light, #0f172a) var(--srk-dark, #e2e8f0)); /* text */',
					"\t\tpadding: var(--srk-badge-padding, 0.25em 0.7em); /* the pill's padding */",
					'\t}',
					'\t.detailed { padding: var(--srk-badge-padding, 0.35em 0.75em); }',
					'</style>'
				].join('\n')
			}
		]);
		expect(problems).toEqual([]);
		expect(properties).toEqual([
			expect.objectContaining({
				name: '--srk-space-2',
				default: '0.5rem',
				description: "the gap between a row's parts",
				owners: ['theme.css'],
				readBy: ['TransportBadge', 'theme.css'],
				line: 4
			}),
			expect.objectContaining({
				name: '--srk-badge-fg',
				light: '#0f172a',
				dark: '#e2e8f0',
				description: 'text',
				owners: ['TransportBadge'],
				line: 4
			}),
			expect.objectContaining({ name: '--srk-badge-padding', default: '0.25em 0.7em', line: 5 })
		]);
	});

	it('rejects a commented property that is not one whole declaration', () => {
		const { problems } = readThemeProperties([
			{
				file: 'src/lib/components/x/x.svelte',
				text: '<style>\n\t.x { color: var(--srk-x-fg, red); } /* text */\n</style>'
			}
		]);
		expect(problems).toEqual([
			expect.stringMatching(/^src\/lib\/components\/x\/x\.svelte:2: .*one whole declaration/),
			expect.stringMatching(/x\.svelte:2: --srk-x-fg is used, but no line declares its default/)
		]);
	});
});

describe('docs/API.md', () => {
	const START =
		"<!-- custom properties: generated from the components' CSS by tests/unit/theme-docs.test.ts -->";
	const END = '<!-- end of custom properties -->';

	it('lists every custom property as the Storybook does (UPDATE_DOCS=1 rewrites the list)', () => {
		const file = join(repo, 'docs/API.md');
		const text = readFileSync(file, 'utf8');
		const start = text.indexOf(START);
		const end = text.indexOf(END);
		expect(start, `docs/API.md has no line ${START}`).toBeGreaterThan(-1);
		expect(end).toBeGreaterThan(start);
		const generated = markdownTables(readThemeProperties(componentSources()));
		const current = text.slice(start + START.length, end).trim();
		// Prettier aligns the columns of the committed file: compare the cells, not the padding.
		const cells = (markdown: string) =>
			markdown
				.split('\n')
				.map((line) => line.replace(/\s*(?<!\\)\|\s*/g, '|').replace(/-{3,}/g, '---'));
		if (process.env.UPDATE_DOCS && cells(current).join('\n') !== cells(generated).join('\n')) {
			writeFileSync(
				file,
				`${text.slice(0, start + START.length)}\n\n${generated}\n\n${text.slice(end)}`
			);
			return;
		}
		expect(cells(current)).toEqual(cells(generated));
	});

	it('renders each property once, in one table row, pipes escaped', () => {
		const table = readThemeProperties(componentSources());
		const markdown = markdownTables(table);
		for (const property of table.properties) {
			const rows = markdown
				.split('\n')
				.filter((line) => line.startsWith(`| \`${property.name}\` |`));
			expect(rows, property.name).toHaveLength(1);
			// four cell borders: the pipes a description contains are escaped
			expect(rows[0]!.replace(/\\\|/g, '').match(/\|/g)).toHaveLength(4);
		}
	});
});
