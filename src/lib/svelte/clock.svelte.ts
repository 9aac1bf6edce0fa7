import { createSubscriber } from 'svelte/reactivity';

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

/** The longest delay `setTimeout` keeps (about 24.8 days); a later wake-up is re-armed then. */
const MAX_DELAY = 2 ** 31 - 1;

/**
 * The current time as reactive state that moves on only when something asked for it: readers say
 * when what they show next changes (`wakeAt`), and `current` updates once, at the earliest of
 * those times. One timer for any number of readers, none while nothing reads `current` (or on
 * the server).
 */
export class WakeClock {
	readonly #subscribe: () => void;
	#update: (() => void) | undefined;
	#timer: ReturnType<typeof setTimeout> | undefined;
	/** The earliest time asked for since the last update. */
	#wake = Infinity;

	constructor() {
		this.#subscribe = createSubscriber((update) => {
			this.#update = update;
			this.#arm();
			return () => {
				clearTimeout(this.#timer);
				this.#timer = undefined;
				this.#update = undefined;
			};
		});
	}

	/** Epoch milliseconds, as of the last wake-up. */
	get current(): number {
		this.#subscribe();
		return Date.now();
	}

	/**
	 * Asks for `current` to update at `time` (epoch milliseconds). Called while rendering, it
	 * changes no state: it only moves the one timer earlier.
	 */
	wakeAt(time: number): void {
		if (!(time < this.#wake)) return;
		this.#wake = time;
		this.#arm();
	}

	#arm() {
		if (!this.#update) return;
		clearTimeout(this.#timer);
		this.#timer = undefined;
		if (this.#wake === Infinity) return;
		const delay = Math.min(Math.max(this.#wake - Date.now(), 0), MAX_DELAY);
		this.#timer = setTimeout(() => {
			this.#timer = undefined;
			if (Date.now() < this.#wake) return this.#arm();
			// Readers render again and ask for their next times.
			this.#wake = Infinity;
			this.#update?.();
		}, delay);
	}
}
