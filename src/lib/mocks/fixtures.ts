/** A task as the mock API serves it. */
export interface MockTask {
	id: string;
	title: string;
	actor: string;
	done: boolean;
	/** ISO time of the last change. */
	updatedAt: string;
	/** Increments with every change. */
	version: number;
}

/** A fixed point in time the fixtures are relative to (so screenshots are stable). */
export const FIXTURE_NOW = Date.UTC(2026, 0, 15, 12, 0, 0);

const ago = (seconds: number) => new Date(FIXTURE_NOW - seconds * 1000).toISOString();

/** Five tasks of a small team, newest first. */
export const taskFixtures: readonly MockTask[] = Object.freeze([
	{
		id: 't-108',
		title: 'Ship the release notes',
		actor: 'Ada Lovelace',
		done: false,
		updatedAt: ago(4),
		version: 3
	},
	{
		id: 't-107',
		title: 'Review the reconnect policy',
		actor: 'Grace Hopper',
		done: true,
		updatedAt: ago(95),
		version: 5
	},
	{
		id: 't-106',
		title: 'Fix flaky screenshot test',
		actor: 'Alan Turing',
		done: false,
		updatedAt: ago(60 * 14),
		version: 2
	},
	{
		id: 't-105',
		title: 'Translate the badge labels',
		actor: 'Katherine Johnson',
		done: true,
		updatedAt: ago(3600 * 3),
		version: 4
	},
	{
		id: 't-104',
		title: 'Write the MSW scenario docs',
		actor: 'Margaret Hamilton',
		done: false,
		updatedAt: ago(86_400 * 2),
		version: 1
	}
]);

/** `count` generated tasks, for large-list and flood stories. */
export function manyTasks(count: number): MockTask[] {
	return Array.from({ length: count }, (_, i) => ({
		id: `g-${i + 1}`,
		title: `Generated task ${i + 1}`,
		actor: ['Ada Lovelace', 'Grace Hopper', 'Alan Turing'][i % 3]!,
		done: i % 4 === 0,
		updatedAt: ago(i * 37),
		version: 1
	}));
}
