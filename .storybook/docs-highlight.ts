/**
 * Highlighting for the docs pages' code blocks. Storybook's SyntaxHighlighter (Prism through
 * refractor) knows a fixed set of languages; this registers ```svelte and ```sh fences.
 */
import { SyntaxHighlighter } from 'storybook/internal/components';

type Grammar = Record<string, unknown>;
interface Prism {
	languages: Record<string, Grammar> & {
		extend(id: string, redef: Grammar): Grammar;
	};
}
/** What refractor's `register` accepts: a function that adds a grammar, named by `displayName`. */
type Language = ((prism: Prism) => void) & { displayName: string; aliases: string[] };

function language(name: string, define: (prism: Prism) => Grammar): Language {
	const register = (prism: Prism) => {
		prism.languages[name] = define(prism);
	};
	return Object.assign(register, { displayName: name, aliases: [] });
}

/** `{…}` with up to three levels of braces inside: `retry={{ a: { b } }}`. */
const braces = String.raw`\{(?:[^{}]|\{(?:[^{}]|\{[^{}]*\})*\})*\}`;
const blockKeywords = String.raw`^(?:else\s+if|if|else|each|await|then|catch|key|snippet|html|debug|render|const)\b`;

/**
 * Svelte 5 markup: `<script>` as TypeScript, `<style>` as CSS, `{#if}`/`{:else}`/`{/if}` blocks,
 * `{@render}` tags and `{expressions}` (as attribute values too) as TypeScript.
 */
export const svelte = language('svelte', (prism) => {
	const ts = prism.languages.typescript ?? prism.languages.javascript;
	const css = prism.languages.css;
	const markup = prism.languages.markup ?? {};
	// Inside a tag the theme colours everything as the tag; what TypeScript leaves plain (names)
	// (and TypeScript tokens the theme has no colour for) gets the text colour instead.
	const expression = {
		pattern: new RegExp(braces),
		greedy: true,
		inside: {
			brace: { pattern: /^\{|\}$/, alias: 'punctuation' },
			code: { pattern: /[\s\S]+/, alias: 'punctuation', inside: ts }
		}
	};
	const attribute = String.raw`(?:${braces}|[^\s>/={]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|${braces}|[^\s'">={]+))?)`;
	return {
		comment: markup.comment ?? /<!--[\s\S]*?-->/,
		script: {
			pattern: /(<script\b[^>]*>)[\s\S]*?(?=<\/script>)/i,
			lookbehind: true,
			greedy: true,
			inside: ts
		},
		style: {
			pattern: /(<style\b[^>]*>)[\s\S]*?(?=<\/style>)/i,
			lookbehind: true,
			greedy: true,
			inside: css
		},
		block: {
			pattern: new RegExp(String.raw`\{[#:/@](?:[^{}]|${braces})*\}`),
			greedy: true,
			inside: {
				punctuation: /^\{[#:/@]|\}$/,
				keyword: [new RegExp(blockKeywords), /\bas\b/],
				rest: ts
			}
		},
		tag: {
			pattern: new RegExp(String.raw`</?(?!\d)[^\s>/=$<%{]+(?:\s+${attribute})*\s*/?>`),
			greedy: true,
			inside: {
				tag: { pattern: /^<\/?[^\s>/]+/, inside: { punctuation: /^<\/?/ } },
				expression,
				'attr-value': {
					pattern: /=\s*(?:"[^"]*"|'[^']*'|[^\s'">={]+)/,
					inside: { punctuation: [/^=/, /^["']|["']$/] }
				},
				punctuation: /\/?>|=/,
				'attr-name': /[^\s>/={]+/
			}
		},
		expression,
		entity: markup.entity ?? /&#?[\da-z]{1,8};/i
	};
});

/** `sh` fences: the shell grammar Storybook ships as `bash`. */
export const sh = language('sh', (prism) => prism.languages.bash ?? {});

SyntaxHighlighter.registerLanguage('svelte', svelte);
SyntaxHighlighter.registerLanguage('sh', sh);
