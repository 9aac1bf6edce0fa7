/**
 * Random event streams and ways to cut them, for the differential tests of the SSE adapter against
 * the spec's algorithm (./sse-reference.ts), and the comparison of what an adapter reported.
 */
import fc from 'fast-check';
import type { SinkCall } from '../helpers/recording-sink.js';
import type { ReferenceResult } from './sse-reference.js';

const encoder = new TextEncoder();

/** Event types the generator uses; EventSource mode must be told about each (`events`). */
export const EVENT_TYPES = ['upsert', 'remove', 'message', 'x y', 'é', 'error', 'open'];

/** Characters of values: multibyte UTF-8, NUL, a BOM, a line separator that is not a line end. */
const char = fc.constantFrom(
	'a',
	'b',
	'Z',
	' ',
	':',
	'0',
	'7',
	'é',
	'€',
	'😀',
	'日',
	'\0',
	'\uFEFF',
	'\u2028',
	'\t'
);
const value = fc.string({ unit: char, maxLength: 6 });
/** What follows a field name: nothing (the whole line is the name), a colon, or more spaces. */
const separator = fc.constantFrom('', ':', ': ', ':  ');
const digits = fc.stringMatching(/^[0-9]{1,5}$/);

const field = (name: fc.Arbitrary<string>, val: fc.Arbitrary<string>) =>
	fc.tuple(name, separator, val).map(([n, s, v]) => (s === '' ? n : n + s + v));

/** One line, without its end. */
const line: fc.Arbitrary<string> = fc.oneof(
	{ arbitrary: fc.constant(''), weight: 4 },
	{ arbitrary: field(fc.constant('data'), value), weight: 4 },
	{
		arbitrary: field(fc.constant('id'), fc.oneof(value, fc.constantFrom('', '1', '2'))),
		weight: 2
	},
	field(fc.constant('event'), fc.constantFrom(...EVENT_TYPES, '')),
	field(
		fc.constant('retry'),
		fc.oneof(
			digits,
			digits.map((d) => `${d}x`),
			fc.constantFrom('', ' 5', '-1', '1.5', '٣'),
			value
		)
	),
	// Not fields the spec knows: ignored (a different case, a trailing space, a BOM read as Latin-1).
	field(fc.constantFrom('Data', 'ID', 'foo', 'dat', 'data ', 'ï»¿data', 'ï»¿id'), value),
	// Comments.
	value.map((v) => `:${v}`)
);

const lineEnd = fc.constantFrom('\n', '\r', '\r\n');

/** A token of a stream: text, or bytes that are not valid UTF-8 on their own. */
const soupToken = fc.oneof(
	{
		arbitrary: fc.constantFrom(
			'data',
			'id',
			'event',
			'retry',
			':',
			' ',
			'\r',
			'\n',
			'\r\n',
			'\n\n',
			'é',
			'😀',
			'\0',
			'x',
			'1',
			'message'
		),
		weight: 10
	},
	fc.constantFrom(
		Uint8Array.of(0xff),
		Uint8Array.of(0xc3),
		Uint8Array.of(0x80),
		Uint8Array.of(0xef, 0xbb, 0xbf)
	)
);

export const BOM = Uint8Array.of(0xef, 0xbb, 0xbf);

/** The bytes of every part, one after another. */
export function concat(...parts: Uint8Array[]): Uint8Array {
	const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
	let at = 0;
	for (const part of parts) {
		out.set(part, at);
		at += part.length;
	}
	return out;
}

const asBytes = (token: string | Uint8Array) =>
	typeof token === 'string' ? encoder.encode(token) : token;

/**
 * A stream's bytes: an optional BOM (or two), then well-formed lines with mixed line ends, or a
 * soup of tokens, or both; often an unfinished line or event at the end.
 */
export const streamBytes: fc.Arbitrary<Uint8Array> = fc
	.tuple(
		fc.constantFrom(0, 0, 1, 2),
		fc.array(fc.tuple(line, lineEnd), { maxLength: 24 }),
		fc.oneof(
			{ arbitrary: fc.constant([] as Array<string | Uint8Array>), weight: 3 },
			fc.array(soupToken, { maxLength: 30 })
		),
		fc.option(
			value.map((v) => `data: ${v}`),
			{ nil: undefined }
		)
	)
	.map(([boms, lines, soup, tail]) =>
		concat(
			...Array.from({ length: boms }, () => BOM),
			...lines.map(([l, end]) => encoder.encode(l + end)),
			...soup.map(asBytes),
			encoder.encode(tail ?? '')
		)
	);

/** Where to cut a stream of `length` bytes: chunk boundaries, as offsets in (0, length). */
export type Cutting = 'every byte' | 'after each CR' | 'inside each character' | number[];

export const cutting: fc.Arbitrary<Cutting> = fc.oneof(
	fc.constantFrom<Cutting>('every byte', 'after each CR', 'inside each character'),
	{ arbitrary: fc.array(fc.nat({ max: 4096 }), { maxLength: 12 }), weight: 3 }
);

/** Cuts `bytes` into chunks as `how` says (never an empty chunk; one chunk for an empty stream). */
export function cut(bytes: Uint8Array, how: Cutting): Uint8Array[] {
	const at = new Set<number>();
	for (let i = 1; i < bytes.length; i++) {
		if (how === 'every byte') at.add(i);
		// Between CR and LF, or after a CR that ends a line: a chunk that ends with CR.
		else if (how === 'after each CR' && bytes[i - 1] === 13) at.add(i);
		// Before a UTF-8 continuation byte: a character split in two.
		else if (how === 'inside each character' && (bytes[i]! & 0xc0) === 0x80) at.add(i);
	}
	if (Array.isArray(how))
		for (const n of how) if (bytes.length > 1) at.add(1 + (n % (bytes.length - 1)));
	const points = [0, ...[...at].sort((a, b) => a - b), bytes.length];
	const chunks: Uint8Array[] = [];
	for (let i = 1; i < points.length; i++) chunks.push(bytes.slice(points[i - 1], points[i]));
	return chunks.filter((c) => c.length > 0);
}

/** What an adapter reported, in the reference's terms. */
export interface Observed {
	/** Messages as events, and drops, in order. */
	events: Array<{ type: string; data: string; lastEventId: string } | 'dropped'>;
	retries: number[];
	/** The last event id as the engine holds it ('' for none). */
	lastEventId: string;
}

/**
 * Reads sink calls as the engine does: a message's id or a `lastEventId` hint moves the last event
 * id (the empty string resets it); an id-less message keeps it.
 */
export function observe(calls: SinkCall<string>[], initialLastEventId = ''): Observed {
	let lastEventId = initialLastEventId;
	const events: Observed['events'] = [];
	const retries: number[] = [];
	for (const call of calls) {
		if (call.type === 'message') {
			if (call.meta?.id !== undefined) lastEventId = call.meta.id;
			events.push({ type: call.meta?.event ?? 'message', data: call.data, lastEventId });
		} else if (call.type === 'dropped') {
			events.push('dropped');
		} else if (call.type === 'hint') {
			if (call.hints.lastEventId !== undefined) lastEventId = call.hints.lastEventId;
			if (call.hints.retryMs !== undefined) retries.push(call.hints.retryMs);
		}
	}
	return { events, retries, lastEventId };
}

/** The reference's result as an adapter with this `maxEventSize` should report it. */
export function expected(reference: ReferenceResult, maxEventSize = Infinity): Observed {
	return {
		events: reference.events.map((event) => (event.data.length > maxEventSize ? 'dropped' : event)),
		retries: reference.retries,
		lastEventId: reference.lastEventId
	};
}

/** Readable bytes for a failure report. */
export const show = (bytes: Uint8Array) => JSON.stringify(new TextDecoder().decode(bytes));
