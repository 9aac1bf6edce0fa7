/**
 * The Introduction's table of custom properties, built when Storybook builds from the components'
 * sources (see docs-theme.ts for the convention they follow).
 */
import { createElement as h, type ReactNode } from 'react';
import {
	groupByOwners,
	readThemeProperties,
	type ThemeProperty,
	type ThemeSource
} from './docs-theme.js';

const files = import.meta.glob<string>(
	['../src/lib/components/**/*.svelte', '../src/lib/components/**/*.css'],
	{ query: '?raw', import: 'default', eager: true }
);

/** The components' sources, by path from the repository root, `theme.css` first. */
export const themeSources: ThemeSource[] = Object.entries(files)
	.map(([path, text]) => ({ file: path.replace(/^\.\.\//, ''), text }))
	.sort(
		(a, b) =>
			Number(b.file.endsWith('.css')) - Number(a.file.endsWith('.css')) ||
			a.file.localeCompare(b.file)
	);

export const themeTable = readThemeProperties(themeSources);

const COLOUR = /^(#[\da-f]{3,8}|(?:rgb|rgba|hsl|hsla|oklch|oklab|color)\(.*\))$/i;

function value(text: string, label?: string): ReactNode {
	return h(
		'span',
		{ className: 'srk-docs-value', key: label ?? text },
		label ? `${label} ` : null,
		COLOUR.test(text)
			? h('span', {
					className: 'srk-docs-swatch',
					style: { background: text },
					'aria-hidden': true
				})
			: null,
		h('code', null, text)
	);
}

function row(property: ThemeProperty): ReactNode {
	const others = property.readBy.filter((reader) => !property.owners.includes(reader));
	return h(
		'tr',
		{ key: property.name },
		h('td', null, h('code', null, property.name)),
		h(
			'td',
			null,
			property.light && property.dark
				? [value(property.light, 'light'), h('br', { key: 'br' }), value(property.dark, 'dark')]
				: value(property.default)
		),
		h(
			'td',
			null,
			property.description,
			others.length > 0 ? ` (also read by ${others.join(', ')})` : null
		)
	);
}

function caption(owners: string[]): ReactNode {
	if (owners[0] === 'theme.css') return 'Every component';
	const names = owners.map((owner) => h('code', { key: owner }, `<${owner}>`));
	if (names.length === 1) return names;
	return [
		...names.slice(0, -1).flatMap((name, i) => (i === 0 ? [name] : [', ', name])),
		' and ',
		names[names.length - 1]
	];
}

/**
 * Every `--srk-*` property with its default and what it sets, one table per component. A source
 * that does not follow the convention is listed under the tables rather than silently left out.
 */
export function ThemeProperties(props: { table?: typeof themeTable } = {}): ReactNode {
	const { properties, problems } = props.table ?? themeTable;
	return h(
		'div',
		{ className: 'srk-docs-properties' },
		groupByOwners(properties).map(([owners, list]) =>
			h(
				'table',
				{ key: owners.join(' ') },
				h('caption', null, caption(owners)),
				h(
					'thead',
					null,
					h(
						'tr',
						null,
						h('th', { scope: 'col' }, 'property'),
						h('th', { scope: 'col' }, 'default'),
						h('th', { scope: 'col' }, 'what it sets')
					)
				),
				h(
					'tbody',
					null,
					list.map((property) => row(property))
				)
			)
		),
		problems.length > 0
			? h(
					'div',
					{ role: 'note', className: 'srk-docs-problems' },
					h('p', null, 'These sources do not follow the custom property convention yet:'),
					h(
						'ul',
						null,
						problems.map((problem) => h('li', { key: problem }, h('code', null, problem)))
					)
				)
			: null
	);
}
