/**
 * The preview annotations the `svelte-realtime-kit/storybook` addon adds to every story: they keep
 * the current story's inspection events (the sources wrapped in `inspect()`) and send them, in
 * batches, to the Connection panel; run the panel's fault buttons on the story's mock servers; and
 * mark the page `data-connection-settled="true"` once the story rendered and its connections are
 * settled (`parameters.connection.settled`, as for `whenSettled(context)`), for screenshot tools.
 *
 * Sources made while a story renders are scoped to its id, so that `whenSettled(context)` and the
 * panel tell the stories of a docs page apart.
 */
import { addons } from 'storybook/preview-api';
import type { DecoratorFunction, LoaderFunction, Renderer } from 'storybook/internal/types';
import { setDefaultScope } from '../inspect/hub.js';
import { EVENTS, type FaultCommand } from './constants.js';
import { createConnectionTracker, settledRule, type ConnectionTracker } from './tracker.js';

// Storybook's own events (`storybook/internal/core-events`), by name: importing that module from an
// addon makes Vite discover a new dependency while the first story loads, and reload the page.
const STORY_PREPARED = 'storyPrepared';
const DOCS_PREPARED = 'docsPrepared';
const STORY_RENDERED = 'storyRendered';
const STORY_FINISHED = 'storyFinished';
const DOCS_RENDERED = 'docsRendered';
const FORCE_REMOUNT = 'forceRemount';

let tracker: ConnectionTracker | undefined;
/** Set by the toolbar's Remount button: the next render of the same story starts over. */
let remounting = false;

/** Starts the tracker on Storybook's channel, once. */
function start(): ConnectionTracker {
	if (tracker) return tracker;
	const channel = addons.getChannel();
	const started = createConnectionTracker({
		send: (update) => channel.emit(EVENTS.UPDATE, update)
	});
	tracker = started;
	channel.on(EVENTS.REQUEST, () => started.resend());
	channel.on(EVENTS.FAULT, (command: FaultCommand) => started.fault(command));
	channel.on(STORY_PREPARED, ({ id, parameters }: { id: string; parameters?: unknown }) => {
		let settled;
		try {
			settled = settledRule(parameters);
		} catch {
			// The story's loader reports it, in the canvas.
		}
		remounting = false;
		started.show({ id, viewMode: 'story', settled });
	});
	channel.on(DOCS_PREPARED, ({ id }: { id: string }) => started.show({ id, viewMode: 'docs' }));
	channel.on(STORY_RENDERED, (id: string) => started.rendered(id));
	channel.on(STORY_FINISHED, ({ storyId }: { storyId: string }) => started.rendered(storyId));
	channel.on(DOCS_RENDERED, (id: string) => started.rendered(id));
	channel.on(FORCE_REMOUNT, () => void (remounting = true));
	// A mock server that answers without an inspected source's event still enables the buttons.
	setInterval(() => started.poll(), 1000);
	return started;
}

// Before the first story is prepared, when the channel is there already (it is in the browser).
if (addons.hasChannel()) start();

/**
 * Starts the story's timeline when the preview did not say it is preparing the story (a remount,
 * a test runner), checks `parameters.connection.settled`, and scopes the sources the story makes.
 */
const trackStory: LoaderFunction<Renderer> = (context) => {
	const current = start();
	const settled = settledRule(context.parameters);
	if (context.viewMode === 'story') {
		const shown = current.story;
		if (remounting || shown?.viewMode !== 'story' || shown.id !== context.id) {
			remounting = false;
			current.show({ id: context.id, viewMode: 'story', settled });
		}
	}
	setDefaultScope(context.id);
	return {};
};

/** Scopes the sources made while the story renders to it (a docs page renders many stories). */
const scopeSources: DecoratorFunction<Renderer> = (storyFn, context) => {
	setDefaultScope(context.id);
	return storyFn();
};

/** Runs before every story: see the module's description. */
export const loaders = [trackStory];
/** Wraps every story: see the module's description. */
export const decorators = [scopeSources];
