import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import svelte from 'eslint-plugin-svelte';
import { defineConfig, globalIgnores } from 'eslint/config';
import globals from 'globals';
import ts from 'typescript-eslint';
import svelteConfig from './svelte.config.js';

export default defineConfig(
	globalIgnores([
		'.svelte-kit/',
		'build/',
		'dist/',
		'coverage/',
		'storybook-static/',
		'.vitest-attachments/',
		'static/mockServiceWorker.js',
		// A separate app with its own dependencies, installed and built by `npm run test:consumer`.
		'tests/consumer/'
	]),
	js.configs.recommended,
	...ts.configs.recommended,
	...svelte.configs.recommended,
	prettier,
	...svelte.configs.prettier,
	{
		languageOptions: { globals: { ...globals.browser, ...globals.node } },
		rules: {
			// TypeScript already reports undefined names, and knows about types eslint cannot see.
			'no-undef': 'off',
			'@typescript-eslint/no-unused-vars': [
				'error',
				{ argsIgnorePattern: '^_', varsIgnorePattern: '^_' }
			],
			// Flags every local Map/Set/Date, including throwaway ones built inside deriveds and never
			// mutated afterwards; reactive collections are chosen deliberately where they are needed.
			'svelte/prefer-svelte-reactivity': 'off'
		}
	},
	{
		files: ['**/*.svelte', '**/*.svelte.ts', '**/*.svelte.js'],
		languageOptions: {
			parserOptions: {
				projectService: true,
				extraFileExtensions: ['.svelte'],
				parser: ts.parser,
				svelteConfig
			}
		}
	},
	{
		// The core is framework-free: it must run, and be tested, without Svelte.
		files: ['src/lib/core/**'],
		rules: {
			'no-restricted-imports': [
				'error',
				{
					patterns: [
						{
							regex: '^svelte($|/)',
							message:
								'src/lib/core is framework-free: import Svelte only in src/lib/svelte or src/lib/components.'
						},
						{
							regex: '\\.svelte(\\.[jt]s)?$|/(svelte|components)/',
							message: 'src/lib/core must not depend on the Svelte layers above it.'
						}
					]
				}
			]
		}
	}
);
