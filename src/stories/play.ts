// Helpers for play functions (kept apart from fixtures.ts, which tests outside Storybook import).
import { userEvent } from 'storybook/test';

/**
 * A play function's click: as a user clicks in a story alone; on a docs page a plain `click()`,
 * which neither takes the reader's focus nor scrolls the page to the story.
 */
export const click = (viewMode: string, element: HTMLElement) =>
	viewMode === 'docs' ? element.click() : userEvent.click(element);
