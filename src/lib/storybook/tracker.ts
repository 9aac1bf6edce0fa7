/**
 * The preview's side of the Connection panel, without Storybook: keeps the current story's
 * inspection events, sends them in batches, runs the fault buttons' commands on the story's mock
 * servers and computes the settled signal. `preview.ts` wires it to Storybook's channel.
 */
import { summarize } from '../inspect/describe.js';
import {
	faultTargets,
	forgetFaultTargets,
	forgetSources,
	inspectedSources,
	storySources,
	isSettled,
	onInspect,
	onSourcesChange,
	setDefaultScope,
	type FaultTarget,
	type SettledRule
} from '../inspect/hub.js';
import type { InspectedSource, InspectEvent } from '../inspect/types.js';
import {
	BATCH_MS,
	FLOOD_COUNT,
	MAX_ENTRIES,
	SKIP_COUNT,
	SLOW_MS,
	type FaultAction,
	type FaultCommand,
	type PanelEntry,
	type PanelSource,
	type PanelState,
	type PanelUpdate
} from './constants.js';

/** The story (or docs page) being shown. */
export interface TrackedStory {
	id: string;
	/** On a docs page every story's connections count, by the default rule. */
	viewMode: 'story' | 'docs';
	/** The story's `parameters.connection.settled`. */
	settled?: SettledRule;
}

/** Where the tracker's updates go, and the timers and clock it uses (fakes in tests). */
export interface TrackerOptions {
	/** Sends an update to the panel. */
	send(update: PanelUpdate): void;
	/** Calls `flush` once, soon. @defaultValue after {@link BATCH_MS} milliseconds */
	schedule?(flush: () => void): void;
	/** Milliseconds, for the entries' times. @defaultValue `performance.now()` */
	clock?(): number;
}

/** The preview's side of the Connection panel, driven by Storybook's channel events. */
export interface ConnectionTracker {
	/** What is being shown, once {@link ConnectionTracker.show} was called. */
	readonly story: TrackedStory | undefined;
	/**
	 * A story (or docs page) is about to render: forgets the last one's events, stopped sources and
	 * mock servers, turns its faults off again (the browser back online), and scopes new sources to
	 * this story.
	 */
	show(story: TrackedStory): void;
	/** The story finished rendering (its play function too): from now on it may count as settled. */
	rendered(id: string): void;
	/** Sends everything kept for the story again, in one update (the panel mounted after it). */
	resend(): void;
	/** Runs a fault button's command on the mock servers that answered since the story started. */
	fault(command: FaultCommand): void;
	/** Sends the state if something not reported by an event changed (a mock server answered). */
	poll(): void;
	/** Sends what was gathered, now. */
	flush(): void;
	/** Stops listening, and turns the faults off. */
	stop(): void;
}

/** The longest message payload (as JSON) kept in full; longer ones are cut. */
const DATA_LIMIT = 4096;

/** What each button is called, for the timeline. */
const FAULT_NAMES: Record<FaultAction, (on: boolean) => string> = {
	drop: () => 'Drop the stream',
	restart: () => 'Restart the server',
	offline: (on) => (on ? 'Go offline' : 'Back online'),
	slow: (on) => (on ? `Slow server (${SLOW_MS / 1000} s)` : 'Slow server off'),
	refuse: () => 'Refuse next change',
	flood: () => `Flood ${FLOOD_COUNT} events`,
	skip: () => `Skip ${SKIP_COUNT} events`
};

/** A payload as plain data: JSON-safe, and cut when it is long. */
function clip(value: unknown): unknown {
	let json: string | undefined;
	try {
		json = JSON.stringify(value);
	} catch {
		return `[${typeof value} that cannot be shown as JSON]`;
	}
	if (json === undefined) return undefined;
	if (json.length > DATA_LIMIT)
		return `${json.slice(0, DATA_LIMIT)}… (${json.length} characters in all)`;
	return JSON.parse(json) as unknown;
}

/** An event as plain data: every field is plain already but a message's payloads. */
function plain(event: InspectEvent): Record<string, unknown> {
	const copy: Record<string, unknown> = { ...event };
	if (event.type === 'message') {
		copy.data = clip(event.data);
		if ('update' in event) copy.update = clip(event.update);
	}
	return copy;
}

/** Reads `parameters.connection.settled`, with a clear error when it is not a rule. */
export function settledRule(parameters: unknown): SettledRule | undefined {
	const connection = (parameters as { connection?: { settled?: unknown } } | undefined)?.connection;
	const rule = connection?.settled;
	if (
		rule === undefined ||
		typeof rule === 'string' ||
		typeof rule === 'function' ||
		(Array.isArray(rule) && rule.every((status) => typeof status === 'string'))
	)
		return rule as SettledRule | undefined;
	throw new TypeError(
		`parameters.connection.settled: expected a status ('live'), a list of statuses or a function of the sources, got ${JSON.stringify(rule) ?? String(rule)}`
	);
}

/** The browser says it is offline (`navigator.onLine` and the `offline` event), or online again. */
function browserOffline(offline: boolean): void {
	if (typeof navigator !== 'undefined') {
		if (offline)
			Object.defineProperty(navigator, 'onLine', { configurable: true, get: () => false });
		else Reflect.deleteProperty(navigator, 'onLine');
	}
	globalThis.dispatchEvent?.(new Event(offline ? 'offline' : 'online'));
}

/**
 * Starts listening to every inspected source of the page. Nothing is sent before the first
 * {@link ConnectionTracker.show}.
 */
export function createConnectionTracker(options: TrackerOptions): ConnectionTracker {
	if (typeof options?.send !== 'function')
		throw new TypeError('createConnectionTracker: expected { send(update) }');
	const schedule = options.schedule ?? ((flush) => void setTimeout(flush, BATCH_MS));
	const clock = options.clock ?? (() => performance.now());

	let story: TrackedStory | undefined;
	let session = 0;
	/** When the story started: on the clock, and in epoch milliseconds (for the mock servers). */
	let started = 0;
	let startedAt = 0;
	let count = 0;
	/** The story's entries, the newest last (trimmed to {@link MAX_ENTRIES} when sent). */
	let kept: PanelEntry[] = [];
	/** Entries not sent yet. */
	let pending: PanelEntry[] = [];
	let reset = false;
	let scheduled = false;
	let rendered = false;
	let settled: boolean | undefined;
	/** The last state sent, as JSON. */
	let lastState = '';
	/** The scope of every source seen (never forgotten: late events of a stopped source). */
	const scopes = new Map<number, string | undefined>();
	let scopesStale = true;
	/** The mock servers a toggle was turned on for, to turn it off on. */
	let offline: FaultTarget[] | undefined;
	let slow: FaultTarget[] | undefined;

	const refreshScopes = () => {
		for (const source of inspectedSources()) scopes.set(source.id, source.scope);
		scopesStale = false;
	};
	/** Whether an event of source `id` belongs to the story shown. */
	const belongs = (id: number) => {
		if (!story) return false;
		if (story.viewMode === 'docs') return true;
		if (scopesStale || !scopes.has(id)) refreshScopes();
		if (!scopes.has(id)) return true;
		const scope = scopes.get(id);
		return scope === undefined || scope === story.id;
	};
	/** The story's sources, as `whenSettled(context)` picks them. */
	const sources = (): InspectedSource[] => {
		if (!story) return [];
		if (story.viewMode === 'docs') return inspectedSources();
		return storySources(story.id);
	};

	const later = () => {
		if (scheduled) return;
		scheduled = true;
		schedule(flush);
	};
	const add = (entry: Omit<PanelEntry, 'n' | 't'>) => {
		const full: PanelEntry = { n: ++count, t: Math.round(clock() - started), ...entry };
		kept.push(full);
		pending.push(full);
		// Trimmed in steps, not per entry: a flood adds thousands between two sends.
		if (kept.length >= 2 * MAX_ENTRIES) kept = kept.slice(-MAX_ENTRIES);
		if (pending.length >= 2 * MAX_ENTRIES) pending = pending.slice(-MAX_ENTRIES);
		later();
	};

	const state = (): PanelState => {
		const list = sources();
		return {
			sources: list.map((source): PanelSource => ({
				id: source.id,
				label: source.label,
				status: source.state?.status,
				transport: source.state?.transport,
				degraded: source.state?.degraded ?? false,
				loaded: source.loaded,
				rows: source.rows,
				pending: source.pending,
				stopped: source.stopped
			})),
			settled: settled ?? false,
			targets: story ? faultTargets(startedAt).length : 0,
			offline: offline !== undefined,
			slow: slow !== undefined
		};
	};

	/** Computes the settled signal; marks the page when it changed. */
	const settle = () => {
		let next = false;
		if (story && rendered) {
			try {
				next = isSettled(sources(), story.settled);
			} catch (error) {
				console.error('parameters.connection.settled threw:', error);
			}
		}
		if (next === settled) return;
		settled = next;
		if (typeof document !== 'undefined')
			document.documentElement.dataset.connectionSettled = String(next);
		later();
	};

	function flush() {
		scheduled = false;
		if (!story) return;
		const current = state();
		const json = JSON.stringify(current);
		const changed = json !== lastState;
		if (!reset && pending.length === 0 && !changed) return;
		lastState = json;
		const entries = pending.length > MAX_ENTRIES ? pending.slice(-MAX_ENTRIES) : pending;
		pending = [];
		const update: PanelUpdate = { story: story.id, session, reset, entries };
		if (changed || reset) update.state = current;
		reset = false;
		options.send(update);
	}

	const offEvents = onInspect((event) => {
		if (!belongs(event.source)) return;
		add({
			type: event.type,
			source: event.source,
			label: event.label,
			summary: summarize(event),
			event: plain(event)
		});
	});
	const offSources = onSourcesChange(() => {
		scopesStale = true;
		settle();
		if (story) later();
	});

	/** Turns a toggle off on the servers it was turned on for, and the ones that answered since. */
	const off = (on: FaultTarget[] | undefined, action: (target: FaultTarget) => void) => {
		const targets = new Set([...(on ?? []), ...faultTargets(startedAt)]);
		const errors: string[] = [];
		for (const target of targets) {
			try {
				action(target);
			} catch (error) {
				errors.push(error instanceof Error ? error.message : String(error));
			}
		}
		return errors;
	};
	const calm = () => {
		if (offline) {
			off(offline, (target) => target.setOffline(false));
			offline = undefined;
			browserOffline(false);
		}
		if (slow) {
			off(slow, (target) => target.setLatency(0));
			slow = undefined;
		}
	};

	return {
		get story() {
			return story;
		},
		show(next) {
			if (typeof next?.id !== 'string' || (next.viewMode !== 'story' && next.viewMode !== 'docs'))
				throw new TypeError('show(story): expected { id, viewMode: "story" | "docs" }');
			calm();
			story = { ...next };
			session++;
			count = 0;
			kept = [];
			pending = [];
			reset = true;
			rendered = false;
			started = clock();
			startedAt = Date.now();
			setDefaultScope(next.viewMode === 'story' ? next.id : undefined);
			forgetSources();
			forgetFaultTargets();
			settle();
			later();
		},
		rendered(id) {
			if (!story || story.id !== id) return;
			rendered = true;
			settle();
		},
		resend() {
			if (!story) return;
			pending = kept.slice(-MAX_ENTRIES);
			kept = pending.slice();
			reset = true;
			lastState = '';
			flush();
		},
		fault(command) {
			const action = command?.action;
			if (typeof action !== 'string' || !Object.hasOwn(FAULT_NAMES, action))
				throw new TypeError(
					`Connection panel: unknown fault ${JSON.stringify(action)}; expected one of ${Object.keys(FAULT_NAMES).join(', ')}`
				);
			if (!story) return;
			const on = command.on ?? true;
			const targets = faultTargets(startedAt);
			const errors: string[] = [];
			const each = (run: (target: FaultTarget) => void) => {
				for (const target of targets) {
					try {
						run(target);
					} catch (error) {
						errors.push(error instanceof Error ? error.message : String(error));
					}
				}
			};
			switch (action) {
				case 'drop':
					each((target) => target.drop());
					break;
				case 'restart':
					each((target) => target.restart());
					break;
				case 'refuse':
					each((target) => target.refuseNext(1));
					break;
				case 'flood':
					each((target) => target.flood(FLOOD_COUNT));
					break;
				case 'skip':
					each((target) => target.skip(SKIP_COUNT));
					break;
				case 'offline':
					if (on) {
						each((target) => target.setOffline(true));
						offline = targets;
						browserOffline(true);
					} else {
						errors.push(...off(offline, (target) => target.setOffline(false)));
						offline = undefined;
						browserOffline(false);
					}
					break;
				case 'slow':
					if (on) {
						each((target) => target.setLatency(SLOW_MS));
						slow = targets;
					} else {
						errors.push(...off(slow, (target) => target.setLatency(0)));
						slow = undefined;
					}
					break;
			}
			const servers =
				targets.length === 0
					? 'no mock server answered in this story'
					: `${targets.length} mock server${targets.length === 1 ? '' : 's'}`;
			add({
				type: 'fault',
				label: 'Connection panel',
				summary: `${FAULT_NAMES[action](on)} · ${servers}${errors.length ? ` · failed: ${errors.join('; ')}` : ''}`,
				event: { type: 'fault', action, on, targets: targets.length, errors }
			});
		},
		poll() {
			if (story && JSON.stringify(state()) !== lastState) later();
		},
		flush,
		stop() {
			calm();
			offEvents();
			offSources();
			story = undefined;
		}
	};
}
