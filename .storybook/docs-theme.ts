/**
 * The Introduction's table of `--srk-*` custom properties, read from the components' CSS.
 *
 * The convention the sources follow: every public property has its default declared on ONE line
 * of CSS (in `theme.css` or a component's `<style>` block), with a trailing comment saying what it
 * sets. Either the property itself:
 *
 *     --srk-space-2: 0.5rem; /* the gap between a row's parts *\/
 *
 * or a declaration that reads it, its default being the `var()` fallback (the first public
 * `--srk-*` read on the line is the one the comment describes):
 *
 *     --_fg: var(--srk-badge-fg, var(--srk-light, #0f172a) var(--srk-dark, #e2e8f0)); /* text *\/
 *     font-size: var(--srk-badge-font-size, 0.8125rem); /* the badge's type size *\/
 *
 * Once per component: a property several components read (`--srk-font-family`) is described in
 * each of them with the same default and the same comment. Other lines may read the property again
 * without a comment (a second variant's value, a `calc()`). A default written
 * `var(--srk-light, A) var(--srk-dark, B)` is shown as "light A, dark B". `--srk-light` and
 * `--srk-dark` are the theme switches (`theme.css`), not properties to override: lines that only
 * set or read them are not property defaults, commented or not.
 */

export interface ThemeSource {
	/** Path of the file, relative to the repository, e.g. `src/lib/components/theme.css`. */
	file: string;
	text: string;
}

export interface ThemeProperty {
	name: string;
	/** What the trailing comment says it sets. */
	description: string;
	/** The default as written: the declared value, or the `var()` fallback. */
	default: string;
	/** The two halves of a `var(--srk-light, A) var(--srk-dark, B)` default. */
	light?: string;
	dark?: string;
	/** Where the default is declared. */
	file: string;
	line: number;
	/** The components (or `theme.css`) that declare the default, in source order. */
	owners: string[];
	/** Every component whose sources read or set the property, sorted. */
	readBy: string[];
}

export interface ThemeTable {
	properties: ThemeProperty[];
	/** What does not follow the convention, one message per problem, with `file:line`. */
	problems: string[];
}

/** The theme switches: set by `theme.css`, read by every default, never meant to be overridden. */
export const INTERNAL_PROPERTIES: ReadonlySet<string> = new Set(['--srk-light', '--srk-dark']);

const PROPERTY = /--srk-[a-z0-9]+(?:-[a-z0-9]+)*/g;
const TRAILING_COMMENT = /\/\*(.*?)\*\/\s*$/;
const DECLARATION = /^\s*(--[\w-]+|-?[a-z][a-z-]*)\s*:\s*(.*?)\s*;\s*$/i;

/** The component a source file belongs to: `transport-badge/…svelte` → `TransportBadge`. */
export function ownerOf(file: string): string {
	const name = file.split('/').pop() ?? file;
	if (!name.endsWith('.svelte')) return name;
	return name
		.replace(/\.svelte$/, '')
		.split('-')
		.map((part) => part.charAt(0).toUpperCase() + part.slice(1))
		.join('');
}

/** The CSS of a source with everything else blanked out, so that line numbers still match. */
export function cssOf(source: ThemeSource): string {
	if (!source.file.endsWith('.svelte')) return source.text;
	const blank = (text: string) => text.replace(/[^\n]/g, ' ');
	let css = '';
	let rest = source.text;
	const style = /(<style\b[^>]*>)([\s\S]*?)(<\/style>)/i;
	for (let match = style.exec(rest); match; match = style.exec(rest)) {
		css += blank(rest.slice(0, match.index + match[1]!.length)) + match[2];
		rest = rest.slice(match.index + match[0].length - match[3]!.length);
	}
	return css + blank(rest);
}

/** Comments removed (CSS/JS block comments, JS line comments), lines kept. */
function withoutComments(text: string): string {
	return text
		.replace(/\/\*[\s\S]*?\*\//g, (comment) => comment.replace(/[^\n]/g, ' '))
		.replace(/(^|[^:\\])\/\/[^\n]*/g, '$1')
		.replace(/<!--[\s\S]*?-->/g, (comment) => comment.replace(/[^\n]/g, ' '));
}

/** Every `--srk-*` property a source reads or sets outside comments, with its 1-based lines. */
export function usedProperties(source: ThemeSource): Map<string, number[]> {
	const used = new Map<string, number[]>();
	withoutComments(source.text)
		.split('\n')
		.forEach((line, index) => {
			for (const [name] of line.matchAll(PROPERTY)) {
				const lines = used.get(name) ?? [];
				if (!lines.includes(index + 1)) lines.push(index + 1);
				used.set(name, lines);
			}
		});
	return used;
}

/** The argument list of the `var(` that starts at `open` (the index of its `(`), split at the first top-level comma. */
function varArguments(
	value: string,
	open: number
): { name: string; fallback?: string } | undefined {
	let depth = 0;
	let comma = -1;
	for (let i = open; i < value.length; i++) {
		const char = value[i];
		if (char === '(') depth++;
		else if (char === ')' && --depth === 0) {
			const inner = value.slice(open + 1, i);
			if (comma < 0) return { name: inner.trim() };
			return {
				name: value.slice(open + 1, comma).trim(),
				fallback: value.slice(comma + 1, i).trim()
			};
		} else if (char === ',' && depth === 1 && comma < 0) comma = i;
	}
	return undefined;
}

/** The first public `var(--srk-…, fallback)` read in a value. */
function firstPublicRead(value: string): { name: string; fallback?: string } | undefined {
	const read = /var\(\s*(--srk-[\w-]+)/g;
	for (const match of value.matchAll(read)) {
		if (INTERNAL_PROPERTIES.has(match[1]!)) continue;
		return varArguments(value, match.index + 3);
	}
	return undefined;
}

/** A value made only of `var()` reads separated by spaces, as its reads; otherwise undefined. */
function onlyVars(value: string): { name: string; fallback?: string }[] | undefined {
	const reads: { name: string; fallback?: string }[] = [];
	let rest = value.trim();
	while (rest) {
		if (!rest.startsWith('var(')) return undefined;
		let depth = 0;
		let end = -1;
		for (let i = 3; i < rest.length && end < 0; i++) {
			if (rest[i] === '(') depth++;
			else if (rest[i] === ')' && --depth === 0) end = i;
		}
		const read = end < 0 ? undefined : varArguments(rest, 3);
		if (!read) return undefined;
		reads.push(read);
		rest = rest.slice(end + 1).trim();
	}
	return reads;
}

function splitLightDark(value: string): { light: string; dark: string } | undefined {
	const reads = onlyVars(value);
	if (reads?.length !== 2) return undefined;
	const [light, dark] = reads as [
		{ name: string; fallback?: string },
		{ name: string; fallback?: string }
	];
	if (light.name !== '--srk-light' || dark.name !== '--srk-dark') return undefined;
	if (!light.fallback || !dark.fallback) return undefined;
	return { light: light.fallback, dark: dark.fallback };
}

/**
 * The documented properties of the sources and what does not follow the convention. Sources
 * are `.css` files and `.svelte` components (only their `<style>` blocks declare defaults;
 * every part of every source counts as reading a property).
 */
export function readThemeProperties(sources: readonly ThemeSource[]): ThemeTable {
	const problems: string[] = [];
	const documented = new Map<string, ThemeProperty>();
	const readers = new Map<string, Set<string>>();
	const firstUse = new Map<string, string>();

	for (const source of sources) {
		const owner = ownerOf(source.file);
		for (const [name, lines] of usedProperties(source)) {
			if (INTERNAL_PROPERTIES.has(name)) continue;
			if (!readers.has(name)) readers.set(name, new Set());
			readers.get(name)!.add(owner);
			if (!firstUse.has(name)) firstUse.set(name, `${source.file}:${lines[0]}`);
		}

		cssOf(source)
			.split('\n')
			.forEach((text, index) => {
				const at = `${source.file}:${index + 1}`;
				const comment = TRAILING_COMMENT.exec(text);
				if (!comment) {
					const open = text.indexOf('/*');
					if (open >= 0 && !text.includes('*/', open) && /--srk-/.test(text.slice(0, open)))
						problems.push(
							`${at}: the comment describing a --srk-* property must close on its line`
						);
					return;
				}
				const code = text.slice(0, comment.index);
				if (!/--srk-/.test(code)) return;
				const declaration = DECLARATION.exec(code);
				if (!declaration) {
					problems.push(
						`${at}: a commented line with a --srk-* property must be one whole declaration, \`name: value; /* what it sets */\``
					);
					return;
				}
				const [, property, value] = declaration as unknown as [string, string, string];
				let name: string;
				let fallback: string | undefined;
				if (property.startsWith('--srk-') && !INTERNAL_PROPERTIES.has(property)) {
					name = property;
					fallback = value;
				} else {
					const read = firstPublicRead(value);
					if (!read) return; // only the theme switches: not a property's default
					name = read.name;
					fallback = read.fallback;
				}
				const description = comment[1]!.trim();
				if (!description) {
					problems.push(`${at}: ${name} has an empty comment; say what it sets`);
					return;
				}
				if (fallback === undefined || fallback === '') {
					problems.push(
						`${at}: ${name} is described but has no default (write var(${name}, default))`
					);
					return;
				}
				const earlier = documented.get(name);
				if (earlier) {
					const first = `${earlier.file}:${earlier.line}`;
					if (earlier.owners.includes(owner))
						problems.push(
							`${at}: ${name} is described a second time in this component (first at ${first}); describe it once`
						);
					else if (earlier.default !== fallback || earlier.description !== description)
						problems.push(
							`${at}: ${name} differs from its description at ${first}; a property shared by components has the same default and comment in each`
						);
					else earlier.owners.push(owner);
					return;
				}
				documented.set(name, {
					name,
					description,
					default: fallback,
					...splitLightDark(fallback),
					file: source.file,
					line: index + 1,
					owners: [owner],
					readBy: []
				});
			});
	}

	for (const [name, at] of firstUse) {
		if (!documented.has(name))
			problems.push(
				`${at}: ${name} is used, but no line declares its default with a trailing /* what it sets */ comment`
			);
	}
	const properties = [...documented.values()].map((property) => ({
		...property,
		readBy: [...(readers.get(property.name) ?? [])].sort()
	}));
	return { properties, problems };
}

/** Markdown's table cells: no pipe or line break of the text ends a cell. */
const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\s*\n\s*/g, ' ');

/**
 * The same properties as a Markdown table per component, for `docs/API.md` (what readers of the
 * package page have instead of the Storybook).
 */
export function markdownTables(table: ThemeTable): string {
	return groupByOwners(table.properties)
		.map(([owners, properties]) => {
			const title =
				owners[0] === 'theme.css'
					? 'Every component'
					: owners.map((owner) => `\`<${owner}>\``).join(' and ');
			const rows = properties.map((p) => {
				const value =
					p.light !== undefined && p.dark !== undefined
						? `light \`${cell(p.light)}\`, dark \`${cell(p.dark)}\``
						: `\`${cell(p.default)}\``;
				return `| \`${p.name}\` | ${value} | ${cell(p.description)} |`;
			});
			return [
				`${title}:`,
				'',
				'| Property | Default | What it sets |',
				'| --- | --- | --- |',
				...rows
			].join('\n');
		})
		.join('\n\n');
}

/** The properties by the components that declare them; `theme.css`'s are every component's. */
export function groupByOwners(properties: ThemeProperty[]): [string[], ThemeProperty[]][] {
	const byOwners = new Map<string, [string[], ThemeProperty[]]>();
	for (const property of properties) {
		const owners = property.owners.includes('theme.css')
			? ['theme.css']
			: [...property.owners].sort();
		const key = owners.join(' ');
		if (!byOwners.has(key)) byOwners.set(key, [owners, []]);
		byOwners.get(key)![1].push(property);
	}
	// One component's tables first, in source order; shared ones after.
	return [...byOwners.values()].sort(
		([a], [b]) =>
			Number(a.length > 1 || a[0] === 'theme.css') - Number(b.length > 1 || b[0] === 'theme.css')
	);
}
