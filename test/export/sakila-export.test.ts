import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { serverUrl, type TestDatabase } from '../support/database.ts';
import { loadSakila, runSqlScript } from '../support/public-data.ts';
import { addLatin1RentalTrigger } from '../support/sakila-trigger.ts';
import { sakilaDistrictsMapping, sakilaMapping } from '../support/sakila-mapping.ts';
import { snapshot, snapshotDifferences, withoutCreationTimes } from '../support/snapshot.ts';
import { testWorkspace } from '../support/workspace.ts';
import type { Mapping } from '../../src/mapping/define.ts';
import { exportSql } from '../../src/run/sql-export.ts';
import { migrate } from '../../src/run/migrate.ts';

/**
 * `eventshift sql` on the public Sakila database: the exported UPDATEs (a projection's fill, a lookup's fill, and
 * their rollbacks) leave `last_update ... ON UPDATE CURRENT_TIMESTAMP` as it was, and the rollback of the cutover's
 * rename gives the triggers of the renamed table their definitions back. Applied by hand with the mariadb client,
 * the files give what migrate gives; their rollbacks, the database the export started from.
 */
const ws = testWorkspace('sakila_sql');

async function sakila(label: string): Promise<TestDatabase> {
  const t = await ws.database(label);
  await loadSakila(serverUrl, t.name);
  await addLatin1RentalTrigger(t);
  return t;
}

/** Applies the numbered files of a folder with the mariadb command-line client, as a DBA would. */
async function applyAll(t: TestDatabase, dir: string, reverse = false): Promise<void> {
  const files = (await readdir(dir)).filter((f) => /^\d+-.*\.sql$/.test(f)).sort();
  for (const f of reverse ? files.reverse() : files) {
    await runSqlScript(serverUrl, t.name, await readFile(join(dir, f))).catch((e: Error) => {
      throw new Error(`${f}: ${e.message}`);
    });
  }
}

const cases: Array<[string, Mapping, string, string]> = [
  ['projections and cutover', sakilaMapping, 'data-lastRental.sql', 'customer'],
  ['lookup', sakilaDistrictsMapping, 'data-district-address.sql', 'address'],
];

describe('eventshift sql on Sakila', () => {
  for (const [label, mapping, fill, table] of cases) {
    it(
      `${label}: the fill keeps ${table}.last_update; ` + "applied by hand it gives migrate's database, its rollback the original",
      async () => {
        const viaMigrate = await sakila(`sql_m_${mapping.name}`);
        const migrated = await migrate({ databaseUrl: viaMigrate.url, mapping, backupDir: ws.path('b'), reportDir: ws.path('r') });
        expect(migrated.status).toBe('completed');
        const expected = await snapshot(viaMigrate.db);

        const byHand = await sakila(`sql_h_${mapping.name}`);
        const original = await snapshot(byHand.db);
        const out = ws.path(mapping.name);
        const result = await exportSql({ databaseUrl: byHand.url, mapping, outDir: out });
        expect(result.plan.ok, result.plan.refusals.join(' ')).toBe(true);
        const name = (await readdir(out)).find((f) => f.endsWith(fill))!;
        const keep = `\`${table}\`.\`last_update\` = \`${table}\`.\`last_update\``;
        expect(await readFile(join(out, name), 'utf8')).toContain(keep);
        expect(await readFile(join(out, 'rollback', name), 'utf8')).toContain(`\`last_update\` = \`last_update\``);

        await applyAll(byHand, out);
        // Two databases: their triggers were created at different times.
        expect(snapshotDifferences(withoutCreationTimes(expected), withoutCreationTimes(await snapshot(byHand.db)))).toEqual([]);
        await applyAll(byHand, join(out, 'rollback'), true);
        expect(snapshotDifferences(original, await snapshot(byHand.db))).toEqual([]);
      },
      240_000,
    );
  }
});
