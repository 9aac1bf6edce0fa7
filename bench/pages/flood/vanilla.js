// A reference list written by hand: keyed DOM rows, and the events of each frame applied together
// in one requestAnimationFrame callback. It shows what the page and the machine allow, with
// nothing but the DOM writes themselves.
import { time } from './time.js';

/** @typedef {import('./time.js').Item} Item */

/**
 * @param {HTMLElement} target
 * @param {{ url: string; rows: number }} options
 */
export function mountVanilla(target, { url, rows }) {
	const root = document.createElement('div');
	root.className = 'plain';
	const list = document.createElement('ol');
	root.append(list);
	target.append(root);
	const template = document.createElement('li');
	template.innerHTML =
		'<div><span class="title"></span></div><div class="meta"><span></span><time></time></div>';
	/** @type {Map<string, { li: HTMLElement; title: Text; actor: Text; time: HTMLTimeElement; item: Item }>} */
	const byKey = new Map();
	/** @type {Item[]} */
	let queue = [];
	let scheduled = false;

	/** @param {Item} item */
	function create(item) {
		const li = /** @type {HTMLElement} */ (template.cloneNode(true));
		li.dataset.key = item.id;
		const title = document.createTextNode(item.title);
		const actor = document.createTextNode(item.actor);
		/** @type {HTMLElement} */ (li.querySelector('.title')).append(title);
		/** @type {HTMLElement} */ (li.querySelector('.meta > span')).append(actor);
		const el = /** @type {HTMLTimeElement} */ (li.querySelector('time'));
		el.dateTime = new Date(item.updatedAt).toISOString();
		el.textContent = time(item.updatedAt);
		const row = { li, title, actor, time: el, item };
		byKey.set(item.id, row);
		return row;
	}

	function flush() {
		scheduled = false;
		for (const item of queue) {
			const row = byKey.get(item.id);
			if (row) {
				if (row.item.title !== item.title) row.title.data = item.title;
				if (row.item.actor !== item.actor) row.actor.data = item.actor;
				if (row.item.updatedAt !== item.updatedAt) {
					row.time.dateTime = new Date(item.updatedAt).toISOString();
					row.time.textContent = time(item.updatedAt);
				}
				row.item = item;
			} else {
				list.prepend(create(item).li);
				if (byKey.size > rows) {
					const last = /** @type {HTMLElement} */ (list.lastElementChild);
					byKey.delete(/** @type {string} */ (last.dataset.key));
					last.remove();
				}
			}
		}
		queue = [];
	}

	const source = new EventSource(url);
	source.addEventListener('snapshot', (event) => {
		const fragment = document.createDocumentFragment();
		for (const item of JSON.parse(event.data)) fragment.append(create(item).li);
		list.append(fragment);
	});
	source.addEventListener('upsert', (event) => {
		queue.push(JSON.parse(event.data));
		if (!scheduled) {
			scheduled = true;
			requestAnimationFrame(flush);
		}
	});
}
