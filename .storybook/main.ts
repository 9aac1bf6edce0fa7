import type { StorybookConfig } from '@storybook/sveltekit';

const config: StorybookConfig = {
	framework: { name: '@storybook/sveltekit', options: {} },
	stories: ['../src/stories/**/*.mdx', '../src/stories/**/*.stories.@(svelte|ts)'],
	addons: [
		'@storybook/addon-svelte-csf',
		'@storybook/addon-docs',
		'@storybook/addon-a11y',
		'@storybook/addon-vitest'
	],
	staticDirs: ['../static'],
	core: { disableTelemetry: true },
	docs: { defaultName: 'Docs' }
};

export default config;
