/**
 * The WHATWG event-stream interpretation, written out step by step from the spec
 * (https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation),
 * as the oracle of the differential tests. Small and slow on purpose: it reads one character at a
 * time and names each step as the spec does.
 */

/** One event the spec dispatches. */
export interface ReferenceEvent {
	/** The event type: the event type buffer, or `message` when it is empty. */
	type: string;
	data: string;
	/** The event source's last event ID string when the event was dispatched. */
	lastEventId: string;
}

export interface ReferenceResult {
	events: ReferenceEvent[];
	/** Each reconnection time set by a `retry` field, in order. */
	retries: number[];
	/**
	 * The last event ID string at the end: what the next connection sends as `Last-Event-ID`
	 * (nothing when empty).
	 */
	lastEventId: string;
}

const LF = '\n';
const CR = '\r';

/**
 * Interprets `bytes`, the whole body of one stream, or a prefix of it while the stream is still
 * open (the result is then the events dispatched so far: a line ended by CR is complete at once;
 * a following LF belongs to it). An incomplete line or event at the end is pending, never
 * dispatched, and discarded at the end of the stream.
 *
 * @param initialLastEventId the last event ID the stream starts from: that of the previous
 * connection, which browsers keep (the spec initialises the buffer to the empty string; every
 * browser carries the previous id over, and so does the kit's engine).
 */
export function interpret(bytes: Uint8Array, initialLastEventId = ''): ReferenceResult {
	// "Streams must be decoded using the UTF-8 decode algorithm": one leading BOM is removed and
	// invalid sequences become U+FFFD. An incomplete sequence at the end of a prefix becomes U+FFFD
	// too, but it can only be in the last, incomplete line, which is never processed.
	const text = new TextDecoder('utf-8').decode(bytes);

	let dataBuffer = '';
	let eventTypeBuffer = '';
	let lastEventIdBuffer = initialLastEventId;
	let lastEventIdString = initialLastEventId;
	const events: ReferenceEvent[] = [];
	const retries: number[] = [];

	const isAsciiDigits = (value: string) => {
		if (value === '') return false;
		for (const char of value) if (char < '0' || char > '9') return false;
		return true;
	};

	function dispatch() {
		// 1. Set the last event ID string of the event source to the last event ID buffer.
		lastEventIdString = lastEventIdBuffer;
		// 2. If the data buffer is empty, reset the data and event type buffers and return.
		if (dataBuffer === '') {
			dataBuffer = '';
			eventTypeBuffer = '';
			return;
		}
		// 3. If the data buffer's last character is LF, remove it.
		if (dataBuffer.endsWith(LF)) dataBuffer = dataBuffer.slice(0, -1);
		// 4.–6. The event: type `message` unless the event type buffer says otherwise.
		events.push({
			type: eventTypeBuffer === '' ? 'message' : eventTypeBuffer,
			data: dataBuffer,
			lastEventId: lastEventIdString
		});
		// 7. Reset the data and event type buffers.
		dataBuffer = '';
		eventTypeBuffer = '';
	}

	function processField(field: string, value: string) {
		switch (field) {
			case 'event':
				eventTypeBuffer = value;
				break;
			case 'data':
				dataBuffer += value + LF;
				break;
			case 'id':
				if (!value.includes('\0')) lastEventIdBuffer = value;
				break;
			case 'retry':
				// "If the field value consists of only ASCII digits" (read as: at least one).
				if (isAsciiDigits(value)) retries.push(Number.parseInt(value, 10));
				break;
			default:
			// Ignore the field.
		}
	}

	function processLine(line: string) {
		if (line === '') return dispatch();
		if (line.startsWith(':')) return; // a comment
		const colon = line.indexOf(':');
		if (colon === -1) return processField(line, '');
		let value = line.slice(colon + 1);
		if (value.startsWith(' ')) value = value.slice(1);
		processField(line.slice(0, colon), value);
	}

	// Lines end with CRLF, a LF not preceded by CR, or a CR not followed by LF.
	let line = '';
	for (let i = 0; i < text.length; i++) {
		const char = text[i]!;
		if (char === CR) {
			processLine(line);
			line = '';
			if (text[i + 1] === LF) i++;
		} else if (char === LF) {
			processLine(line);
			line = '';
		} else {
			line += char;
		}
	}
	// The end: "any pending data must be discarded" (the incomplete line and the buffers).
	return { events, retries, lastEventId: lastEventIdString };
}
