import { describe, expect, it } from 'vitest';
import { DecodeError } from '../errors.js';
import { defaultDecode } from './decode.js';

const item = { id: 1, title: 'a' };

describe('defaultDecode', () => {
	it.each([
		['an array', JSON.stringify([item]), {}, { type: 'snapshot', items: [item] }],
		['an object', JSON.stringify(item), {}, { type: 'upsert', items: [item] }],
		['an already parsed object', item, {}, { type: 'upsert', items: [item] }],
		[
			'the message event',
			JSON.stringify(item),
			{ event: 'message' },
			{ type: 'upsert', items: [item] }
		],
		[
			'a snapshot envelope',
			{ type: 'snapshot', items: [item] },
			{},
			{ type: 'snapshot', items: [item] }
		],
		['an upsert envelope', { type: 'upsert', item }, {}, { type: 'upsert', items: [item] }],
		['a remove envelope', { type: 'remove', ids: [1, 'b'] }, {}, { type: 'remove', ids: [1, 'b'] }],
		[
			'an echo of a client change',
			{ type: 'upsert', items: [item], mutationId: 'm7' },
			{},
			{ type: 'upsert', items: [item], mutationId: 'm7' }
		],
		[
			'a named upsert event echoing a change',
			JSON.stringify({ item, mutationId: 'm8' }),
			{ event: 'upsert' },
			{ type: 'upsert', items: [item], mutationId: 'm8' }
		],
		['a remove envelope with one id', { type: 'remove', id: 3 }, {}, { type: 'remove', ids: [3] }],
		[
			'a snapshot event',
			JSON.stringify([item]),
			{ event: 'snapshot' },
			{ type: 'snapshot', items: [item] }
		],
		[
			'an upsert event (one)',
			JSON.stringify(item),
			{ event: 'upsert' },
			{ type: 'upsert', items: [item] }
		],
		[
			'an upsert event (many)',
			JSON.stringify([item]),
			{ event: 'upsert' },
			{ type: 'upsert', items: [item] }
		],
		['a remove event (one id)', '7', { event: 'remove' }, { type: 'remove', ids: [7] }],
		[
			'a remove event ({ ids })',
			JSON.stringify({ ids: ['x'] }),
			{ event: 'remove' },
			{ type: 'remove', ids: ['x'] }
		]
	])('decodes %s', (_, data, meta, expected) => {
		expect(defaultDecode(data, meta)).toEqual(expected);
	});

	it('ignores heartbeats', () => {
		expect(defaultDecode('', { event: 'heartbeat' })).toBeNull();
		expect(defaultDecode('', { event: 'ping' })).toBeNull();
	});

	it.each([
		['invalid JSON', '{nope', {}, /not valid JSON/],
		['an unknown event type', '{}', { event: 'mystery' }, /unknown event type "mystery"/],
		['an unknown envelope type', { type: 'patch' }, {}, /unknown event type "patch"/],
		['a number', '42', {}, /expected an array or an object/],
		['a snapshot that is not an array', '{}', { event: 'snapshot' }, /expected a snapshot array/],
		['an upsert of a number', '5', { event: 'upsert' }, /expected an item/],
		['a remove of objects', JSON.stringify([{}]), { event: 'remove' }, /expected an id/]
	])('S11 rejects %s with a DecodeError', (_, data, meta, message) => {
		let error: unknown;
		try {
			defaultDecode(data, meta);
		} catch (e) {
			error = e;
		}
		expect(error).toBeInstanceOf(DecodeError);
		expect((error as DecodeError).message).toMatch(message);
		expect((error as DecodeError).data).toEqual(data);
	});
});
