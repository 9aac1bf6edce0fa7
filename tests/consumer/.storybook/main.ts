// The app's Storybook, set up by hand as the README tells users to add the kit's addon.
import type { StorybookConfig } from '@storybook/sveltekit';

const config: StorybookConfig = {
	framework: '@storybook/sveltekit',
	stories: ['../src/**/*.stories.@(ts|svelte)'],
	addons: ['svelte-realtime-kit/storybook']
};

export default config;
