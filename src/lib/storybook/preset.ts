/**
 * The Storybook 10 addon: a "Connection" panel with each inspected source's timeline (status
 * changes and why, attempts, requests, messages, changes), fault buttons for the story's mock
 * servers, and a settled signal for screenshot tools.
 *
 * @example
 * // .storybook/main.ts
 * export default { addons: ['svelte-realtime-kit/storybook'] };
 *
 * Storybook finds the addon's `manager` and `preview` entries next to this name
 * (`svelte-realtime-kit/storybook/manager`, `…/preview`). This preset adds the same two entries
 * when it is given by path instead (`addons: ['/abs/path/to/storybook/preset.js']`), as this
 * repository's own Storybook does with the sources. An entry already in the list is not added
 * twice.
 */
import { existsSync } from 'node:fs';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(import.meta.url);
/** `.js` in the package, `.ts` when Storybook loads this file from the sources. */
const extension = extname(here);

/** The sibling entry `name` (`manager`, `preview`), with this file's extension. */
function sibling(name: 'manager' | 'preview'): string {
	const file = join(dirname(here), `${name}${extension}`);
	if (!existsSync(file))
		throw new Error(
			`svelte-realtime-kit/storybook: the addon's ${name} entry is missing (${file})`
		);
	return file;
}

/** A preview annotation entry as Storybook lists them: a path, or a bare and an absolute path. */
type Entry = string | { bare: string; absolute: string };

const pathOf = (entry: Entry) => (typeof entry === 'string' ? entry : entry.absolute);

/** `entries` with `file` added at the end, unless it is there already. */
function adding<E extends Entry>(entries: E[] | undefined, file: string): Array<E | string> {
	const list = entries ?? [];
	return list.some((entry) => pathOf(entry) === file) ? list : [...list, file];
}

/** Adds the Connection panel to Storybook's manager. */
export function managerEntries(entries?: string[]): string[] {
	return adding(entries, sibling('manager'));
}

/** Adds the annotations that feed the panel to every story. */
export function previewAnnotations(entries?: Entry[]): Entry[] {
	return adding(entries, sibling('preview'));
}
