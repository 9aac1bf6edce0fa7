import { json } from '@sveltejs/kit';
import { add, list } from '$lib/server/tasks.js';

export const GET = () => json(list());

/** Adds a task: `{ "title": "…" }`. */
export const POST = async ({ request }) => json(add(String((await request.json()).title)));
