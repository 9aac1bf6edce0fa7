export { default as ActivityTimeline } from './activity-timeline.svelte';
export { defaultTimelineLabels, formatRelative } from './format.js';
export type * from './types.js';
