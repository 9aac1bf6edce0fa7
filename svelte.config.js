import adapter from '@sveltejs/adapter-node';
import { vitePreprocess } from '@sveltejs/vite-plugin-svelte';

/** @type {import('@sveltejs/kit').Config} */
export default {
	// `script: true` strips TypeScript from the script blocks of the shipped .svelte files.
	preprocess: vitePreprocess({ script: true }),
	kit: { adapter: adapter() }
};
