// scripts/readme.js decides which README code block becomes which file of the consumer app that
// `npm run test:consumer` type-checks and builds, and which links the npm page can resolve. These
// tests hold it to its rules on generated documents, and the README to them.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readmeBlocks, readmeLinkProblems, repositoryUrl, slug } from '../../scripts/readme.js';

const repo = join(import.meta.dirname, '../..');
const repository = 'https://github.com/svelte-realtime-kit/svelte-realtime-kit';

type Block =
	| { kind: 'prose'; text: string }
	| { kind: 'named'; path: string; lang: 'ts' | 'js' | 'svelte'; body: string }
	| { kind: 'marked'; path: string; lang: string; body: string }
	| { kind: 'skipped'; reason: string; lang: string; body: string }
	| { kind: 'unmarked'; lang: string; body: string };

const word = fc.stringMatching(/^[a-z][a-z0-9-]{0,7}$/);
const path = fc
	.tuple(
		fc.constantFrom('src/lib/', 'src/routes/', 'src/routes/api/[id]/', 'src/lib/server/'),
		word,
		fc.constantFrom('.ts', '.js', '.svelte')
	)
	.map(([dir, name, ext]) => `${dir}${name}${ext}`);
// Code lines that never look like a fence or a file comment.
const body = fc
	.array(fc.stringMatching(/^[a-z =;(){}.'0-9]{0,30}$/), { maxLength: 4 })
	.map((lines) => lines.join('\n'));
const block: fc.Arbitrary<Block> = fc.oneof(
	fc.record({
		kind: fc.constant('prose' as const),
		text: fc.stringMatching(/^[A-Za-z ,.]{1,40}$/)
	}),
	fc.record({
		kind: fc.constant('named' as const),
		path,
		lang: fc.constantFrom('ts' as const, 'js' as const, 'svelte' as const),
		body
	}),
	fc.record({
		kind: fc.constant('marked' as const),
		path,
		lang: fc.constantFrom('ts', 'svelte', ''),
		body
	}),
	fc.record({
		kind: fc.constant('skipped' as const),
		reason: fc.stringMatching(/^[a-z][a-z ]{0,15}[a-z]$/),
		lang: fc.constantFrom('sh', 'ts', 'text', ''),
		body
	}),
	fc.record({
		kind: fc.constant('unmarked' as const),
		lang: fc.constantFrom('sh', 'ts', 'svelte', ''),
		body
	})
);

function render(blocks: Block[]) {
	return blocks
		.map((b) => {
			const code = (first: string | undefined, lang: string) =>
				[
					'```' + lang,
					...(first === undefined ? [] : [first]),
					...(b.kind === 'prose' ? [] : b.body ? [b.body] : []),
					'```'
				].join('\n');
			switch (b.kind) {
				case 'prose':
					return b.text;
				case 'named':
					return code(b.lang === 'svelte' ? `<!-- ${b.path} -->` : `// ${b.path}`, b.lang);
				case 'marked':
					return `<!-- file: ${b.path} -->\n\n${code(undefined, b.lang)}`;
				case 'skipped':
					return `<!-- not-a-file: ${b.reason} -->\n${code(undefined, b.lang)}`;
				case 'unmarked':
					return code(undefined, b.lang);
			}
		})
		.join('\n\n');
}

describe('readmeBlocks', () => {
	it('makes a file of every named block, skips the marked ones, and refuses the rest', () => {
		fc.assert(
			fc.property(fc.array(block, { maxLength: 8 }), (blocks) => {
				const text = render(blocks);
				const paths = blocks.flatMap((b) =>
					b.kind === 'named' || b.kind === 'marked' ? [b.path] : []
				);
				const invalid =
					blocks.some((b) => b.kind === 'unmarked') || new Set(paths).size !== paths.length;
				if (invalid) {
					expect(() => readmeBlocks(text)).toThrow(/README\.md:\d+: /);
					return;
				}
				const { files, skipped } = readmeBlocks(text);
				expect(files.map((f) => f.path)).toEqual(paths);
				expect(skipped.map((s) => s.reason)).toEqual(
					blocks.flatMap((b) => (b.kind === 'skipped' ? [b.reason] : []))
				);
				// A file is the block's code as the README shows it, its naming comment included.
				for (const [i, file] of files.entries()) {
					const source = blocks.filter((b) => b.kind === 'named' || b.kind === 'marked')[i];
					if (source && 'body' in source && source.body) expect(file.code).toContain(source.body);
					if (source?.kind === 'named') expect(file.code.split('\n')[0]).toContain(file.path);
				}
			})
		);
	});

	it('refuses paths outside the app, a named block marked as not a file, and an unclosed fence', () => {
		expect(() => readmeBlocks('```ts\n// src/../../etc/x.ts\n```\n')).toThrow(/not a path inside/);
		expect(() => readmeBlocks('<!-- file: lib/x.ts -->\n```ts\nx\n```\n')).toThrow(
			/not a path inside/
		);
		expect(() => readmeBlocks('<!-- not-a-file: shell -->\n```ts\n// src/a.ts\n```\n')).toThrow(
			/marked as not a file/
		);
		expect(() => readmeBlocks('<!-- file: src/b.ts -->\n```ts\n// src/a.ts\n```\n')).toThrow(
			/names src\/a\.ts but is marked as src\/b\.ts/
		);
		expect(() => readmeBlocks('```ts\n// src/a.ts\n')).toThrow(/never closed/);
	});
});

describe('readmeLinkProblems', () => {
	it('accepts absolute links into files of the repository, and anchors of its headings', () => {
		expect(
			readmeLinkProblems(
				`# Quick start\n[a](#quick-start) [b](${repository}/blob/main/docs/API.md#how-a-change-ends) ![c](https://raw.githubusercontent.com/svelte-realtime-kit/svelte-realtime-kit/main/docs/storybook.png) [d](https://svelte.dev)`,
				repository
			)
		).toEqual([]);
	});

	it('reports relative links, missing files and missing anchors', () => {
		const problems = readmeLinkProblems(
			`[a](docs/API.md) [b](#nowhere) ![c](https://raw.githubusercontent.com/svelte-realtime-kit/svelte-realtime-kit/main/docs/none.png) [d](${repository}/blob/main/docs/API.md#no-such) <img src="docs/x.png">`,
			repository
		);
		expect(problems).toHaveLength(5);
		expect(problems[0]).toMatch(/relative link/);
	});

	it('ignores links inside code', () => {
		expect(readmeLinkProblems('`[a](docs/x.md)`\n\n```md\n[b](y.md)\n```\n', repository)).toEqual(
			[]
		);
	});

	it("makes GitHub's anchors", () => {
		expect(slug('Two-way: WebSocket and socket.io')).toBe('two-way-websocket-and-socketio');
		expect(slug('`sseResponse(options)`')).toBe('sseresponseoptions');
		expect(slug('3.4 Record store options')).toBe('34-record-store-options');
	});
});

describe('the README', () => {
	const text = readFileSync(join(repo, 'README.md'), 'utf8');

	it('has only blocks that are files of the consumer app or marked as not, and links the npm page resolves', () => {
		const { files } = readmeBlocks(text);
		expect(readmeLinkProblems(text, repositoryUrl())).toEqual([]);
		// The Quick start is a whole app: the page and everything it fetches.
		expect(files.map((f) => f.path)).toEqual(
			expect.arrayContaining([
				'src/routes/+page.svelte',
				'src/routes/+page.server.ts',
				'src/routes/api/tasks/+server.ts',
				'src/routes/api/tasks/[id]/+server.ts',
				'src/routes/api/tasks/stream/+server.ts'
			])
		);
	});
});
