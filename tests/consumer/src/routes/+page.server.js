import { list } from '$lib/server/tasks.js';

// `?sse=fetch` streams with fetch (and its lazily loaded parser) instead of EventSource.
export const load = ({ url }) => ({
	tasks: list(),
	fetchMode: url.searchParams.get('sse') === 'fetch'
});
