import { summarize } from './describe.js';
import { onInspect } from './hub.js';
import type { InspectEvent, InspectEventType, InspectObserver } from './types.js';

export interface ConsoleLoggerOptions {
	/** Where to write. @defaultValue `console` */
	console?: Pick<Console, 'debug' | 'warn'>;
	/** Which event types to log. @defaultValue every type but `heartbeat` */
	types?: readonly InspectEventType[];
}

/**
 * An observer that writes each event as one line (`[tasks] +1.204 s  live → reconnecting · failed ·
 * retry in 1.2 s (attempt 2)`), with the event itself for the devtools to expand; failures and
 * rolled-back changes as warnings.
 *
 * @example inspect({ transport }, consoleLogger())
 */
export function consoleLogger(options: ConsoleLoggerOptions = {}): InspectObserver {
	const out = options.console ?? console;
	const types = options.types ? new Set(options.types) : undefined;
	const started = new Map<number, number>();
	return (event: InspectEvent) => {
		if (types ? !types.has(event.type) : event.type === 'heartbeat') return;
		const start = started.get(event.source) ?? event.at;
		started.set(event.source, start);
		const line = `[${event.label}] +${((event.at - start) / 1000).toFixed(3)} s  ${summarize(event)}`;
		const warn =
			event.type === 'failed' ||
			event.type === 'dropped' ||
			(event.type === 'change' && event.phase === 'rolled-back');
		(warn ? out.warn : out.debug).call(out, line, event);
	};
}

/**
 * Logs every inspected source of the page with {@link consoleLogger}; returns the function that
 * stops it. Sources still need {@link inspect}.
 */
export function logConnections(options?: ConsoleLoggerOptions): () => void {
	return onInspect(consoleLogger(options));
}
