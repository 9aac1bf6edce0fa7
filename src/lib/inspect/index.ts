export { inspect, inspectLiveSource } from './inspect.js';
export { consoleLogger, logConnections, type ConsoleLoggerOptions } from './logger.js';
export { summarize } from './describe.js';
export {
	onInspect,
	inspectedSources,
	onSourcesChange,
	isSettled,
	whenSettled,
	faultTargets,
	type FaultTarget,
	type SettledRule,
	type StoryLike,
	type WhenSettledOptions
} from './hub.js';
export type * from './types.js';
