// One tab of the cross-tab tests: a live list over SSE or socket.io, shared across tabs or not
// (URL parameters `transport`, `share`, `key`), with what the tests read on `window.tab`.
import { createLiveSource, defaultDecode, sse } from '../../src/lib/core/index.js';
import { socketIo } from '../../src/lib/socket.io/index.js';

const params = new URLSearchParams(location.search);
const kind = params.get('transport') ?? 'sse';
const shareParam = params.get('share') ?? 'tabs';
const share = shareParam === 'off' ? false : /** @type {'tabs' | 'auto'} */ (shareParam);

/** The event ids decoded here, with this tab's role then: a second time is a duplicate. */
/** @type {Map<string, string>} */
const decoded = new Map();
/** Duplicates by the roles of the first and the second decoding. */
/** @type {Record<string, number>} */
const twice = {};
/** @type {string[]} */
const duplicates = [];
let snapshots = 0;
/** @type {string[]} */
const errors = [];
/** @type {import('./harness.js').Step[]} */
const steps = [];
/** The outcome of each toggle, by key. */
/** @type {Record<string, string>} */
const toggles = {};

/** @typedef {{ id: string; n: number; done: boolean; version: number }} Row */

const source = createLiveSource({
	transport:
		kind === 'socket.io'
			? socketIo({ url: location.origin, options: { transports: ['websocket'] } })
			: sse({ url: '/stream', resumable: true }),
	share,
	shareKey: params.get('key') ?? undefined,
	maxItems: 100_000,
	insert: 'end',
	version: (/** @type {Row} */ row) => row.version,
	decode(data, meta) {
		if (meta.event === 'snapshot') snapshots++;
		else if (meta.id !== undefined) {
			const role = connection.getSnapshot().shared?.role ?? 'own';
			const first = decoded.get(meta.id);
			decoded.set(meta.id, first ?? role);
			if (first !== undefined) {
				duplicates.push(meta.id);
				const how = `${first} then ${role}`;
				twice[how] = (twice[how] ?? 0) + 1;
			}
		}
		return defaultDecode(data, meta);
	},
	commit:
		kind === 'sse'
			? async (change) => {
					const response = await fetch(`/rows/${encodeURIComponent(change.key)}`, {
						method: 'PATCH',
						headers: { 'content-type': 'application/json' },
						body: JSON.stringify({ mutationId: change.mutationId, item: change.item }),
						signal: change.signal
					});
					if (!response.ok) throw new Error(`HTTP ${response.status}`);
					return response.json();
				}
			: undefined,
	onError: (error) => void errors.push(error.message)
});
const { connection, store } = source;

const stateText = /** @type {HTMLElement} */ (document.getElementById('state'));
const list = /** @type {HTMLElement} */ (document.getElementById('rows'));

function state() {
	const s = connection.getSnapshot();
	return { status: s.status, transport: s.transport, shared: s.shared && { ...s.shared } };
}

connection.subscribe((s) => {
	const last = steps.at(-1);
	if (last?.status === s.status && last.role === s.shared?.role && last.tabs === s.shared?.tabs)
		return;
	steps.push({ t: Date.now(), status: s.status, role: s.shared?.role, tabs: s.shared?.tabs });
	stateText.innerHTML = `<b>${s.transport ?? kind} · ${s.status}${s.shared ? ` · ${s.shared.role} of ${s.shared.tabs} tabs` : ' · own connection'}</b>`;
});

/** The statuses each toggled row went through, in order. */
/** @type {Record<string, string[]>} */
const statuses = {};
store.subscribe((snapshot) => {
	for (const [key, seen] of Object.entries(statuses)) {
		const status = snapshot.rows.find((r) => r.key === key)?.status ?? 'gone';
		if (seen.at(-1) !== status) seen.push(status);
	}
});

/** Draws the last rows at most every 200 ms: drawing per message would slow every tab down. */
let drawing = 0;
store.subscribe(() => {
	drawing ||= window.setTimeout(() => {
		drawing = 0;
		const rows = store.getSnapshot().rows;
		const shown = rows
			.slice(-40)
			.map(
				(r) =>
					`<li>${r.key}${r.item.done ? ' ✓' : ''}${r.status === 'settled' ? '' : ` (${r.status})`}</li>`
			);
		list.innerHTML = `<li><b>${rows.length} rows</b></li>${shown.join('')}`;
	}, 200);
});

window.tab = {
	state,
	steps,
	toggles,
	keys: () => store.getSnapshot().rows.map((r) => r.key),
	items: () =>
		store.getSnapshot().rows.map((r) => {
			const row = /** @type {Row} */ (r.item);
			return { id: row.id, n: row.n, done: row.done, status: r.status };
		}),
	row(key) {
		const r = store.getSnapshot().rows.find((row) => row.key === key);
		return (
			r && { done: /** @type {Row} */ (r.item).done, status: r.status, error: r.error?.message }
		);
	},
	summary: () => ({
		state: state(),
		count: store.getSnapshot().rows.length,
		dropped: store.getSnapshot().dropped,
		duplicates: [...duplicates],
		twice: { ...twice },
		decoded: decoded.size,
		snapshots,
		errors: [...errors]
	}),
	statuses,
	toggle(key) {
		toggles[key] = 'pending';
		statuses[key] = [];
		store.toggle(key).then(
			() => (toggles[key] = 'ok'),
			(error) => (toggles[key] = `failed: ${error.message}`)
		);
	},
	/** The lock (and channel) name this tab shares under: the shortest held `srk1 ` lock. */
	async shareName() {
		const { held = [] } = await navigator.locks.query();
		const names = held.map((l) => l.name ?? '').filter((name) => name.startsWith('srk1 '));
		return names.sort((a, b) => a.length - b.length)[0];
	}
};

source.start();
