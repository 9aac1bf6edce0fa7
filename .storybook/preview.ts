import '@fontsource/inter/400.css';
import '@fontsource/inter/500.css';
import '@fontsource/inter/600.css';
import type { Decorator, Preview } from '@storybook/sveltekit';
import { setupWorker } from 'msw/browser';
import { mswLoader } from 'msw-storybook-addon/csf3';
import { createScenario, scenarios, type ScenarioName } from '../src/lib/mocks/index.js';
import ThemeFrame from '../src/stories/theme-frame.svelte';

// Started before any story module loads: socket clients capture `WebSocket` when imported.
const worker = setupWorker();
await worker.start({
	quiet: true,
	onUnhandledRequest: 'bypass',
	serviceWorker: { url: 'mockServiceWorker.js' }
});

const withTheme: Decorator = (_story, { globals, parameters }) => ({
	Component: ThemeFrame,
	props: { theme: parameters.theme ?? globals.theme ?? 'light' }
});

const preview: Preview = {
	decorators: [withTheme],
	loaders: [mswLoader(() => worker)],
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
	beforeEach({ canvasElement, globals, parameters }) {
		// Lets the visual tests find the element the story rendered into.
		canvasElement.setAttribute('data-story-canvas', '');
		// The Network toolbar: a live story that names its mock API's base gets another scenario.
		const network = globals.network as ScenarioName | 'story' | undefined;
		const base = parameters.mockBase as string | undefined;
		if (network && network !== 'story' && base) {
			const api = createScenario(network, {
				base,
				socketUrl: parameters.mockSocketUrl,
				socketIoUrl: parameters.mockSocketIoUrl
			});
			worker.use(...api.handlers);
		}
	},
	tags: ['autodocs']
};

export default preview;
