import * as messages from '../messages.js';
import { DecodeError, TransportError, type TransportErrorCode } from '../errors.js';
import { contentTypeError, hasContentType, httpError } from './http.js';
import type { TransportSink } from './types.js';

// What both SSE modes share: the adapter's settings, what an event means, what a response means.

export interface Config {
	heartbeats: Set<string>;
	connectTimeout: number;
	maxEventSize: number;
}

/** How much longer than `maxEventSize` a line may grow before the attempt fails. */
export const LINE_SLACK = 4096;

/**
 * A heartbeat event proves liveness; one whose data is `{"interval": ms}` (as `sseResponse` sends)
 * also tells the engine how often to expect one.
 */
function heartbeat(sink: TransportSink<string>, data: string) {
	if (data.startsWith('{')) {
		try {
			const interval = (JSON.parse(data) as { interval?: unknown }).interval;
			if (typeof interval === 'number' && interval > 0 && Number.isFinite(interval)) {
				sink.hint({ heartbeatMs: interval });
			}
		} catch {
			// not ours: a heartbeat all the same
		}
	}
	sink.heartbeat();
}

/**
 * Passes one dispatched event on: a heartbeat, a drop (too large) or a message. `id` is set when
 * the stream's last event id changed with this event; a heartbeat or a drop still moves it.
 */
export function deliver(
	sink: TransportSink<string>,
	config: Config,
	data: string,
	id: string | undefined,
	event: string | undefined
) {
	if (config.heartbeats.has(event ?? 'message')) heartbeat(sink, data);
	else if (data.length > config.maxEventSize)
		sink.dropped(new DecodeError(messages.eventTooLarge(config.maxEventSize), undefined, event));
	else return sink.message(data, { id, event });
	if (id !== undefined) sink.hint({ lastEventId: id });
}

/**
 * What a response means when it is not an open event stream: `true` for 204/205 (the server says
 * not to come back), the error otherwise; `undefined` for an event stream.
 */
export function refusal(
	response: Response,
	url: string,
	now: number
): TransportError | true | undefined {
	if (response.status === 204 || response.status === 205) return true;
	if (!response.ok) return httpError(response, url, 'sse', now);
	if (!hasContentType(response, (type) => type === 'text/event-stream'))
		return contentTypeError(response, url, 'sse', 'text/event-stream');
}

/** A failure of this transport. */
export const sseError = (
	message: string,
	code: TransportErrorCode,
	retryable: boolean,
	cause?: unknown
) => new TransportError(message, { code, retryable, transport: 'sse', cause });

export const timeoutError = (url: string, ms: number) =>
	sseError(messages.connectTimeout(url, ms), 'timeout', true);
