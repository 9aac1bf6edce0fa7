// P3 page: mounts the kit's timeline (`?mode=kit`), the naive Svelte list (`?mode=naive`) or the
// hand-written reference list (`?mode=vanilla`) on an SSE stream, and measures while the benchmark
// floods it (window.flood, driven by p3-flood.js).
import { mount } from 'svelte';
import Kit from './Kit.svelte';
import Naive from './Naive.svelte';
import { mountVanilla } from './vanilla.js';

const params = new URLSearchParams(location.search);
const mode = params.get('mode');
const target = /** @type {HTMLElement} */ (document.getElementById('app'));
const props = { url: `/stream?run=${params.get('run')}`, rows: Number(params.get('rows')) };
if (mode === 'vanilla') mountVanilla(target, props);
else mount(mode === 'naive' ? Naive : Kit, { target, props });

const list = () => document.querySelector('ol');

/** The time between consecutive stamps. @param {number[]} stamps */
const deltas = (stamps) => stamps.slice(1).map((t, i) => t - /** @type {number} */ (stamps[i]));

/**
 * requestAnimationFrame deltas over `ms` of an idle page (before the flood): what "on time" looks
 * like on this machine.
 * @param {number} ms
 */
function idle(ms) {
	return new Promise((done) => {
		/** @type {number[]} */
		const stamps = [];
		const t0 = performance.now();
		/** @param {number} time */
		const tick = (time) => {
			stamps.push(time);
			if (performance.now() - t0 < ms) requestAnimationFrame(tick);
			else done(deltas(stamps));
		};
		requestAnimationFrame(tick);
	});
}

/** The rendered rows as `key|title`, in order, to compare with what the server sent. */
function rendered() {
	return [...(list()?.children ?? [])]
		.map((li) => {
			const el = /** @type {HTMLElement} */ (li);
			const title = el.querySelector('.title, .srk-timeline__title');
			return `${el.dataset.key}|${title?.textContent?.trim()}`;
		})
		.join('\n');
}

/** @type {(() => MeasureResult) | undefined} */
let finish;

/**
 * @typedef {{ deltas: number[]; commits: number[]; mutations: number; longTasks: number[] }} MeasureResult
 * `deltas`: time between consecutive animation frames (ms). `commits`: for each whole frame
 * interval, how many MutationObserver callbacks (separate batches of DOM writes to the list) ran in
 * it. `longTasks`: durations of the long tasks (> 50 ms) seen.
 */

/**
 * Starts counting. Each animation frame opens a new interval; each MutationObserver callback on the
 * list is one commit in the current interval.
 */
function start() {
	const target = list();
	if (!target) throw new Error('no list rendered');
	/** @type {number[]} */
	const stamps = [];
	/** @type {number[]} Commits of each whole frame interval, `stamps[i]` to `stamps[i + 1]`. */
	const commits = [];
	/** @type {number[]} */
	const longTasks = [];
	let open = 0; // commits in the interval now open
	let mutations = 0;
	let running = true;
	/** @param {number} time */
	const tick = (time) => {
		// Commits before the first frame belong to no whole interval.
		if (stamps.length > 0) commits.push(open);
		open = 0;
		stamps.push(time);
		if (running) requestAnimationFrame(tick);
	};
	requestAnimationFrame(tick);
	const observer = new MutationObserver((records) => {
		open++;
		mutations += records.length;
	});
	observer.observe(target, {
		childList: true,
		subtree: true,
		characterData: true,
		attributes: true
	});
	const tasks = new PerformanceObserver((entries) => {
		for (const entry of entries.getEntries()) longTasks.push(entry.duration);
	});
	tasks.observe({ type: 'longtask' });
	finish = () => {
		running = false;
		// Records not delivered yet fall in the unfinished interval, which is left out.
		mutations += observer.takeRecords().length;
		observer.disconnect();
		for (const entry of tasks.takeRecords()) longTasks.push(entry.duration);
		tasks.disconnect();
		return { deltas: deltas(stamps), commits, mutations, longTasks };
	};
}

/** @returns {MeasureResult} */
function stop() {
	if (!finish) throw new Error('not started');
	return finish();
}

/** Live animations in the document, and how many elements they run on. */
function animations() {
	const all = document.getAnimations();
	return {
		animations: all.length,
		elements: new Set(all.map((a) => /** @type {KeyframeEffect} */ (a.effect)?.target)).size
	};
}

Object.assign(window, { flood: { idle, start, stop, rendered, animations } });
