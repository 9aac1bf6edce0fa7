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
