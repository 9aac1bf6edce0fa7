export * from './components/transport-badge/index.js';
export * from './components/activity-timeline/index.js';
export * from './components/live-source/index.js';
export { createLive, type Live } from './svelte/live.svelte.js';
export { getLiveContext, findLiveContext, setLiveContext } from './svelte/context.js';
export { Clock } from './svelte/clock.svelte.js';
export * from './core/index.js';
