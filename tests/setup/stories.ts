// Every story run as a test also gets a screenshot compared against its committed baseline.
import { afterEach, expect } from 'vitest';
import { page } from 'vitest/browser';
import { whenSettled, type SettledRule } from '../../src/lib/inspect/index.js';
import { freezeDate } from '../../src/lib/mocks/index.js';
import { STORY_NOW } from '../../src/stories/fixtures.js';

// Every time on screen (`3 minutes ago`, `retrying in 60 s`) is read from a clock stopped at the
// stories' `now`; timers still run, so connections and retries behave as they would.
freezeDate(STORY_NOW);

interface StoryTestContext {
	story?: {
		id: string;
		parameters: { screenshot?: boolean; connection?: { settled?: SettledRule } };
	};
}

afterEach(async (context) => {
	const { story } = context as unknown as StoryTestContext;
	if (!story || story.parameters.screenshot === false || context.task.result?.state === 'fail')
		return;
	const canvas = document.querySelector<HTMLElement>('[data-story-canvas]');
	if (!canvas) throw new Error(`Story ${story.id}: no rendered canvas to screenshot`);
	// A live story is shot once its connections rest where the story means them to (its
	// `parameters.connection.settled`), not after a guessed delay.
	await whenSettled({ ...story, timeout: 20_000 });
	await document.fonts.ready;
	await expect.element(page.elementLocator(canvas)).toMatchScreenshot(story.id);
});
