import { statSync } from 'node:fs';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { hostname, userInfo } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { TestDatabase } from '../support/database.ts';
import { testWorkspace } from '../support/workspace.ts';
import { runCli } from '../support/cli.ts';
import { generateVbzcart, type VbzcartFixture } from '../../mappings/vbzcart-ord-pull/fixture.ts';
import mapping from '../../mappings/vbzcart-ord-pull/index.ts';
import { migrate } from '../../src/run/migrate.ts';
import { verify } from '../../src/run/verify-run.ts';
import type { Report } from '../../src/verify/report-model.ts';
import type { ShownValue } from '../../src/verify/check-result.ts';
import { escapeXml } from '../../src/verify/escape-xml.ts';
import type { BackupManifest } from '../../src/backup/index.ts';
import { renameState } from '../../src/engine/cutover.ts';
import { preRunRowsChecksum, reservedRanges } from '../../src/engine/pre-run-rows.ts';
import { replayChecks } from '../../src/parts/replay-checks.ts';
import { connectAgain } from '../../src/db/row-stream.ts';

// A seed neither the mapping nor the other tests were written against.
const seed = 5150;
const ws = testWorkspace('verify');
let t: TestDatabase;
let backupDir: string;
let fixture: VbzcartFixture;

const readReport = async (dir: string) => JSON.parse(await readFile(join(dir, 'report.json'), 'utf8')) as Report;
const readHtml = (dir: string) => readFile(join(dir, 'report.html'), 'utf8');
const check = (r: Report, id: string) => r.checks.find((c) => c.id === id)!;
const packageVersion = (JSON.parse(await readFile(join(import.meta.dirname, '../../package.json'), 'utf8')) as { version: string }).version;
/** A text value as the report shows it: whole, its length in utf8mb4 bytes; null as NULL. */
const shownText = (text: string | null): ShownValue =>
  text === null
    ? { form: 'null', value: null, cut: false, bytes: null }
    : { form: 'text', value: text, cut: false, bytes: Buffer.byteLength(text) };
const plain = (v: unknown): ShownValue => ({ form: 'plain', value: String(v), cut: false, bytes: null });
const failingKeys = (r: Report) => r.checks.filter((c) => !c.ok).flatMap((c) => c.failures.map((f) => f.key));

beforeAll(async () => {
  t = await ws.database('verify_report');
  backupDir = ws.path('backups');
  fixture = await generateVbzcart(t.db, { seed });
  const result = await migrate({ databaseUrl: t.url, mapping, backupDir, reportDir: ws.path('migrate-report') });
  expect(result.status).toBe('completed');
});

describe('verify and its report, on a seed-shaped database the tests never saw', () => {
  it('migrate wrote the report at its verify stage: json, md and html, verdict pass', async () => {
    expect((await readdir(ws.path('migrate-report'))).sort()).toEqual(['report.html', 'report.json', 'report.md']);
    const report = await readReport(ws.path('migrate-report'));
    expect(report.formatVersion).toBe(2);
    expect(report.verdict).toBe('pass');
    expect(report.timings.stages).toHaveProperty('write');
    // The sign-off header: written at the verify stage, so before the cutover.
    const h = report.header!;
    expect(h.eventshiftVersion).toBe(packageVersion);
    expect(h.mappingHash).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect([h.mapping, h.database, h.run.id]).toEqual(['vbzcart-ord-pull', t.name, 1]);
    expect(h.server).toMatch(/^.+:\d+ \(.+\)$/);
    expect(h.checksReadOn).toBeNull();
    expect(h.operator).toEqual({ osUser: userInfo().username, host: hostname(), databaseUser: expect.stringMatching(/^root@/) });
    expect(h.run.status).toBe('running');
    expect(h.run.finishedAt).toBeNull();
    expect(Date.parse(h.run.startedAt)).toBeLessThanOrEqual(Date.parse(h.generatedAt));
    expect(h.stages.map((s) => [s.stage, s.status])).toEqual([
      ['backup', 'done'],
      ['write', 'done'],
      ['verify', 'running'],
    ]);
    expect(h.stages[0]!.seconds).toBeGreaterThanOrEqual(0);
    expect(h.cutover).toEqual({ done: false, at: null });
    const md = await readFile(join(ws.path('migrate-report'), 'report.md'), 'utf8');
    expect(md).toContain(`| eventshift | ${packageVersion} |`);
    expect(md).toContain(`| mapping | vbzcart-ord-pull, \`${h.mappingHash}\` |`);
    expect(md).toContain('| cutover | not done |');
    // Amounts as a person reads them (report.json keeps numbers): counts with separators, durations as 1.5 s or m:ss.
    const [step] = report.steps;
    const [target] = step!.targets;
    expect([typeof step!.sourceRows, step!.sourceRows]).toEqual(['number', fixture.counts.pulls]);
    const count = (n: number) => n.toLocaleString('en-US');
    expect(count(step!.sourceRows)).toContain(',');
    expect(md).toContain(`| holdOn | ${count(step!.sourceRows)} | event | ${count(target!.expected)} | ${count(target!.written!)} |`);
    const duration = String.raw`(\d\.\d s|\d+:\d\d)`;
    expect(md).toMatch(new RegExp(`\\| stages \\| backup ${duration}, write ${duration}, verify running \\|`));
    expect(md).toMatch(new RegExp(`checks took ${duration}\\.`));
    const html = await readHtml(ws.path('migrate-report'));
    // Each check's seconds are a measurement column, to three decimals.
    expect(html).toMatch(/<td class="n">\d+\.\d{3}<\/td><\/tr>/);
    expect(html).toContain(`<tr><th>eventshift</th><td>${packageVersion}</td></tr>`);
    expect(html).toContain(`<code>${h.mappingHash}</code>`);
    expect(html).not.toContain('class="next"');
  });

  it('header: the same mapping hash in every report of the run, before and after its cutover', async () => {
    const migrated = (await readReport(ws.path('migrate-report'))).header!;
    const hashes = [];
    for (const dir of [ws.path('header-1'), ws.path('header-2')]) {
      await verify({ databaseUrl: t.url, mapping, backupDir, reportDir: dir });
      const h = (await readReport(dir)).header!;
      expect(h.cutover.done).toBe(true);
      expect(Date.parse(h.cutover.at!)).toBeGreaterThanOrEqual(Date.parse(h.run.startedAt));
      expect(h.run.status).toBe('completed');
      expect(h.run.finishedAt).not.toBeNull();
      expect(h.stages.map((s) => [s.stage, s.status])).toEqual([
        ['backup', 'done'],
        ['write', 'done'],
        ['verify', 'done'],
        ['cutover', 'done'],
      ]);
      expect(h.stages.every((s) => typeof s.seconds === 'number')).toBe(true);
      expect(await readFile(join(dir, 'report.md'), 'utf8')).toMatch(/\| cutover \| done \d{4}-/);
      hashes.push(h.mappingHash);
    }
    expect(hashes).toEqual([migrated.mappingHash, migrated.mappingHash]);
  });

  it('passes after cutover, and the report lists every planted data problem with its keys and nothing else', async () => {
    const dir = ws.path('pass');
    const r = await verify({ databaseUrl: t.url, mapping, backupDir, reportDir: dir });
    expect(r.verification.checks.filter((c) => !c.ok)).toEqual([]);
    expect(r.reportFiles.map((f) => f.slice(dir.length + 1)).sort()).toEqual(['report.html', 'report.json', 'report.md']);
    // They show legacy values: readable by their owner only, as the backups are.
    for (const file of r.reportFiles) expect((statSync(file).mode & 0o777).toString(8), file).toBe('600');
    const report = await readReport(dir);
    expect(report.verdict).toBe('pass');
    expect(report.summary.failed).toBe(0);

    const planted = Object.entries(fixture.problems).filter(([, keys]) => keys.length > 0);
    expect(report.dataProblems.map((p) => p.name).sort()).toEqual(planted.map(([name]) => name).sort());
    for (const [name, keys] of planted) {
      const found = report.dataProblems.find((p) => p.name === name)!;
      expect(found.keys.map(Number), name).toEqual([...keys].sort((a, b) => a - b));
      expect(found.count, name).toBe(keys.length);
    }

    // The replay disagrees exactly where the planted problems say it must, and nowhere else.
    const orphanOrders = (
      await t.db.query<{ o: number }>(
        `SELECT DISTINCT ID_Ord AS o FROM \`OLD ord_pull\` WHERE ID IN (${fixture.problems.orphanPull.join(', ')}) ORDER BY o`,
      )
    ).map((x) => Number(x.o));
    const explained = (id: string) =>
      check(report, id)
        .explained.map((e) => [Number(e.key), e.problem] as const)
        .sort((a, b) => a[0] - b[0]);
    expect(explained('orderHolds.orders.ID_Pull.replay')).toEqual(
      [
        ...fixture.problems.pointerToReleasedPull.map((k) => [k, 'pointerToReleasedPull'] as const),
        ...fixture.problems.danglingPullPointer.map((k) => [k, 'danglingPullPointer'] as const),
        ...orphanOrders.map((k) => [k, 'orphanPull'] as const),
      ].sort((a, b) => a[0] - b[0]),
    );
    expect(explained('orderHolds.orders.WhenHeld.replay')).toEqual(orphanOrders.map((k) => [k, 'orphanPull']));
    expect(check(report, 'orderHolds.unreleased pulls.replay').explainedCount).toBe(0);
    for (const key of fixture.problems.pointerToReleasedPull) {
      const reason = check(report, 'orderHolds.orders.ID_Pull.replay').explained.find((e) => Number(e.key) === key)!.reason;
      expect(reason).toMatch(/orders\.ID_Pull: names a released pull \(ID_Pull = \d+, released \d{4}-/);
    }
    const pointerProblem = report.dataProblems.find((p) => p.name === 'danglingPullPointer')!;
    expect(pointerProblem.seenIn.map((s) => s.check)).toEqual(['orderHolds.orders.ID_Pull.replay']);

    const html = await readHtml(dir);
    expect(html).toMatch(/<header id="verdict" class="verdict pass"[^>]*>\s*<div class="big">PASS<\/div>/);
    expect(html.match(/<svg class="idspace"/g)).toHaveLength(3);
    for (const [, keys] of planted) for (const key of keys) expect(html).toContain(String(key));
    expect(html).not.toMatch(/<script|<link|src="http|href="http|@import|url\(/i);
  });

  it("fails after one hold row's Notes is changed by hand: exit 1, and json and html name the row", async () => {
    const edited = fixture.eventIds.holdOn.first + 99;
    const [before] = await t.db.query<{ Notes: string | null }>('SELECT Notes FROM event_vc_ord_hold WHERE ID_Event = ?', [edited]);
    expect(before).toBeDefined();
    await t.db.execute(
      "UPDATE event_vc_ord_hold SET Notes = CONCAT(COALESCE(Notes, ''), ' <b>edited</b> & \"quoted\"') WHERE ID_Event = ?",
      [edited],
    );
    try {
      const dir = ws.path('notes');
      const cli = runCli(['verify', 'vbzcart-ord-pull', '--report', dir, '--backup-dir', backupDir, '--quiet'], {
        cwd: ws.dir,
        env: { DATABASE_URL: t.url },
      });
      expect(cli.code, cli.stderr).toBe(1);
      const report = await readReport(dir);
      expect(report.verdict).toBe('fail');
      const failed = report.checks.filter((c) => !c.ok).map((c) => c.id);
      expect(failed).toEqual(['holdOn.hold.content']);
      const found = `${before!.Notes ?? ''} <b>edited</b> & "quoted"`;
      const values = [{ column: 'Notes', expected: shownText(before!.Notes), found: shownText(found) }];
      expect(check(report, 'holdOn.hold.content').failures).toEqual([
        { key: String(edited), legacyKey: String(edited - 1500), reason: 'differs from its legacy row in column Notes', values },
      ]);
      const html = await readHtml(dir);
      // The expected and found values, escaped, in the failing row's table; the FAIL banner's next commands.
      const expectedHtml = before!.Notes === null ? 'NULL' : escapeXml(JSON.stringify(before!.Notes));
      const foundHtml = escapeXml(JSON.stringify(found));
      expect(html).toContain(`<tr><td><code>Notes</code></td><td class="mono">${expectedHtml}</td><td class="mono">${foundHtml}</td></tr>`);
      expect(html).not.toContain('<b>edited</b>');
      for (const command of ['verify', 'rollback', 'restore'])
        expect(html).toContain(`<li><code>eventshift ${command} vbzcart-ord-pull</code>`);
      const md = await readFile(join(dir, 'report.md'), 'utf8');
      expect(md).toContain('(Notes: expected ');
      expect(md).toContain(String.raw`\<b>edited\</b> & \\"quoted\\""`);
      for (const command of ['verify', 'rollback', 'restore']) expect(md).toContain(`- \`eventshift ${command} vbzcart-ord-pull\``);
      expect(html).toMatch(/<header id="verdict" class="verdict fail"[^>]*>\s*<div class="big">FAIL<\/div>/);
      expect(html).toContain(
        `<code class="key">${edited}</code> (legacy <code>${edited - 1500}</code>): differs from its legacy row in column Notes`,
      );
      expect(await readFile(join(dir, 'report.md'), 'utf8')).toContain(
        `${edited} (legacy ${edited - 1500}): differs from its legacy row in column Notes`,
      );
      // Its counts agree, so the found column says how many rows fail rather than repeat the count beside a FAIL.
      const content = check(report, 'holdOn.hold.content');
      expect(content.actual).toBe(content.expected);
      // Formatted here as a person writes the count, not by the code under test.
      const count = Number(content.expected).toLocaleString('en-US');
      const shown = `${count} (1 failing)`;
      expect(html).toContain(`<td>${count}</td><td>${shown}</td>`);
      expect(md).toMatch(new RegExp(`\\| ${count} \\| ${shown.replace(/[()]/g, '\\$&')} \\|`));
    } finally {
      await t.db.execute('UPDATE event_vc_ord_hold SET Notes = ? WHERE ID_Event = ?', [before!.Notes, edited]);
    }
  });

  it("fails after one event's WhenStart is changed by hand, naming that event", async () => {
    const edited = fixture.eventIds.holdOff.first + (await firstReleasedPull()) - 1;
    const [before] = await t.db.query<{ WhenStart: string }>('SELECT WhenStart FROM event WHERE ID = ?', [edited]);
    expect(before).toBeDefined();
    await t.db.execute('UPDATE event SET WhenStart = WhenStart + INTERVAL 1 SECOND WHERE ID = ?', [edited]);
    try {
      const dir = ws.path('when');
      const r = await verify({ databaseUrl: t.url, mapping, backupDir, reportDir: dir });
      expect(r.verification.ok).toBe(false);
      const report = await readReport(dir);
      expect(report.verdict).toBe('fail');
      expect(report.checks.filter((c) => !c.ok).map((c) => c.id)).toEqual(['holdOff.event.content']);
      expect(failingKeys(report)).toEqual([String(edited)]);
      expect(await readHtml(dir)).toContain(`<code class="key">${edited}</code>`);
    } finally {
      await t.db.execute('UPDATE event SET WhenStart = ? WHERE ID = ?', [before!.WhenStart, edited]);
    }
    expect((await verify({ databaseUrl: t.url, mapping, backupDir })).verification.ok).toBe(true);
  });

  it('the replay check names an order whose hold-off event was deleted', async () => {
    const explainedOrders = new Set([...fixture.problems.pointerToReleasedPull, ...fixture.problems.danglingPullPointer]);
    const [pick] = await t.db.query<{ pull: number; ord: number }>(
      `SELECT p.ID AS pull, p.ID_Ord AS ord FROM \`OLD ord_pull\` p JOIN orders o ON o.ID = p.ID_Ord
        WHERE DAYNAME(p.WhenFreed) IS NOT NULL AND p.ID_Ord NOT IN (${[...explainedOrders].join(', ')})
          AND NOT EXISTS (SELECT 1 FROM \`OLD ord_pull\` q WHERE q.ID_Ord = p.ID_Ord AND DAYNAME(q.WhenFreed) IS NULL)
        ORDER BY p.ID LIMIT 1`,
    );
    const order = Number(pick!.ord);
    const holdOff = fixture.eventIds.holdOff.first + Number(pick!.pull) - 1;
    await t.db.execute('DELETE FROM event_vc_ord_hold WHERE ID_Event = ?', [holdOff]);
    await t.db.execute('DELETE FROM event WHERE ID = ?', [holdOff]);

    const dir = ws.path('replay');
    const r = await verify({ databaseUrl: t.url, mapping, backupDir, reportDir: dir });
    expect(r.verification.ok).toBe(false);
    const report = await readReport(dir);
    for (const id of ['orderHolds.unreleased pulls.replay', 'orderHolds.orders.ID_Pull.replay', 'orderHolds.orders.WhenHeld.replay']) {
      const c = check(report, id);
      expect(c.ok, id).toBe(false);
      expect(
        c.failures.map((f) => f.key),
        id,
      ).toEqual([String(order)]);
    }
    expect(check(report, 'orderHolds.unreleased pulls.replay').failures[0]!.reason).toMatch(
      /^events: 1 active hold \(since \d{4}-.*\); unreleased pulls: no active hold \(\d+ pull\(s\), \d+ released\)$/,
    );
    expect(check(report, 'orderHolds.orders.ID_Pull.replay').failures[0]!.reason).toMatch(
      /^events: on hold \(since .*\); orders\.ID_Pull: not on hold \(ID_Pull is NULL\)$/,
    );
    // The planted pointer problems stay explained, not failures.
    expect(check(report, 'orderHolds.orders.ID_Pull.replay').explainedCount).toBeGreaterThanOrEqual(4);
    expect(await readHtml(dir)).toContain(`<code class="key">${order}</code>`);

    // Disagreements held and explained after the merge, or (more of them than may be held) explained in a second
    // merge with the problems' keys as sides: the same verdicts, lists and counts, however short the lists.
    const renames = await renameState(t.db, mapping);
    const replay = (limit: number, holdAtMost?: number) =>
      replayChecks({
        connectSide: () => connectAgain(t.db),
        mapping,
        renames,
        name: 'orderHolds',
        replay: mapping.replays!.orderHolds!,
        limit,
        holdAtMost,
      });
    for (const limit of [50, 2]) {
      const held = await replay(limit);
      expect(held.map((c) => [c.failureCount, c.failures.length > 0, c.explainedCount! > 0])).toEqual([
        [1, true, false],
        [1, true, true],
        [1, true, true],
      ]);
      expect(await replay(limit, 0)).toEqual(held);
      expect(await replay(limit, 3)).toEqual(held);
    }
  });

  it('the references check names a hold whose event was deleted (and says when the content checks prove it)', async () => {
    const before = await verify({ databaseUrl: t.url, mapping, backupDir });
    expect(before.verification.checks.find((c) => c.id === 'holdOn.hold.references')).toMatchObject({
      ok: true,
      actual: expect.stringMatching(/^implied by the content checks/),
    });
    const orphan = fixture.eventIds.holdOn.first + 10;
    await t.db.execute('DELETE FROM event WHERE ID = ?', [orphan]);
    const r = await verify({ databaseUrl: t.url, mapping, backupDir });
    const references = r.verification.checks.find((c) => c.id === 'holdOn.hold.references')!;
    expect(references.ok).toBe(false);
    expect(references.failures).toEqual([{ key: String(orphan), reason: 'no event row' }]);
    expect(r.verification.checks.find((c) => c.id === 'holdOn.event.content')!.failures.map((f) => f.key)).toEqual([String(orphan)]);
  });

  it('content checks name a row no legacy row maps to, a missing row, and every column that differs', async () => {
    // A pull ID inside the key range that no pull has: an event there is one no legacy row maps to.
    const [gap] = await t.db.query<{ id: number }>(
      'SELECT MIN(p.ID) + 1 AS id FROM `OLD ord_pull` AS p LEFT JOIN `OLD ord_pull` AS q ON q.ID = p.ID + 1 ' +
        'WHERE q.ID IS NULL AND p.ID < (SELECT MAX(ID) FROM `OLD ord_pull`)',
    );
    const extra = 1500 + Number(gap!.id);
    const [changed, lost] = (
      await t.db.query<{ id: number }>(
        'SELECT ID_Event AS id FROM event_vc_ord_hold WHERE ID_Event BETWEEN ? AND ? ORDER BY ID_Event LIMIT 2 OFFSET 20',
        [fixture.eventIds.holdOn.first, fixture.eventIds.holdOn.last],
      )
    ).map((r) => Number(r.id)) as [number, number];
    const [lostRow] = await t.db.query<Record<string, unknown>>('SELECT * FROM event_vc_ord_hold WHERE ID_Event = ?', [lost]);
    const [changedRow] = await t.db.query<{ ID_Order: number; Notes: string | null }>(
      'SELECT ID_Order, Notes FROM event_vc_ord_hold WHERE ID_Event = ?',
      [changed],
    );
    await t.db.execute("INSERT INTO event_vc_ord_hold (ID_Event, ID_Order, ID_Type, isRelease, Notes) VALUES (?, 1, 1, 0, 'planted')", [
      extra,
    ]);
    await t.db.execute(
      "UPDATE event_vc_ord_hold SET ID_Order = ID_Order + 1, Notes = CONCAT(COALESCE(Notes, ''), '.') WHERE ID_Event = ?",
      [changed],
    );
    await t.db.execute('DELETE FROM event_vc_ord_hold WHERE ID_Event = ?', [lost]);
    try {
      const r = await verify({ databaseUrl: t.url, mapping, backupDir });
      const content = r.verification.checks.find((c) => c.id === 'holdOn.hold.content')!;
      expect(content.ok).toBe(false);
      expect(content.failureCount).toBe(3);
      expect(content.failures).toEqual([
        {
          key: String(changed),
          legacyKey: String(changed - 1500),
          reason: 'differs from its legacy row in columns ID_Order, Notes',
          values: [
            { column: 'ID_Order', expected: plain(changedRow!.ID_Order), found: plain(Number(changedRow!.ID_Order) + 1) },
            { column: 'Notes', expected: shownText(changedRow!.Notes), found: shownText(`${changedRow!.Notes ?? ''}.`) },
          ],
        },
        { key: String(lost), legacyKey: String(lost - 1500), reason: 'missing' },
        { key: String(extra), reason: 'no legacy row maps to it' },
      ]);
      // The same number of rows: the count alone would not have told.
      expect(content.actual).toBe(content.expected);
      // Compared in pieces of about 40 pulls, each piece's rows counted on its own: the same verdict, failures and
      // counts, for every target of the step.
      const pieces = await verify({ databaseUrl: t.url, mapping, backupDir, pieceRows: 40 });
      const whole = (id: string) => r.verification.checks.find((c) => c.id === id)!;
      for (const id of [
        'holdOn.event.content',
        'holdOn.hold.content',
        'holdOn.legacy.content',
        'holdOff.event.content',
        'holdOff.hold.content',
      ]) {
        // Everything but the time and the number of pieces, which the method names.
        const { seconds: _, method, ...inPieces } = pieces.verification.checks.find((c) => c.id === id)!;
        const { seconds: __, method: ___, ...atOnce } = whole(id);
        expect(inPieces).toEqual(atOnce);
        expect(method).toMatch(/^compared row by row in \d+ pieces$/);
      }
      expect(Number(content.expected)).toBeGreaterThan(40 * 10);
    } finally {
      await t.db.execute('DELETE FROM event_vc_ord_hold WHERE ID_Event = ?', [extra]);
      await t.db.execute('UPDATE event_vc_ord_hold SET ID_Order = ?, Notes = ? WHERE ID_Event = ?', [
        changedRow!.ID_Order,
        changedRow!.Notes,
        changed,
      ]);
      await t.db.execute(
        `INSERT INTO event_vc_ord_hold (${Object.keys(lostRow!)
          .map((c) => `\`${c}\``)
          .join(', ')}) VALUES (${Object.keys(lostRow!)
          .map(() => '?')
          .join(', ')})`,
        Object.values(lostRow!),
      );
    }
    const after = await verify({ databaseUrl: t.url, mapping, backupDir });
    expect(after.verification.checks.find((c) => c.id === 'holdOn.hold.content')!.ok).toBe(true);
  });
});

async function firstReleasedPull(): Promise<number> {
  const [row] = await t.db.query<{ id: number }>('SELECT MIN(ID) AS id FROM `OLD ord_pull` WHERE DAYNAME(WhenFreed) IS NOT NULL');
  return Number(row!.id);
}

describe('migrate writes the report when verification fails', () => {
  let small: TestDatabase;
  beforeAll(async () => {
    small = await ws.database('verify_report_fail');
  });

  it('stops before cutover with status failed, and the report says FAIL and names the row', async () => {
    const f = await generateVbzcart(small.db, { seed: 808, pulls: 240 });
    const dir = ws.path('migrate-fail');
    const first = await migrate({ databaseUrl: small.url, mapping, backupDir, until: 'write' });
    expect(first.status).toBe('stopped');
    const edited = f.eventIds.holdOn.first + 4;
    await small.db.execute("UPDATE event_vc_ord_hold SET Notes = 'changed between write and verify' WHERE ID_Event = ?", [edited]);
    const second = await migrate({ databaseUrl: small.url, mapping, backupDir, reportDir: dir });
    expect(second.status).toBe('failed');
    expect(second.reportDir).toBe(dir);
    const report = await readReport(dir);
    expect(report.verdict).toBe('fail');
    expect(failingKeys(report)).toEqual([String(edited)]);
    expect(await readHtml(dir)).toContain('<div class="big">FAIL</div>');
    // Nothing old was renamed.
    expect(await small.db.query("SHOW TABLES LIKE 'ord_pull'")).toHaveLength(1);
  });
});

describe('the default report folder', () => {
  it('is reports/<database>/<mapping>-run-<id> under the working folder, printed as an absolute path', async () => {
    const one = await ws.database('verify_report_default');
    await generateVbzcart(one.db, { seed: 4242, pulls: 120 });
    const cwd = ws.path('cwd');
    await mkdir(cwd, { recursive: true });
    const cli = runCli(['migrate', 'vbzcart-ord-pull', '--yes', '--quiet', '--backup-dir', ws.path('default-backups')], {
      cwd,
      env: { DATABASE_URL: one.url },
    });
    expect(cli.code, cli.stderr).toBe(0);
    const dir = join(cwd, 'reports', one.name, 'vbzcart-ord-pull-run-1');
    expect(cli.stdout).toContain(`Report: ${dir}/report.html`);
    expect(existsSync(join(dir, 'report.json'))).toBe(true);
    expect((await readReport(dir)).header!.database).toBe(one.name);
  });
});

describe('a backup whose checksums predate recipes', () => {
  let old: TestDatabase;
  beforeAll(async () => {
    old = await ws.database('verify_md5_manifest');
  });

  it('is checked by its own recipe (md5): the rows that existed are unchanged, and a changed one is caught', async () => {
    await generateVbzcart(old.db, { seed: 909, pulls: 200 });
    const dir = ws.path('md5-backups');
    const run = await migrate({ databaseUrl: old.url, mapping, backupDir: dir, reportDir: join(dir, 'report') });
    expect(run.status).toBe('completed');
    // Rewrite the manifest as an older eventshift wrote it: md5 checksums of the same pre-run rows, no recipe field.
    const path = join(dir, run.backup!.id, 'manifest.json');
    const manifest = JSON.parse(await readFile(path, 'utf8')) as BackupManifest;
    const renames = await renameState(old.db, mapping);
    for (const entry of manifest.tables) {
      if (!entry.checksum) continue;
      const pre = { ...entry, checksum: { ...entry.checksum, recipe: 'md5' as const } };
      const { rows, hash } = await preRunRowsChecksum(old.db, pre, renames, reservedRanges(run.plan).get(entry.name) ?? []);
      expect(rows, entry.name).toBe(entry.checksum.rows);
      entry.checksum = { rows, hash };
    }
    await writeFile(path, JSON.stringify(manifest, null, 2));
    const unchanged = async () =>
      (await verify({ databaseUrl: old.url, mapping, backupDir: dir })).verification.checks.filter((c) => c.kind === 'unchanged');
    expect((await unchanged()).map((c) => [c.id, c.ok])).toEqual([
      ['event.unchanged', true],
      ['orders.unchanged', true],
      ['ord_pull.unchanged', true],
    ]);
    await old.db.execute("UPDATE orders SET Notes = CONCAT(IFNULL(Notes, ''), '.') ORDER BY ID LIMIT 1");
    expect((await unchanged()).find((c) => c.id === 'orders.unchanged')!.ok).toBe(false);
  });
});
