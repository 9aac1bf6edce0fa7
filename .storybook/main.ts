import type { StorybookConfig } from '@storybook/sveltekit';
import { fileURLToPath } from 'node:url';
import remarkGfm from 'remark-gfm';

const config: StorybookConfig = {
	framework: { name: '@storybook/sveltekit', options: {} },
	stories: ['../src/stories/**/*.mdx', '../src/stories/**/*.stories.@(svelte|ts)'],
	addons: [
		'@storybook/addon-svelte-csf',
		{
			name: '@storybook/addon-docs',
			// GitHub-flavoured Markdown in the MDX pages: tables, strikethrough, autolinks.
			options: { mdxPluginOptions: { mdxCompileOptions: { remarkPlugins: [remarkGfm] } } }
		},
		'@storybook/addon-a11y',
		'@storybook/addon-vitest',
		// The kit's own addon (the Connection panel), from the sources: users add
		// 'svelte-realtime-kit/storybook'.
		fileURLToPath(new URL('../src/lib/storybook/preset.ts', import.meta.url))
	],
	// Languages for the docs' code blocks. An entry of its own rather than an import in preview.ts:
	// package.json marks every non-CSS module side-effect free, so a bare import would be dropped.
	previewAnnotations: (entries = []) => [
		...entries,
		fileURLToPath(new URL('./docs-highlight.ts', import.meta.url))
	],
	staticDirs: ['../static'],
	core: { disableTelemetry: true, disableWhatsNewNotifications: true },
	// Storybook's own getting-started checklist (sidebar widget and menu page) is not about this kit.
	features: { sidebarOnboardingChecklist: false, menuOnboardingChecklist: false },
	docs: { defaultName: 'Docs' }
};

export default config;
