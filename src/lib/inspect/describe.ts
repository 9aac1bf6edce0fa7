import type { InspectEvent } from './types.js';

const seconds = (ms: number) =>
	ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
const bytes = (n: number) => (n < 1024 ? `${n} B` : `${(n / 1024).toFixed(1)} KiB`);
const path = (url: string) => {
	try {
		const parsed = new URL(url, 'http://x');
		return parsed.origin === 'http://x' ? `${parsed.pathname}${parsed.search}` : url;
	} catch {
		return url;
	}
};

/**
 * One line saying what an event was, for logs and the Connection panel:
 * `connecting → reconnecting · failed · retry in 1.2 s (attempt 2)`, `message upsert #12 · 143 B`,
 * `GET /api/tasks/stream → 503`, `change t3 rolled back: conflict`.
 */
export function summarize(event: InspectEvent): string {
	switch (event.type) {
		case 'status': {
			const parts = [`${event.from} → ${event.to}`, event.cause];
			if (event.transport)
				parts.push(event.degraded ? `${event.transport} (fallback)` : event.transport);
			if (event.retryIn !== undefined)
				parts.push(`retry in ${seconds(event.retryIn)} (attempt ${event.attempt})`);
			if (event.error && event.to !== 'live') parts.push(event.error.message);
			return parts.join(' · ');
		}
		case 'continuity':
			return `continuity ${event.from} → ${event.to}`;
		case 'attempt':
			return `attempt ${event.n} · ${event.transport}${event.lastEventId !== undefined ? ` · after #${event.lastEventId}` : ''}`;
		case 'opened':
			return `opened ${event.transport ?? ''}${event.degraded ? ' (fallback)' : ''}${event.resumed ? ' · resumed' : ''}`;
		case 'transport':
			return `transport ${event.from ?? '?'} → ${event.to ?? '?'}${event.degraded ? ' (fallback)' : ''}`;
		case 'request':
			return `${event.method} ${path(event.url)}${event.probe ? ' · probe' : ''}`;
		case 'response':
			return `${event.method} ${path(event.url)} → ${event.status ?? event.error ?? '?'} · ${seconds(event.ms)}${event.probe ? ' · probe' : ''}`;
		case 'message': {
			// A socket's message names its type in its data.
			const type =
				event.event ??
				(typeof event.data === 'object' && event.data !== null
					? (event.data as { type?: unknown }).type
					: undefined);
			return `message${typeof type === 'string' && type ? ` ${type}` : ''}${event.id !== undefined ? ` #${event.id}` : ''} · ${bytes(event.size)}${'update' in event ? '' : ' · not applied'}`;
		}
		case 'heartbeat':
			return 'heartbeat';
		case 'hint':
			return `hint ${Object.entries(event.hints)
				.map(([key, value]) => `${key}=${String(value)}`)
				.join(' ')}`;
		case 'dropped':
			return `dropped: ${event.error.message}`;
		case 'failed':
			return `failed: ${event.error.message}`;
		case 'ended':
			return event.final ? 'ended (final)' : 'ended';
		case 'resync':
			return `resync ${event.phase}${event.items !== undefined ? ` · ${event.items} rows` : ''}${event.error ? `: ${event.error.message}` : ''}`;
		case 'change': {
			const phase = event.phase === 'rolled-back' ? 'rolled back' : event.phase;
			return `change ${event.key} ${phase}${event.via ? ` (${event.via})` : ''}${event.error ? `: ${event.error.message}` : ''}`;
		}
		case 'platform':
			return event.change === 'hidden' || event.change === 'visible'
				? `page ${event.change}`
				: `browser ${event.change}`;
	}
}
