export * from './components/transport-badge/index.js';
export { Clock } from './svelte/clock.svelte.js';
export * from './core/index.js';
