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
	{ name: 'badge only', goal: 1.5 }
];

export default async function run() {
	const sizes = new Map();
	for (const { name, code } of cases) {
		if (!ours.some((o) => o.name === name)) continue;
		sizes.set(name, (await measure(`bench-${name}`, code)).gzip / KiB);
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
	// The whole kit without Svelte against each alternative; the SSE adapter against the SSE clients.
	const all = sizes.get('everything without Svelte (core)');
	const sseOnly = sizes.get('SSE adapter alone (core)');
	const wsPath = sizes.get('WebSocket path (core)');
	for (const [name] of baselines) {
		const sseClient = name === '@microsoft/fetch-event-source' || name === 'eventsource';
		const [metric, value] = sseClient
			? ['SSE adapter alone (core)', sseOnly]
			: name === 'socket.io-client'
				? ['everything without Svelte (core)', all]
				: ['WebSocket path (core)', wsPath];
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
			'The kit numbers include its record store, retry policy and connection state machine; partysocket and reconnecting-websocket are a reconnecting socket only, eventsource and fetch-event-source an SSE client only.'
		]
	};
}
