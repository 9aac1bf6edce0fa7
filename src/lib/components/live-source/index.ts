export { default as LiveSource } from './live-source.svelte';
export type * from './types.js';
