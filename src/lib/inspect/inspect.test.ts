import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createFakeEnv, type FakeEnv } from '../../../tests/helpers/fake-env.js';
import { fakeTransport } from '../../../tests/helpers/fake-transport.js';
import { createLiveSource } from '../core/live-source.js';
import { TransportError } from '../core/errors.js';
import type { Transport } from '../core/transports/types.js';
import { acquire } from '../svelte/registry.js';
import { forgetSources, inspectedSources, isSettled, onInspect, whenSettled } from './hub.js';
import { inspect, inspectLiveSource } from './inspect.js';
import { consoleLogger } from './logger.js';
import { summarize } from './describe.js';
import type { InspectEvent } from './types.js';

interface Task {
	id: number;
	title: string;
	done: boolean;
	version: number;
}
const task = (id: number, change: Partial<Task> = {}): Task => ({
	id,
	title: `Task ${id}`,
	done: false,
	version: 1,
	...change
});

let env: FakeEnv;
beforeEach(() => {
	vi.useFakeTimers({ now: 0 });
	env = createFakeEnv();
});
afterEach(() => {
	vi.useRealTimers();
	forgetSources(true);
});

const collect = () => {
	const events: InspectEvent[] = [];
	return { events, observe: (event: InspectEvent) => void events.push(event) };
};
const types = (events: InspectEvent[]) => events.map((event) => event.type);
const statuses = (events: InspectEvent[]) =>
	events.flatMap((event) =>
		event.type === 'status' ? [`${event.from}>${event.to}:${event.cause}`] : []
	);
const retryable = (message = 'HTTP 503') =>
	new TransportError(message, { code: 'http', status: 503, retryable: true, transport: 'sse' });

describe('inspect()', () => {
	it('reports a connection’s life in order, with the documented fields', () => {
		const transport = fakeTransport('sse');
		const { events, observe } = collect();
		const live = inspectLiveSource<Task>(
			{ transport, env, initial: [], version: (t) => t.version },
			{ label: 'tasks', onEvent: observe }
		);
		live.start();
		transport.last.sink.opened({});
		transport.last.sink.message(
			{ type: 'snapshot', items: [task(1), task(2)] },
			{ id: '7', event: 'snapshot' }
		);
		transport.last.sink.heartbeat();
		transport.last.sink.hint({ heartbeatMs: 15_000 });
		transport.last.sink.failed(retryable());
		const failedAt = Date.now();
		vi.advanceTimersByTime(60_000);
		transport.last.sink.opened({ transport: 'polling', degraded: true });
		live.stop();

		expect(statuses(events)).toEqual([
			'idle>connecting:start',
			'connecting>live:opened',
			'live>reconnecting:failed',
			'reconnecting>live:opened',
			'live>closed:stop'
		]);
		// The status change that opened an attempt comes before the attempt's events.
		expect(types(events)).toEqual([
			'status',
			'attempt',
			'opened',
			'status',
			'message',
			'heartbeat',
			'hint',
			'failed',
			'status',
			'attempt',
			'opened',
			'transport',
			'status',
			'status'
		]);
		// One source, numbered events, in time order.
		expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
		expect(new Set(events.map((e) => e.source)).size).toBe(1);
		expect(events.every((e) => e.label === 'tasks')).toBe(true);
		expect(events.every((e, i) => i === 0 || e.at >= events[i - 1]!.at)).toBe(true);

		const [message] = events.filter((e) => e.type === 'message');
		expect(message).toMatchObject({
			id: '7',
			event: 'snapshot',
			size: JSON.stringify({ type: 'snapshot', items: [task(1), task(2)] }).length,
			update: { type: 'snapshot', items: [task(1), task(2)] }
		});
		const reconnecting = events.find((e) => e.type === 'status' && e.to === 'reconnecting');
		expect(reconnecting).toMatchObject({
			attempt: 2,
			error: { name: 'TransportError', code: 'http', status: 503, retryable: true }
		});
		const retryIn = (reconnecting as { retryIn: number }).retryIn;
		expect(retryIn).toBeGreaterThan(0);
		expect(failedAt + retryIn).toBe(live.connection.getSnapshot().retryAt ?? failedAt + retryIn);
		const second = events.filter((e) => e.type === 'attempt')[1];
		expect(second).toMatchObject({ n: 2, transport: 'sse', lastEventId: '7' });
		expect(events.find((e) => e.type === 'transport')).toMatchObject({
			from: 'sse',
			to: 'polling',
			degraded: true
		});
		expect(events.map(summarize).every((line) => line.length > 0)).toBe(true);
	});

	it('tells a change from pending through sent to confirmed, and to rolled back with the reason', async () => {
		const transport = fakeTransport('websocket', true, true);
		const { events, observe } = collect();
		const live = inspectLiveSource<Task>({ transport, env, initial: [task(1), task(2)] }, observe);
		live.start();
		transport.last.sink.opened({ bidirectional: true });
		await live.store.toggle(1);
		live.store.flush();
		env.runFrames();
		// A socket whose server refuses every change.
		const refused: Transport<unknown, unknown> = {
			kind: 'websocket',
			bidirectional: true,
			open(sink) {
				queueMicrotask(() => sink.opened({ bidirectional: true }));
				return {
					close() {},
					send: () => Promise.reject(new Error('The server refused the change: conflict'))
				};
			}
		};
		const failing = inspectLiveSource<Task>(
			{ transport: refused, env, initial: [task(2)] },
			observe
		);
		failing.start();
		await vi.advanceTimersByTimeAsync(0);
		await expect(failing.store.toggle(2)).rejects.toThrow('conflict');
		failing.store.flush();
		env.runFrames();

		const changes = events.flatMap((e) =>
			e.type === 'change' ? [`${e.source}:${e.key}:${e.phase}${e.via ? `:${e.via}` : ''}`] : []
		);
		const [a, b] = [events[0]!.source, events.at(-1)!.source];
		expect(changes).toEqual([
			`${a}:1:pending`,
			`${a}:1:sent:socket`,
			`${a}:1:confirmed`,
			`${b}:2:pending`,
			`${b}:2:sent:socket`,
			`${b}:2:rolled-back`
		]);
		const sent = events.find((e) => e.type === 'change' && e.phase === 'sent');
		expect(sent).toMatchObject({ mutationId: expect.stringMatching(/\.1$/) });
		const rolledBack = events.find((e) => e.type === 'change' && e.phase === 'rolled-back');
		expect(rolledBack).toMatchObject({ error: { name: 'MutationError' } });
		expect((rolledBack as { error: { message: string } }).error.message).toContain('conflict');
	});

	it('reports a resync and the continuity it proves; a server’s resync event as asked', async () => {
		const transport = fakeTransport('sse');
		const { events, observe } = collect();
		const live = inspectLiveSource<Task>(
			{ transport, env, initial: [], resync: async () => [task(1), task(2), task(3)] },
			observe
		);
		live.start();
		transport.last.sink.opened({});
		transport.last.sink.ended();
		vi.advanceTimersByTime(60_000);
		transport.last.sink.opened({ resumed: false });
		await vi.advanceTimersByTimeAsync(0);
		transport.last.sink.message('{}', { event: 'resync', id: '9' });
		await vi.advanceTimersByTimeAsync(0);
		const resyncs = events.flatMap((e) =>
			e.type === 'resync' ? [`${e.phase}${e.items !== undefined ? `:${e.items}` : ''}`] : []
		);
		expect(resyncs).toEqual(['start', 'done:3', 'asked', 'start', 'done:3']);
		const continuity = events.flatMap((e) =>
			e.type === 'continuity' ? [`${e.from}>${e.to}`] : []
		);
		expect(continuity).toContain('unknown>resynced');
		expect(live.connection.getSnapshot().continuity).toBe('resynced');
	});

	it('shows each request a transport makes, and marks one tried while another transport is live as a probe', async () => {
		const fetches: string[] = [];
		env = createFakeEnv({
			fetch: async (input) => {
				fetches.push(String(input));
				return new Response('[]', { status: String(input).includes('stream') ? 503 : 200 });
			}
		});
		// A transport that, once live on polling, tries the stream again (as fallback() probes do).
		const transport: Transport<unknown, unknown> = {
			kind: 'polling',
			open(sink, attempt) {
				void attempt.env.fetch('/api/tasks').then(() => {
					sink.opened({ transport: 'polling' });
					return attempt.env.fetch('/api/tasks/stream', {
						headers: { accept: 'text/event-stream' }
					});
				});
				return { close() {} };
			}
		};
		const { events, observe } = collect();
		const live = inspectLiveSource({ transport, env }, observe);
		live.start();
		await vi.advanceTimersByTimeAsync(0);
		const network = events.flatMap((e) =>
			e.type === 'request'
				? [`${e.kind} ${e.method} ${e.url}${e.probe ? ' probe' : ''}`]
				: e.type === 'response'
					? [`#${e.request} ${e.status ?? e.error}`]
					: []
		);
		expect(network).toEqual([
			'http GET /api/tasks',
			'#1 200',
			'sse GET /api/tasks/stream probe',
			'#2 503'
		]);
		expect(fetches).toEqual(['/api/tasks', '/api/tasks/stream']);
		// A response says what it answers.
		expect(events.filter((e) => e.type === 'response').map(summarize)).toEqual([
			expect.stringMatching(/^GET \/api\/tasks → 200 · \d+ ms$/),
			expect.stringMatching(/^GET \/api\/tasks\/stream → 503 · \d+ ms · probe$/)
		]);
	});

	it('gives the cause of a change the browser made: offline, online', () => {
		const transport = fakeTransport('sse');
		const { events, observe } = collect();
		const live = inspectLiveSource({ transport, env }, observe);
		live.start();
		transport.last.sink.opened({});
		env.setOnline(false);
		env.setOnline(true);
		live.stop();
		expect(statuses(events)).toEqual([
			'idle>connecting:start',
			'connecting>live:opened',
			'live>offline:offline',
			'offline>reconnecting:online',
			'reconnecting>closed:stop'
		]);
		expect(events.filter((e) => e.type === 'platform').map((e) => e.change)).toEqual([
			'offline',
			'online'
		]);
	});

	it('builds nothing while nobody listens: 10,000 messages leave no trace', () => {
		const transport = fakeTransport('sse');
		const options = { transport, env, version: (t: Task) => t.version };
		const plain = fakeTransport('sse');
		const inspected = inspectLiveSource<Task>(options);
		const control = createLiveSource<Task>({ ...options, transport: plain });
		inspected.start();
		control.start();
		for (const t of [transport, plain]) t.last.sink.opened({});
		for (let i = 0; i < 10_000; i++) {
			const message = { type: 'upsert', items: [task(i % 50, { version: i + 1 })] };
			transport.last.sink.message(message, { id: String(i) });
			plain.last.sink.message(message, { id: String(i) });
		}
		inspected.store.flush();
		control.store.flush();
		// The same behaviour as without the inspector...
		expect(inspected.store.getSnapshot().rows).toEqual(control.store.getSnapshot().rows);
		expect(inspected.connection.getSnapshot()).toEqual(control.connection.getSnapshot());
		// ...and no event was built: a listener that comes now gets the source's first one.
		const late = collect();
		const off = onInspect(late.observe);
		transport.last.sink.heartbeat();
		off();
		expect(late.events).toHaveLength(1);
		expect(late.events[0]).toMatchObject({ type: 'heartbeat', seq: 1 });
		expect(inspectedSources()).toHaveLength(1);
	});

	it('follows a source <LiveSource> opens through the registry, and forgets it when released', () => {
		const transport = fakeTransport('sse');
		const { events, observe } = collect();
		const options = inspect<Task>(
			{ transport, env },
			{ label: 'component', scope: 'story-a', onEvent: observe }
		);
		const lease = acquire(options);
		transport.last.sink.opened({});
		expect(inspectedSources('story-a')).toMatchObject([
			{ label: 'component', state: { status: 'live' }, loaded: false }
		]);
		lease.release();
		expect(inspectedSources('story-a')).toEqual([]);
		expect(statuses(events)).toEqual([
			'idle>connecting:start',
			'connecting>live:opened',
			'live>closed:stop'
		]);
	});

	it('refuses what is not a live source’s options or an observer, with the option named', () => {
		expect(() => inspect(undefined as never)).toThrow(/inspect\(\)/);
		expect(() => inspect({ transport: {} as never })).toThrow(/`transport`/);
		expect(() => inspect({ transport: fakeTransport() }, 'log' as never)).toThrow(/observer/);
		expect(() => inspect({ transport: fakeTransport() }, { onEvent: 1 as never })).toThrow(
			/`onEvent`/
		);
	});

	it('keeps the source working when an observer throws', () => {
		const transport = fakeTransport('sse');
		const reported = vi.fn();
		vi.stubGlobal('reportError', reported);
		const live = inspectLiveSource({ transport, env }, () => {
			throw new Error('observer bug');
		});
		live.start();
		transport.last.sink.opened({});
		vi.unstubAllGlobals();
		expect(live.connection.getSnapshot().status).toBe('live');
		expect(reported).toHaveBeenCalled();
	});
});

describe('whenSettled()', () => {
	it('waits until the sources rest where the rule says, and says where they stood when they do not', async () => {
		const transport = fakeTransport('sse');
		const live = inspectLiveSource<Task>({ transport, env }, { scope: 's1' });
		live.start();
		let settled = false;
		const waiting = whenSettled({ id: 's1', parameters: {} }).then(() => (settled = true));
		await vi.advanceTimersByTimeAsync(0);
		expect(settled).toBe(false);
		transport.last.sink.opened({});
		await vi.advanceTimersByTimeAsync(0);
		// Live, but nothing loaded yet: not settled.
		expect(settled).toBe(false);
		transport.last.sink.message({ type: 'snapshot', items: [task(1)] }, { event: 'snapshot' });
		live.store.flush();
		env.runFrames();
		// Settled: told a task later, once the page shows it.
		expect(settled).toBe(false);
		await vi.advanceTimersByTimeAsync(1);
		await waiting;
		expect(settled).toBe(true);

		const failing = whenSettled({ scope: 's1', until: 'failed', timeout: 500 });
		const assertion = expect(failing).rejects.toThrow(/did not settle within 500 ms \(s1\).*live/);
		await vi.advanceTimersByTimeAsync(600);
		await assertion;
		expect(isSettled(inspectedSources('s1'), (sources) => sources.length === 1)).toBe(true);
		live.stop();
	});
});

describe('consoleLogger()', () => {
	it('writes one line per event, failures as warnings, without heartbeats', () => {
		const lines: string[] = [];
		const warnings: string[] = [];
		const out = {
			debug: (line: string) => void lines.push(line),
			warn: (line: string) => void warnings.push(line)
		};
		const transport = fakeTransport('sse');
		const live = inspectLiveSource(
			{ transport, env },
			{ label: 'log', onEvent: consoleLogger({ console: out }) }
		);
		live.start();
		transport.last.sink.opened({});
		transport.last.sink.heartbeat();
		transport.last.sink.failed(retryable('HTTP 503'));
		live.stop();
		expect(lines[0]).toMatch(/^\[log\] \+0\.000 s {2}idle → connecting · start · sse$/);
		expect(lines[1]).toMatch(/^\[log\] \+0\.000 s {2}attempt 1 · sse$/);
		expect(lines.some((line) => line.includes('connecting → live · opened'))).toBe(true);
		expect(lines.some((line) => line.includes('heartbeat'))).toBe(false);
		expect(warnings).toEqual([expect.stringContaining('failed: HTTP 503')]);
	});
});

describe('inspect() as a model', () => {
	type Step =
		| { kind: 'opened' }
		| { kind: 'message'; n: number }
		| { kind: 'heartbeat' }
		| { kind: 'failed' }
		| { kind: 'ended' }
		| { kind: 'wait'; ms: number }
		| { kind: 'network'; online: boolean }
		| { kind: 'retry' }
		| { kind: 'pause' }
		| { kind: 'resume' };
	const step: fc.Arbitrary<Step> = fc.oneof(
		fc.constant({ kind: 'opened' as const }),
		fc.integer({ min: 0, max: 20 }).map((n) => ({ kind: 'message' as const, n })),
		fc.constant({ kind: 'heartbeat' as const }),
		fc.constant({ kind: 'failed' as const }),
		fc.constant({ kind: 'ended' as const }),
		fc.integer({ min: 1, max: 120_000 }).map((ms) => ({ kind: 'wait' as const, ms })),
		fc.boolean().map((online) => ({ kind: 'network' as const, online })),
		fc.constant({ kind: 'retry' as const }),
		fc.constant({ kind: 'pause' as const }),
		fc.constant({ kind: 'resume' as const })
	);

	it('changes nothing the source does, and its status events chain to the state the source is in', () => {
		fc.assert(
			fc.property(fc.array(step, { maxLength: 40 }), (steps) => {
				vi.setSystemTime(0);
				const worlds = [true, false].map((inspected) => {
					const world = { env: createFakeEnv(), transport: fakeTransport('sse') };
					const { events, observe } = collect();
					const options = { transport: world.transport, env: world.env, staleAfter: 30_000 };
					const live = inspected
						? inspectLiveSource<Task>(options, observe)
						: createLiveSource<Task>(options);
					return { ...world, events, live };
				});
				const trace: string[][] = [[], []];
				for (const world of worlds) world.live.start();
				for (const s of steps) {
					// Both worlds run on the same (fake) clock: waiting moves them together.
					if (s.kind === 'wait') vi.advanceTimersByTime(s.ms);
					for (const world of worlds) {
						const last = world.transport.attempts.at(-1);
						const sink = last?.sink;
						const open = last?.closed === false;
						switch (s.kind) {
							case 'wait':
								break;
							case 'opened':
								if (open) sink!.opened({});
								break;
							case 'message':
								if (open)
									sink!.message({ type: 'upsert', items: [task(s.n)] }, { id: String(s.n) });
								break;
							case 'heartbeat':
								if (open) sink!.heartbeat();
								break;
							case 'failed':
								if (open) sink!.failed(retryable());
								break;
							case 'ended':
								if (open) sink!.ended();
								break;
							case 'network':
								world.env.setOnline(s.online);
								break;
							default:
								world.live.connection[s.kind]();
						}
					}
					worlds.forEach((world, i) => trace[i]!.push(world.live.connection.getSnapshot().status));
				}
				const [inspected, plain] = worlds;
				expect(trace[0]).toEqual(trace[1]);
				inspected!.live.store.flush();
				plain!.live.store.flush();
				expect(inspected!.live.store.getSnapshot().rows).toEqual(
					plain!.live.store.getSnapshot().rows
				);
				const chain = inspected!.events.filter((e) => e.type === 'status');
				chain.forEach((event, i) => {
					expect(event.from).toBe(i === 0 ? 'idle' : chain[i - 1]!.to);
					expect(event.from).not.toBe(event.to);
				});
				expect(chain.at(-1)?.to).toBe(inspected!.live.connection.getSnapshot().status);
				expect(inspected!.events.map((e) => e.seq)).toEqual(inspected!.events.map((_, i) => i + 1));
				for (const world of worlds) world.live.stop();
				forgetSources(true);
			}),
			{ numRuns: Number(process.env.FUZZ_RUNS ?? 200) }
		);
	});
});
