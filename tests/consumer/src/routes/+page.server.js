import { list } from '$lib/server/tasks.js';

export const load = () => ({ tasks: list() });
