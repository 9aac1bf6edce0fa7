// P4 hydration page: the server sent 1,000 rows as HTML (the kit's timeline rendered with
// `svelte/server`) and as JSON. `?side=kit` hydrates the timeline with `hydrate()`;
// `?side=vanilla` gets the same HTML without Svelte's hydration markers and lets the hand-written
// list adopt its rows. Either way the time runs from the hydrate (adopt) call until the DOM is
// updated and laid out, and lands in window.hydration for p4-list.js.
import { flushSync, hydrate } from 'svelte';
import { adoptVanillaList } from '../vanilla.js';
import Hydrate from './Hydrate.svelte';

/** @typedef {import('../vanilla.js').Item} Item */

const side = new URLSearchParams(location.search).get('side');
const target = /** @type {HTMLElement} */ (document.getElementById('app'));
// The page's data, parsed before the timer starts (an app's framework does that before hydrating).
/** @type {Item[]} */
const items = JSON.parse(
	/** @type {HTMLElement} */ (document.getElementById('data')).textContent ?? ''
);

/**
 * A transport as a live page has one: its connection opens once the page is hydrated and takes a
 * while (a network round trip), so the first render shows the server's rows. This one never
 * answers, which leaves the first render alone.
 * @type {import('svelte-realtime-kit').Transport}
 */
const transport = {
	kind: 'bench',
	open: () => ({ close() {} })
};

// The server's HTML is parsed and laid out already; the time is what taking it over costs.
void target.offsetHeight;
const t0 = performance.now();
if (side === 'kit') {
	hydrate(Hydrate, { target, props: { transport, items } });
	flushSync();
} else if (side === 'vanilla') {
	adoptVanillaList(/** @type {HTMLElement} */ (target.querySelector('section')), items);
} else {
	throw new Error(`side must be kit or vanilla, got ${side}`);
}
void target.offsetHeight;
const ms = performance.now() - t0;

Object.assign(window, {
	hydration: { ms, rows: target.querySelectorAll('ol > li').length }
});
