import type { ConnectionStatus } from '../core/types.js';
import { reportLater } from '../core/env/env.js';
import type { InspectedSource, InspectEvent, InspectObserver } from './types.js';

/**
 * What a mock server can be told to do by a fault button (the Storybook Connection panel drives
 * `svelte-realtime-kit/msw`'s task API through it). Every method acts at once, on every client.
 */
export interface FaultTarget {
	/** Ends every open stream and socket; clients reconnect (and resume) as after a dropped network. */
	drop(): void;
	/**
	 * Restarts the server: every stream and socket ends, the next attempt fails, and event ids start
	 * over (a client's `Last-Event-ID` is unknown to the new server, which answers with a snapshot).
	 */
	restart(): void;
	/** While `true`, every request fails as without a network. */
	setOffline(offline: boolean): void;
	/** Answers every request (and opens every stream) after `ms` milliseconds; `0` for none. */
	setLatency(ms: number): void;
	/** Refuses the next `count` changes (HTTP 409 or a negative acknowledgement). */
	refuseNext(count?: number): void;
	/** Sends `count` changes to every client at once. */
	flood(count: number): void;
	/**
	 * Changes `count` rows without telling the clients, and forgets the events it kept: the next
	 * reconnect cannot resume after its `Last-Event-ID` and gets a snapshot (a gap in the ids).
	 */
	skip(count: number): void;
}

interface Hub {
	listeners: Set<InspectObserver>;
	sources: Map<number, InspectedSource>;
	watchers: Set<() => void>;
	/** Mock servers, with when they last answered a request. */
	targets: Map<FaultTarget, number>;
	next: number;
	/** The scope of sources made while it is set (the story the Storybook addon renders). */
	scope: string | undefined;
}

// One hub per page, even when two copies of the package are loaded (a linked build and a bundle).
const KEY = Symbol.for('svelte-realtime-kit/inspect');

export function hub(): Hub {
	const g = globalThis as { [KEY]?: Hub };
	return (g[KEY] ??= {
		listeners: new Set(),
		sources: new Map(),
		watchers: new Set(),
		targets: new Map(),
		next: 1,
		scope: undefined
	});
}

/**
 * Sources made from now on without a `scope` option take this one (the Storybook addon sets the
 * id of the story it renders); `undefined` for none.
 */
export function setDefaultScope(scope: string | undefined): void {
	hub().scope = scope;
}

/**
 * Calls `listener` with every event of every inspected source in the page (each `inspect()`),
 * from now on. Returns the function that stops it. While no listener is registered and a source
 * has no `onEvent`, the inspector builds no event at all.
 */
export function onInspect(listener: InspectObserver): () => void {
	const { listeners } = hub();
	listeners.add(listener);
	return () => void listeners.delete(listener);
}

/** Delivers an event to the page-wide listeners. */
export function publish(event: InspectEvent): void {
	for (const listener of [...hub().listeners]) {
		try {
			listener(event);
		} catch (error) {
			reportLater(error);
		}
	}
}

/** The inspected sources of the page (of `scope` only, when given), oldest first. */
export function inspectedSources(scope?: string): InspectedSource[] {
	const all = [...hub().sources.values()];
	return scope === undefined ? all : all.filter((source) => source.scope === scope);
}

/**
 * The sources of `scope` (a story's id); when none carries it, the page's sources without a scope
 * (a story whose sources were made without one).
 */
export function storySources(scope: string): InspectedSource[] {
	const scoped = inspectedSources(scope);
	return scoped.length > 0
		? scoped
		: inspectedSources().filter((source) => source.scope === undefined);
}

/** Calls `callback` whenever an inspected source's state changes, one is added or removed. */
export function onSourcesChange(callback: () => void): () => void {
	const { watchers } = hub();
	watchers.add(callback);
	return () => void watchers.delete(callback);
}

export function sourcesChanged(): void {
	for (const watcher of [...hub().watchers]) {
		try {
			watcher();
		} catch (error) {
			reportLater(error);
		}
	}
}

/** Forgets the sources that were stopped (a story unmounted), and every one when `all`. */
export function forgetSources(all = false): void {
	const { sources } = hub();
	for (const [id, source] of sources) if (all || source.stopped) sources.delete(id);
	sourcesChanged();
}

/** A mock server announces itself (when made, and as it answers requests). */
export function touchFaultTarget(target: FaultTarget, now = Date.now()): void {
	hub().targets.set(target, now);
}

/** The mock servers that answered since `since` (epoch milliseconds), most recent first. */
export function faultTargets(since = 0): FaultTarget[] {
	return [...hub().targets]
		.filter(([, at]) => at >= since)
		.sort((a, b) => b[1] - a[1])
		.map(([target]) => target);
}

/** Forgets every mock server (a new story starts). */
export function forgetFaultTargets(): void {
	hub().targets.clear();
}

/**
 * When a story's connections are where it means them to be:
 * - a status, or a list of them: every source is in one of them;
 * - a function of the sources.
 * A source counts only once it is `loaded` (when `live` or `stale`) and has no change on its way.
 */
export type SettledRule =
	| ConnectionStatus
	| readonly ConnectionStatus[]
	| ((sources: readonly InspectedSource[]) => boolean);

/** Where a connection rests when nothing more is about to happen. */
const RESTING: readonly ConnectionStatus[] = [
	'live',
	'stale',
	'paused',
	'offline',
	'failed',
	'closed'
];

/** Whether `sources` are settled by `rule` (by default: each one resting, loaded and idle). */
export function isSettled(sources: readonly InspectedSource[], rule?: SettledRule): boolean {
	const live = sources.filter((source) => !source.stopped);
	if (typeof rule === 'function') return rule(live);
	const statuses: readonly ConnectionStatus[] =
		rule === undefined ? RESTING : typeof rule === 'string' ? [rule] : rule;
	return live.every((source) => {
		const status = source.state?.status;
		if (!status || !statuses.includes(status) || source.pending > 0) return false;
		return (status !== 'live' && status !== 'stale') || source.loaded;
	});
}

/** What {@link whenSettled} takes: options, or a Storybook story context (`{ id, parameters }`). */
export interface WhenSettledOptions {
	/** Only the sources of this scope (a story's id). @defaultValue every source */
	scope?: string;
	/** @defaultValue each source resting (`live`, `stale`, `paused`, `offline`, `failed`, `closed`), loaded, with no change on its way */
	until?: SettledRule;
	/** Rejects after this long (milliseconds), saying where each source stood. @defaultValue `10000` */
	timeout?: number;
	signal?: AbortSignal;
}

/** A Storybook story context, as far as {@link whenSettled} reads it. */
export interface StoryLike {
	id: string;
	parameters?: { connection?: { settled?: SettledRule } };
}

/**
 * Resolves once the inspected sources are settled (see {@link SettledRule}), with them, a task
 * later (when the page shows it); at once when there are none. Given a story context, it reads the rule from the story's
 * `parameters.connection.settled` and waits for that story's sources only (when they have a
 * scope). Play functions and screenshot steps wait on it instead of on timers or text.
 *
 * @example await whenSettled(context) // in a play function
 * @example await whenSettled({ until: 'live', timeout: 5000 })
 */
export function whenSettled(
	options: WhenSettledOptions | (StoryLike & Pick<WhenSettledOptions, 'timeout' | 'signal'>) = {}
): Promise<InspectedSource[]> {
	const story = 'id' in options && typeof options.id === 'string' ? options : undefined;
	const opts: WhenSettledOptions = story
		? {
				scope: story.id,
				until: story.parameters?.connection?.settled,
				timeout: story.timeout,
				signal: story.signal
			}
		: (options as WhenSettledOptions);
	const timeout = opts.timeout ?? 10_000;
	const select = () => (opts.scope === undefined ? inspectedSources() : storySources(opts.scope));
	return new Promise((resolve, reject) => {
		/** Settled now: `confirm` on the next task. */
		let confirming: ReturnType<typeof setTimeout> | undefined;
		const settledNow = () => {
			const sources = select();
			return isSettled(sources, opts.until) ? sources : undefined;
		};
		const check = () => {
			if (confirming !== undefined) return;
			try {
				if (!settledNow()) return;
			} catch (error) {
				return finish(error);
			}
			// Resolved a task later, if still settled: what the page shows of the state (a badge, the
			// rows) is rendered by then.
			confirming = setTimeout(() => {
				confirming = undefined;
				let sources: InspectedSource[] | undefined;
				try {
					sources = settledNow();
				} catch (error) {
					return finish(error);
				}
				if (sources) finish(undefined, sources);
			}, 0);
		};
		const off = onSourcesChange(check);
		const timer = setTimeout(() => {
			const where = select()
				.map(
					(source) =>
						`${source.label}: ${source.state?.status ?? 'not started'}${source.loaded ? '' : ', not loaded'}${source.pending ? `, ${source.pending} change(s) on their way` : ''}`
				)
				.join('; ');
			finish(
				new Error(
					`The connections did not settle within ${timeout} ms${opts.scope ? ` (${opts.scope})` : ''}: ${where || 'no source'}`
				)
			);
		}, timeout);
		const onAbort = () => finish(opts.signal!.reason);
		opts.signal?.addEventListener('abort', onAbort, { once: true });
		function finish(error: unknown, sources?: InspectedSource[]) {
			off();
			clearTimeout(timer);
			if (confirming !== undefined) clearTimeout(confirming);
			opts.signal?.removeEventListener('abort', onAbort);
			if (sources) resolve(sources);
			else reject(error);
		}
		if (opts.signal?.aborted) return onAbort();
		check();
	});
}
