// The baseline: a keyed list in plain DOM code, with the kit's markup. Its shell and row template
// are copies of what `<ActivityTimeline>` rendered (same elements, classes and attributes, so the
// kit's styles apply to both); each operation touches only the rows it changes.
import { formatRelative } from './relative.js';

/** @typedef {{ id: string; title: string; actor: string; updatedAt: number; version: number }} Item */

/**
 * The child indexes leading from `root` to `node`.
 * @param {Element} root @param {Element} node
 */
function pathTo(root, node) {
	/** @type {number[]} */
	const path = [];
	for (let at = node; at !== root; at = /** @type {Element} */ (at.parentElement)) {
		path.unshift([.../** @type {Element} */ (at.parentElement).children].indexOf(at));
	}
	return path;
}

/** @param {Element} root @param {number[]} path */
function follow(root, path) {
	let at = root;
	for (const i of path) at = /** @type {Element} */ (at.children[i]);
	return /** @type {HTMLElement} */ (at);
}

/**
 * @param {HTMLElement} target
 * @param {Element} section a rendered `<ActivityTimeline>` with exactly one row (title, actor, time)
 */
export function createVanillaList(target, section) {
	const shell = /** @type {Element} */ (section.cloneNode(true));
	const list = /** @type {HTMLElement} */ (shell.querySelector('ol'));
	const template = /** @type {HTMLElement} */ (list.firstElementChild);
	template.remove();
	target.append(shell);
	return keyedList(list, template);
}

/**
 * Takes over a server-rendered list: `section` holds one row per item of `items`, in order (the
 * markup `<ActivityTimeline>` renders). Each row is found and kept, its relative time written again
 * where it reads differently now; nothing else is touched.
 * @param {Element} section
 * @param {readonly Item[]} items
 */
export function adoptVanillaList(section, items) {
	const list = /** @type {HTMLElement | null} */ (section.querySelector('ol'));
	const first = list?.firstElementChild;
	if (!list || !first) throw new Error('no server-rendered rows to adopt');
	if (list.children.length !== items.length)
		throw new Error(`${list.children.length} rows rendered for ${items.length} items`);
	const keyed = keyedList(list, /** @type {HTMLElement} */ (first.cloneNode(true)));
	keyed.adopt(items);
	return keyed;
}

/**
 * The list's operations on `list`, new rows cloned from `template` (a row whose title, actor and
 * time elements are found by class, their paths then reused for every row).
 * @param {HTMLElement} list
 * @param {HTMLElement} template
 */
function keyedList(list, template) {
	// The title's text is in its own span (beside the checkbox a toggling row shows).
	const titlePath = pathTo(
		template,
		/** @type {Element} */ (
			template.querySelector('.srk-timeline__title > span') ??
				template.querySelector('.srk-timeline__title')
		)
	);
	const actorPath = pathTo(
		template,
		/** @type {Element} */ (template.querySelector('[class*="srk-timeline__actor"]'))
	);
	const timePath = pathTo(template, /** @type {Element} */ (template.querySelector('time')));

	/** @type {Map<string, { li: HTMLElement; title: Text; actor: Text; time: HTMLTimeElement; label: Text; item: Item; text: string }>} */
	const rows = new Map();

	/** @param {HTMLElement} li @param {Item} item @param {string} text */
	function keep(li, item, text) {
		const title = /** @type {Text} */ (follow(li, titlePath).firstChild);
		const actor = /** @type {Text} */ (follow(li, actorPath).firstChild);
		const time = /** @type {HTMLTimeElement} */ (follow(li, timePath));
		const label = /** @type {Text} */ (time.firstChild);
		const row = { li, title, actor, time, label, item, text };
		rows.set(item.id, row);
		return row;
	}

	/** @param {Item} item @param {number} now */
	function create(item, now) {
		const li = /** @type {HTMLElement} */ (template.cloneNode(true));
		li.dataset.key = item.id;
		const text = formatRelative(item.updatedAt, now);
		const row = keep(li, item, text);
		row.title.data = item.title;
		row.actor.data = item.actor;
		row.time.dateTime = new Date(item.updatedAt).toISOString();
		row.label.data = text;
		return li;
	}

	/** @param {readonly Item[]} items */
	function add(items) {
		const now = Date.now();
		const fragment = document.createDocumentFragment();
		for (const item of items) fragment.append(create(item, now));
		list.append(fragment);
	}

	return {
		/** @param {readonly Item[]} items */
		create: add,
		append: add,
		/** @param {readonly Item[]} items the rows already rendered, in order */
		adopt(items) {
			const now = Date.now();
			let li = /** @type {HTMLElement | null} */ (list.firstElementChild);
			for (const item of items) {
				if (!li || li.dataset.key !== item.id)
					throw new Error(`row ${li?.dataset.key} rendered where ${item.id} belongs`);
				const row = keep(li, item, '');
				row.text = row.label.data;
				const text = formatRelative(item.updatedAt, now);
				if (text !== row.text) row.label.data = row.text = text;
				li = /** @type {HTMLElement | null} */ (li.nextElementSibling);
			}
		},
		/** @param {readonly Item[]} items changed rows */
		update(items) {
			const now = Date.now();
			for (const item of items) {
				const row = rows.get(item.id);
				if (!row) continue;
				if (item.title !== row.item.title) row.title.data = item.title;
				if (item.actor !== row.item.actor) row.actor.data = item.actor;
				if (item.updatedAt !== row.item.updatedAt) {
					row.time.dateTime = new Date(item.updatedAt).toISOString();
				}
				const text = formatRelative(item.updatedAt, now);
				if (text !== row.text) row.label.data = row.text = text;
				row.item = item;
			}
		},
		/** @param {string} key */
		remove(key) {
			rows.get(key)?.li.remove();
			rows.delete(key);
		},
		clear() {
			list.textContent = '';
			rows.clear();
		}
	};
}
