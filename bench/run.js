// `npm run bench [-- P2 P6 …]`: runs the benchmarks (all, or the ids given), each with its baseline
// in the same run, and writes bench/results.json and bench/RESULTS.md. Running some ids alone
// replaces their rows and keeps the others' from the last run.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';

/** @type {Record<string, { title: string; load: () => Promise<{ default: () => Promise<{ rows: import('./lib.js').Row[]; notes?: string[] }> }> }>} */
export const benchmarks = {
	P1: { title: 'Size (min+gzip)', load: () => import('./p1-size.js') },
	P2: { title: 'Reconnect herd', load: () => import('./p2-herd.js') },
	P3: { title: 'Flood into a timeline (Chromium)', load: () => import('./p3-flood.js') },
	P4: { title: 'Keyed list operations (Chromium)', load: () => import('./p4-list.js') },
	P5: { title: 'Mount/unmount leaks (Chromium)', load: () => import('./p5-leaks.js') },
	P6: { title: 'Server blip and lossy delivery', load: () => import('./p6-blip.js') },
	P7: { title: 'Silent half-open stream', load: () => import('./p7-half-open.js') },
	P8: { title: 'WebSocket blocked, fallback', load: () => import('./p8-fallback.js') },
	P9: { title: 'Polling an unchanged list', load: () => import('./p9-polling.js') },
	P10: { title: 'Connections for several tabs (Chromium)', load: () => import('./p10-tabs.js') },
	P11: { title: 'Leader tab lost, handoff (Chromium)', load: () => import('./p11-handoff.js') },
	P12: { title: 'Fan-out across two nodes (Redis)', load: () => import('./p12-fanout.js') }
};

const RESULTS_JSON = 'bench/results.json';
const RESULTS_MD = 'bench/RESULTS.md';

const args = process.argv.slice(2).map((a) => a.toUpperCase());
const unknown = args.filter((id) => !(id in benchmarks));
if (unknown.length) {
	console.error(
		`Unknown benchmark ${unknown.join(', ')}. Known: ${Object.keys(benchmarks).join(', ')}.`
	);
	process.exit(1);
}
const selected = args.length ? args : Object.keys(benchmarks);

if (!process.env.BENCH_NO_PACKAGE) {
	console.log('▶ building the package (svelte-package) so that benchmarks measure dist/');
	const built = spawnSync('npx svelte-kit sync && npx svelte-package', {
		stdio: 'inherit',
		shell: true
	});
	if (built.status !== 0) process.exit(built.status ?? 1);
}

/** @type {{ rows: import('./lib.js').Row[]; notes: Record<string, string[]>; seconds: Record<string, number> }} */
const previous = existsSync(RESULTS_JSON) ? loadPrevious() : { rows: [], notes: {}, seconds: {} };
let failed = false;
const started = performance.now();
for (const id of selected) {
	const { title, load } = benchmarks[id];
	console.log(`\n▶ ${id}: ${title}`);
	const t0 = performance.now();
	try {
		const { default: run } = await load();
		const { rows, notes = [] } = await run();
		previous.rows = previous.rows.filter((r) => r.id !== id).concat(rows);
		previous.notes[id] = notes;
		for (const r of rows) console.log(`  ${format(r)}`);
	} catch (error) {
		failed = true;
		console.error(`  ${id} failed:`, error);
		previous.rows = previous.rows.filter((r) => r.id !== id);
		previous.notes[id] = [`Did not run: ${error instanceof Error ? error.message : String(error)}`];
	}
	previous.seconds[id] = Math.round((performance.now() - t0) / 100) / 10;
	console.log(`  (${previous.seconds[id]} s)`);
}
const order = Object.keys(benchmarks);
previous.rows.sort((a, b) => order.indexOf(a.id) - order.indexOf(b.id));

writeFileSync(RESULTS_JSON, JSON.stringify(previous.rows, null, '\t') + '\n');
writeFileSync(RESULTS_MD, markdown(previous));
mkdirSync('node_modules/.cache', { recursive: true });
writeFileSync(
	'node_modules/.cache/srk-bench-meta.json',
	JSON.stringify({ notes: previous.notes, seconds: previous.seconds })
);
console.log(
	`\nWrote ${RESULTS_JSON} and ${RESULTS_MD} (${((performance.now() - started) / 1000).toFixed(0)} s).`
);
process.exit(failed ? 1 : 0);

function loadPrevious() {
	const rows = JSON.parse(readFileSync(RESULTS_JSON, 'utf8'));
	let meta = { notes: {}, seconds: {} };
	try {
		meta = JSON.parse(readFileSync('node_modules/.cache/srk-bench-meta.json', 'utf8'));
	} catch {
		// A new checkout: the notes and times of earlier runs are read back from RESULTS.md.
		if (existsSync(RESULTS_MD)) meta = notesOf(readFileSync(RESULTS_MD, 'utf8'));
	}
	return { rows, notes: meta.notes ?? {}, seconds: meta.seconds ?? {} };
}

/**
 * The notes and run times that `markdown` wrote: each `## <id>: <title>` section's `Ran in <n> s.`
 * line and its `- ` items (a note is one line).
 * @param {string} text
 */
function notesOf(text) {
	/** @type {{ notes: Record<string, string[]>; seconds: Record<string, number> }} */
	const meta = { notes: {}, seconds: {} };
	let id = '';
	for (const line of text.split('\n')) {
		const heading = /^## (P\d+): /.exec(line);
		if (heading) {
			id = heading[1] ?? '';
			meta.notes[id] = [];
			continue;
		}
		if (!id) continue;
		const ran = /^Ran in ([\d.]+) s\.$/.exec(line);
		if (ran) meta.seconds[id] = Number(ran[1]);
		else if (line.startsWith('- ')) meta.notes[id]?.push(line.slice(2));
	}
	return meta;
}

/** @param {import('./lib.js').Row} r */
function format(r) {
	const verdict = r.pass === null ? '    ' : r.pass ? 'pass' : 'MISS';
	const base = r.baselineName
		? ` vs ${r.baseline} (${r.baselineName}), ratio ${r.ratio ?? '—'}`
		: '';
	return `${verdict} ${r.metric}: ${r.ours} ${r.unit}${base}; goal ${r.goal}`;
}

/** @param {typeof previous} results */
function markdown({ rows, notes, seconds }) {
	const cell = (/** @type {unknown} */ v) =>
		v === null || v === undefined ? '—' : String(v).replaceAll('|', '\\|');
	const lines = [
		'# Benchmark results',
		'',
		`Written by \`npm run bench\`. Machine: ${cpus().length} × ${cpus()[0]?.model.trim() ?? 'unknown CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.versions.node}.`,
		'Every benchmark runs the kit and its baseline in the same run; compare ratios, not absolute numbers.',
		'`ratio` is ours ÷ baseline. `pass` is blank for rows that compare without a goal of their own.',
		'',
		'| id | metric | unit | ours | baseline | baselineName | ratio | goal | pass |',
		'| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
		...rows.map(
			(r) =>
				`| ${[r.id, r.metric, r.unit, r.ours, r.baseline, r.baselineName, r.ratio, r.goal, r.pass === null ? '' : r.pass ? 'yes' : '**no**'].map(cell).join(' | ')} |`
		),
		''
	];
	for (const id of Object.keys(benchmarks)) {
		if (!notes[id]?.length && seconds[id] === undefined) continue;
		lines.push(`## ${id}: ${benchmarks[id].title}`, '');
		if (seconds[id] !== undefined) lines.push(`Ran in ${seconds[id]} s.`, '');
		for (const note of notes[id] ?? []) lines.push(`- ${note}`);
		lines.push('');
	}
	return lines.join('\n');
}
