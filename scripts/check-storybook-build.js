// `npm run test:storybook-build`: builds the static Storybook, serves it under a sub-path (`/kit/`,
// as on a project site), opens it in Chromium and checks every story and every docs page listed in
// its index.json:
//   - the MSW service worker registers from the sub-path, and no request leaves it;
//   - each story alone finishes (its play function, if any, passes; Storybook reports no error),
//     and each story embedded on a docs page ends in the same state as the story alone (the badges'
//     status, transport and fallback, the rows and their states, the checked boxes);
//   - zero console errors and zero page errors on every story and docs page;
//   - no raw markdown on docs pages (table rows, `|---`, `**`, fences left as text);
//   - axe-core reports no violation inside the story root or the docs content;
//   - after switching to the next story or page, no connection of the previous one is left: no
//     EventSource, WebSocket or fetch event stream open in the page, no stream or socket open on the
//     mock server's side (the preview's `window.__srkMocks`).
// Options: --no-build (check the existing build), --only <text> (entries whose id contains it).
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright';
import { sendFile } from './static-files.js';
import { CHECK_ARGS, ensureChromium } from './chromium.js';

const OUT = resolve(option('--out') ?? 'storybook-static');
const PREFIX = '/kit/';
const ONLY = option('--only');
/** How long a story or docs page may take to finish, in milliseconds. */
const FINISH_TIMEOUT = 30_000;
/** The whole run, build excluded. */
const RUN_TIMEOUT = 240_000;

/** @param {string} name */
function option(name) {
	const at = process.argv.indexOf(name);
	return at === -1 ? undefined : process.argv[at + 1];
}

/**
 * Runs in the preview frame before any of its scripts. Keeps, in `window.__check`:
 * - every EventSource, WebSocket and fetch event stream opened and not closed yet, each tagged with
 *   the entry (story or docs page) that was current when it opened;
 * - the Storybook channel's events, and the end state of each story when it finishes.
 */
const INSTRUMENT = `(() => {
	if (!location.pathname.endsWith('iframe.html')) return;
	const state = { tag: new URLSearchParams(location.search).get('id') ?? '', open: new Set(), events: [], finished: [] };
	window.__check = state;
	/** Connections each entry tried to open, by tag (an EventSource, a socket, a fetch stream). */
	state.attempts = {};
	const attempt = () => (state.attempts[state.tag] = (state.attempts[state.tag] ?? 0) + 1);
	const track = (kind, url) => {
		const entry = { kind, url: String(url), tag: state.tag };
		state.open.add(entry);
		return () => state.open.delete(entry);
	};
	const counted = new WeakSet();
	const wrapSocket = (Native) => {
		if (typeof Native !== 'function' || counted.has(Native)) return Native;
		const Counted = new Proxy(Native, {
			construct(target, args, newTarget) {
				attempt();
				const socket = Reflect.construct(target, args, newTarget === Counted ? target : newTarget);
				const done = track('WebSocket', args[0]);
				socket.addEventListener('close', done);
				const close = socket.close;
				socket.close = function (...rest) {
					done();
					return close.apply(this, rest);
				};
				return socket;
			}
		});
		counted.add(Counted);
		return Counted;
	};
	window.WebSocket = wrapSocket(window.WebSocket);
	// MSW replaces the global WebSocket with its interceptor (defineProperty): count through it too.
	const define = Object.defineProperty;
	Object.defineProperty = function (target, key, descriptor) {
		if (target === window && key === 'WebSocket' && descriptor && 'value' in descriptor)
			descriptor = { ...descriptor, value: wrapSocket(descriptor.value) };
		return define.call(this, target, key, descriptor);
	};
	const NativeEventSource = window.EventSource;
	window.EventSource = new Proxy(NativeEventSource, {
		construct(target, args, newTarget) {
			attempt();
			const source = Reflect.construct(target, args, newTarget === window.EventSource ? target : newTarget);
			const done = track('EventSource', args[0]);
			const close = source.close;
			source.close = function () {
				done();
				return close.call(this);
			};
			source.addEventListener('error', () => source.readyState === 2 && done());
			return source;
		}
	});
	const nativeFetch = window.fetch;
	window.fetch = async function (input, init) {
		const accept = new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined)).get('accept');
		if (accept?.includes('text/event-stream')) attempt();
		const response = await nativeFetch.call(this, input, init);
		if (!response.body || !(response.headers.get('content-type') ?? '').includes('text/event-stream'))
			return response;
		const done = track('fetch stream', response.url);
		const signal = init?.signal ?? (input instanceof Request ? input.signal : undefined);
		signal?.addEventListener('abort', done);
		const reader = response.body.getReader();
		const body = new ReadableStream({
			async pull(controller) {
				try {
					const { done: ended, value } = await reader.read();
					if (ended) {
						done();
						controller.close();
					} else controller.enqueue(value);
				} catch (error) {
					done();
					controller.error(error);
				}
			},
			cancel(reason) {
				done();
				return reader.cancel(reason);
			}
		});
		const wrapped = new Response(body, {
			status: response.status,
			statusText: response.statusText,
			headers: response.headers
		});
		define(wrapped, 'url', { value: response.url });
		return wrapped;
	};
	/** What a story shows once it finished: the same alone and on a docs page. */
	state.signature = (root) => {
		if (!root) return undefined;
		const badges = [...root.querySelectorAll('.srk-badge')].map((badge) =>
			[badge.dataset.status, badge.dataset.transport, badge.dataset.degraded && 'fallback']
				.filter(Boolean)
				.join(' ')
		);
		const rows = {};
		for (const row of root.querySelectorAll('li')) {
			const status = row.dataset.status ?? 'row';
			rows[status] = (rows[status] ?? 0) + 1;
		}
		const checked = root.querySelectorAll('input[type="checkbox"]:checked').length;
		return JSON.stringify({ badges, rows, checked });
	};
	// A story on a docs page renders into #story--<id> (#story--<id>--primary at the top), alone
	// into #storybook-root.
	const roots = (id) => {
		const embeds = [
			...document.querySelectorAll('[id="story--' + id + '"], [id="story--' + id + '--primary"]')
		];
		return embeds.length ? embeds : [document.querySelector('#storybook-root')].filter(Boolean);
	};
	let channel;
	define(window, '__STORYBOOK_ADDONS_CHANNEL__', {
		configurable: true,
		get: () => channel,
		set(next) {
			channel = next;
			const emit = next.emit.bind(next);
			next.emit = (type, ...args) => {
				let copy;
				try {
					copy = JSON.parse(JSON.stringify(args));
				} catch {
					copy = [String(args[0])];
				}
				state.events.push({ type, args: copy, tag: state.tag });
				if (type === 'storyFinished') {
					const { storyId, status } = args[0];
					for (const root of roots(storyId))
						state.finished.push({
							tag: state.tag,
							storyId,
							status,
							where: root.id,
							signature: state.signature(root)
						});
				}
				return emit(type, ...args);
			};
		}
	});
})();`;

const FAILURE_EVENTS = new Set([
	'storyErrored',
	'storyThrewException',
	'playFunctionThrewException',
	'unhandledErrorsWhilePlaying',
	'storyMissing'
]);

if (!process.argv.includes('--no-build')) {
	const built = spawnSync(`npx storybook build --quiet --disable-telemetry -o ${OUT}`, {
		stdio: 'inherit',
		shell: true
	});
	if (built.status !== 0) process.exit(built.status ?? 1);
}

/** @type {{ entries: Record<string, { id: string, type: 'story' | 'docs', title: string, name: string, storiesImports?: string[] }> }} */
const index = JSON.parse(readFileSync(join(OUT, 'index.json'), 'utf8'));
const entries = Object.values(index.entries).filter((entry) => !ONLY || entry.id.includes(ONLY));
const stories = entries.filter((entry) => entry.type === 'story');
const docsPages = entries.filter((entry) => entry.type === 'docs');
if (entries.length === 0) fail(`index.json lists no entries${ONLY ? ` matching ${ONLY}` : ''}`);

/** Requests outside the sub-path: a build that asks for them would break on a project site. */
/** @type {Array<{ path: string, during: string }>} */
const outside = [];
let current = 'start';
/** Set while the browser closes: streams it cuts then reconnect for no story. */
let closing = false;
const server = createServer((request, response) => {
	const path = decodeURIComponent(new URL(request.url ?? '/', 'http://x').pathname);
	if (!path.startsWith(PREFIX)) {
		if (!closing) outside.push({ path, during: current });
		response.writeHead(404).end();
		return;
	}
	sendFile(OUT, path.slice(PREFIX.length), response);
});
await new Promise((done) => server.listen(0, '127.0.0.1', () => done(undefined)));
const address = server.address();
const origin = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
const started = performance.now();
// Never outlive a hung browser.
const watchdog = setTimeout(() => fail(`timed out after ${RUN_TIMEOUT / 1000} s`), RUN_TIMEOUT);
watchdog.unref();

/** Failures by page: a story id, a docs id, or `setup`. */
/** @type {Map<string, string[]>} */
const failures = new Map();
/** @param {string} where @param {string} message */
const problem = (where, message) => {
	const list = failures.get(where) ?? [];
	list.push(message);
	failures.set(where, list);
};

const axeSource = readFileSync(
	createRequire(import.meta.url).resolve('axe-core/axe.min.js'),
	'utf8'
);

const browser = await chromium.launch({
	executablePath: ensureChromium(),
	args: CHECK_ARGS
});
/** Mock APIs already reported as leaking (their index in `__srkMocks`). */
/** @type {Set<number>} */
const reportedMocks = new Set();
/** End states of the stories alone, by story id. */
/** @type {Map<string, string | undefined>} */
const alone = new Map();
let checkedStories = 0;
let checkedDocs = 0;
let networkPass = 'no story opened connections';
/** Stories that tried to open connections alone. */
/** @type {Set<string>} */
const withConnections = new Set();
try {
	const context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
	await context.addInitScript({ content: INSTRUMENT });
	const page = await context.newPage();
	listen(page);

	// The manager under the sub-path, with the service worker registered from it.
	current = 'manager';
	const manager = await context.newPage();
	listen(manager);
	const opening = /** @type {(typeof entries)[number]} */ (stories[0] ?? entries[0]);
	await manager.goto(
		`${origin}${PREFIX}?path=/${opening.type === 'docs' ? 'docs' : 'story'}/${opening.id}`
	);
	const frame = manager.frameLocator('#storybook-preview-iframe');
	await frame.locator('#storybook-root, #storybook-docs').first().waitFor({ timeout: 30_000 });
	const scope = await manager
		.frame({ url: /iframe\.html/ })
		?.evaluate(async () => (await navigator.serviceWorker.ready).scope);
	if (!scope?.endsWith(PREFIX))
		problem('manager', `service worker scope ${scope}, expected …${PREFIX}`);
	closing = true;
	await manager.close();
	closing = false;

	// The preview alone, one story or page after the other, switched the way the manager does.
	// Storybook reloads the preview when it cannot tear a story down: that loses a user's state.
	let loads = 0;
	page.on('load', () => {
		if (++loads > 1)
			problem(current, 'the preview reloaded itself (a story could not be torn down)');
	});
	const order = [...stories, ...docsPages];
	const first = /** @type {(typeof order)[number]} */ (order[0]);
	current = first.id;
	await page.goto(
		`${origin}${PREFIX}iframe.html?id=${first.id}&viewMode=${first.type === 'docs' ? 'docs' : 'story'}`
	);
	await page.waitForFunction(() => /** @type {any} */ (window).__STORYBOOK_PREVIEW__, null, {
		timeout: 30_000
	});
	await page.addScriptTag({ content: axeSource });

	for (const [position, entry] of order.entries()) {
		const previous = current;
		current = entry.id;
		// The first entry is the one the page opened with.
		const mark = await show(page, entry, position > 0);
		if (entry.type === 'story') await checkStory(page, entry, position === 0 ? 0 : mark);
		else await checkDocs(page, entry, mark);
		if (previous !== entry.id && position > 0) await checkLeaks(page, entry.id);
	}

	// The Network toolbar: every story with connections again under another scenario (a healthy
	// server: streams open in every mode, fetch streams too). Its play function must not fail, and
	// its connections must end with it.
	const other = 'healthy';
	const live = stories.filter((story) => withConnections.has(story.id));
	if (live.length) {
		current = `Network: ${other}`;
		await page.evaluate(
			(network) =>
				/** @type {any} */ (window).__STORYBOOK_PREVIEW__.onUpdateGlobals({ globals: { network } }),
			other
		);
	}
	for (const story of live) {
		current = `${story.id} [Network: ${other}]`;
		const mark = await show(page, story, true, current);
		const result = await waitForFinish(page, [story.id], mark);
		for (const message of result.errors) problem(current, message);
		const finished = result.finished[story.id]?.at(-1);
		if (!finished) problem(current, `did not finish within ${FINISH_TIMEOUT / 1000} s`);
		else if (finished.status !== 'success')
			problem(current, 'Storybook reports the story as failed');
		await checkLeaks(page, current);
	}
	if (live.length) {
		const opened = await page.evaluate(
			(tags) => tags.map((tag) => /** @type {any} */ (window).__check.attempts[tag] ?? 0),
			live.map((story) => `${story.id} [Network: ${other}]`)
		);
		networkPass = `${live.length} stories opened ${opened.reduce((a, b) => a + b, 0)} connections under the Network toolbar (${other})`;
	}
	// Back to the story's own scenario while it is mounted: it moves to its own mock API, and the
	// other scenario's streams and sockets end.
	const last = live.at(-1);
	if (last) {
		current = `${last.id} [Network: ${other}, then as the story says]`;
		const tag = await page.evaluate(() => {
			const w = /** @type {any} */ (window);
			w.__STORYBOOK_PREVIEW__.onUpdateGlobals({ globals: { network: 'story' } });
			return w.__check.tag;
		});
		await page.waitForTimeout(1000);
		await checkLeaks(page, tag);
	}

	// The last entry's connections, after one more switch.
	const before = current;
	const back = /** @type {(typeof entries)[number]} */ (
		stories.find((story) => !withConnections.has(story.id)) ?? stories[0] ?? docsPages[0]
	);
	current = `${back.id} (after ${before})`;
	await show(page, back, true, current);
	await page.waitForTimeout(1500);
	await checkLeaks(page, current);

	// A first visit straight to each docs page with live stories, in the manager: nothing of the
	// preview loaded before, the manager loading alongside, every story playing at once.
	for (const docs of docsPages) {
		if (!stories.some((story) => story.title === docs.title && withConnections.has(story.id)))
			continue;
		current = `${docs.id} (first visit, in the manager)`;
		const visit = await context.newPage();
		listen(visit);
		await visit.goto(`${origin}${PREFIX}?path=/docs/${docs.id}`);
		const preview = await (
			await visit.waitForSelector('#storybook-preview-iframe', { timeout: 30_000 })
		).contentFrame();
		if (!preview) throw new Error('the manager shows no preview frame');
		await preview.waitForFunction(() => /** @type {any} */ (window).__check, null, {
			timeout: 30_000
		});
		await preview.addScriptTag({ content: axeSource });
		await checkDocs(preview, docs, 0, current);
		closing = true;
		await visit.close();
		closing = false;
	}
} catch (error) {
	problem(
		current,
		`check stopped: ${error instanceof Error ? (error.stack ?? error.message) : error}`
	);
} finally {
	closing = true;
	await browser.close();
	server.close();
}

for (const { path, during } of outside) {
	if (path === '/favicon.ico') continue;
	problem(during, `request outside ${PREFIX}: ${path} (a mock that was gone, or an absolute URL)`);
}

const seconds = ((performance.now() - started) / 1000).toFixed(1);
if (failures.size) {
	const lines = [...failures].map(
		([where, messages]) =>
			`\n✗ ${where}\n${[...new Set(messages)].map((message) => `    - ${message}`).join('\n')}`
	);
	console.error(
		`Storybook check failed on ${failures.size} page(s) (${checkedStories} stories, ${checkedDocs} docs pages, ${seconds} s):${lines.join('')}`
	);
	process.exit(1);
}
console.log(
	`Storybook under ${PREFIX}: ${checkedStories} stories (${networkPass}) and ${checkedDocs} docs pages checked in ${seconds} s: all finish, embeds match, no console errors, no raw markdown, no axe violations, no connection left after a switch.`
);

/**
 * Reports the page's errors and console errors on the current entry.
 * @param {import('playwright').Page} page
 */
function listen(page) {
	page.on('pageerror', (error) => problem(current, `page error: ${error.message}`));
	page.on('console', (message) => {
		if (message.type() !== 'error') return;
		const where = message.location();
		if (expectedNetworkLog(message.text(), where.url)) return;
		problem(
			current,
			`console error: ${message.text().slice(0, 300)}${where.url ? ` (${where.url.replace(origin, '')}:${where.lineNumber})` : ''}`
		);
	});
}

/**
 * Makes `entry` current in the preview, as the manager does, with the connections opened from now
 * on tagged `tag`. Returns the number of channel events before the switch.
 * @param {import('playwright').Page | import('playwright').Frame} page
 * @param {{ id: string, type: string }} entry
 * @param {boolean} switchTo false for the entry the page opened with
 * @param {string} [tag]
 */
function show(page, entry, switchTo, tag = entry.id) {
	return page.evaluate(
		({ id, type, switchTo, tag }) => {
			const check = /** @type {any} */ (window).__check;
			const mark = check.events.length;
			check.tag = tag;
			if (switchTo)
				/** @type {any} */ (window).__STORYBOOK_PREVIEW__.onSetCurrentStory({
					storyId: id,
					viewMode: type === 'docs' ? 'docs' : 'story'
				});
			return mark;
		},
		{ id: entry.id, type: entry.type, switchTo, tag }
	);
}

/**
 * Waits for a story to finish alone, then checks what Storybook reported, axe, and its end state.
 * @param {import('playwright').Page | import('playwright').Frame} page
 * @param {{ id: string }} entry
 * @param {number} mark the channel events before the switch
 */
async function checkStory(page, entry, mark) {
	const result = await waitForFinish(page, [entry.id], mark);
	checkedStories++;
	for (const message of result.errors) problem(entry.id, message);
	const finished = result.finished[entry.id]?.find((f) => f.where === 'storybook-root');
	if (!finished) {
		problem(entry.id, `did not finish within ${FINISH_TIMEOUT / 1000} s`);
		return;
	}
	if (finished.status !== 'success') problem(entry.id, 'Storybook reports the story as failed');
	alone.set(entry.id, await stable(page, '#storybook-root', finished.signature));
	const attempts = await page.evaluate(
		(id) => /** @type {any} */ (window).__check.attempts[id] ?? 0,
		entry.id
	);
	if (attempts > 0) withConnections.add(entry.id);
	await axe(page, entry.id, '#storybook-root');
}

/**
 * Waits for a docs page and every story on it, then compares each embed with the story alone,
 * looks for raw markdown and runs axe.
 * @param {import('playwright').Page | import('playwright').Frame} page
 * @param {{ id: string }} entry
 * @param {number} mark
 * @param {string} [where] the name failures are reported under
 */
async function checkDocs(page, entry, mark, where = entry.id) {
	checkedDocs++;
	const rendered = await page
		.waitForFunction(
			(mark) =>
				/** @type {any} */ (window).__check.events
					.slice(mark)
					.some((/** @type {any} */ e) => e.type === 'docsRendered'),
			mark,
			{ timeout: FINISH_TIMEOUT }
		)
		.then(
			() => true,
			() => false
		);
	if (!rendered) {
		problem(where, `the docs page did not render within ${FINISH_TIMEOUT / 1000} s`);
		return;
	}
	const embedded = await page.evaluate(() => [
		...new Set(
			[...document.querySelectorAll('#storybook-docs [id^="story--"]:not([id$="-inner"])')]
				.map((element) => /^story--(.+?)(--primary)?$/.exec(element.id)?.[1])
				.filter(Boolean)
		)
	]);
	const result = await waitForFinish(page, /** @type {string[]} */ (embedded), mark);
	for (const message of result.errors) problem(where, message);
	for (const id of /** @type {string[]} */ (embedded)) {
		const copies = result.finished[id] ?? [];
		if (copies.length === 0) {
			problem(where, `embedded story ${id} did not finish within ${FINISH_TIMEOUT / 1000} s`);
			continue;
		}
		for (const copy of copies) {
			if (copy.status !== 'success')
				problem(where, `embedded story ${id} (#${copy.where}): Storybook reports it as failed`);
			const expected = alone.get(id);
			if (
				alone.has(id) &&
				(await stable(page, `#${copy.where}`, copy.signature, expected)) !== expected
			)
				problem(
					entry.id,
					`embedded story ${id} (#${copy.where}) ends as ${copy.signature}, alone as ${expected}`
				);
		}
	}
	const raw = await page.evaluate(() => {
		const found = [];
		const root = document.querySelector('#storybook-docs');
		if (!root) return ['no #storybook-docs'];
		const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
		for (let node = walker.nextNode(); node; node = walker.nextNode()) {
			if (node.parentElement?.closest('pre, code, textarea, script, style, [id^="story--"]'))
				continue;
			for (const line of (node.textContent ?? '').split('\n')) {
				const text = line.trim();
				if (
					/\|\s*:?-{3,}/.test(text) ||
					text.startsWith('| ') ||
					text.startsWith('**') ||
					text.startsWith('```')
				)
					found.push(text.slice(0, 80));
			}
		}
		return found;
	});
	for (const text of raw) problem(where, `raw markdown: ${JSON.stringify(text)}`);
	// A reader stays where they are: a story on the page must not take focus or scroll the page.
	const moved = await page.evaluate(() => ({
		scroll: document.scrollingElement?.scrollTop ?? 0,
		focus: document.activeElement?.closest('#storybook-docs')
			? document.activeElement.outerHTML.slice(0, 80)
			: undefined
	}));
	if (moved.scroll > 0) problem(where, `the page scrolled itself down ${moved.scroll} px`);
	if (moved.focus) problem(where, `a story took the focus: ${moved.focus}`);
	await axe(page, where, '#storybook-docs');
}

/**
 * Waits until every story in `ids` has finished at least once since `mark` (all its copies on a
 * docs page), collecting the failure events of the same time.
 * @param {import('playwright').Page | import('playwright').Frame} page
 * @param {string[]} ids
 * @param {number} mark
 */
async function waitForFinish(page, ids, mark) {
	const deadline = Date.now() + FINISH_TIMEOUT;
	for (;;) {
		/** @type {{ done: boolean, errors: string[], finished: Record<string, any[]> }} */
		const state = await page.evaluate(
			({ ids, mark, failureEvents }) => {
				const check = /** @type {any} */ (window).__check;
				const events = check.events.slice(mark);
				const finishedEvents = events.filter((/** @type {any} */ e) => e.type === 'storyFinished');
				const counts = Object.fromEntries(
					ids.map((id) => [
						id,
						finishedEvents.filter((/** @type {any} */ e) => e.args[0]?.storyId === id).length
					])
				);
				const expected = Object.fromEntries(
					ids.map((id) => [
						id,
						Math.max(
							1,
							document.querySelectorAll(`[id="story--${id}"], [id="story--${id}--primary"]`).length
						)
					])
				);
				const done = ids.every((id) => (counts[id] ?? 0) >= (expected[id] ?? 1));
				const errors = events
					.filter((/** @type {any} */ e) => failureEvents.includes(e.type))
					.map(
						(/** @type {any} */ e) =>
							`${e.type}: ${JSON.stringify(e.args[0]?.message ?? e.args[0]).slice(0, 400)}`
					);
				/** @type {Record<string, any[]>} */
				const finished = {};
				for (const f of check.finished.slice(0)) {
					if (f.tag !== check.tag || !ids.includes(f.storyId)) continue;
					(finished[f.storyId] ??= []).push(f);
				}
				return { done, errors, finished };
			},
			{ ids, mark, failureEvents: [...FAILURE_EVENTS] }
		);
		if (state.done || Date.now() > deadline) {
			// Keep only the latest end state per copy (a re-render finishes again).
			for (const [id, copies] of Object.entries(state.finished)) {
				const byWhere = new Map(copies.map((f) => [f.where, f]));
				state.finished[id] = [...byWhere.values()];
			}
			return state;
		}
		await page.waitForTimeout(100);
	}
}

/**
 * The end state of the story in `selector`, once it holds for half a second (rows may still be
 * arriving when a play function ends), or once it is `expected`; at most 3 s after `first`.
 * @param {import('playwright').Page | import('playwright').Frame} page
 * @param {string} selector
 * @param {string | undefined} first the state when the story finished
 * @param {string} [expected]
 */
async function stable(page, selector, first, expected) {
	let last = first;
	let since = Date.now();
	for (const deadline = Date.now() + 3000; Date.now() < deadline;) {
		if (expected !== undefined && last === expected) return last;
		if (expected === undefined && Date.now() - since >= 500) return last;
		await page.waitForTimeout(150);
		const now = await page.evaluate(
			(selector) => /** @type {any} */ (window).__check.signature(document.querySelector(selector)),
			selector
		);
		if (now !== last) since = Date.now();
		last = now;
	}
	return last;
}

/**
 * Runs axe inside `selector`: the story root or the docs content, not Storybook's own chrome.
 * @param {import('playwright').Page | import('playwright').Frame} page
 * @param {string} where
 * @param {string} selector
 */
async function axe(page, where, selector) {
	const violations = await page.evaluate(async (selector) => {
		const axe = /** @type {any} */ (window).axe;
		const result = await axe.run(
			{ include: [selector], exclude: ['.docblock-argstable', '.docs-story > div:last-child'] },
			{ resultTypes: ['violations'] }
		);
		return result.violations.map(
			(/** @type {any} */ v) =>
				`${v.id} (${v.impact}): ${v.help} — ${v.nodes
					.slice(0, 3)
					.map((/** @type {any} */ n) => n.target.join(' '))
					.join(', ')}${v.nodes.length > 3 ? ` and ${v.nodes.length - 3} more` : ''}`
		);
	}, selector);
	for (const violation of violations) problem(where, `axe: ${violation}`);
}

/**
 * Connections of earlier entries still open now that `now` is current: in the page, and on the
 * mock server's side. Reported on the entry that opened them, once.
 * @param {import('playwright').Page | import('playwright').Frame} page
 * @param {string} now
 */
async function checkLeaks(page, now) {
	// Closing is asynchronous on the mock's side (a stream's cancel crosses the service worker).
	const deadline = Date.now() + 2000;
	/** @type {{ client: Array<{ kind: string, url: string, tag: string }>, mock: Array<{ id: string, index: number, streams: number, sockets: number }> }} */
	let leaks;
	do {
		leaks = await page.evaluate((now) => {
			const w = /** @type {any} */ (window);
			return {
				client: [...w.__check.open].filter((c) => c.tag !== now),
				mock: w.__srkMocks?.leaks() ?? []
			};
		}, now);
		if (leaks.client.length === 0 && leaks.mock.length === 0) return;
		await page.waitForTimeout(200);
	} while (Date.now() < deadline);
	for (const connection of leaks.client)
		problem(
			connection.tag || '(page load)',
			`${connection.kind} ${connection.url} still open in the page after the switch to ${now}`
		);
	await page.evaluate((now) => {
		const check = /** @type {any} */ (window).__check;
		for (const c of [...check.open]) if (c.tag !== now) check.open.delete(c);
	}, now);
	for (const { id, index, streams, sockets } of leaks.mock) {
		if (reportedMocks.has(index)) continue;
		reportedMocks.add(index);
		problem(
			`${id} (switched to ${now})`,
			`the mock server still holds ${streams} stream(s) and ${sockets} socket(s) open`
		);
	}
}

/**
 * Chromium's own log line for a request that failed, when the request went to a mocked API (outside
 * the sub-path, answered by the service worker): the stories about outages, refusals and captive
 * portals fail requests on purpose, and the page's code logged nothing. A request that reached the
 * static server outside the sub-path is reported on its own (no mock answered it).
 * @param {string} text
 * @param {string | undefined} url
 */
function expectedNetworkLog(text, url) {
	if (
		/^EventSource's response has a MIME type \("[^"]*"\) that is not "text\/event-stream"/.test(
			text
		)
	)
		return true;
	if (!text.startsWith('Failed to load resource:') || !url) return false;
	const { origin: from, pathname } = new URL(url);
	return from !== origin || !pathname.startsWith(PREFIX);
}

/** @param {string} message */
function fail(message) {
	console.error(`Storybook check failed:\n${message}`);
	process.exit(1);
}
