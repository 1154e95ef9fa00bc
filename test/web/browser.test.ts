/**
 * The owner's page in a real browser (playwright-core driving Debian's /usr/bin/chromium, headless), on a
 * 360 px wide phone viewport: Alice pairs, sees only her recordings, plays, flags and deletes one, switches
 * local-only (and `earshot status` shows it), withdraws consent, downloads her bundle (only her recordings);
 * then Bob's browser cannot reach any of Alice's URLs. Fails, never skips, when Chromium cannot start.
 * Screenshots of the main pages are kept in test-artifacts/owner-page/.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPairingLink } from '../../src/web/index.js';
import { readTar } from '../export/tar-read.js';
import { runEarshot } from '../helpers/cli.js';
import { recordingIds, world, type World } from './helpers.js';

export const CHROMIUM = process.env['EARSHOT_CHROMIUM'] ?? '/usr/bin/chromium';
const ARTIFACTS = path.resolve(__dirname, '../../test-artifacts/owner-page');
const PHONE = { viewport: { width: 360, height: 740 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true, acceptDownloads: true };

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // Playwright gives every launch a fresh temporary profile (--user-data-dir) and removes it on close.
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

async function pairIn(context: BrowserContext, w: World, ownerId: string): Promise<Page> {
  const { link } = await createPairingLink(w.backend, { baseUrl: w.base, ownerId, clock: w.clock, source: 'owner-cli' });
  const page = await context.newPage();
  page.on('dialog', (d) => void d.accept());
  await page.goto(link);
  await page.waitForSelector('body[data-ready="true"]');
  expect(page.url()).toBe(`${w.base}/`); // the code left the address bar
  return page;
}

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
}

const cardIds = (page: Page) => page.$$eval('li[data-recording]', (els) => els.map((e) => e.getAttribute('data-recording')));

describe('owner page in Chromium (360 px phone)', () => {
  let w: World;
  let browser: Browser;
  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    browser = await launchChromium();
    w = await world({ recordings: 3 });
  });
  afterAll(async () => {
    await browser?.close();
    await w?.close();
  });

  it("Alice's whole visit, then Bob cannot reach any of Alice's URLs", async () => {
    const aliceCtx = await browser.newContext(PHONE);
    const page = await pairIn(aliceCtx, w, w.alice);
    await expect.poll(() => page.textContent('#who')).toBe('Signed in as Alice Example');

    // Only Alice's recordings, newest first.
    expect(await cardIds(page)).toEqual([...w.aliceRecordings].reverse());
    const html = await page.content();
    for (const id of w.bobRecordings) expect(html).not.toContain(id);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(360);
    await shot(page, 'recordings');

    // Play: the audio element loads the decrypted WAV and reports its duration (1 s of 16 kHz audio).
    const [newest, middle, oldest] = [...w.aliceRecordings].reverse() as [string, string, string];
    await page.click(`li[data-recording="${newest}"] >> role=button[name="Play"]`);
    const duration = await page.waitForFunction(() => {
      const a = document.querySelector('audio');
      return a && a.readyState >= 1 && Number.isFinite(a.duration) ? a.duration : null;
    });
    expect(await duration.jsonValue()).toBeCloseTo(1.0, 2);
    expect((await w.app.auditLog({ ownerId: w.alice })).filter((e) => e.type === 'recording.played')).toHaveLength(1);

    // Flag one as a false wake, delete another.
    await page.check(`li[data-recording="${middle}"] >> role=checkbox[name*="Not meant for the speaker"]`);
    await expect.poll(() => page.textContent('#status')).toContain('Marked as not meant');
    expect((await w.app.listRecordings(w.alice)).find((r) => r.id === middle)!.falseWake).toBe(true);
    await page.click(`li[data-recording="${oldest}"] >> role=button[name="Delete"]`);
    await expect.poll(() => cardIds(page)).toEqual([newest, middle]);
    expect(await recordingIds(w, w.alice)).not.toContain(oldest);

    // Privacy, by keyboard: the section's heading takes the focus.
    await page.focus('#nav a[data-section="privacy"]');
    await page.keyboard.press('Enter');
    await page.waitForSelector('#privacy:not([hidden]) #local-only');
    await expect.poll(() => page.evaluate(() => document.activeElement?.id)).toBe('privacy-h');
    await page.check('#local-only');
    await expect.poll(() => page.textContent('#status')).toContain('Local-only mode is on');
    const status = await runEarshot(['status', '--json', '--data-dir', w.dir, '--config', w.configFile]);
    expect(status.err).toBe('');
    expect(status.code).toBe(0);
    expect(JSON.parse(status.out).privacy.localOnly).toBe(true);

    await page.click('role=button[name="I agree: Cloud processing"]');
    await page.waitForSelector('role=button[name="Withdraw consent: Cloud processing"]');
    await shot(page, 'privacy');
    await page.click('role=button[name="Withdraw consent: Cloud processing"]');
    await page.waitForSelector('role=button[name="I agree: Cloud processing"]');
    expect((await w.app.consentOf(w.alice)).history.map((e) => [e.action, e.source])).toEqual([
      ['grant', 'owner-page'],
      ['revoke', 'owner-page'],
    ]);

    // My data: the bundle holds exactly Alice's remaining recordings.
    await page.click('#nav a[data-section="data"]');
    await shot(page, 'my-data');
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('role=button[name="Download my data"]')]);
    expect(download.suggestedFilename()).toMatch(/^earshot-export-\d{4}-\d\d-\d\d\.tar$/);
    const tar = readTar(readFileSync((await download.path())!));
    const manifest = JSON.parse([...tar].find(([n]) => n.endsWith('manifest.json'))![1].toString());
    expect(manifest.owner.id).toBe(w.alice);
    expect(manifest.recordings.map((r: { id: string }) => r.id).sort()).toEqual([newest, middle].sort());
    expect([...tar.keys()].filter((n) => n.endsWith('.wav'))).toHaveLength(2);

    for (const s of ['activity', 'speaker', 'sessions']) {
      await page.click(`#nav a[data-section="${s}"]`);
      await page.waitForSelector(`#${s}:not([hidden])`);
      await page.waitForLoadState('networkidle');
      await shot(page, s);
    }
    expect(await page.textContent('#activity-list')).toContain('A recording was played');
    expect(await page.textContent('#activity-list')).toContain('A recording was marked as not meant for the speaker (from this page)');
    expect(await page.textContent('#speaker-facts')).toContain('Local-only for you');

    // Keyboard and screen reader basics: every control has a name, the page has one h1 and section headings.
    const unnamed = await page.evaluate(() => {
      const bad: string[] = [];
      for (const i of document.querySelectorAll('input')) if (i.labels?.length === 0 && !i.getAttribute('aria-label')) bad.push(`input#${i.id}`);
      for (const b of document.querySelectorAll('button')) if (!b.textContent?.trim() && !b.getAttribute('aria-label')) bad.push(`button#${b.id}`);
      return bad;
    });
    expect(unnamed).toEqual([]);
    expect(await page.$$eval('h1', (h) => h.length)).toBe(1);
    // Focus order from a fresh load: skip link, then the sections, then the first recording's controls.
    const kb = await aliceCtx.newPage();
    await kb.goto(`${w.base}/`);
    await kb.waitForSelector('body[data-ready="true"]');
    const order: string[] = [];
    for (let i = 0; i < 9; i++) {
      await kb.keyboard.press('Tab');
      order.push(await kb.evaluate(() => document.activeElement?.textContent?.trim() || document.activeElement?.getAttribute('aria-label') || document.activeElement?.id || ''));
    }
    expect(order).toEqual(['Skip to content', 'Recordings', 'Privacy', 'My data', 'Activity', 'Speaker', 'Browsers', 'Play', 'Delete']);

    // Bob, in his own browser: his recordings only, and none of Alice's URLs answer.
    const bobCtx = await browser.newContext(PHONE);
    const bob = await pairIn(bobCtx, w, w.bob);
    expect(await cardIds(bob)).toEqual([...w.bobRecordings].reverse());
    for (const id of [newest, middle]) {
      const r = await bob.goto(`${w.base}/api/recordings/${id}/audio`);
      expect(r!.status()).toBe(404);
    }
    await bob.goto(`${w.base}/`);
    await bob.waitForSelector('body[data-ready="true"]');
    const tried = await bob.evaluate(async (ids) => {
      const csrf = (await (await fetch('/api/session')).json()).csrf as string;
      const post = (url: string, body: unknown) =>
        fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf }, body: JSON.stringify(body) }).then((r) => r.status);
      return [await post(`/api/recordings/${ids[0]}/false-wake`, { on: false }), await post('/api/recordings/delete', { ids }), await post(`/api/sessions/${ids[2]}/revoke`, {})];
    }, [newest, middle, (await w.app.listSessions(w.alice))[0]!.ref]);
    expect(tried).toEqual([404, 404, 404]);
    expect(await recordingIds(w, w.alice)).toHaveLength(2);

    // A browser that never paired sees the pairing explanation and nothing else.
    const strangerCtx = await browser.newContext(PHONE);
    const stranger = await strangerCtx.newPage();
    await stranger.goto(`${w.base}/`);
    await stranger.waitForSelector('#unpaired:not([hidden])');
    expect(await stranger.$$eval('li[data-recording]', (e) => e.length)).toBe(0);
    await shot(stranger, 'not-paired');
    await Promise.all([aliceCtx.close(), bobCtx.close(), strangerCtx.close()]);
  });
});
