import '@fontsource/inter/400.css';
import '@fontsource/inter/500.css';
import '@fontsource/inter/600.css';
import type { Decorator, Preview } from '@storybook/sveltekit';
import { setupWorker } from 'msw/browser';
import {
	createScenario,
	freezeDate,
	scenarios,
	type ScenarioName,
	type TaskApi
} from '../src/lib/mocks/index.js';
import { STORY_NOW } from '../src/stories/fixtures.js';
import ThemeFrame from '../src/stories/theme-frame.svelte';

// Every time a story shows (`3 minutes ago`, `retrying in 60 s`, `last event 0 s ago`) is read from
// the clock the screenshot tests use, stopped at the stories' `now`: a story looks the same on any
// date, while browsing as in the tests. Timers still run, so connections and retries work.
freezeDate(STORY_NOW);

// Started before any story module loads: socket clients capture `WebSocket` when imported.
const worker = setupWorker();
await worker.start({
	quiet: true,
	onUnhandledRequest: 'bypass',
	serviceWorker: { url: 'mockServiceWorker.js' }
});

/** What a live story tells the preview about its mock API (`parameters.mock`). */
interface StoryMock {
	/** A fresh mock API of the story's scenario, for each time the story mounts. */
	create(): TaskApi;
	/** Where that API lives, so that the Network toolbar can put another scenario there. */
	base: string;
	socketUrl?: string;
	socketIoUrl?: string;
}

/**
 * The mock APIs of every story on screen, by where they live. A docs page renders many stories at
 * once, each with its mock API under its own URL namespace, so their handlers coexist; a story
 * shown twice (a docs page's primary story) shares one API; an API's handlers leave when the last
 * story using it unmounts.
 */
const mounted = new Map<string, { api: TaskApi; users: number }>();
/** The mock API mounted for the story rendered in each canvas, and how to give it back. */
const mountedIn = new WeakMap<HTMLElement, { id: string; unmount: () => void }>();
const install = () =>
	worker.resetHandlers(...[...mounted.values()].flatMap(({ api }) => api.handlers));

/**
 * The latest mock APIs stories mounted, with the story's id: what the Storybook check reads
 * (`window.__srkMocks`) to find streams and sockets still open on the mock's side after the stories
 * using them unmounted. The oldest unmounted ones are forgotten.
 */
const used: Array<{ id: string; api: TaskApi; serial: number }> = [];
let serial = 0;
const remember = (id: string, api: TaskApi) => {
	used.push({ id, api, serial: serial++ });
	if (used.length <= 100) return;
	const current = new Set([...mounted.values()].map((entry) => entry.api));
	const oldest = used.findIndex((entry) => !current.has(entry.api));
	if (oldest !== -1) used.splice(oldest, 1);
};
(globalThis as { __srkMocks?: unknown }).__srkMocks = {
	/** The mock APIs no story on screen uses that still hold streams or sockets open. */
	leaks() {
		const current = new Set([...mounted.values()].map(({ api }) => api));
		return used.flatMap(({ id, api, serial }) => {
			if (current.has(api)) return [];
			const { streams, sockets } = api.open();
			return streams + sockets > 0 ? [{ id, index: serial, streams, sockets }] : [];
		});
	}
};

/**
 * Mounts a live story's mock API: its own scenario's, or with the Network toolbar set, another
 * scenario's API in the story's place (only that one, so that the story's own socket handlers do
 * not answer the same connections too). Returns the API and the function that unmounts it.
 */
function mountMock(id: string, mock: StoryMock, network: unknown) {
	const other = typeof network === 'string' && network !== 'story' ? network : undefined;
	const key = `${other ?? 'story'} ${mock.base}`;
	let entry = mounted.get(key);
	if (!entry) {
		const api = other
			? createScenario(other as ScenarioName, {
					base: mock.base,
					socketUrl: mock.socketUrl,
					socketIoUrl: mock.socketIoUrl
				})
			: mock.create();
		mounted.set(key, (entry = { api, users: 0 }));
		remember(id, api);
		install();
	}
	entry.users++;
	const mine = entry;
	let done = false;
	const unmount = () => {
		if (done) return;
		done = true;
		if (--mine.users > 0 || mounted.get(key) !== mine) return;
		mounted.delete(key);
		install();
	};
	return { api: entry.api, unmount };
}

const withTheme: Decorator = (_story, { globals, parameters }) => ({
	Component: ThemeFrame,
	props: { theme: parameters.theme ?? globals.theme ?? 'light' }
});

const preview: Preview = {
	decorators: [withTheme],
	globalTypes: {
		network: {
			description: 'Swap the network situation of a live story for another mock scenario',
			toolbar: {
				title: 'Network',
				icon: 'transfer',
				items: [
					{ value: 'story', title: 'As the story says' },
					...Object.keys(scenarios).map((name) => ({ value: name, title: name }))
				],
				dynamicTitle: true
			}
		},
		theme: {
			description: 'Light or dark colour scheme',
			toolbar: {
				title: 'Theme',
				icon: 'mirror',
				items: [
					{ value: 'light', title: 'Light', icon: 'sun' },
					{ value: 'dark', title: 'Dark', icon: 'moon' }
				],
				dynamicTitle: true
			}
		}
	},
	initialGlobals: { theme: 'light', network: 'story' },
	parameters: {
		layout: 'fullscreen',
		controls: { matchers: { color: /(background|color)$/i, date: /At$|^now$/ } },
		a11y: { test: 'error' }
	},
	loaders: [
		// Synchronous up to the mount, so that two copies of a story on a docs page share one API.
		(context) => {
			const mock = context.parameters.mock as StoryMock | undefined;
			if (!mock) return {};
			const next = mountMock(context.id, mock, context.globals.network);
			// A render after a change of the Network toolbar (or of args) replaces this story's mount
			// in its canvas: taken first, so that the same API stays when the scenario is the same.
			const canvas = context.canvasElement;
			mountedIn.get(canvas)?.unmount();
			mountedIn.set(canvas, { id: context.id, unmount: next.unmount });
			return { mock: next.api };
		}
	],
	beforeEach({ id, canvasElement, parameters }) {
		// Lets the visual tests find the element the story rendered into.
		canvasElement.setAttribute('data-story-canvas', '');
		if (!parameters.mock) return;
		return () => {
			const mount = mountedIn.get(canvasElement);
			if (mount?.id !== id) return;
			mountedIn.delete(canvasElement);
			mount.unmount();
		};
	},
	tags: ['autodocs']
};

export default preview;
