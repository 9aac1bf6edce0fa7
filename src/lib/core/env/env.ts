/**
 * Everything the core needs from the platform, injectable so that the core runs during SSR (where
 * nothing is called), under fake timers, and against fakes in tests. The defaults read
 * `globalThis` at call time, never at import time.
 */
export interface Env {
	fetch(input: string | URL | Request, init?: RequestInit): Promise<Response>;
	/** The `EventSource` constructor, when the platform has one. */
	readonly EventSource: typeof EventSource | undefined;
	/** The `WebSocket` constructor, when the platform has one. */
	readonly WebSocket: typeof WebSocket | undefined;
	/** Calls back after `ms` (at most {@link MAX_DELAY}; `Infinity` waits that long). */
	setTimeout(callback: () => void, ms: number): unknown;
	clearTimeout(handle: unknown): void;
	/** Epoch milliseconds. */
	now(): number;
	/** A number in [0, 1). */
	random(): number;
	/** Whether the platform believes it is online; `true` where it cannot tell. */
	isOnline(): boolean;
	/** Whether the page is visible; `true` where there is no page. */
	isVisible(): boolean;
	/** Calls back on `online` / `offline`; returns the unsubscribe function. */
	onNetworkChange(callback: (online: boolean) => void): () => void;
	/** Calls back when the page is shown or hidden; returns the unsubscribe function. */
	onVisibilityChange(callback: (visible: boolean) => void): () => void;
	/** Runs `callback` before the next paint (or in a microtask without frames); returns a cancel function. */
	requestFrame(callback: () => void): () => void;
	/** Web Locks, for sharing a connection across tabs. @defaultValue `navigator.locks` */
	readonly locks?: LockManager;
	/** The `BroadcastChannel` constructor, for sharing a connection across tabs. @defaultValue the global */
	readonly BroadcastChannel?: typeof BroadcastChannel;
}

/** How long a frame may keep a visible tab waiting before a timer runs its callback instead. */
const FRAME_FALLBACK_MS = 100;

/** The longest a platform timer can wait, in milliseconds (about 24.8 days). */
export const MAX_DELAY = 2_147_483_647;

/**
 * Reports an error that nothing can handle (a subscriber that threw) the way the platform reports
 * one from an event listener, without stopping the caller.
 */
export function reportLater(error: unknown): void {
	const report = (globalThis as { reportError?: (error: unknown) => void }).reportError;
	if (typeof report === 'function') report(error);
	else console.error(error);
}

const g = globalThis as typeof globalThis & {
	document?: Document;
	navigator?: Navigator;
	addEventListener?: typeof addEventListener;
	removeEventListener?: typeof removeEventListener;
	requestAnimationFrame?: typeof requestAnimationFrame;
	cancelAnimationFrame?: typeof cancelAnimationFrame;
};

/** The platform's own globals, looked up at each call. */
export const browserEnv: Env = {
	fetch: (input, init) => g.fetch(input, init),
	get EventSource() {
		return g.EventSource;
	},
	get WebSocket() {
		return g.WebSocket;
	},
	// Looked up per call (not captured) so that fake timers installed later still apply.
	// A longer (or infinite) delay would make the platform's timer fire at once.
	setTimeout: (callback, ms) => g.setTimeout(callback, Math.min(ms, MAX_DELAY)),
	clearTimeout: (handle) => g.clearTimeout(handle as ReturnType<typeof setTimeout>),
	now: () => Date.now(),
	random: () => Math.random(),
	isOnline: () => g.navigator?.onLine ?? true,
	isVisible: () => g.document?.visibilityState !== 'hidden',
	onNetworkChange(callback) {
		if (!g.addEventListener || !g.removeEventListener) return () => {};
		const online = () => callback(true);
		const offline = () => callback(false);
		g.addEventListener('online', online);
		g.addEventListener('offline', offline);
		return () => {
			g.removeEventListener?.('online', online);
			g.removeEventListener?.('offline', offline);
		};
	},
	onVisibilityChange(callback) {
		const doc = g.document;
		if (!doc) return () => {};
		const listener = () => callback(doc.visibilityState !== 'hidden');
		doc.addEventListener('visibilitychange', listener);
		return () => doc.removeEventListener('visibilitychange', listener);
	},
	requestFrame(callback) {
		if (g.requestAnimationFrame && g.document?.visibilityState !== 'hidden') {
			// A tab hidden before its frame comes gets no frame until it is shown again: a timer
			// stands in, whichever fires first.
			const run = () => {
				cancel();
				callback();
			};
			const id = g.requestAnimationFrame(run);
			const timer = g.setTimeout(run, FRAME_FALLBACK_MS);
			const cancel = () => {
				g.cancelAnimationFrame?.(id);
				g.clearTimeout(timer);
			};
			return cancel;
		}
		// A hidden tab (where rAF stalls): once per timer turn, so that a flood of messages is
		// applied in batches, not one by one.
		if (g.document?.visibilityState === 'hidden') {
			const id = g.setTimeout(callback, 0);
			return () => g.clearTimeout(id);
		}
		// No frames (server, worker): flush in a microtask.
		let cancelled = false;
		queueMicrotask(() => {
			if (!cancelled) callback();
		});
		return () => {
			cancelled = true;
		};
	}
};

/** The default environment with some parts replaced, e.g. `createEnv({ fetch: myFetch })`. */
export function createEnv(overrides: Partial<Env> = {}): Env {
	return Object.create(browserEnv, Object.getOwnPropertyDescriptors(overrides)) as Env;
}
