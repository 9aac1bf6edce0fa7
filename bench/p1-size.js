// P1: min+gzip of the kit's typical imports against the libraries an app would otherwise add,
// all bundled the same way (scripts/size.js: Vite, tree-shaken, minified, `svelte` left out).
import { cases, measure } from '../scripts/size.js';
import { row } from './lib.js';

const KiB = 1024;

/** Each baseline bundled from its package's browser entry, the way an app would import it. */
const baselines = [
	['socket.io-client', `export { io } from 'socket.io-client';`],
	['partysocket', `export { WebSocket } from 'partysocket';`],
	['reconnecting-websocket', `export { default } from 'reconnecting-websocket';`],
	[
		'@microsoft/fetch-event-source',
		`export { fetchEventSource } from '@microsoft/fetch-event-source';`
	],
	['eventsource', `export { EventSource } from 'eventsource';`]
];

/** The kit's imports that P1 reports, with the goals where it has one. */
const ours = [
	{ name: 'everything without Svelte (core)', goal: 8 },
	{ name: 'SSE adapter alone (core)', goal: 3 },
	{ name: 'WebSocket path (core)' },
	{ name: 'SSE with the engine (core)' },
	{ name: 'badge only (JavaScript)', goal: 1.5 }
];

export default async function run() {
	const sizes = new Map();
	/** What each import loads on first use (dynamic imports), apart from what it loads up front. */
	const later = new Map();
	for (const { name, code, count } of cases) {
		if (!ours.some((o) => o.name === name)) continue;
		const measured = await measure(`bench-${name}`, code);
		const { lazyGzip } = measured;
		// A case that counts its code or its styles alone (the badge's JavaScript) reports that.
		sizes.set(name, (count ? measured[count] : measured).gzip / KiB);
		later.set(name, lazyGzip / KiB);
	}
	const base = new Map();
	for (const [name, code] of baselines) {
		base.set(
			name,
			(await measure(`bench-${name}`, code, { alias: {}, external: () => false })).gzip / KiB
		);
	}
	const rows = [];
	for (const { name, goal } of ours) {
		const size = sizes.get(name);
		rows.push(
			row({
				id: 'P1',
				metric: name,
				unit: 'KiB',
				ours: size,
				goal: goal === undefined ? 'budget in scripts/size.js' : `≤ ${goal} KiB`,
				pass: goal === undefined ? null : size <= goal
			})
		);
	}
	const FETCH_MODE =
		'SSE adapter alone (core), fetch mode: up front + the parser its first stream loads';
	sizes.set(
		FETCH_MODE,
		sizes.get('SSE adapter alone (core)') + later.get('SSE adapter alone (core)')
	);
	rows.push(
		row({
			id: 'P1',
			metric: FETCH_MODE,
			unit: 'KiB',
			ours: sizes.get(FETCH_MODE),
			goal: 'comparison',
			pass: null
		})
	);
	// The whole kit without Svelte against socket.io-client, the WebSocket path against the
	// reconnecting sockets, the SSE adapter against the SSE clients (in fetch mode against the
	// fetch-based one).
	/** @type {Record<string, string>} */
	const against = {
		'socket.io-client': 'everything without Svelte (core)',
		partysocket: 'WebSocket path (core)',
		'reconnecting-websocket': 'WebSocket path (core)',
		'@microsoft/fetch-event-source': FETCH_MODE,
		eventsource: 'SSE adapter alone (core)'
	};
	for (const [name] of baselines) {
		const metric = against[name];
		const value = sizes.get(metric);
		rows.push(
			row({
				id: 'P1',
				metric: `${metric} vs ${name}`,
				unit: 'KiB',
				ours: value,
				baseline: base.get(name),
				baselineName: name,
				goal: 'comparison',
				pass: null
			})
		);
	}
	return {
		rows,
		notes: [
			'Bundled with Vite (minified, tree-shaken, es2022), `svelte` external, then gzip -9; the same function measures the baselines from their browser entries.',
			'Each size is what the import loads up front. Fetch-mode SSE loads eventsource-parser with its first stream (a dynamic import; EventSource mode, the default, never loads it): its own row gives the sum.',
			'The kit numbers include its record store, retry policy and connection state machine; partysocket and reconnecting-websocket are a reconnecting socket only, eventsource and fetch-event-source an SSE client only.'
		]
	};
}
