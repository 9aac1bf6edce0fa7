/** The fixed clock every story renders against, so screenshots never depend on the real time. */
export const STORY_NOW = Date.UTC(2026, 0, 15, 12, 0, 0);

export const secondsBefore = (seconds: number) => STORY_NOW - seconds * 1000;
export const secondsAfter = (seconds: number) => STORY_NOW + seconds * 1000;
