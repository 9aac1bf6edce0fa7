// The README's code blocks and links, read so that tests can build the one and check the other.
//
// Every fenced block is a file of the consumer app (tests/consumer), which `npm run test:consumer`
// type-checks and builds, unless it is marked as not part of it. A block names its file either with
// a first line that a reader sees anyway (`// src/lib/server/tasks.ts` in TypeScript or JavaScript,
// `<!-- src/routes/+page.svelte -->` in Svelte), or with an HTML comment on the line before the
// fence, which GitHub and npm do not show: `<!-- file: src/lib/x.ts -->`. A block that is not a
// file (shell commands, a fragment) says so on the line before it: `<!-- not-a-file: why -->`.
// Any other block is an error.
//
//   node scripts/readme.js              lists the blocks and checks the README's links
//   node scripts/readme.js --write DIR  also writes the files into the app at DIR
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');

/**
 * @typedef {{ path: string; code: string; line: number; lang: string }} ReadmeFile
 * @typedef {{ reason: string; line: number; lang: string }} ReadmeSkip
 */

/**
 * The README's code blocks, as files of the app and blocks marked as not being one.
 * @param {string} text
 * @param {string} [name] for error messages
 * @returns {{ files: ReadmeFile[]; skipped: ReadmeSkip[] }}
 * @throws {Error} listing every block that names no file and is not marked, names one twice,
 * or names a path outside the app's `src/`
 */
export function readmeBlocks(text, name = 'README.md') {
	const lines = text.split(/\r?\n/);
	/** @type {ReadmeFile[]} */
	const files = [];
	/** @type {ReadmeSkip[]} */
	const skipped = [];
	/** @type {string[]} */
	const errors = [];
	for (let i = 0; i < lines.length; i++) {
		const open = /^( {0,3})(`{3,}|~{3,})\s*([\w-]*)/.exec(lines[i] ?? '');
		if (!open) continue;
		const [, , fence = '```', lang = ''] = open;
		const start = i + 1;
		let end = start;
		while (end < lines.length && !(lines[end] ?? '').trim().startsWith(fence)) end++;
		if (end >= lines.length) {
			errors.push(`${name}:${start}: a code block that is never closed`);
			break;
		}
		const code = lines.slice(start, end).join('\n') + '\n';
		let before = i - 1;
		while (before >= 0 && (lines[before] ?? '').trim() === '') before--;
		const comment = /^<!--\s*(file|not-a-file):\s*(.*?)\s*-->$/.exec((lines[before] ?? '').trim());
		const firstLine = lines[start] ?? '';
		const named =
			/^\/\/\s+(src\/[^\s:]+)/.exec(firstLine)?.[1] ??
			/^<!--\s+(src\/[^\s:]+?)(?::.*)?\s*-->/.exec(firstLine)?.[1];
		const where = `${name}:${start}`;
		i = end;

		if (comment?.[1] === 'not-a-file') {
			if (named) errors.push(`${where}: a block that names ${named} is marked as not a file`);
			else if (!comment[2]) errors.push(`${where}: say why the block is not a file`);
			else skipped.push({ reason: comment[2], line: start, lang });
			continue;
		}
		const path = comment?.[1] === 'file' ? comment[2] : named;
		if (comment?.[1] === 'file' && named && named !== path) {
			errors.push(`${where}: the block names ${named} but is marked as ${path}`);
			continue;
		}
		if (!path) {
			errors.push(
				`${where}: a \`\`\`${lang} block that is not a file of the app: start it with a comment naming its file (\`// src/…\`), or mark it with <!-- file: src/… --> or <!-- not-a-file: why --> on the line before`
			);
			continue;
		}
		if (!/^src\/[\w$@+\-[\]./]+$/.test(path) || path.split('/').includes('..')) {
			errors.push(`${where}: ${path} is not a path inside the app's src/`);
			continue;
		}
		if (files.some((file) => file.path === path)) {
			errors.push(`${where}: ${path} is given twice`);
			continue;
		}
		files.push({ path, code, line: start, lang });
	}
	if (errors.length) throw new Error(errors.join('\n'));
	return { files, skipped };
}

/** GitHub's anchor for a heading. @param {string} heading */
export const slug = (heading) =>
	heading
		.trim()
		.toLowerCase()
		.replace(/[^\p{L}\p{N}\s_-]/gu, '')
		.replace(/\s/g, '-');

/** The anchors of a Markdown file's headings. @param {string} text */
const anchors = (text) =>
	new Set(
		text
			.replace(/^(`{3,}|~{3,})[\s\S]*?^\1/gm, '')
			.split('\n')
			.flatMap((line) => {
				const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
				return heading?.[1] ? [slug(heading[1])] : [];
			})
	);

/**
 * Checks the README's links and images as the npm package page shows them: a relative link has
 * no repository to resolve against there (and `docs/` is not in the package), so every link is
 * absolute or an anchor of the README; links into this repository name a file that exists, and
 * their anchors a heading of it.
 * @param {string} text
 * @param {string} repository `https://github.com/owner/name`
 * @returns {string[]} the problems found
 */
export function readmeLinkProblems(text, repository) {
	/** @type {string[]} */
	const problems = [];
	const prose = text.replace(/^(`{3,}|~{3,})[\s\S]*?^\1/gm, '').replace(/`[^`\n]*`/g, '');
	const targets = [
		...[...prose.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1]),
		...[...prose.matchAll(/<(?:img|a)\s[^>]*?(?:src|href)="([^"]+)"/g)].map((m) => m[1])
	];
	const own = anchors(text);
	const blob = new RegExp(
		`^(?:${escape(repository)}/(?:blob|tree)/main|${escape(repository.replace('https://github.com/', 'https://raw.githubusercontent.com/'))}/main)/([^#?]+)(?:#(.*))?$`
	);
	for (const target of targets) {
		if (!target) continue;
		if (target.startsWith('#')) {
			if (!own.has(target.slice(1))) problems.push(`${target}: no such heading in the README`);
			continue;
		}
		if (!/^(https?:|mailto:)/.test(target)) {
			problems.push(
				`${target}: a relative link, which the npm package page cannot resolve; use ${repository}/blob/main/${target}`
			);
			continue;
		}
		const inRepo = blob.exec(target);
		if (!inRepo) continue;
		const [, path = '', anchor] = inRepo;
		const file = join(root, decodeURIComponent(path));
		if (!existsSync(file)) {
			problems.push(`${target}: ${path} is not in the repository`);
			continue;
		}
		if (anchor && !anchors(readFileSync(file, 'utf8')).has(anchor))
			problems.push(`${target}: no heading #${anchor} in ${path}`);
	}
	return problems;
}

/** @param {string} text */
function escape(text) {
	return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/** The repository's web address, from package.json. */
export function repositoryUrl() {
	const { repository } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
	const url = typeof repository === 'string' ? repository : repository?.url;
	const match = /github\.com[/:]([\w.-]+\/[\w.-]+?)(?:\.git)?$/.exec(url ?? '');
	if (!match) throw new Error('package.json has no GitHub repository');
	return `https://github.com/${match[1]}`;
}

/**
 * Writes the README's files into the app at `dir`; a file the app already has is an error (the
 * README's code must be what gets built).
 * @param {string} dir
 */
export function writeReadmeFiles(dir) {
	const { files } = readmeBlocks(readFileSync(join(root, 'README.md'), 'utf8'));
	for (const file of files) {
		const target = join(dir, file.path);
		if (existsSync(target))
			throw new Error(`README.md:${file.line}: ${file.path} is also a file of tests/consumer`);
		mkdirSync(dirname(target), { recursive: true });
		writeFileSync(target, file.code);
	}
	return files;
}

if (import.meta.filename === resolve(process.argv[1] ?? '')) {
	try {
		const text = readFileSync(join(root, 'README.md'), 'utf8');
		const write = process.argv.indexOf('--write');
		const { files, skipped } = readmeBlocks(text);
		if (write > 0) writeReadmeFiles(resolve(process.argv[write + 1] ?? '.'));
		for (const file of files) console.log(`README.md:${file.line}  ${file.path}`);
		for (const block of skipped)
			console.log(`README.md:${block.line}  (not a file: ${block.reason})`);
		const problems = readmeLinkProblems(text, repositoryUrl());
		if (problems.length) throw new Error(`README links:\n${problems.join('\n')}`);
		console.log(`README: ${files.length} files, ${skipped.length} blocks that are not, links ok`);
	} catch (error) {
		console.error(error instanceof Error ? error.message : error);
		process.exit(1);
	}
}
