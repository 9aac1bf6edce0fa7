// The server half of the hydration page (built for Node by p4-list.js): the kit's timeline rendered
// with `svelte/server`, as an app's server renders it.
import { render } from 'svelte/server';
import Hydrate from './Hydrate.svelte';

/** @type {import('svelte-realtime-kit').Transport} A transport the server never opens. */
const transport = {
	kind: 'bench',
	open() {
		throw new Error('a server render must not connect');
	}
};

/**
 * The timeline's HTML for `items`, to hydrate in the browser.
 * @param {readonly import('../vanilla.js').Item[]} items
 */
export function renderList(items) {
	return render(Hydrate, { props: { transport, items } }).body;
}
