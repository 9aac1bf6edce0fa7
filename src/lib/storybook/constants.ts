/**
 * What the Connection panel (Storybook's manager) and the preview annotations (the story's frame)
 * say to each other over Storybook's channel, and the limits both keep.
 */
import type { ConnectionStatus, TransportKind } from '../core/types.js';

/** The addon's id, and the prefix of its channel events. */
export const ADDON_ID = 'svelte-realtime-kit/connection';
/** The panel's id: `?path=/story/<id>&addonPanel=svelte-realtime-kit/connection/panel` opens it. */
export const PANEL_ID = `${ADDON_ID}/panel`;
/** The story parameter the addon reads: `parameters.connection.settled`. */
export const PARAM_KEY = 'connection';

/** The channel events. */
export const EVENTS = {
	/** Preview → panel: new timeline entries and, when it changed, the story's state. */
	UPDATE: `${ADDON_ID}/update`,
	/** Panel → preview: send everything kept for the current story again (the panel just mounted). */
	REQUEST: `${ADDON_ID}/request`,
	/** Panel → preview: a fault button was pressed. */
	FAULT: `${ADDON_ID}/fault`
} as const;

/** The most timeline entries kept for a story, in the preview and in the panel. */
export const MAX_ENTRIES = 5000;
/** How long the preview gathers events before it sends them, in milliseconds. */
export const BATCH_MS = 50;
/** The latency "Slow server" adds, in milliseconds. */
export const SLOW_MS = 2000;
/** How many changes "Flood" pushes. */
export const FLOOD_COUNT = 100;
/** How many changes "Skip events" makes without telling the clients. */
export const SKIP_COUNT = 3;

/** What a fault button asks the story's mock servers to do. */
export type FaultAction = 'drop' | 'restart' | 'offline' | 'slow' | 'refuse' | 'flood' | 'skip';

/** A fault button was pressed. `on` says which way a toggle (`offline`, `slow`) goes. */
export interface FaultCommand {
	action: FaultAction;
	on?: boolean;
}

/** One row of the timeline. */
export interface PanelEntry {
	/** Increases by one per entry of the story, from 1. */
	n: number;
	/** Milliseconds since the story started rendering. */
	t: number;
	/** The inspection event's type, or `fault` for a fault button that was pressed. */
	type: string;
	/** The inspected source it belongs to; none for a fault, which concerns every connection. */
	source?: number;
	label: string;
	/** One line saying what happened. */
	summary: string;
	/** The event as plain data (large message payloads shortened), for the row's JSON. */
	event: Record<string, unknown>;
}

/** An inspected source of the story, as the panel shows it. */
export interface PanelSource {
	id: number;
	label: string;
	/** `undefined` until the connection is created. */
	status: ConnectionStatus | undefined;
	transport: TransportKind | undefined;
	degraded: boolean;
	loaded: boolean;
	rows: number;
	pending: number;
	stopped: boolean;
}

/** Where the story stands. */
export interface PanelState {
	sources: PanelSource[];
	/** Whether the story rendered and its connections are settled (`parameters.connection.settled`). */
	settled: boolean;
	/** How many mock servers answered since the story started: the fault buttons act on them. */
	targets: number;
	/** Whether "Go offline" is on. */
	offline: boolean;
	/** Whether "Slow server" is on. */
	slow: boolean;
}

/** What the preview sends. */
export interface PanelUpdate {
	/** The story (or docs page) the entries belong to. */
	story: string | undefined;
	/** Changes with every story shown (and remount): entries of another session are another story's. */
	session: number;
	/** The entries replace every entry the panel holds for this session (a new story, or a resend). */
	reset: boolean;
	entries: PanelEntry[];
	/** The story's state, when it changed (always with `reset`). */
	state?: PanelState;
}
