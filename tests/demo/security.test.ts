// The demo's sign-in: where it may send a reader back to (`next`), the signed session cookie and
// sign-out. The pure checks with generated input first, then the built app on its server.
import fc from 'fast-check';
import { createHmac } from 'node:crypto';
import { chromium, type Browser } from 'playwright';
import { io } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureChromium } from '../../scripts/chromium.js';
import {
	DEFAULT_NEXT,
	SESSION_SECONDS,
	safeNext,
	sessionUser,
	signSession,
	verifySession
} from '../../src/demo/shared.js';
import {
	TEST_SECRET,
	signIn,
	signInResponse,
	startDemo,
	tempDatabase,
	type DemoServer
} from './server.js';

// This process signs with the servers' key, so that a cookie made here is one they accept.
process.env.DEMO_SECRET = TEST_SECRET;

const RUNS = Number(process.env.FUZZ_RUNS ?? 2000);
const ORIGIN = 'http://demo.test';

/** Pieces that open redirects are made of: slashes, backslashes, their encodings, schemes... */
const hostilePiece = fc.constantFrom(
	'/',
	'//',
	'\\',
	'%5C',
	'%5c',
	'%2F',
	'%2f',
	'%252F',
	'%255C',
	'\t',
	'\n',
	'\r',
	'\u0000',
	'%09',
	'%0A',
	'%00',
	' ',
	'\u00a0',
	'\u3000',
	'\u2028',
	'\u0085',
	'\ufeff',
	'@',
	':',
	'.',
	'..',
	'?',
	'#',
	'%',
	'evil.example',
	'evil.example:80',
	'user:pass@evil.example',
	'http:',
	'https:',
	'HTTPS:',
	'javascript:',
	'data:',
	'file:',
	'activity',
	'\uff0f',
	'\u2215'
);
/** Dot segments before a second slash: resolved, `/.//host` and `/a/..//host` are `//host`. */
const dotSegments = fc
	.tuple(
		fc.array(fc.constantFrom('.', '..', '%2e', '%2E', '%2e%2e', '.%2e', 'a', 'activity'), {
			minLength: 1,
			maxLength: 3
		}),
		fc.constantFrom('//', '///', '/\\', '/%2F', '/%5C'),
		fc.constantFrom('evil.example', 'evil.example/activity', 'user@evil.example')
	)
	.map(([segments, slashes, host]) => `/${segments.join('/')}${slashes}${host}`);
const hostile = fc.oneof(
	fc.array(hostilePiece, { minLength: 1, maxLength: 8 }).map((pieces) => pieces.join('')),
	dotSegments,
	fc.string({ unit: 'binary', maxLength: 20 }),
	fc.webUrl({ withQueryParameters: true, withFragments: true })
);

/**
 * What Chromium does with a Location header: resolve it against the page's URL (the WHATWG URL
 * parser, which Node implements too).
 */
const landsOn = (location: string, origin = ORIGIN) => new URL(location, `${origin}/signin`);

describe('safeNext', () => {
	it('the open redirect of the report: /\\evil.example, raw or encoded, stays on the site', () => {
		for (const next of [
			'/\\evil.example',
			'/%5Cevil.example',
			'/%5cevil.example',
			'\\/evil.example',
			'/.//evil.example',
			'/..//evil.example',
			'/a/..//evil.example',
			'/%2e//evil.example',
			'/x/%2e%2e//evil.example'
		])
			expect(safeNext(next)).toBe(DEFAULT_NEXT);
	});

	it('any generated value leads to a path of this site, with no backslash or control character', () => {
		fc.assert(
			fc.property(hostile, (next) => {
				const result = safeNext(next);
				expect(result).toMatch(/^\/(?![/\\])/);
				// eslint-disable-next-line no-control-regex -- control characters are what it looks for
				expect(result).not.toMatch(/[\\\u0000-\u001f\u007f-\u009f]/);
				expect(landsOn(result).origin).toBe(ORIGIN);
				// Read a second time (a proxy or an app that decodes again): still this site.
				expect(landsOn(decodeURIComponent(result)).origin).toBe(ORIGIN);
				// Never a page of another origin, whatever was given.
				const target = landsOn(result);
				expect(target.username + target.password).toBe('');
			}),
			{ numRuns: RUNS }
		);
	});

	it('a plain path of this site is kept as given', () => {
		const segment = fc.stringMatching(/^[A-Za-z0-9_~-]{1,12}$/);
		const path = fc
			.tuple(
				fc.array(segment, { minLength: 1, maxLength: 4 }),
				fc.option(fc.constantFrom('sse', 'polling', 'socket.io'), { nil: undefined })
			)
			.map(
				([segments, transport]) =>
					`/${segments.join('/')}${transport ? `?transport=${transport}` : ''}`
			);
		fc.assert(
			fc.property(path, (next) => {
				expect(safeNext(next)).toBe(next);
			}),
			{ numRuns: RUNS }
		);
		expect(safeNext('/activity?transport=sse#top')).toBe('/activity?transport=sse#top');
		expect(safeNext(null)).toBe(DEFAULT_NEXT);
		expect(safeNext('')).toBe(DEFAULT_NEXT);
	});
});

describe('the session cookie', () => {
	const name = fc.string({ minLength: 1, maxLength: 60 }).filter((n) => n.trim() !== '');

	it('a cookie this server signed reads back as its name, until it expires', () => {
		fc.assert(
			fc.property(name, fc.integer({ min: 0, max: 2 ** 40 }), (user, now) => {
				const cookie = signSession(user, now);
				expect(verifySession(cookie, now)).toBe(user);
				expect(verifySession(cookie, now + (SESSION_SECONDS - 1) * 1000)).toBe(user);
				expect(verifySession(cookie, now + SESSION_SECONDS * 1000)).toBeUndefined();
				const fresh = encodeURIComponent(signSession(user));
				expect(sessionUser(`a=b; demo_user=${fresh}; c=d`)).toBe(user);
			}),
			{ numRuns: RUNS }
		);
	});

	it('any change to a signed cookie makes it no user', () => {
		const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=/+ ';
		fc.assert(
			fc.property(
				name,
				fc.nat(),
				fc.constantFrom(...alphabet),
				fc.constantFrom('replace', 'insert', 'delete'),
				(user, at, char, how) => {
					const cookie = signSession(user);
					const i = at % cookie.length;
					const changed =
						how === 'replace'
							? cookie.slice(0, i) + char + cookie.slice(i + 1)
							: how === 'insert'
								? cookie.slice(0, i) + char + cookie.slice(i)
								: cookie.slice(0, i) + cookie.slice(i + 1);
					fc.pre(changed !== cookie);
					expect(verifySession(changed)).toBeUndefined();
				}
			),
			{ numRuns: RUNS }
		);
	});

	it('a bare name, another name under a valid signature, a signature spelt otherwise or made with another key is no user', () => {
		const original = signSession('Ada');
		const [encodedAda, expires, signature] = original.split('.');
		const eve = Buffer.from('Eve').toString('base64url');
		for (const forged of [
			'Ada',
			'',
			`${eve}.${expires}.${signature}`,
			`${eve}.${expires}`,
			`${eve}.99999999999.${signature}`,
			`${eve}.${expires}.${'A'.repeat(43)}`
		])
			expect(verifySession(forged), forged).toBeUndefined();
		// The same signature bytes spelt differently: its last character carries two unused bits.
		const b64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
		const last = b64.indexOf(signature!.at(-1)!);
		const respelt = `${signature!.slice(0, -1)}${b64[last ^ 1]}`;
		expect(Buffer.from(respelt, 'base64url')).toEqual(Buffer.from(signature!, 'base64url'));
		expect(verifySession(original)).toBe('Ada');
		const otherKey = createHmac('sha256', 'another key')
			.update(`${encodedAda}.${expires}`)
			.digest('base64url');
		expect(verifySession(`${encodedAda}.${expires}.${otherKey}`)).toBeUndefined();
		expect(verifySession(`${encodedAda}.${expires}.${respelt}`)).toBeUndefined();
		expect(sessionUser('demo_user=Ada')).toBeUndefined();
		expect(sessionUser('demo_user=%E0%A4%A')).toBeUndefined();
	});
});

describe('sign-in and sign-out on the production server', () => {
	let server: DemoServer;
	let browser: Browser;
	const database = tempDatabase();
	beforeAll(async () => {
		server = await startDemo(database.path);
		browser = await chromium.launch({
			executablePath: ensureChromium(),
			args: ['--no-sandbox', '--disable-gpu']
		});
	});
	afterAll(async () => {
		await browser?.close();
		await server?.kill();
		database.remove();
	});

	const api = (cookie?: string) =>
		fetch(`${server.origin}/api/tasks`, {
			headers: cookie === undefined ? {} : { cookie: `demo_user=${cookie}` }
		}).then((response) => response.status);
	function socketAnswer(cookie: string) {
		const socket = io(`${server.origin}/realtime`, {
			transports: ['websocket'],
			extraHeaders: { cookie: `demo_user=${cookie}` },
			reconnection: false
		});
		return new Promise<string>((resolve) => {
			socket.once('connect', () => resolve('connected'));
			socket.once('connect_error', (error) => resolve(error.message));
		}).finally(() => socket.close());
	}

	it('/signin?next=/%5Cevil.example, in Chromium, ends on this site', async () => {
		const context = await browser.newContext();
		try {
			const page = await context.newPage();
			await page.goto(`${server.origin}/signin?next=/%5Cevil.example`);
			await page.getByLabel('Name').fill('Ada');
			await page.getByRole('button', { name: 'Continue' }).click();
			await page.waitForURL((url) => url.pathname !== '/signin');
			expect(new URL(page.url()).origin).toBe(server.origin);
			expect(new URL(page.url()).pathname).toBe('/activity');
		} finally {
			await context.close();
		}
	});

	it('a generated set of hostile next values: every answer redirects to this site', async () => {
		const samples = fc.sample(hostile, { numRuns: 200, seed: 17 });
		const fixed = [
			'/\\evil.example',
			'//evil.example',
			'/%5Cevil.example',
			'/\t/evil.example',
			'/.//evil.example',
			'/a/..//evil.example'
		];
		for (const next of [...fixed, ...samples]) {
			const response = await signInResponse(server.origin, 'Ada', next);
			expect(response.status, next).toBe(303);
			const location = response.headers.get('location')!;
			expect(landsOn(location, server.origin).origin, JSON.stringify(next)).toBe(server.origin);
			expect(location).toBe(safeNext(next));
		}
		// What stays on the site is kept.
		const kept = await signInResponse(server.origin, 'Ada', '/activity?transport=polling');
		expect(kept.headers.get('location')).toBe('/activity?transport=polling');
	});

	it('the cookie is signed: a forged or tampered one is no user for the page, the API and the socket', async () => {
		const cookie = await signIn(server.origin, 'Ada');
		expect(cookie).not.toBe('Ada');
		// Out of scripts' reach, not sent by other sites' posts, and kept over plain http (Secure
		// would make browsers drop it on a LAN address).
		const header = (await signInResponse(server.origin, 'Ada')).headers.get('set-cookie')!;
		expect(header).toMatch(/; HttpOnly/i);
		expect(header).toMatch(/; SameSite=Lax/i);
		expect(header).not.toMatch(/; Secure/i);
		expect(await api(cookie)).toBe(200);
		expect(await socketAnswer(cookie)).toBe('connected');

		const [encoded, expires, signature] = cookie.split('.');
		const flipped = signature!.replace(/^./, (c) => (c === 'A' ? 'B' : 'A'));
		const eve = Buffer.from('Eve').toString('base64url');
		for (const forged of [
			'Ada',
			`${encoded}.${expires}.${flipped}`,
			`${eve}.${expires}.${signature}`
		]) {
			expect(await api(forged), forged).toBe(401);
			expect(await socketAnswer(forged), forged).toBe('Sign in first');
			const page = await fetch(`${server.origin}/activity`, {
				headers: { cookie: `demo_user=${forged}` },
				redirect: 'manual'
			});
			expect(page.status, forged).toBe(303);
			expect(page.headers.get('location')).toMatch(/^\/signin\?next=/);
		}
		expect(await api()).toBe(401);
	});

	it('sign-out: a POST form clears the cookie and the pages and the API need a sign-in again', async () => {
		const context = await browser.newContext();
		try {
			const page = await context.newPage();
			await page.goto(`${server.origin}/signin`);
			await page.getByLabel('Name').fill('Grace');
			await page.getByRole('button', { name: 'Continue' }).click();
			// Landed on the page (its load event waits for every subresource, which a loaded machine
			// can hold back past the test's patience; the button below proves the page is there).
			await page.waitForURL(`${server.origin}/activity`, { waitUntil: 'commit' });
			const button = page.getByRole('button', { name: 'Sign out' });
			await button.waitFor();
			expect(await context.cookies()).toHaveLength(1);
			await expect(button.evaluate((b) => (b as HTMLButtonElement).form?.method)).resolves.toBe(
				'post'
			);
			await button.click();
			await page.waitForURL(`${server.origin}/signin`);
			expect(await context.cookies()).toEqual([]);
			await page.goto(`${server.origin}/activity`);
			expect(new URL(page.url()).pathname).toBe('/signin');
		} finally {
			await context.close();
		}
		// Only a POST signs out (a link or an image cannot), and only from this site.
		expect((await fetch(`${server.origin}/signout`, { redirect: 'manual' })).status).toBe(405);
		const foreign = await fetch(`${server.origin}/signout`, {
			method: 'POST',
			headers: {
				origin: 'http://evil.example',
				'content-type': 'application/x-www-form-urlencoded'
			},
			redirect: 'manual'
		});
		expect(foreign.status).toBe(403);
	});
});
