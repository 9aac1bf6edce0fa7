/** @typedef {{ id: string; title: string; actor: string; updatedAt: number; version: number }} Item */

/** The baselines' time label: the time of day, `HH:MM:SS` (UTC). @param {number} ms */
export const time = (ms) => new Date(ms).toISOString().slice(11, 19);
