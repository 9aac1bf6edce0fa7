export { default as TransportBadge } from './transport-badge.svelte';
export { defaultTransportBadgeLabels, describeBadge, resolveLabels } from './describe.js';
export type { BadgeDescription } from './describe.js';
export type * from './types.js';
