// The /activity demo end to end: the built app on its production server (SQLite, SSE route,
// socket.io), pages in Chromium. Needs `vite build` first (`npm run test:demo` does both).
import { AxeBuilder } from '@axe-core/playwright';
import Database from 'better-sqlite3';
import { chromium, type Browser, type Page } from 'playwright';
import { io } from 'socket.io-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ensureChromium } from '../../scripts/chromium.js';
import { signIn, startDemo, tempDatabase, type DemoServer } from './server.js';

interface Task {
	id: string;
	title: string;
	actor: string;
	done: boolean;
	version: number;
}

let browser: Browser;
beforeAll(async () => {
	browser = await chromium.launch({
		executablePath: ensureChromium(),
		args: ['--no-sandbox', '--disable-gpu']
	});
});
afterAll(() => browser?.close());

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
	for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function demo(database = tempDatabase()): Promise<DemoServer> {
	const server = await startDemo(database.path);
	cleanups.push(database.remove, () => server.kill());
	await signedIn(server.origin);
	return server;
}

/** A page signed in as `name` (a session the server signed), on /activity with `query`. */
async function openActivity(origin: string, name = 'Tester', query = ''): Promise<Page> {
	const context = await browser.newContext();
	cleanups.push(() => context.close());
	await context.addCookies([{ name: 'demo_user', value: await signIn(origin, name), url: origin }]);
	const page = await context.newPage();
	await page.goto(`${origin}/activity${query}`);
	return page;
}

const live = (page: Page, transport: string, timeout = 20_000) =>
	page
		.locator(`.srk-badge[data-status="live"][data-transport="${transport}"]`)
		.waitFor({ timeout });
const box = (page: Page, title: string) => page.getByRole('checkbox', { name: title });
let SIGNED_IN = { cookie: '' };
const signedIn = async (origin: string) =>
	(SIGNED_IN = { cookie: `demo_user=${encodeURIComponent(await signIn(origin, 'Tester'))}` });
const list = async (origin: string): Promise<Task[]> =>
	(await fetch(`${origin}/api/tasks`, { headers: SIGNED_IN })).json() as Promise<Task[]>;
/** The socket's first answer: `connected`, or its connect error's message. */
function socketAnswer(origin: string, headers: Record<string, string>): Promise<string> {
	const socket = io(`${origin}/realtime`, {
		transports: ['websocket'],
		extraHeaders: headers,
		reconnection: false
	});
	return new Promise<string>((resolve) => {
		socket.once('connect', () => resolve('connected'));
		socket.once('connect_error', (error) => resolve(error.message));
	}).finally(() => socket.close());
}
const faults = (origin: string, body: object) =>
	fetch(`${origin}/api/admin/faults`, {
		method: 'POST',
		headers: { 'content-type': 'application/json' },
		body: JSON.stringify(body)
	}).then((response) => {
		if (!response.ok) throw new Error(`fault switch: HTTP ${response.status}`);
	});
/** Each page's checkboxes, by task title. */
const shown = (page: Page) =>
	page.$$eval('[role="log"] li', (rows) =>
		Object.fromEntries(
			rows.map((row) => [
				row.querySelector('label, .title, [data-title]')?.textContent?.trim() ??
					row.textContent?.trim(),
				(row.querySelector('input[type="checkbox"]') as HTMLInputElement | null)?.checked
			])
		)
	);
const doneByTitle = (tasks: Task[]) => Object.fromEntries(tasks.map((t) => [t.title, t.done]));
/** The row of a task, by title. */
const row = (page: Page, title: string) => page.locator('li', { has: box(page, title) });
/** The link of the transport switcher named `name`. */
const choice = (page: Page, name: string) =>
	page.getByRole('navigation', { name: 'Transport' }).getByRole('link', { name, exact: true });
/**
 * Counts a page's open event streams and WebSockets as Chromium's network log sees them: what the
 * page's code may have forgotten to close is counted too.
 */
async function connections(page: Page) {
	const cdp = await page.context().newCDPSession(page);
	const streams = new Set<string>();
	const sockets = new Set<string>();
	cdp.on('Network.requestWillBeSent', (event) => {
		if (event.type === 'EventSource') streams.add(event.requestId);
	});
	cdp.on('Network.loadingFinished', (event) => streams.delete(event.requestId));
	cdp.on('Network.loadingFailed', (event) => streams.delete(event.requestId));
	cdp.on('Network.webSocketCreated', (event) => sockets.add(event.requestId));
	cdp.on('Network.webSocketClosed', (event) => sockets.delete(event.requestId));
	await cdp.send('Network.enable');
	return () => ({ streams: streams.size, sockets: sockets.size });
}
/** Picks a transport in the switcher and waits for the page to show it as picked. */
async function pick(page: Page, name: string, how: 'click' | 'keyboard' = 'click') {
	if (how === 'click') await choice(page, name).click();
	else {
		await choice(page, name).focus();
		await page.keyboard.press('Enter');
	}
	await expect.poll(() => choice(page, name).getAttribute('aria-current')).toBe('page');
}
const byTitle = async (origin: string, title: string) =>
	(await list(origin)).find((task) => task.title === title)!;

describe('/activity on the production server', () => {
	it('renders the list on the server, then goes live over socket.io', async () => {
		const server = await demo();
		const html = await (await fetch(`${server.origin}/activity`, { headers: SIGNED_IN })).text();
		expect(html).toContain('Ship the release notes');
		expect((await fetch(`${server.origin}/activity`, { redirect: 'manual' })).status).toBe(303);
		// Signed out: the page sends the reader to the sign-in form, then back.
		const context = await browser.newContext();
		cleanups.push(() => context.close());
		const page = await context.newPage();
		await page.goto(`${server.origin}/activity`);
		expect(new URL(page.url()).pathname).toBe('/signin');
		await page.getByLabel('Name').fill('Ada');
		await page.getByRole('button', { name: 'Continue' }).click();
		await page.getByText('Signed in as Ada:', { exact: false }).waitFor();
		await live(page, 'socket.io');
		await expect.poll(() => page.getByRole('log').locator('li').count()).toBe(7);
	});

	it('the task API, its stream and the socket answer signed-in readers only', async () => {
		const server = await demo();
		const api = `${server.origin}/api/tasks`;
		const [first] = await list(server.origin);
		const patch = (headers: Record<string, string>) =>
			fetch(`${api}/${first!.id}`, {
				method: 'PATCH',
				headers: { 'content-type': 'application/json', ...headers },
				body: JSON.stringify({ done: !first!.done })
			});
		for (const response of [
			await fetch(api),
			await fetch(`${api}/stream`),
			await patch({}),
			await fetch(api, { headers: { cookie: 'demo_user=' } })
		]) {
			expect(response.status).toBe(401);
			expect(await response.json()).toEqual({ message: expect.stringContaining('Sign in') });
		}
		expect(await socketAnswer(server.origin, {})).toBe('Sign in first');
		// Refused changes changed nothing.
		expect((await list(server.origin))[0]).toEqual(first);

		expect((await patch(SIGNED_IN)).status).toBe(200);
		expect(await socketAnswer(server.origin, SIGNED_IN)).toBe('connected');
		const stream = await fetch(`${api}/stream`, { headers: SIGNED_IN });
		expect(stream.status).toBe(200);
		expect(stream.headers.get('content-type')).toContain('text/event-stream');
		await stream.body?.cancel();
	});

	it('S19 a toggle in one page appears in the other', async () => {
		const server = await demo();
		const [one, two] = [await openActivity(server.origin), await openActivity(server.origin)];
		await Promise.all([live(one, 'socket.io'), live(two, 'socket.io')]);
		expect(await box(two, 'Fix flaky screenshot test').isChecked()).toBe(false);
		await box(one, 'Fix flaky screenshot test').click();
		await expect.poll(() => box(two, 'Fix flaky screenshot test').isChecked()).toBe(true);
		const task = (await list(server.origin)).find((t) => t.title === 'Fix flaky screenshot test');
		expect(task).toMatchObject({ done: true, version: 2 });
	});

	it('S04 socket and stream broken: falls back to polling and says so; restored: back to socket.io, nothing lost', async () => {
		const server = await demo();
		const [one, two] = [await openActivity(server.origin), await openActivity(server.origin)];
		await Promise.all([live(one, 'socket.io'), live(two, 'socket.io')]);

		await faults(server.origin, { socket: true });
		await Promise.all([live(one, 'sse'), live(two, 'sse')]);
		await box(one, 'Ship the release notes').click(); // over HTTP, pushed by the stream
		await expect.poll(() => box(two, 'Ship the release notes').isChecked()).toBe(true);

		await faults(server.origin, { stream: true });
		await Promise.all([live(one, 'polling'), live(two, 'polling')]);
		await expect(one.locator('.srk-badge').textContent()).resolves.toContain('fallback');
		await box(two, 'Write the MSW scenario docs').click(); // over HTTP, seen by the next poll
		await expect
			.poll(() => box(one, 'Write the MSW scenario docs').isChecked(), { timeout: 10_000 })
			.toBe(true);

		await faults(server.origin, { socket: false, stream: false });
		await Promise.all([live(one, 'socket.io', 30_000), live(two, 'socket.io', 30_000)]);
		const expected = doneByTitle(await list(server.origin));
		for (const page of [one, two]) expect(await shown(page)).toEqual(expected);
	});

	it('S26 the server is killed with three pages open and toggles in flight; after a restart all converge, nothing applied twice', async () => {
		const database = tempDatabase();
		let server = await startDemo(database.path);
		cleanups.push(database.remove, () => server.kill());
		await signedIn(server.origin);
		const pages = [
			await openActivity(server.origin),
			await openActivity(server.origin),
			await openActivity(server.origin)
		];
		await Promise.all(pages.map((page) => live(page, 'socket.io')));
		const titles = (await list(server.origin)).map((t) => t.title);

		const before = doneByTitle(await list(server.origin));
		// Toggles of five rows from every page, not awaited, then SIGKILL while they are in flight.
		const inFlight = titles.slice(0, 5);
		// (Click events, not mouse clicks: two mouse clicks at once on one page would interleave.)
		const clicks = inFlight.map((title, i) => box(pages[i % 3]!, title).dispatchEvent('click'));
		await Promise.all(clicks.slice(0, 2));
		await server.kill('SIGKILL');
		await Promise.all(clicks);
		// Two more while the server is down: they wait for the connection to come back.
		const duringOutage = titles.slice(5);
		for (const [i, title] of duringOutage.entries()) await box(pages[i % 3]!, title).click();
		const port = Number(new URL(server.origin).port);
		server = await startDemo(database.path, port);

		await Promise.all(pages.map((page) => live(page, 'socket.io', 40_000)));
		// The toggles made during the outage reach the database.
		let tasks: Task[] = [];
		await expect
			.poll(
				async () => {
					tasks = await list(server.origin);
					return duringOutage.map((title) => doneByTitle(tasks)[title] !== before[title]);
				},
				{ timeout: 15_000 }
			)
			.toEqual(duringOutage.map(() => true));
		const expected = doneByTitle(tasks);
		for (const page of pages) {
			await expect.poll(() => shown(page), { timeout: 15_000 }).toEqual(expected);
		}
		// A toggle in flight at the kill is either in the database or shown as not saved, with a
		// retry button, on the page that made it: never silently lost.
		// (An ack lost with the server can also leave an applied toggle marked not saved: its outcome
		// was unknown to the page.)
		let rolledBack = 0;
		let unknown = 0;
		for (const [i, title] of inFlight.entries()) {
			const page = pages[i % 3]!;
			const status = await page
				.locator('li', { has: box(page, title) })
				.getAttribute('data-status');
			if (expected[title] !== before[title]) {
				if (status === 'failed') unknown++;
				continue;
			}
			rolledBack++;
			expect(status, `${title}: not applied, so it must be shown as not saved`).toBe('failed');
		}

		// Every version bump is one mutation id, applied once.
		const db = new Database(database.path, { readonly: true });
		const mutations = (db.prepare('SELECT count(*) AS n FROM mutations').get() as { n: number }).n;
		db.close();
		const bumps = tasks.reduce((sum, task) => sum + task.version - 1, 0);
		expect(bumps).toBe(mutations);
		console.log(
			`S26: ${inFlight.length} toggles in flight at SIGKILL: ${inFlight.length - rolledBack} applied (${unknown} of them marked not saved, their ack lost), ${rolledBack} not applied and shown as not saved; ${duringOutage.length} made during the outage: all applied after the restart; ${mutations} mutations = ${bumps} version bumps; 3 pages converged`
		);
	});

	it('the switcher: a page forced to polling and one forced to SSE both see a change made in a third, with who made it', async () => {
		const server = await demo();
		const html = await (
			await fetch(`${server.origin}/activity?transport=sse`, { headers: SIGNED_IN })
		).text();
		// Before hydration the badge says what is coming, not "idle".
		expect(html).toMatch(/class="srk-badge[^"]*"[^>]*data-status="connecting"/);
		const polled = await openActivity(server.origin, 'Polly', '?transport=polling');
		const streamed = await openActivity(server.origin, 'Sid', '?transport=sse');
		const third = await openActivity(server.origin, 'Ada');
		await Promise.all([live(polled, 'polling'), live(streamed, 'sse'), live(third, 'socket.io')]);
		// Each page's switcher marks its own choice, and only that one.
		for (const [page, name] of [
			[polled, 'Polling'],
			[streamed, 'SSE'],
			[third, 'Automatic']
		] as const) {
			await expect(choice(page, name).getAttribute('aria-current')).resolves.toBe('page');
			expect(await page.locator('nav a[aria-current]').count()).toBe(1);
			// Each choice says what it costs (the link's description).
			const described = await choice(page, 'Polling').getAttribute('aria-describedby');
			await expect(page.locator(`#${described}`).textContent()).resolves.toMatch(
				/20 requests a minute/
			);
		}

		const title = 'Fix flaky screenshot test';
		expect(await box(polled, title).isChecked()).toBe(false);
		await box(third, title).click();
		await expect.poll(() => box(streamed, title).isChecked()).toBe(true);
		await expect.poll(() => box(polled, title).isChecked(), { timeout: 10_000 }).toBe(true);
		for (const page of [polled, streamed, third]) {
			await expect.poll(() => row(page, title).textContent()).toContain('Ada');
			// A forced transport is the one in use, never a fallback.
			await expect(page.locator('.srk-badge').getAttribute('data-degraded')).resolves.toBeNull();
		}
		expect(await byTitle(server.origin, title)).toMatchObject({ done: true, actor: 'Ada' });
		// Forced pages stayed on their transport.
		await live(polled, 'polling', 1000);
		await live(streamed, 'sse', 1000);
	});

	it('every change is recorded as the signed-in name, over every transport, and shown beside its row', async () => {
		const server = await demo();
		const watcher = await openActivity(server.origin, 'Watcher', '?transport=sse');
		await live(watcher, 'sse');
		const cases = [
			{
				name: 'Sock Et',
				query: '?transport=socket.io',
				kind: 'socket.io',
				title: 'Ship the release notes'
			},
			{ name: 'Sid', query: '?transport=sse', kind: 'sse', title: 'Review the reconnect policy' },
			{
				name: 'Polly',
				query: '?transport=polling',
				kind: 'polling',
				title: 'Fix flaky screenshot test'
			},
			{ name: 'Otto', query: '', kind: 'socket.io', title: 'Translate the badge labels' }
		];
		for (const { name, query, kind, title } of cases) {
			const page = await openActivity(server.origin, name, query);
			await live(page, kind);
			const before = await byTitle(server.origin, title);
			expect(before.actor).not.toBe(name);
			await box(page, title).click();
			await expect
				.poll(() => byTitle(server.origin, title), { timeout: 10_000 })
				.toMatchObject({ actor: name, done: !before.done, version: before.version + 1 });
			await expect.poll(() => row(page, title).textContent()).toContain(name);
			await expect.poll(() => row(watcher, title).textContent()).toContain(name);
		}
		// A request cannot name someone else: the actor is the session's.
		const task = await byTitle(server.origin, 'Write the MSW scenario docs');
		const response = await fetch(`${server.origin}/api/tasks/${task.id}`, {
			method: 'PATCH',
			headers: { 'content-type': 'application/json', ...SIGNED_IN },
			body: JSON.stringify({ done: !task.done, actor: 'Mallory' })
		});
		expect(response.status).toBe(200);
		expect(await response.json()).toMatchObject({ actor: 'Tester' });
	});

	it('the switcher changes the transport in place: one connection at a time, the choice in the URL', async () => {
		const server = await demo();
		const page = await openActivity(server.origin, 'Ada', '?transport=polling');
		const open = await connections(page);
		await live(page, 'polling');
		await pick(page, 'SSE');
		await live(page, 'sse');
		expect(new URL(page.url()).search).toBe('?transport=sse');
		await expect.poll(open).toEqual({ streams: 1, sockets: 0 });
		await pick(page, 'WebSocket');
		await live(page, 'socket.io');
		expect(new URL(page.url()).search).toBe('?transport=socket.io');
		await expect.poll(open).toEqual({ streams: 0, sockets: 1 });
		await pick(page, 'Automatic');
		await live(page, 'socket.io');
		expect(new URL(page.url()).search).toBe('');
		await expect.poll(open).toEqual({ streams: 0, sockets: 1 });
		// The switcher is reachable by keyboard.
		await pick(page, 'Polling', 'keyboard');
		await live(page, 'polling');
		expect(new URL(page.url()).search).toBe('?transport=polling');
		await expect.poll(open).toEqual({ streams: 0, sockets: 0 });
		// A toggle after all that still works, once.
		await box(page, 'Ship the release notes').click();
		await expect
			.poll(() => byTitle(server.origin, 'Ship the release notes'))
			.toMatchObject({ done: true, version: 2, actor: 'Ada' });

		const bad = await fetch(`${server.origin}/activity?transport=carrier-pigeon`, {
			headers: SIGNED_IN
		});
		expect(bad.status).toBe(400);
		expect(await bad.text()).toContain('Unknown transport');
		// Signed out, the choice survives the trip through the sign-in form.
		const response = await fetch(`${server.origin}/activity?transport=sse`, { redirect: 'manual' });
		expect(response.headers.get('location')).toBe('/signin?next=%2Factivity%3Ftransport%3Dsse');
	});

	it.each([
		['the automatic chain (socket.io)', '', 'socket.io', 'Socket.IO'],
		['SSE', '?transport=sse', 'sse', 'SSE']
	])(
		'two tabs of one browser over %s: one connection, one leader and one follower, the same list, and a toggle in the follower lands',
		async (_name, query, kind, label) => {
			const server = await demo();
			const context = await browser.newContext();
			cleanups.push(() => context.close());
			await context.addCookies([
				{ name: 'demo_user', value: await signIn(server.origin, 'Ada'), url: server.origin }
			]);
			/** A tab of this browser, its connections counted from before it loads. */
			const openTab = async () => {
				const page = await context.newPage();
				const open = await connections(page);
				await page.goto(`${server.origin}/activity${query}`);
				return { page, open };
			};
			const one = await openTab();
			await live(one.page, kind);
			const two = await openTab();
			await live(two.page, kind);
			const badge = (page: Page) => page.locator('.srk-badge');
			const sharing = (page: Page) => page.locator('.sharing');
			// The first tab leads and says for how many (it counts the tabs every 2 s); the second
			// gets the connection through the first.
			const counted = { timeout: 10_000 };
			await expect
				.poll(() => badge(one.page).getAttribute('title'), counted)
				.toBe(`${label} · live · shared · shared by 2 tabs`);
			await expect
				.poll(() => badge(two.page).getAttribute('title'), counted)
				.toBe(`${label} · live · shared · through another tab`);
			await expect(badge(two.page).textContent()).resolves.toContain('through another tab');
			await expect
				.poll(() => sharing(one.page).textContent(), counted)
				.toBe('This tab holds the connection that 2 tabs of this browser share.');
			await expect
				.poll(() => sharing(two.page).textContent(), counted)
				.toBe('Updates come through another tab: 2 tabs of this browser share one connection.');
			// One connection for the two tabs, held by the first.
			const held = kind === 'sse' ? { streams: 1, sockets: 0 } : { streams: 0, sockets: 1 };
			await expect.poll(one.open).toEqual(held);
			await expect.poll(two.open).toEqual({ streams: 0, sockets: 0 });
			// The same list in both, the server's.
			const expected = doneByTitle(await list(server.origin));
			for (const { page } of [one, two]) await expect.poll(() => shown(page)).toEqual(expected);

			// A toggle in the follower: through the leader's socket, or its own PATCH over SSE.
			const title = 'Fix flaky screenshot test';
			const before = await byTitle(server.origin, title);
			await box(two.page, title).click();
			await expect
				.poll(() => byTitle(server.origin, title))
				.toMatchObject({ done: !before.done, version: before.version + 1, actor: 'Ada' });
			for (const { page } of [one, two])
				await expect.poll(() => box(page, title).isChecked()).toBe(!before.done);
			await expect.poll(() => row(two.page, title).getAttribute('data-status')).toBe('settled');
			expect(doneByTitle(await list(server.origin))).toEqual({
				...expected,
				[title]: !before.done
			});
			// Still one connection.
			await expect.poll(one.open).toEqual(held);
			await expect.poll(two.open).toEqual({ streams: 0, sockets: 0 });

			// The leading tab closes: the other one takes the connection over and keeps the list.
			await one.page.close();
			await expect
				.poll(() => badge(two.page).getAttribute('title'), { timeout: 15_000 })
				.toBe(`${label} · live · shared · no other tab yet`);
			await expect.poll(two.open, { timeout: 15_000 }).toEqual(held);
			await expect.poll(() => shown(two.page)).toEqual(doneByTitle(await list(server.origin)));
		}
	);

	it('the page, its switcher and the sign-in form have no axe violations, wide and narrow', async () => {
		const server = await demo();
		const page = await openActivity(server.origin, 'Ada', '?transport=sse');
		await live(page, 'sse');
		const violations = async () =>
			(await new AxeBuilder({ page }).analyze()).violations.map(
				(v) => `${v.id}: ${v.nodes.map((node) => node.target.join(' ')).join(', ')}`
			);
		for (const width of [1280, 375]) {
			await page.setViewportSize({ width, height: 800 });
			expect(await violations(), `/activity at ${width} px`).toEqual([]);
		}
		await page.goto(`${server.origin}/signin`);
		expect(await violations(), '/signin').toEqual([]);
	});
});
