import { createTaskApi, type TaskApi, type TaskApiOptions } from './task-api.js';

/**
 * Named network situations. Each returns a fresh mock API; pass `options` to move it elsewhere
 * (`base`, `socketUrl`, `tasks`).
 */
export const scenarios = {
	/** Everything answers. */
	healthy: (options?: TaskApiOptions) => createTaskApi(options),
	/** The stream and the list fail twice with 503, then recover. */
	flaky: (options?: TaskApiOptions) =>
		createTaskApi({
			...options,
			stream: { failTimes: 2, failure: 503 },
			list: { failTimes: 2, failure: 503 }
		}),
	/**
	 * The stream fails three times at the network level, then works again; the list always
	 * answers. A `fallback(sse, polling)` chain moves to polling, then probes its way back to SSE.
	 */
	sseOutage: (options?: TaskApiOptions) =>
		createTaskApi({ ...options, stream: { failTimes: 3, failure: 'network' } }),
	/** The stream answers with a captive portal's HTML; polling works. */
	sseBlockedFallsBackToPolling: (options?: TaskApiOptions) =>
		createTaskApi({ ...options, stream: { contentType: 'text/html' } }),
	/** The stream and the list fail at the network level (changes and the socket are not affected). */
	offline: (options?: TaskApiOptions) =>
		createTaskApi({ ...options, stream: { failure: 'network' }, list: { failure: 'network' } }),
	/** The stream opens and then stays silent (a half-open connection). */
	stale: (options?: TaskApiOptions) => createTaskApi({ ...options, stream: { stall: true } }),
	/** Streams end after three events and the next two attempts fail, as during a deploy. */
	serverRestart: (options?: TaskApiOptions) =>
		createTaskApi({
			...options,
			stream: { dropAfter: 3, failAfterEnd: 2, failure: 503, retryAfter: 1 }
		}),
	/** Nothing ever answers: the loading state. */
	loading: (options?: TaskApiOptions) =>
		createTaskApi({ ...options, stream: { latency: 'infinite' }, list: { latency: 'infinite' } }),
	/** No tasks at all. */
	empty: (options?: TaskApiOptions) => createTaskApi({ tasks: [], ...options }),
	/** Every answer takes two seconds. */
	slow: (options?: TaskApiOptions) =>
		createTaskApi({
			...options,
			list: { latency: 2000 },
			stream: { latency: 2000 },
			commit: { latency: 2000 }
		}),
	/** Changes are refused. */
	nack: (options?: TaskApiOptions) => createTaskApi({ ...options, commit: { mode: 'nack' } }),
	/** Changes are never acknowledged. */
	stalledAck: (options?: TaskApiOptions) =>
		createTaskApi({ ...options, commit: { mode: 'stall' } }),
	/** The stream is gone for good (HTTP 204). */
	closedByServer: (options?: TaskApiOptions) =>
		createTaskApi({ ...options, stream: { failure: 204 } }),
	/** The stream is refused (HTTP 401): a terminal failure. */
	unauthorized: (options?: TaskApiOptions) =>
		createTaskApi({ ...options, stream: { failure: 401 } })
} satisfies Record<string, (options?: TaskApiOptions) => TaskApi>;

export type ScenarioName = keyof typeof scenarios;

/** The mock API of a scenario, by name (`createScenario('flaky')`). */
export function createScenario(name: ScenarioName, options?: TaskApiOptions): TaskApi {
	// Own names only: `constructor` or `toString` must not find what every object inherits.
	const scenario = Object.hasOwn(scenarios, name) ? scenarios[name] : undefined;
	if (typeof scenario !== 'function') {
		throw new TypeError(
			`Unknown scenario ${typeof name === 'string' ? JSON.stringify(name) : String(name)}; expected one of ${Object.keys(scenarios).join(', ')}`
		);
	}
	return scenario(options);
}
