/**
 * The identity console in a real browser: Debian's Chromium, headless, driven by puppeteer-core
 * (no browser download) against the local server with the demo story in. An operator enters the
 * key, looks Albert up by email and sees his identifiers, experiment id, account and one variation
 * per flag across all his identifiers; an unknown person; a wrong key and a client key, in plain
 * words. The page must run under its Content-Security-Policy without a single violation, and the
 * server must never log the key. Screenshots go to test-artifacts/ (git-ignored).
 *
 * Without Chromium at /usr/bin/chromium (or CHROMIUM_PATH), say on a laptop, these tests are
 * SKIPPED, and the reason is printed. CI never skips them: .ci/run installs Chromium, and with
 * CI=true a missing browser fails the run instead.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type Browser, type HTTPRequest, launch, type Page } from 'puppeteer-core';
import { decide } from '../../scripts/demo/client';
import { type DemoResult, runDemo } from '../../scripts/demo/run-demo';
import { ALBERT, ALBERT_IDENTIFIERS } from '../../scripts/demo/story';
import {
  LOCAL_ADMIN_API_KEY,
  LOCAL_API_KEY,
  LOCAL_SEGMENT_SECRET,
  LOCAL_SEGMENT_TOKEN,
  SAMPLE_DATAFILE,
} from '../../scripts/local/local-stack';
import { keyFingerprint } from '../../src/platform/http/auth';
import { startTestApp, type TestApp } from '../support/app';
import { createTestTable, type TestTable } from '../support/dynamodb';
import { startTestOptimizely, type TestOptimizely } from '../support/optimizely';

const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const HAVE_CHROMIUM = existsSync(CHROMIUM);
const MUST_RUN = process.env.CI === 'true';
if (!HAVE_CHROMIUM && !MUST_RUN) {
  process.stderr.write(
    `console-browser.test.ts: SKIPPED, no Chromium at ${CHROMIUM}: install it (apt-get install chromium) or set CHROMIUM_PATH to run the console's browser tests\n`,
  );
}
const inBrowser = HAVE_CHROMIUM || MUST_RUN ? describe : describe.skip;

const ARTIFACTS = resolve(import.meta.dirname, '..', '..', 'test-artifacts');
const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/**
 * The browser globals that the functions run in the page use. This program is typed for Node (no DOM
 * library), so those functions reach them through `globalThis`, with this shape.
 */
interface InPage {
  document: {
    addEventListener(
      type: 'securitypolicyviolation',
      listener: (event: { violatedDirective: string; blockedURI: string }) => void,
    ): void;
    getElementById(id: string): { value: string } | null;
    querySelectorAll(selector: string): { length: number };
    body: { setAttribute(name: string, value: string): void };
    cookie: string;
  };
  sessionStorage: object;
  localStorage: { length: number };
  __violations?: string[];
}

let table: TestTable | undefined;
let optimizely: TestOptimizely | undefined;
let app: TestApp | undefined;
let browser: Browser | undefined;
let page: Page | undefined;
let profileDir: string | undefined;
let demo: DemoResult | undefined;

/** The server's log lines (the handlers run in this process and write JSON lines to stdout/stderr). */
const serverLines: string[] = [];
const writes = { stdout: process.stdout.write, stderr: process.stderr.write };
function captureServerLogs(stream: NodeJS.WriteStream, original: typeof process.stdout.write) {
  stream.write = ((chunk: string | Uint8Array, ...rest: never[]) => {
    const text = String(chunk);
    if (text.startsWith('{"level"')) {
      serverLines.push(text);
      return true;
    }
    return original.call(stream, chunk, ...rest);
  }) as typeof stream.write;
}

/** What the browser saw go wrong besides CSP violations (those the page records itself). */
const consoleErrors: string[] = [];
const pageErrors: string[] = [];
/** Bytes on the wire per URL of the console (compressed size plus headers). */
const transferred = new Map<string, number>();

async function setUp(): Promise<void> {
  if (!HAVE_CHROMIUM)
    throw new Error(`CI must run the browser tests, but there is no Chromium at ${CHROMIUM}`);
  mkdirSync(ARTIFACTS, { recursive: true });
  captureServerLogs(process.stdout, writes.stdout);
  captureServerLogs(process.stderr, writes.stderr);
  [table, optimizely] = await Promise.all([createTestTable('console'), startTestOptimizely()]);
  app = await startTestApp({
    TABLE_NAME: table.tableName,
    LOG_LEVEL: 'info',
    API_KEYS: LOCAL_API_KEY,
    ADMIN_API_KEYS: LOCAL_ADMIN_API_KEY,
    SEGMENT_SHARED_SECRET: LOCAL_SEGMENT_SECRET,
    SEGMENT_WEBHOOK_TOKEN: LOCAL_SEGMENT_TOKEN,
    OPTIMIZELY_SDK_KEY: 'local-sample',
    OPTIMIZELY_DATAFILE: SAMPLE_DATAFILE,
    OPTIMIZELY_EVENT_ENDPOINT: optimizely.eventEndpoint,
    OPTIMIZELY_DATAFILE_URL_TEMPLATE: optimizely.datafileUrlTemplate,
    ACCOUNT_BUCKETED_FLAGS: 'team_dashboard',
    // Sticky bucketing on, as `npm start` has it: looking at someone must not save anything.
    USER_PROFILE_SERVICE: 'dynamodb',
  });
  demo = await runDemo({
    url: app.url,
    apiKey: LOCAL_API_KEY,
    segmentSecret: LOCAL_SEGMENT_SECRET,
    segmentToken: LOCAL_SEGMENT_TOKEN,
  });
  profileDir = mkdtempSync(join(tmpdir(), 'crosswalk-chromium-'));
  browser = await launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      `--user-data-dir=${profileDir}`,
    ],
  });
  page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 900 });
  // Installed before any page script: reports every violation of the page's CSP.
  await page.evaluateOnNewDocument(() => {
    const inPage = globalThis as unknown as InPage;
    const seen: string[] = [];
    inPage.__violations = seen;
    inPage.document.addEventListener('securitypolicyviolation', (event) => {
      seen.push(`${event.violatedDirective} ${event.blockedURI}`);
    });
  });
  page.on('console', (message) => {
    if (message.type() === 'error') consoleErrors.push(message.text());
  });
  page.on('pageerror', (error) => pageErrors.push(String(error)));
  const cdp = await page.createCDPSession();
  await cdp.send('Network.enable');
  const urls = new Map<string, string>();
  cdp.on('Network.responseReceived', (event) => urls.set(event.requestId, event.response.url));
  cdp.on('Network.loadingFinished', (event) => {
    const url = urls.get(event.requestId);
    if (url?.includes('/console')) transferred.set(url, event.encodedDataLength);
  });
}

/** Tolerates a setUp that failed half-way: closes whatever was started, always. */
async function tearDown(): Promise<void> {
  try {
    if (transferred.size > 0) {
      const total = [...transferred.values()].reduce((a, b) => a + b, 0);
      writeFileSync(
        join(ARTIFACTS, 'console-transfer.txt'),
        `${[...transferred].map(([url, bytes]) => `${bytes}\t${new URL(url).pathname}`).join('\n')}\n${total}\ttotal\n`,
      );
    }
    // Decision events leave after the answers: let the server finish them before checking.
    await app?.server.idle();
    optimizely?.assertNoPersonalData();
  } finally {
    await browser?.close().catch(() => undefined);
    await app?.close();
    await optimizely?.close();
    await table?.drop();
    if (profileDir) rmSync(profileDir, { recursive: true, force: true });
    process.stdout.write = writes.stdout;
    process.stderr.write = writes.stderr;
  }
}

const text = (selector: string) => page!.$eval(selector, (node) => node.textContent?.trim() ?? '');
const texts = (selector: string) =>
  page!.$$eval(selector, (nodes) => nodes.map((node) => node.textContent?.trim() ?? ''));

async function useKey(key: string): Promise<void> {
  if (await page!.$eval('#key-set', (node) => !node.hidden)) await page!.click('#key-forget');
  await page!.type('#key-input', key);
  await page!.click('#key-use');
  await page!.waitForSelector('#key-set:not([hidden])');
}

async function lookUp(type: string, value: string): Promise<void> {
  await page!.select('#type', type);
  await page!.$eval('#value', (node) => {
    node.value = '';
  });
  await page!.type('#value', value);
  await page!.click('#lookup');
}

const screenshot = (name: string) =>
  page!.screenshot({ path: join(ARTIFACTS, `${name}.png`) as `${string}.png`, fullPage: true });

inBrowser('identity console in Chromium', () => {
  beforeAll(setUp, 60_000);
  afterAll(tearDown);

  it('serves the page with the strict CSP, no caching, no sniffing and no referrer, assets too', async () => {
    const responses = new Map<string, Record<string, string>>();
    page!.on('response', (response) => responses.set(new URL(response.url()).pathname, response.headers()));
    const response = await page!.goto(`${app!.url}/console`, { waitUntil: 'networkidle0' });
    expect(response!.status()).toBe(200);
    expect(await page!.title()).toBe('Crosswalk · identity console');
    for (const path of ['/console', '/console/app.js', '/console/app.css']) {
      expect({ path, headers: responses.get(path) }).toEqual({
        path,
        headers: expect.objectContaining({
          'content-security-policy': CSP,
          'cache-control': 'no-store',
          'x-content-type-options': 'nosniff',
          'referrer-policy': 'no-referrer',
          'content-encoding': 'gzip',
        }),
      });
    }
    // The three files a visit costs, as the browser received them (gzipped), with their headers.
    const total = [...transferred.values()].reduce((a, b) => a + b, 0);
    expect(transferred.size).toBe(3);
    expect(total).toBeLessThan(16 * 1024);
  });

  it('asks for the operator key once and keeps it in this tab’s sessionStorage only', async () => {
    expect(await page!.$eval('#lookup', (node) => node.disabled)).toBe(true);
    await useKey(LOCAL_ADMIN_API_KEY);
    const stored = await page!.evaluate(() => {
      const inPage = globalThis as unknown as InPage;
      return {
        session: Object.entries(inPage.sessionStorage),
        local: inPage.localStorage.length,
        cookies: inPage.document.cookie,
        input: inPage.document.getElementById('key-input')?.value,
      };
    });
    expect(stored).toEqual({
      session: [['crosswalk.operatorKey', LOCAL_ADMIN_API_KEY]],
      local: 0,
      cookies: '',
      input: '',
    });
    expect(page!.url()).toBe(`${app!.url}/console`);
  });

  it('looks Albert up by email: identifiers, experiment id and how it was chosen, account acme primary', async () => {
    await lookUp('email', ALBERT.email);
    await page!.waitForSelector('#decisions');
    // Nothing about him in the address bar or history.
    expect(page!.url()).toBe(`${app!.url}/console`);
    const rows = await page!.$$eval('#identifiers tbody tr', (trs) =>
      trs.map((tr) => [...tr.querySelectorAll('td')].slice(0, 2).map((td) => td.textContent)),
    );
    expect(rows.map(([type, value]) => `${type}:${value}`).sort()).toEqual(
      ALBERT_IDENTIFIERS.map(([type, value]) => `${type}:${value}`).sort(),
    );
    expect(await texts('#identifiers tbody tr td:nth-child(3)')).toEqual(
      rows.map(() => expect.stringMatching(/^\d{4}-\d\d-\d\dT/)),
    );
    expect(await text('#canonical-id')).toBe(ALBERT.webAnonymousId);
    expect(await text('#canonical-from')).toMatch(/anonymous_id identifier by rule earliest-identifier/);
    expect(await text('#user-id')).toBe(ALBERT.userId);
    expect(
      await page!.$$eval('[data-account]', (nodes) => nodes.map((n) => n.getAttribute('data-account'))),
    ).toEqual(['acme']);
    expect(await text('[data-account="acme"] .badge.primary')).toBe('primary');
    expect(await text('[data-account="acme"] .traits')).toContain('Acme Inc');
    expect(await texts('#audiences li')).toEqual(['high_value_customers']);
    // The graph: five identifiers into one profile, out to one primary account.
    expect(await page!.$$eval('#graph .identifier', (n) => n.length)).toBe(5);
    expect(await page!.$$eval('#graph .profile', (n) => n.length)).toBe(1);
    expect(await page!.$$eval('#graph .account.primary', (n) => n.length)).toBe(1);
    expect(await page!.$$eval('#graph .edge', (n) => n.length)).toBe(6);
    await screenshot('console-albert');
  });

  it('decides every flag through each of his identifiers: the same variation everywhere', async () => {
    const columns = await page!.$$eval('#decisions thead th[data-column]', (ths) =>
      ths.map((th) => th.getAttribute('data-column')),
    );
    expect(columns[0]).toBe(`email: ${ALBERT.email}`);
    expect([...columns].sort()).toEqual(
      ALBERT_IDENTIFIERS.map(([type, value]) => `${type}: ${value}`).sort(),
    );
    const table = await page!.$$eval('#decisions tbody tr', (trs) =>
      trs.map((tr) => ({
        flag: tr.getAttribute('data-flag'),
        variations: [...tr.querySelectorAll('td.variation')].map((td) => td.getAttribute('data-variation')),
        bucketing: tr.querySelector('td.bucketing')?.textContent,
        agreement: tr.querySelector('td.agreement')?.textContent,
        reasons: tr.querySelectorAll('.reasons li').length,
      })),
    );
    // Every flag of the project, as the demo decided them.
    expect(table.map((row) => row.flag)).toEqual([...demo!.rows.keys()]);
    for (const row of table) {
      expect(row.variations).toHaveLength(5);
      expect(new Set(row.variations).size).toBe(1);
      expect(row.variations[0] || '(none)').toBe(demo!.rows.get(row.flag!)![0]);
      expect(row.agreement).toBe('✓ same');
      expect(row.reasons).toBeGreaterThan(0);
      // team_dashboard is account-bucketed (ACCOUNT_BUCKETED_FLAGS); the others bucket on the person.
      expect(row.bucketing).toBe(
        row.flag === 'team_dashboard' ? 'account acme' : `person ${ALBERT.webAnonymousId}`,
      );
    }
    expect(await text('#agreement')).toBe('✓ The same variation of every flag through all 5 identifiers.');
    expect(await page!.$$eval('.differs', (n) => n.length)).toBe(0);
  });

  it('drops and adds a column when an identifier is unticked and ticked again', async () => {
    const box = `[data-compare="ios.id: ${ALBERT.iosDeviceId}"]`;
    await page!.click(box);
    await page!.waitForFunction(
      () =>
        (globalThis as unknown as InPage).document.querySelectorAll('#decisions th[data-column]').length ===
        4,
    );
    await page!.click(box);
    await page!.waitForFunction(
      () =>
        (globalThis as unknown as InPage).document.querySelectorAll('#decisions th[data-column]').length ===
        5,
    );
    expect(await text('#agreement')).toMatch(/^✓ The same variation/);
  });

  it('marks a flag that differs across identifiers, clearly', async () => {
    // No profile can be made to disagree with itself, so one column's answer is altered on its way.
    await page!.setRequestInterception(true);
    const alter = async (request: HTTPRequest) => {
      if (!request.url().includes('/v1/decide') || !request.postData()?.includes('ios.id')) {
        await request.continue();
        return;
      }
      const real = await fetch(request.url(), {
        method: 'POST',
        headers: request.headers(),
        body: request.postData() ?? '',
      });
      const decisions = (await real.json()) as { flagKey: string; variationKey: string }[];
      for (const d of decisions) if (d.flagKey === 'checkout_redesign') d.variationKey = 'altered';
      await request.respond({
        status: 200,
        contentType: 'application/json',
        body: JSON.stringify(decisions),
      });
    };
    page!.on('request', alter);
    try {
      await lookUp('email', ALBERT.email);
      await page!.waitForSelector('#decisions');
      expect(await text('#agreement')).toBe('✗ 1 flag(s) differ across these identifiers.');
      expect(
        await page!.$$eval('#decisions tr.differs', (trs) => trs.map((tr) => tr.getAttribute('data-flag'))),
      ).toEqual(['checkout_redesign']);
      expect(await text('tr[data-flag="checkout_redesign"] td.agreement')).toBe('✗ differs');
      await screenshot('console-differs');
    } finally {
      page!.off('request', alter);
      await page!.setRequestInterception(false);
    }
  });

  it('sends Optimizely no decision event for what the console shows', () => {
    expect(optimizely!.optimizely.batches).toEqual([]);
  });

  it('says plainly that an unknown person is unknown, and what Crosswalk would decide on', async () => {
    const email = 'nobody-yet@example.com';
    await lookUp('email', email);
    await page!.waitForSelector('#would-decide-on');
    expect(await text('#unknown')).toContain(`Crosswalk knows nobody by email: ${email} (404)`);
    const direct = await decide<{ identity: { canonicalId: string; source: string } }[]>(
      { url: app!.url, apiKey: LOCAL_ADMIN_API_KEY },
      { identifiers: { email }, decideOptions: ['READ_ONLY'] },
    );
    const wouldDecideOn = await text('#would-decide-on');
    expect(wouldDecideOn).toMatch(/^cw1_[A-Za-z0-9_-]{27}$/);
    expect(wouldDecideOn).toBe(direct.body[0]!.identity.canonicalId);
    // Looking is read-only: the mistyped or unknown person got no saved profile from the console.
    const saved = await table!.client.send(
      new GetItemCommand({
        TableName: table!.tableName,
        Key: { pk: { S: `UPS#local-sample#${wouldDecideOn}` }, sk: { S: 'UPS' } },
      }),
    );
    expect(saved.Item).toBeUndefined();
    expect(await text('#identity-source')).toBe('request');
    expect(await page!.$$eval('#decisions tbody tr', (n) => n.length)).toBe(demo!.rows.size);
    expect(await page!.content()).not.toContain('Albert');
    await screenshot('console-unknown');
  });

  it('says plainly when the key is wrong', async () => {
    await useKey('not-a-key-of-this-deployment');
    await lookUp('email', ALBERT.email);
    await page!.waitForSelector('#status.error');
    expect(await text('#status')).toMatch(/^The key was refused \(401\): it is not a key of this deployment/);
    expect(await page!.$('#decisions')).toBeNull();
  });

  it('says plainly that a client key is not an operator key, and shows nothing of the person', async () => {
    await useKey(LOCAL_API_KEY);
    await lookUp('email', ALBERT.email);
    await page!.waitForSelector('#status.error');
    expect(await text('#status')).toMatch(/^This key is not an operator key \(403\)/);
    expect(await page!.$('#identifiers')).toBeNull();
    expect(await page!.content()).not.toContain(ALBERT.webAnonymousId);
    await screenshot('console-client-key');
  });

  it('runs without a CSP violation or a script error; the CSP is enforced all the same', async () => {
    expect(await page!.evaluate(() => (globalThis as unknown as InPage).__violations ?? [])).toEqual([]);
    expect(pageErrors).toEqual([]);
    // Chrome reports each 4xx answer as a console error; those were the point of the tests above.
    expect(consoleErrors.filter((e) => !/^Failed to load resource: .* status of 40[134]/.test(e))).toEqual(
      [],
    );
    // A control: an inline style is refused, and the refusal is seen.
    await page!.evaluate(() =>
      (globalThis as unknown as InPage).document.body.setAttribute('style', 'background: red'),
    );
    await page!.waitForFunction(() => ((globalThis as unknown as InPage).__violations ?? []).length > 0);
    expect(await page!.evaluate(() => (globalThis as unknown as InPage).__violations)).toEqual([
      expect.stringMatching(/^style-src/),
    ]);
  });

  it('never logs a key: the server’s log lines show key fingerprints only', () => {
    const reads = serverLines
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((line) => line.message === 'profile read');
    // Albert twice and the unknown person once, through the body route; refused keys read nothing.
    expect(reads).toEqual(
      [ALBERT.email, ALBERT.email, 'nobody-yet@example.com'].map(() =>
        expect.objectContaining({
          route: 'POST /v1/identities/lookup',
          identifierType: 'email',
          // An HMAC keyed with the deployment's secret, never the key's plain SHA-256 prefix.
          key: keyFingerprint(app!.config.EXPERIMENT_ID_SECRET, LOCAL_ADMIN_API_KEY),
        }),
      ),
    );
    const unsalted = createHash('sha256').update(LOCAL_ADMIN_API_KEY).digest('hex').slice(0, 12);
    expect(serverLines.filter((line) => line.includes(unsalted))).toEqual([]);
    for (const key of [LOCAL_ADMIN_API_KEY, LOCAL_API_KEY, 'not-a-key-of-this-deployment'])
      expect(serverLines.filter((line) => line.includes(key))).toEqual([]);
    expect(serverLines.filter((line) => line.includes(ALBERT.email))).toEqual([]);
  });
});
