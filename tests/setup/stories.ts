// Every story run as a test also gets a screenshot compared against its committed baseline.
import { afterEach, expect } from 'vitest';
import { page } from 'vitest/browser';

interface StoryTestContext {
	story?: { id: string; parameters: { screenshot?: boolean } };
}

afterEach(async (context) => {
	const { story } = context as unknown as StoryTestContext;
	if (!story || story.parameters.screenshot === false || context.task.result?.state === 'fail')
		return;
	const canvas = document.querySelector<HTMLElement>('[data-story-canvas]');
	if (!canvas) throw new Error(`Story ${story.id}: no rendered canvas to screenshot`);
	await document.fonts.ready;
	await expect.element(page.elementLocator(canvas)).toMatchScreenshot(story.id);
});
