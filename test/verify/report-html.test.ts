import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, type TestDatabase } from '../support/database.ts';
import { generateVbzcart, type VbzcartFixture } from '../../mappings/vbzcart-ord-pull/fixture.ts';
import mapping from '../../mappings/vbzcart-ord-pull/index.ts';
import { migrate } from '../../src/run/migrate.ts';
import { verify } from '../../src/run/verify-run.ts';
import { renderHtml } from '../../src/verify/report-html.ts';
import type { Report } from '../../src/verify/report-model.ts';

/**
 * report.html rendered by a real browser, as the person signing the migration off sees it. Needs Debian's `chromium`
 * package; without it the test is skipped on a workstation and fails in CI (CI is set).
 */
const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const haveChromium = existsSync(chromiumPath);
const inCi = Boolean(process.env.CI);
const missing = `no Chromium at ${chromiumPath}: install Debian's chromium package (apt-get install -y chromium) or set CHROMIUM_PATH`;
if (!haveChromium && !inCi) console.warn(`test/verify/report-html.test.ts is skipped: ${missing}.`);

const shots = join(import.meta.dirname, '../../test-output/report-html');
const green = 'rgb(26, 127, 55)';
const red = 'rgb(207, 34, 46)';

let t: TestDatabase;
let work: string;
let fixture: VbzcartFixture;
let edited: number;
let browser: Browser;
let page: Page;
/** Every URL the page asked for: a self-contained report asks for nothing but itself. */
let requests: string[];
let dialogs: string[];

describe.skipIf(!haveChromium && !inCi)('report.html in headless Chromium', () => {
  beforeAll(async () => {
    if (!haveChromium) throw new Error(`CI must install Chromium for this test: ${missing}.`);
    await mkdir(shots, { recursive: true });
    t = await freshDatabase('report_html');
    work = await mkdtemp(join(tmpdir(), 'es-html-'));
    fixture = await generateVbzcart(t.db, { seed: 2718, pulls: 400 });
    const backupDir = join(work, 'backups');
    const migrated = await migrate({ databaseUrl: t.url, mapping, backupDir, reportDir: join(work, 'pass') });
    expect(migrated.status).toBe('completed');
    edited = fixture.eventIds.holdOn.first + 7;
    await t.db.execute("UPDATE event_vc_ord_hold SET Notes = 'changed by hand' WHERE ID_Event = ?", [edited]);
    const failed = await verify({ databaseUrl: t.url, mapping, backupDir, reportDir: join(work, 'fail') });
    expect(failed.verification.ok).toBe(false);

    browser = await chromium.launch({
      executablePath: chromiumPath,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    requests = [];
    dialogs = [];
    page.on('request', (r) => requests.push(r.url()));
    page.on('dialog', async (d) => {
      dialogs.push(d.message());
      await d.dismiss();
    });
  });
  afterAll(async () => {
    await browser?.close();
    await t?.drop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  const open = async (file: string) => {
    requests.length = 0;
    await page.goto(pathToFileURL(file).href);
  };

  it('shows a green PASS at the top and the ID-space picture of every target table', async () => {
    await open(join(work, 'pass', 'report.html'));
    const verdict = page.locator('#verdict');
    await expect.poll(() => verdict.isVisible()).toBe(true);
    expect((await verdict.locator('.big').innerText()).trim()).toBe('PASS');
    expect(await verdict.evaluate((e) => getComputedStyle(e).backgroundColor)).toBe(green);
    const box = (await verdict.boundingBox())!;
    expect(box.y).toBeLessThan(60);
    expect(box.height).toBeGreaterThan(80);

    const pictures = page.locator('svg.idspace');
    expect(await pictures.count()).toBe(3);
    const event = pictures.first();
    await event.scrollIntoViewIfNeeded();
    expect(await event.isVisible()).toBe(true);
    expect((await event.boundingBox())!.width).toBeGreaterThan(600);
    // The existing events: a low block and a high block, with the free gap between them, labelled.
    expect(await event.locator('rect.run').count()).toBe(2);
    expect(await event.locator('rect.run').first().isVisible()).toBe(true);
    expect(
      await event.locator('text', { hasText: `${fixture.eventIds.existingLow.first}..${fixture.eventIds.existingLow.last}` }).isVisible(),
    ).toBe(true);
    expect(await event.locator('text.free').first().isVisible()).toBe(true);
    // The two reserved ranges and AUTO_INCREMENT, with their labels.
    expect(await event.locator('rect.reserved').count()).toBe(2);
    for (const step of ['holdOn', 'holdOff']) expect(await event.locator('text', { hasText: step }).first().isVisible()).toBe(true);
    expect(await event.locator('text.marker', { hasText: `AUTO_INCREMENT ${fixture.eventIds.nextAutoIncrement}` }).isVisible()).toBe(true);
    expect(await event.locator('text.tick').count()).toBeGreaterThan(3);

    await page.screenshot({ path: join(shots, 'pass.png'), fullPage: true });
    await event.screenshot({ path: join(shots, 'pass-event-id-space.png') });
    expect(requests.every((url) => url.startsWith('file:'))).toBe(true);
  });

  it('shows a red FAIL and the key of the row changed by hand', async () => {
    await open(join(work, 'fail', 'report.html'));
    const verdict = page.locator('#verdict');
    expect((await verdict.locator('.big').innerText()).trim()).toBe('FAIL');
    expect(await verdict.evaluate((e) => getComputedStyle(e).backgroundColor)).toBe(red);
    const key = page.locator('tr.failed ul.failing code.key', { hasText: String(edited) });
    expect(await key.count()).toBe(1);
    await key.scrollIntoViewIfNeeded();
    expect(await key.isVisible()).toBe(true);
    expect(await page.locator('#checks tr.failed').first().innerText()).toContain(
      `${edited} (legacy ${edited - 1500}): differs from its legacy row`,
    );
    await page.screenshot({ path: join(shots, 'fail.png'), fullPage: true });
    expect(requests.every((url) => url.startsWith('file:'))).toBe(true);
  });

  it('shows text from the database as text: markup in legacy data never becomes markup', async () => {
    const report = JSON.parse(await readFile(join(work, 'fail', 'report.json'), 'utf8')) as Report;
    const nasty = `</td></table><script>alert("x")</script><img src=x onerror="alert('y')"> & "quoted" 'single' &amp;`;
    report.dataProblems.push({
      name: 'nasty<b>',
      description: `notes like ${nasty}`,
      severity: 'warning',
      count: 1,
      keys: ['<k>&1'],
      moreKeys: false,
      consequence: nasty,
      example: `orders 1: '${nasty}'`,
      seenIn: [],
    });
    const shown = { form: 'text' as const, value: nasty, cut: false, bytes: null };
    report.checks[0]!.failures.push({
      key: '<i>k</i>',
      legacyKey: '"&"',
      reason: nasty,
      values: [{ column: '<u>c</u>', expected: shown, found: { ...shown, cut: true, bytes: 9999 } }],
    });
    report.idSpace[0]!.reserved[0]!.step = '<svg onload=alert(1)>';
    const file = join(work, 'nasty.html');
    await writeFile(file, renderHtml(report));
    await open(file);
    expect(await page.locator('script, img, i, svg svg').count()).toBe(0);
    expect(await page.locator('#problems').innerText()).toContain(`notes like ${nasty}`);
    expect(await page.locator('#problems').innerText()).toContain('<k>&1');
    expect(await page.locator('#checks').innerText()).toContain(`<i>k</i> (legacy "&"): ${nasty}`);
    // Expected and found values are text too, whatever they hold.
    expect(await page.locator('u').count()).toBe(0);
    expect(await page.locator('#checks table.values').last().innerText()).toContain(`<u>c</u>\t${JSON.stringify(nasty)}`);
    expect(dialogs).toEqual([]);
  });
});
