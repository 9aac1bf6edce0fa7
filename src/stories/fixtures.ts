/** The fixed clock every story renders against, so screenshots never depend on the real time. */
export const STORY_NOW = Date.UTC(2026, 0, 15, 12, 0, 0);

export const secondsBefore = (seconds: number) => STORY_NOW - seconds * 1000;
export const secondsAfter = (seconds: number) => STORY_NOW + seconds * 1000;

export interface StoryTask {
	id: string;
	title: string;
	actor: string;
	done: boolean;
	updatedAt: number;
	version: number;
}

/** A small team's task activity, newest first. */
export const tasks: StoryTask[] = [
	{
		id: 't-108',
		title: 'Ship the release notes',
		actor: 'Ada Lovelace',
		done: false,
		updatedAt: secondsBefore(4),
		version: 3
	},
	{
		id: 't-107',
		title: 'Review the reconnect policy',
		actor: 'Grace Hopper',
		done: true,
		updatedAt: secondsBefore(95),
		version: 5
	},
	{
		id: 't-106',
		title: 'Fix flaky screenshot test',
		actor: 'Alan Turing',
		done: false,
		updatedAt: secondsBefore(60 * 14),
		version: 2
	},
	{
		id: 't-105',
		title: 'Translate the badge labels',
		actor: 'Katherine Johnson',
		done: true,
		updatedAt: secondsBefore(3600 * 3),
		version: 4
	},
	{
		id: 't-104',
		title: 'Write the MSW scenario docs',
		actor: 'Margaret Hamilton',
		done: false,
		updatedAt: secondsBefore(86_400 * 2),
		version: 1
	}
];

/** Titles and actors that try to inject markup; they must render as text. */
export const hostileTasks: StoryTask[] = [
	{
		id: 'x-1',
		title: '<img src=x onerror="alert(1)">',
		actor: '<script>alert(2)</script>',
		done: false,
		updatedAt: secondsBefore(30),
		version: 1
	},
	{
		id: 'x-2',
		title: '<a href="javascript:alert(3)">click me</a>',
		actor: 'javascript:alert(4)',
		done: false,
		updatedAt: secondsBefore(120),
		version: 1
	},
	{
		id: 'x-3',
		title:
			'A very long title that keeps going to check how the row wraps when someone pastes a whole paragraph into a task name',
		actor: 'Ada Lovelace',
		done: false,
		updatedAt: secondsBefore(600),
		version: 1
	}
];

/** The timeline's texts in French, for the stories that show a French timeline. */
export const frenchTimelineLabels = {
	label: 'Activité',
	loading: 'Chargement de l’activité…',
	empty: 'Aucune activité pour l’instant.',
	failed: 'Les mises à jour en direct sont arrêtées.',
	retry: 'Réessayer',
	offline: 'Vous êtes hors ligne. Voici la dernière activité connue.',
	stale: 'Les mises à jour peuvent être retardées.',
	reconnecting: 'Reconnexion…',
	pause: 'Suspendre les mises à jour',
	resume: 'Reprendre les mises à jour',
	newItems: (count: number) => `${count} ${count === 1 ? 'nouvelle' : 'nouvelles'}`,
	count: (count: number) => `${count} ${count === 1 ? 'élément' : 'éléments'}`,
	announceNew: (count: number) =>
		`${count} ${count === 1 ? 'nouvel élément' : 'nouveaux éléments'}`,
	announcePaused: 'Mises à jour en direct suspendues',
	pending: 'Enregistrement…',
	done: 'terminé',
	rowFailed: 'Non enregistré.',
	retryRow: 'Réessayer'
};

/**
 * A transport that opens at once and then stays quiet: the rows come from `initial`, and nothing
 * depends on a network mock or on the toolbar's Network scenario.
 */
export function quietTransport(kind = 'sse') {
	return {
		kind,
		open(sink: { opened(info?: { transport?: string }): void }) {
			sink.opened({ transport: kind });
			return { close() {} };
		}
	};
}

/**
 * A commit for story rows: a change to `hangs` stays on its way (pending), one to `refuses` is
 * refused (failed), any other is confirmed.
 */
export function storyCommit(hangs: string, refuses: string) {
	return (change: { item: unknown }): Promise<StoryTask> => {
		const item = change.item as StoryTask;
		if (item.id === hangs) return new Promise(() => {});
		if (item.id === refuses) return Promise.reject(new Error('The server refused the change'));
		return Promise.resolve({ ...item, version: item.version + 1 });
	};
}

/**
 * Storybook's Default column for every documented prop of `interfaceName` in `source` (a
 * `types.ts` read with `?raw`), from each prop's JSDoc `@defaultValue`. The Svelte docgen reads
 * defaults only from literal initializers in `$props()` (neither `@default` nor `@defaultValue`),
 * so this keeps the column in step with the types. Props without a tag get "none".
 */
export function jsDocDefaults(
	source: string,
	interfaceName: string
): Record<string, { table: { defaultValue: { summary: string } } }> {
	const start = source.search(new RegExp(`export interface ${interfaceName}\\b`));
	if (start < 0) throw new Error(`jsDocDefaults: no interface ${interfaceName} in the source`);
	const open = source.indexOf('{', start);
	let depth = 0;
	let end = open;
	for (; end < source.length; end++) {
		if (source[end] === '{') depth++;
		else if (source[end] === '}' && --depth === 0) break;
	}
	const body = source.slice(open + 1, end);
	const defaults: Record<string, { table: { defaultValue: { summary: string } } }> = {};
	// A member: an optional JSDoc block, then `name?:` at the start of a line of the body.
	const member = /(?:\/\*\*((?:[^*]|\*(?!\/))*)\*\/\s*)?^\t(\w+)\??:/gm;
	for (const match of body.matchAll(member)) {
		const doc = (match[1] ?? '').replace(/\{@link\s+([^}]+)\}/g, '$1');
		const tag = /@defaultValue\s+([^@]*?)\s*(?:\*\s*)?(?=@|$)/s.exec(doc.replace(/^\s*\* ?/gm, ''));
		const summary = tag ? tag[1]!.replace(/\s+/g, ' ').replace(/`/g, '').trim() : 'none';
		defaults[match[2]!] = { table: { defaultValue: { summary } } };
	}
	return defaults;
}

/**
 * `argTypes` with each entry's Default column from {@link jsDocDefaults} of the interfaces named
 * (a props interface and those it extends), controls kept.
 */
export function withJsDocDefaults<const A extends Record<string, object>>(
	argTypes: A,
	source: string,
	...interfaceNames: string[]
): A {
	const merged: Record<string, object> = Object.assign(
		{},
		...interfaceNames.map((name) => jsDocDefaults(source, name))
	);
	for (const [name, argType] of Object.entries(argTypes))
		merged[name] = { ...merged[name], ...argType };
	return merged as A;
}
