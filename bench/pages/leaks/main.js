// P5 page: mounts and unmounts `<LiveSource transport={sse(…)}><ActivityTimeline /></LiveSource>`
// (Live.svelte) against the benchmark's SSE endpoint. Driven by p5-leaks.js through window.leaks;
// waits with the timers saved by track.js, so that the harness adds no tracked timer.
import { mount, unmount } from 'svelte';
import Live from './Live.svelte';

const { orig } = /** @type {any} */ (window).tracker;
const target = /** @type {HTMLElement} */ (document.getElementById('app'));
const wait = (/** @type {number} */ ms) => new Promise((done) => orig.setTimeout(done, ms));

/**
 * Resolves once `check()` is true; rejects after `ms`.
 * @param {() => unknown} check
 * @param {number} ms
 */
async function until(check, ms) {
	const deadline = performance.now() + ms;
	while (!check()) {
		if (performance.now() > deadline) throw new Error('timed out');
		await wait(5);
	}
}

/**
 * Mounts the live timeline, waits until it is live with rows and a change that arrived after the
 * snapshot is rendered, then unmounts it.
 * @param {number} cycle
 */
async function cycle(cycle) {
	const app = mount(Live, { target, props: { url: `/stream?cycle=${cycle}` } });
	await until(() => target.querySelector('section[data-status="live"] ol > li') !== null, 10_000);
	// Rows changed after the first render are flashed and announced; the server changes one every
	// few milliseconds.
	let changed = 0;
	const observer = new MutationObserver(() => changed++);
	observer.observe(/** @type {Element} */ (target.querySelector('ol')), {
		subtree: true,
		characterData: true,
		childList: true
	});
	await until(() => changed > 0, 10_000);
	observer.disconnect();
	await unmount(app);
	if (target.childElementCount !== 0) throw new Error('not unmounted');
}

Object.assign(window, { leaks: { cycle, wait } });
