// What tests/tabs/page.js puts on `window` for the tests to read.
import type { PageState, Step } from './harness.js';

declare global {
	interface Window {
		tab: {
			state(): PageState;
			steps: Step[];
			toggles: Record<string, string>;
			statuses: Record<string, string[]>;
			keys(): string[];
			items(): Array<{ id: string; n: number; done: boolean; status: string }>;
			row(key: string): { done: boolean; status: string; error?: string } | undefined;
			summary(): {
				state: PageState;
				count: number;
				dropped: number;
				duplicates: string[];
				twice: Record<string, number>;
				decoded: number;
				snapshots: number;
				errors: string[];
			};
			toggle(key: string): void;
			shareName(): Promise<string | undefined>;
		};
	}
}

export {};
