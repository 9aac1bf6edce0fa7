/**
 * The Connection panel in Storybook's manager: the current story's inspected sources, one timeline
 * each (status changes and their cause, attempts and retry delays, requests, messages, changes),
 * fault buttons acting on the story's mock servers, and whether the story is settled.
 *
 * Plain `createElement` (no JSX), so that the package needs no React build step; Storybook's own
 * components and theme, so that the panel looks like the others, light or dark.
 */
import {
	createElement as h,
	useEffect,
	useLayoutEffect,
	useMemo,
	useReducer,
	useRef,
	useState,
	type ReactNode
} from 'react';
import { addons, types, useChannel } from 'storybook/manager-api';
import {
	AddonPanel,
	Bar,
	Button,
	Form,
	ToggleButton,
	Toolbar
} from 'storybook/internal/components';
import { styled, type StorybookTheme } from 'storybook/theming';
import {
	ADDON_ID,
	EVENTS,
	FLOOD_COUNT,
	MAX_ENTRIES,
	PANEL_ID,
	SLOW_MS,
	type FaultCommand,
	type PanelEntry,
	type PanelSource,
	type PanelState,
	type PanelUpdate
} from './constants.js';

// Storybook's own augmentation (`declare module '.'`) does not reach the theme's type from here.
declare module 'storybook/theming' {
	// eslint-disable-next-line @typescript-eslint/no-empty-object-type
	interface Theme extends StorybookTheme {}
}

/** The most rows drawn per connection; Copy as JSON still copies every matching event. */
const MAX_ROWS = 400;

interface Data {
	session: number;
	/** The rows shown, oldest first. */
	entries: PanelEntry[];
	/** Entries that arrived while paused. */
	held: PanelEntry[];
	paused: boolean;
	/** Entries up to this number were cleared. */
	cleared: number;
	/** The highest entry number received. */
	last: number;
	state: PanelState | undefined;
}

type Action =
	| { type: 'update'; update: PanelUpdate }
	| { type: 'pause' }
	| { type: 'resume' }
	| { type: 'clear' };

const initial: Data = {
	session: -1,
	entries: [],
	held: [],
	paused: false,
	cleared: 0,
	last: 0,
	state: undefined
};

const trim = (list: PanelEntry[]) => (list.length > MAX_ENTRIES ? list.slice(-MAX_ENTRIES) : list);

function reduce(data: Data, action: Action): Data {
	switch (action.type) {
		case 'pause':
			return { ...data, paused: true };
		case 'resume':
			return { ...data, paused: false, entries: trim([...data.entries, ...data.held]), held: [] };
		case 'clear':
			return { ...data, entries: [], held: [], cleared: data.last };
		case 'update': {
			const { update } = action;
			// Another story (or a remount): nothing of the last one stays, pausing does.
			const base: Data =
				update.session === data.session ? data : { ...initial, paused: data.paused };
			const fresh = update.entries.filter(
				(entry) => entry.n > base.cleared && (update.reset || entry.n > base.last)
			);
			const last = Math.max(base.last, ...update.entries.map((entry) => entry.n));
			const next: Data = {
				...base,
				session: update.session,
				last,
				state: update.state ?? base.state
			};
			if (update.reset) return { ...next, entries: trim(fresh), held: [] };
			if (base.paused) return { ...next, held: trim([...base.held, ...fresh]) };
			return { ...next, entries: trim([...base.entries, ...fresh]) };
		}
	}
}

const seconds = (ms: number) => `+${(ms / 1000).toFixed(3)} s`;

/** How an entry's type reads: its colour in the row. */
type Tone = 'muted' | 'positive' | 'warning' | 'negative' | 'accent' | 'default';
function toneOf(entry: PanelEntry): Tone {
	switch (entry.type) {
		case 'failed':
		case 'dropped':
			return 'negative';
		case 'fault':
			return 'warning';
		case 'status': {
			const to = entry.event.to;
			if (to === 'live') return 'positive';
			if (to === 'failed' || to === 'offline') return 'negative';
			if (to === 'reconnecting' || to === 'stale') return 'warning';
			return 'accent';
		}
		case 'change':
			return entry.event.phase === 'rolled-back'
				? 'negative'
				: entry.event.phase === 'confirmed'
					? 'positive'
					: 'default';
		case 'heartbeat':
		case 'hint':
			return 'muted';
		default:
			return 'default';
	}
}
function toneOfStatus(source: PanelSource): Tone {
	if (source.stopped) return 'muted';
	switch (source.status) {
		case 'live':
			return 'positive';
		case 'failed':
		case 'offline':
			return 'negative';
		case 'connecting':
		case 'reconnecting':
		case 'stale':
			return 'warning';
		default:
			return 'muted';
	}
}

const Panel = styled.div({ display: 'flex', flexDirection: 'column', height: '100%' });
const Scroll = styled.div(({ theme }) => ({
	flex: '1 1 auto',
	overflow: 'auto',
	padding: '8px 12px 16px',
	color: theme.color.defaultText
}));
const Spacer = styled.span({ flex: '1 1 auto' });
const Note = styled.span(({ theme }) => ({
	color: theme.textMutedColor,
	fontSize: theme.typography.size.s1,
	whiteSpace: 'nowrap'
}));
const Filter = styled(Form.Input)({ maxWidth: 240 });
const Dot = styled.span<{ tone: Tone }>(({ theme, tone }) => ({
	display: 'inline-block',
	width: 8,
	height: 8,
	borderRadius: '50%',
	marginInlineEnd: 6,
	background: colour(theme, tone)
}));
const Section = styled.section(({ theme }) => ({
	marginBlock: '8px 16px',
	// The connection's name and status stay in view while its rows scroll by.
	'& h3': {
		position: 'sticky',
		top: -8,
		zIndex: 1,
		display: 'flex',
		alignItems: 'center',
		gap: 8,
		margin: '0 0 4px',
		padding: '4px 0',
		background: theme.background.content,
		fontSize: theme.typography.size.s2,
		fontWeight: theme.typography.weight.bold
	}
}));
const Status = styled.span<{ tone: Tone }>(({ theme, tone }) => ({
	fontWeight: theme.typography.weight.regular,
	fontSize: theme.typography.size.s1,
	color: colour(theme, tone)
}));
const List = styled.ol(({ theme }) => ({
	listStyle: 'none',
	margin: 0,
	padding: 0,
	fontFamily: theme.typography.fonts.mono,
	fontSize: theme.typography.size.s1,
	'& > li': { borderBottom: `1px solid ${theme.appBorderColor}` }
}));
const Row = styled.button(({ theme }) => ({
	display: 'grid',
	gridTemplateColumns: '7.5em 7em 1fr',
	gap: 8,
	width: '100%',
	padding: '3px 4px',
	border: 0,
	background: 'transparent',
	color: 'inherit',
	font: 'inherit',
	textAlign: 'start',
	cursor: 'pointer',
	'&:hover': { background: theme.background.hoverable },
	// The muted time would be too faint on the hover colour.
	'&:hover > span:first-of-type': { color: 'inherit' },
	'&:focus-visible': { outline: `2px solid ${theme.color.secondary}`, outlineOffset: -2 }
}));
const Time = styled.span(({ theme }) => ({ color: theme.textMutedColor }));
const Type = styled.span<{ tone: Tone }>(({ theme, tone }) => ({ color: colour(theme, tone) }));
const Line = styled.span({ overflowWrap: 'anywhere' });
const Json = styled.pre(({ theme }) => ({
	margin: '0 0 6px',
	padding: '6px 8px',
	overflow: 'auto',
	maxHeight: 320,
	background: theme.background.app,
	borderRadius: theme.appBorderRadius,
	fontFamily: theme.typography.fonts.mono,
	fontSize: theme.typography.size.s1
}));
const Empty = styled.p(({ theme }) => ({ color: theme.textMutedColor, margin: '16px 0' }));

function colour(theme: StorybookTheme, tone: Tone): string {
	switch (tone) {
		case 'positive':
			return theme.fgColor.positive;
		case 'warning':
			return theme.fgColor.warning;
		case 'negative':
			return theme.fgColor.negative;
		case 'accent':
			return theme.fgColor.accent;
		case 'muted':
			return theme.textMutedColor;
		default:
			return theme.color.defaultText;
	}
}

/** Whether an entry matches the filter (its type, line or connection, any case). */
const matches = (entry: PanelEntry, filter: string) =>
	filter === '' ||
	entry.type.toLowerCase().includes(filter) ||
	entry.summary.toLowerCase().includes(filter) ||
	entry.label.toLowerCase().includes(filter);

/** One timeline row: time, type and line; its JSON below when expanded. */
function EventRow({ entry }: { entry: PanelEntry }) {
	const [open, setOpen] = useState(false);
	const json = useRef<HTMLPreElement>(null);
	// An opened row at the bottom of the panel shows its JSON.
	useEffect(() => {
		if (open) json.current?.scrollIntoView?.({ block: 'nearest' });
	}, [open]);
	const id = `${PANEL_ID}-json-${entry.n}-${entry.source ?? 'all'}`;
	return h(
		'li',
		null,
		h(
			Row,
			{
				type: 'button',
				'aria-expanded': open,
				'aria-controls': open ? id : undefined,
				onClick: () => setOpen(!open)
			},
			h(Time, null, seconds(entry.t)),
			h(Type, { tone: toneOf(entry) }, entry.type),
			h(Line, null, entry.summary)
		),
		open ? h(Json, { id, ref: json }, JSON.stringify(entry.event, null, 2)) : null
	);
}

/** The sections: one per connection, the fault rows in each. */
function groups(sources: PanelSource[], entries: PanelEntry[]) {
	const known = new Map(sources.map((source) => [source.id, source]));
	const order = sources.map((source) => source.id);
	const labels = new Map<number, string>();
	for (const entry of entries) {
		if (entry.source === undefined || labels.has(entry.source)) continue;
		labels.set(entry.source, entry.label);
		if (!known.has(entry.source)) order.push(entry.source);
	}
	return order.map((id) => ({
		id,
		label: known.get(id)?.label ?? labels.get(id) ?? `source ${id}`,
		source: known.get(id),
		entries: entries.filter((entry) => entry.source === id || entry.source === undefined)
	}));
}

function statusLine(source: PanelSource | undefined): string {
	if (!source) return 'gone';
	if (source.stopped) return 'stopped';
	const parts: string[] = [source.status ?? 'not started'];
	if (source.transport)
		parts.push(source.degraded ? `${source.transport} (fallback)` : source.transport);
	parts.push(`${source.rows} row${source.rows === 1 ? '' : 's'}`);
	if (source.pending) parts.push(`${source.pending} pending`);
	return parts.join(' · ');
}

function ConnectionPanel({ active }: { active: boolean }) {
	const [data, dispatch] = useReducer(reduce, initial);
	const [filter, setFilter] = useState('');
	const [copied, setCopied] = useState('');
	const emit = useChannel({
		[EVENTS.UPDATE]: (update: PanelUpdate) => dispatch({ type: 'update', update })
	});
	// The story may have rendered before the panel: ask for what it kept.
	useEffect(() => emit(EVENTS.REQUEST), [emit]);
	useEffect(() => {
		if (!copied) return;
		const timer = setTimeout(() => setCopied(''), 3000);
		return () => clearTimeout(timer);
	}, [copied]);

	// Follows the newest rows while scrolled to the end, as a log does; stays put otherwise.
	const scroller = useRef<HTMLDivElement>(null);
	const following = useRef(true);
	useLayoutEffect(() => {
		const element = scroller.current;
		if (element && following.current) element.scrollTop = element.scrollHeight;
	}, [data.entries]);
	const onScroll = () => {
		const element = scroller.current;
		if (element)
			following.current = element.scrollHeight - element.scrollTop - element.clientHeight < 24;
	};

	const needle = filter.trim().toLowerCase();
	const visible = useMemo(
		() => data.entries.filter((entry) => matches(entry, needle)),
		[data.entries, needle]
	);
	const state = data.state;
	const sections = groups(state?.sources ?? [], visible);
	const earlier = data.entries.length ? data.entries[0]!.n - 1 - data.cleared : 0;
	const fault = (command: FaultCommand) => emit(EVENTS.FAULT, command);
	const noServer = !state || state.targets === 0;
	const hintId = `${PANEL_ID}-no-server`;

	const copy = async () => {
		const events = visible.map((entry) => ({ time: entry.t, ...entry.event }));
		try {
			await navigator.clipboard.writeText(JSON.stringify(events, null, 2));
			setCopied(`Copied ${events.length} event${events.length === 1 ? '' : 's'}`);
		} catch (error) {
			setCopied(`Could not copy: ${error instanceof Error ? error.message : String(error)}`);
		}
	};

	const button = (label: string, onClick: () => void, extra: Record<string, unknown> = {}) =>
		h(Button, {
			key: label,
			size: 'small',
			variant: 'ghost',
			ariaLabel: false,
			onClick,
			...extra,
			children: label
		});
	const faultButton = (label: string, command: FaultCommand) =>
		button(label, () => fault(command), {
			disabled: noServer,
			'aria-describedby': noServer ? hintId : undefined
		});

	const settled = state?.settled ?? false;
	const toolbar = h(
		Bar,
		{ border: true, scrollable: true },
		h(Filter, {
			type: 'search',
			size: 'flex',
			placeholder: 'Filter: type, text, connection',
			'aria-label': 'Filter events',
			value: filter,
			onChange: (event: { currentTarget: HTMLInputElement }) => setFilter(event.currentTarget.value)
		}),
		button(
			data.paused ? `Resume${data.held.length ? ` (${data.held.length} held)` : ''}` : 'Pause',
			() => dispatch({ type: data.paused ? 'resume' : 'pause' })
		),
		button('Clear', () => dispatch({ type: 'clear' })),
		button('Copy as JSON', () => void copy(), { disabled: visible.length === 0 }),
		h(Note, { role: 'status' }, copied),
		h(Spacer),
		h(
			Note,
			{
				role: 'status',
				title:
					'Whether the story rendered and its connections rest where parameters.connection.settled says (data-connection-settled on the preview page)'
			},
			h(Dot, { tone: settled ? 'positive' : 'warning' }),
			settled ? 'Settled' : 'Not settled'
		)
	);
	const faults = h(
		Toolbar,
		{ 'aria-label': 'Faults', border: true, scrollable: true },
		faultButton('Drop the stream', { action: 'drop' }),
		faultButton(state?.offline ? 'Back online' : 'Go offline', {
			action: 'offline',
			on: !state?.offline
		}),
		h(ToggleButton, {
			key: 'slow',
			size: 'small',
			variant: 'ghost',
			ariaLabel: false,
			pressed: state?.slow ?? false,
			disabled: noServer,
			'aria-describedby': noServer ? hintId : undefined,
			tooltip: `Answer every request after ${SLOW_MS / 1000} s`,
			onClick: () => fault({ action: 'slow', on: !state?.slow }),
			children: 'Slow server'
		}),
		faultButton('Refuse next change', { action: 'refuse' }),
		faultButton(`Flood ${FLOOD_COUNT} events`, { action: 'flood' }),
		faultButton('Restart the server', { action: 'restart' }),
		faultButton('Skip events', { action: 'skip' }),
		noServer
			? h(
					Note,
					{ id: hintId },
					'No mock server answered in this story: the buttons act on svelte-realtime-kit/msw APIs.'
				)
			: null
	);

	let body: ReactNode;
	if (sections.length === 0) {
		body = h(
			Empty,
			null,
			data.entries.length === 0 && !state?.sources.length
				? 'No inspected connection in this story. Wrap a live source’s options in inspect() (svelte-realtime-kit/inspect) to see its events here.'
				: 'No event matches the filter.'
		);
	} else {
		body = sections.map((section) => {
			const rows = section.entries.slice(-MAX_ROWS);
			const headingId = `${PANEL_ID}-source-${section.id}`;
			return h(
				Section,
				{ key: section.id, 'aria-labelledby': headingId },
				h(
					'h3',
					{ id: headingId },
					h('span', null, section.label),
					h(
						Status,
						{ tone: section.source ? toneOfStatus(section.source) : 'muted' },
						statusLine(section.source)
					)
				),
				section.entries.length > rows.length
					? h(
							Note,
							null,
							`The last ${rows.length} of ${section.entries.length} events; Copy as JSON copies all of them.`
						)
					: null,
				rows.length === 0
					? h(Note, null, needle ? 'No event matches the filter.' : 'No event yet.')
					: h(
							List,
							{ 'aria-label': `Events of ${section.label}` },
							rows.map((entry) => h(EventRow, { key: entry.n, entry }))
						)
			);
		});
	}

	return h(AddonPanel, {
		active,
		hasScrollbar: false,
		children: h(
			Panel,
			{ role: 'region', 'aria-label': 'Connection' },
			toolbar,
			faults,
			h(
				Scroll,
				{ ref: scroller, onScroll },
				earlier > 0 ? h(Note, null, `${earlier} earlier events were not kept.`) : null,
				body
			)
		)
	});
}

addons.register(ADDON_ID, () => {
	addons.add(PANEL_ID, {
		type: types.PANEL,
		title: 'Connection',
		render: ({ active }) => h(ConnectionPanel, { active: active ?? false })
	});
});
