// P4 page: the same keyed list operations on three lists in one page, timed from the start of an
// operation until the DOM is updated and laid out (a forced layout), and each list filled with
// 1,000 rows on its own for the heap measure. Driven by p4-list.js through window.list.
import { flushSync, mount } from 'svelte';
import { createEnv } from 'svelte-realtime-kit';
import KitItems from './KitItems.svelte';
import KitLive from './KitLive.svelte';
import { createVanillaList } from './vanilla.js';

/** @typedef {import('./vanilla.js').Item} Item */

const ACTORS = ['Ada', 'Grace', 'Linus', 'Margaret', 'Ken', 'Barbara', 'Dennis', 'Frances'];
const actor = (/** @type {number} */ n) => /** @type {string} */ (ACTORS[n % ACTORS.length]);
const host = (/** @type {string} */ id) => /** @type {HTMLElement} */ (document.getElementById(id));

let serial = 0;
let now = Date.now();
/** Rows changed seconds ago ("just now") rather than over the last hours. */
let recent = false;
/** @param {number} count @returns {Item[]} */
function build(count) {
	return Array.from({ length: count }, () => {
		const n = serial++;
		return {
			id: `k${n}`,
			title: `Row ${n}: deploy the ${actor(n).toLowerCase()} branch`,
			actor: actor(n),
			updatedAt: recent ? Date.now() : now - (n % 600) * 37_000,
			version: 1
		};
	});
}

// ActivityTimeline given `items`: an app that keeps its own array.
const items = mount(KitItems, { target: host('items') });

// The hand-written list copies the markup the kit rendered for one row.
items.set(build(1));
flushSync();
const vanilla = createVanillaList(
	host('vanilla'),
	/** @type {Element} */ (host('items').querySelector('section'))
);
items.set([]);
flushSync();

// LiveSource + ActivityTimeline fed by a transport, as a live list is. The record store applies
// what arrived at the next animation frame; here that frame callback is called at once (the same
// work, without waiting for the frame), through the `env` option.
/** @type {import('svelte-realtime-kit').TransportSink | undefined} */
let sink;
/** @type {(() => void) | undefined} */
let frame;
const env = createEnv({
	requestFrame(callback) {
		frame = callback;
		return () => {
			if (frame === callback) frame = undefined;
		};
	}
});
/** @type {import('svelte-realtime-kit').Transport} */
const transport = {
	kind: 'bench',
	open(s) {
		sink = s;
		s.opened({ resumed: true });
		return { close: () => (sink = undefined) };
	}
};
mount(KitLive, { target: host('live'), props: { transport, env } });
flushSync();

/** @param {unknown} message */
function push(message) {
	if (!sink) throw new Error('the live list is not connected');
	sink.message(message);
	const run = frame;
	frame = undefined;
	run?.();
	flushSync();
}

/**
 * The operations of each list: `create` the rows, `update` changed rows, `append` rows, `remove`
 * one key, `clear` everything. Each returns once the DOM is updated.
 * @type {Record<string, { create(items: Item[]): void; update(changed: Item[], all: Item[]): void; append(items: Item[], all: Item[]): void; remove(key: string, all: Item[]): void; clear(): void }>}
 */
const lists = {
	vanilla: {
		create: (rows) => vanilla.create(rows),
		update: (changed) => vanilla.update(changed),
		append: (rows) => vanilla.append(rows),
		remove: (key) => vanilla.remove(key),
		clear: () => vanilla.clear()
	},
	live: {
		create: (rows) => push({ type: 'snapshot', items: rows }),
		update: (changed) => push({ type: 'upsert', items: changed }),
		append: (rows) => push({ type: 'upsert', items: rows }),
		remove: (key) => push({ type: 'remove', ids: [key] }),
		clear: () => push({ type: 'snapshot', items: [] })
	},
	items: {
		create: (rows) => (items.set(rows), flushSync()),
		update: (_, all) => (items.set(all), flushSync()),
		append: (_, all) => (items.set(all), flushSync()),
		remove: (_, all) => (items.set(all), flushSync()),
		clear: () => (items.set([]), flushSync())
	}
};

/** @param {string} name */
const rowsOf = (name) => /** @type {HTMLElement[]} */ ([...host(name).querySelectorAll('ol > li')]);

/**
 * The rendered rows of a list as `key|title|actor` (to check that the lists agree; the relative
 * times are left out, as they move on between lists).
 * @param {string} name
 */
function content(name) {
	const text = (/** @type {Element} */ li, /** @type {string} */ selector) =>
		li.querySelector(selector)?.textContent?.trim();
	return rowsOf(name)
		.map(
			(li) =>
				`${li.dataset.key}|${text(li, '.srk-timeline__title')}|${text(li, '.srk-timeline__actor')}`
		)
		.join('\n');
}

/**
 * One round on one list: create 1,000 rows, update every 10th, append 1,000, remove one, then
 * clear (not timed). Returns each operation's time in ms, the row counts after each and the final
 * rows. Every list gets the same rows in the same round.
 * @param {string} name
 * @param {number} index the round
 * @param {boolean} [justNow] rows changed seconds ago, so that every relative time reads "just now"
 */
function round(name, index, justNow = false) {
	serial = index * 10_000;
	recent = justNow;
	now = Math.floor(Date.now() / 60_000) * 60_000;
	const list = lists[name];
	if (!list) throw new Error(`no list ${name}`);
	const target = host(name);
	/** @type {Record<string, number>} */
	const ms = {};
	/** @type {Record<string, number>} */
	const counts = {};
	/** @param {string} op @param {() => void} action */
	const time = (op, action) => {
		const t0 = performance.now();
		action();
		void target.offsetHeight;
		ms[op] = performance.now() - t0;
		counts[op] = rowsOf(name).length;
	};
	let all = build(1000);
	time('create 1,000', () => list.create(all));
	const changed = all
		.filter((_, i) => i % 10 === 0)
		.map((item) => ({ ...item, title: `${item.title} !!!`, version: item.version + 1 }));
	const byId = new Map(changed.map((item) => [item.id, item]));
	all = all.map((item) => byId.get(item.id) ?? item);
	time('update every 10th', () => list.update(changed, all));
	const more = build(1000);
	all = [...all, ...more];
	time('append 1,000', () => list.append(more, all));
	const gone = /** @type {Item} */ (all[Math.floor(all.length / 2)]).id;
	all = all.filter((item) => item.id !== gone);
	time('remove one', () => list.remove(gone, all));
	const snapshot = content(name);
	list.clear();
	void target.offsetHeight;
	return { ms, counts, content: snapshot };
}

/**
 * For the heap measure: gives list `name` 1,000 new rows (as "create 1,000" does), of which the
 * page keeps nothing but what the list holds; returns how many rows it shows.
 * @param {string} name
 */
function fill(name) {
	const list = lists[name];
	if (!list) throw new Error(`no list ${name}`);
	recent = false;
	now = Math.floor(Date.now() / 60_000) * 60_000;
	list.create(build(1000));
	void host(name).offsetHeight;
	return rowsOf(name).length;
}

/**
 * Clears list `name`; returns how many rows it shows (0).
 * @param {string} name
 */
function empty(name) {
	const list = lists[name];
	if (!list) throw new Error(`no list ${name}`);
	list.clear();
	void host(name).offsetHeight;
	return rowsOf(name).length;
}

Object.assign(window, { list: { round, fill, empty, names: Object.keys(lists) } });
