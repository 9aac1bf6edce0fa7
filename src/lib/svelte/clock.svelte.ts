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
