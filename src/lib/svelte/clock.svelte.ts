import { createSubscriber } from 'svelte/reactivity';
import { MAX_DELAY } from '../core/env/env.js';

/**
 * The current time as reactive state: reading `current` inside an effect or template re-reads it
 * every `interval` milliseconds, and the timer runs only while something reads it.
 */
export class Clock {
	readonly #subscribe: () => void;

	constructor(interval = 1000) {
		this.#subscribe = createSubscriber((update) => {
			const id = setInterval(update, interval);
			return () => clearInterval(id);
		});
	}

	/** Epoch milliseconds. */
	get current(): number {
		this.#subscribe();
		return Date.now();
	}
}

/** Wake-ups are grouped by the second: what changes within one second changes together. */
const GRAIN = 1000;

interface Wake {
	subscribe: () => void;
	update?: () => void;
}

/**
 * A clock that moves each reader on only when what it shows changes. A reader asks for the time
 * (`peek()`), works out when its text next changes, and says so with `until(time)` while it
 * renders: it renders again then, and only it (readers whose times fall in the same second share
 * one wake-up). One timer for any number of readers; none while nothing reads, or on the server.
 */
export class WakeClock {
	readonly #wakes = new Map<number, Wake>();
	#timer: ReturnType<typeof setTimeout> | undefined;
	#armedFor = Infinity;

	/** Epoch milliseconds, read without subscribing to anything. */
	peek(): number {
		return Date.now();
	}

	/**
	 * Makes the reactive context that calls it (a template, a derived) run again at `time` (epoch
	 * milliseconds, rounded up to the second); `Infinity` asks for nothing.
	 */
	until(time: number): void {
		if (!(time < Infinity)) return;
		const at = Math.ceil(time / GRAIN) * GRAIN;
		let wake = this.#wakes.get(at);
		if (!wake) {
			const created: Wake = {
				subscribe: createSubscriber((update) => {
					created.update = update;
					// Only an earlier wake-up moves the timer: no scan of every reader per subscribe.
					if (at < this.#armedFor) this.#arm();
					return () => {
						created.update = undefined;
						if (this.#wakes.get(at) === created) this.#wakes.delete(at);
						if (this.#wakes.size === 0) this.#disarm();
					};
				})
			};
			this.#wakes.set(at, (wake = created));
		}
		wake.subscribe();
	}

	#disarm() {
		clearTimeout(this.#timer);
		this.#timer = undefined;
		this.#armedFor = Infinity;
	}

	/** Points the one timer at the earliest wake-up that something listens to. */
	#arm() {
		let earliest = Infinity;
		for (const [at, wake] of this.#wakes) if (wake.update && at < earliest) earliest = at;
		if (earliest === this.#armedFor) return;
		this.#disarm();
		if (earliest === Infinity) return;
		this.#armedFor = earliest;
		// A wake-up beyond the longest delay `setTimeout` keeps (about 24.8 days) is re-armed then.
		const delay = Math.min(Math.max(earliest - Date.now(), 0), MAX_DELAY);
		this.#timer = setTimeout(() => this.#fire(), delay);
	}

	#fire() {
		this.#timer = undefined;
		this.#armedFor = Infinity;
		const now = Date.now();
		for (const [at, wake] of [...this.#wakes]) {
			if (at > now) continue;
			this.#wakes.delete(at);
			// Its readers render again, and ask for their next wake-ups.
			wake.update?.();
		}
		this.#arm();
	}
}
