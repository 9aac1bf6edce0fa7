// The app's data: a list in memory and a replayable change log for its SSE endpoint.
import { createEventLog } from 'svelte-realtime-kit/server';

/** @type {Array<{ id: string; title: string; actor: string; done: boolean; version: number; updatedAt: string }>} */
const tasks = [
	{
		id: 'a',
		title: 'Rendered on the server',
		actor: 'Ada',
		done: false,
		version: 1,
		updatedAt: new Date().toISOString()
	},
	{
		id: 'b',
		title: 'Second task',
		actor: 'Grace',
		done: true,
		version: 1,
		updatedAt: new Date().toISOString()
	}
];
export const log = createEventLog({ limit: 100 });
export const list = () => tasks.map((task) => ({ ...task }));

/** Adds a task and pushes it to every open stream. @param {string} title */
export function add(title) {
	const task = {
		id: `t${tasks.length + 1}`,
		title,
		actor: 'Server',
		done: false,
		version: 1,
		updatedAt: new Date().toISOString()
	};
	tasks.unshift(task);
	log.append({ event: 'upsert', data: task });
	return task;
}
