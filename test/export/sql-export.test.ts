import { spawnSync } from 'node:child_process';
import { readdir, readFile, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { serverUrl, type TestDatabase } from '../support/database.ts';
import { mariadbClient } from '../support/public-data.ts';
import { testWorkspace } from '../support/workspace.ts';
import { snapshot } from '../support/snapshot.ts';
import { runCli } from '../support/cli.ts';
import { generateVbzcart } from '../../mappings/vbzcart-ord-pull/fixture.ts';
import mapping from '../../mappings/vbzcart-ord-pull/index.ts';
import { migrate } from '../../src/run/migrate.ts';
import { exportSql } from '../../src/run/sql-export.ts';
import type { PlanOverrides } from '../../src/plan/plan-data.ts';

const ws = testWorkspace('sql');

async function database(label: string, seed: number): Promise<TestDatabase> {
  const t = await ws.database(label);
  await generateVbzcart(t.db, { seed });
  return t;
}

/** Applies the numbered files of a folder with the mariadb command-line client, as a DBA would. */
async function applyAll(t: TestDatabase, dir: string, reverse = false) {
  const files = (await readdir(dir)).filter((f) => /^\d+-.*\.sql$/.test(f)).sort();
  for (const f of reverse ? files.reverse() : files) {
    const input = await readFile(join(dir, f), 'utf8');
    const client = mariadbClient(serverUrl, t.name);
    const r = spawnSync('mariadb', client.args, { input, encoding: 'utf8', env: client.env });
    expect(r.status, `${f}: ${r.stderr}`).toBe(0);
  }
}

describe('eventshift sql: patches a DBA can review and apply by hand', () => {
  for (const [label, overrides] of [
    ['offset', {}],
    ['dense', { ids: 'dense' }],
    ['chronological', { ids: 'chronological' }],
  ] as Array<[string, PlanOverrides]>) {
    it(`${label}: the exported patches reproduce migrate's result, and the rollback files return the original`, async () => {
      const seed = 9300 + label.length;
      const viaMigrate = await database(`sql_m_${label}`, seed);
      await migrate({ databaseUrl: viaMigrate.url, mapping, backupDir: ws.path('b'), reportDir: ws.path('r'), overrides });
      const expected = await snapshot(viaMigrate.db);

      const byHand = await database(`sql_h_${label}`, seed);
      const original = await snapshot(byHand.db);
      const out = ws.path(label);
      const result = await exportSql({ databaseUrl: byHand.url, mapping, outDir: out, overrides });
      expect(result.ok, JSON.stringify(result.findings.filter((f) => f.severity === 'error'))).toBe(true);
      expect(await snapshot(byHand.db)).toEqual(original); // exporting changed nothing

      await applyAll(byHand, out);
      expect(await snapshot(byHand.db)).toEqual(expected);
      await applyAll(byHand, join(out, 'rollback'), true);
      expect(await snapshot(byHand.db)).toEqual(original);
    });
  }

  it('names files the MediaWiki way, with EXPLAIN, expected rows and locks; README lists the order', async () => {
    const t = await database('sql_names', 9400);
    const out = ws.path('names');
    const r = runCli(['sql', 'vbzcart-ord-pull', '--out', out, '--check'], { cwd: ws.dir, env: { DATABASE_URL: t.url } });
    expect(r.code, r.stderr).toBe(0);
    const files = (await readdir(out)).sort();
    expect(files).toEqual([
      '01-patch-event_vc_ord_hold.sql',
      '02-patch-event_vc_legacy.sql',
      '03-patch-orders-WhenHeld.sql',
      '04-data-holdOn.sql',
      '05-data-holdOff.sql',
      '06-data-whenHeld.sql',
      '07-patch-orders-ID_Pull.sql',
      '08-patch-rename-ord_pull.sql',
      'README.md',
      'rollback',
    ]);
    expect((await readdir(join(out, 'rollback'))).sort()).toEqual(files.filter((f) => f.endsWith('.sql')));
    const holdOn = await readFile(join(out, '04-data-holdOn.sql'), 'utf8');
    expect(holdOn).toMatch(/-- EXPLAIN \(live server\):\n--   pull: type range, key PRIMARY/);
    expect(holdOn).toMatch(/Expected rows: \d{1,3}(,\d{3})*\. Locks: shared next-key locks on the ord_pull rows read/);
    expect(holdOn).toMatch(/^START TRANSACTION;$/m);
    const readme = await readFile(join(out, 'README.md'), 'utf8');
    expect(readme).toContain('| 4 | `04-data-holdOn.sql` | step holdOn:');
  });

  it('--check exits 1 on an error finding: a non-deterministic function in a data statement', async () => {
    const t = await database('sql_lint', 9500);
    const dir = ws.path('lint-mapping');
    await mkdir(dir, { recursive: true });
    const source = (await readFile(join(import.meta.dirname, '../../mappings/vbzcart-ord-pull/index.ts'), 'utf8'))
      .replaceAll("from '../../src/", `from '${join(import.meta.dirname, '../../src/')}`)
      .replace("from './schema.ts'", `from '${join(import.meta.dirname, '../../mappings/vbzcart-ord-pull/schema.ts')}'`)
      .replace("from './csv-source.ts'", `from '${join(import.meta.dirname, '../../mappings/vbzcart-ord-pull/csv-source.ts')}'`)
      .replace("WhenStart: col('pull.WhenPulled'),", "WhenStart: sql('NOW()'),")
      .replace('import { col, defineMapping,', 'import { col, sql, defineMapping,');
    await writeFile(join(dir, 'index.ts'), source);
    await writeFile(join(dir, 'package.json'), '{ "type": "module" }\n');
    const r = runCli(['sql', join(dir, 'index.ts'), '--out', ws.path('lint-out'), '--check'], {
      cwd: ws.dir,
      env: { DATABASE_URL: t.url },
    });
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout).toMatch(/error: non-deterministic: NOW\(\) gives a different value on each run/);
  });
});
