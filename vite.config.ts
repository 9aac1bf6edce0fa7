import { sveltekit } from '@sveltejs/kit/vite';
import { storybookTest } from '@storybook/addon-vitest/vitest-plugin';
import { svelteTesting } from '@testing-library/svelte/vite';
import { playwright } from '@vitest/browser-playwright';
import { pathToFileURL } from 'node:url';
import type { Plugin } from 'vite';
import { defineConfig } from 'vitest/config';
import { findChromium } from './scripts/chromium.js';

const chromium = playwright({
	launchOptions: {
		executablePath: process.env.CHROMIUM_PATH ?? findChromium(),
		args: [
			'--no-sandbox',
			'--disable-gpu',
			'--disable-quic',
			'--no-first-run',
			'--disable-background-networking',
			'--disable-component-update',
			'--disable-sync',
			'--font-render-hinting=none'
		]
	},
	contextOptions: { reducedMotion: 'reduce', colorScheme: 'light' }
});

// A fresh object per project: Vitest names the instances it is given in place.
const browser = () => ({
	enabled: true,
	headless: true,
	provider: chromium,
	instances: [{ browser: 'chromium' as const }],
	viewport: { width: 800, height: 600 },
	screenshotFailures: false,
	expect: {
		toMatchScreenshot: {
			comparatorName: 'pixelmatch' as const,
			comparatorOptions: { threshold: 0.1, allowedMismatchedPixelRatio: 0 },
			// Animations finished or stopped, no blinking caret: the same pixels every run.
			screenshotOptions: { animations: 'disabled' as const, caret: 'hide' as const }
		}
	}
});

/**
 * The demo's socket.io server on the dev or preview server's own port (`npm run dev`,
 * `npm run preview`); attaching it opens the demo database too.
 */
const demoRealtime = (): Plugin => {
	// Loaded by Node at run time, not bundled into this config.
	const attach = async (httpServer: unknown) => {
		// Vitest and Storybook run Vite without an HTTP server of its own: nothing to attach to.
		if (!httpServer || process.env.VITEST || process.env.STORYBOOK) return;
		const realtime = pathToFileURL(`${import.meta.dirname}/src/demo/realtime.js`).href;
		const { attachRealtime } = await import(/* @vite-ignore */ realtime);
		attachRealtime(httpServer as import('node:http').Server);
	};
	return {
		name: 'demo-realtime',
		apply: 'serve',
		configureServer: (server) => attach(server.httpServer),
		configurePreviewServer: (server) => attach(server.httpServer)
	};
};

export default defineConfig({
	plugins: [sveltekit(), demoRealtime()],
	test: {
		teardownTimeout: 1000,
		coverage: {
			provider: 'v8',
			include: ['src/lib/core/**/*.ts'],
			exclude: ['src/lib/core/**/*.test.ts', 'src/lib/core/index.ts'],
			reporter: ['text-summary', 'text'],
			reportsDirectory: 'coverage'
		},
		expect: { requireAssertions: true },
		projects: [
			{
				extends: true,
				plugins: [svelteTesting()],
				test: {
					name: 'unit',
					environment: 'jsdom',
					include: ['src/lib/{components,svelte}/**/*.test.ts', 'tests/components/**/*.test.ts'],
					exclude: ['src/**/*.browser.test.ts'],
					setupFiles: ['tests/setup/jsdom.ts']
				}
			},
			{
				extends: true,
				test: {
					name: 'node',
					environment: 'node',
					include: [
						'src/lib/core/**/*.test.ts',
						'src/lib/socket.io/**/*.test.ts',
						'src/lib/mocks/**/*.test.ts',
						'src/lib/server/**/*.test.ts',
						'src/lib/inspect/**/*.test.ts',
						'tests/unit/**/*.test.ts',
						'tests/integration/**/*.test.ts',
						'tests/ssr/**/*.test.ts'
					]
				}
			},
			{
				extends: true,
				test: {
					// The demo's production build on its own server, driven by Playwright from Node.
					name: 'demo',
					environment: 'node',
					include: ['tests/demo/**/*.test.ts'],
					testTimeout: 120_000,
					hookTimeout: 60_000
				}
			},
			{
				extends: true,
				test: {
					// Several Chromium pages sharing one connection, against a real server, driven from Node.
					name: 'tabs',
					environment: 'node',
					include: ['tests/tabs/**/*.test.ts'],
					testTimeout: 60_000,
					hookTimeout: 60_000
				}
			},
			{
				extends: true,
				test: {
					// Real redis-server processes (found or installed by scripts/redis.js), driven from Node;
					// one file at a time, since each suite starts, kills and restarts servers.
					name: 'redis',
					environment: 'node',
					include: ['tests/redis/**/*.test.ts'],
					testTimeout: 120_000,
					hookTimeout: 60_000,
					fileParallelism: false
				}
			},
			{
				extends: true,
				test: {
					name: 'browser',
					include: ['src/**/*.browser.test.ts', 'tests/browser/**/*.test.ts'],
					globalSetup: ['tests/browser/sse-server.ts'],
					browser: browser()
				}
			},
			{
				extends: true,
				plugins: [storybookTest({ configDir: `${import.meta.dirname}/.storybook` })],
				test: {
					name: 'storybook',
					browser: browser(),
					setupFiles: ['tests/setup/stories.ts']
				}
			}
		]
	}
});
