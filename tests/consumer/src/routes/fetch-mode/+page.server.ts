// The README's list again, for the page that streams it in fetch mode.
import { listTasks } from '$lib/server/tasks';
import type { PageServerLoad } from './$types';

export const load: PageServerLoad = () => ({ tasks: listTasks() });
