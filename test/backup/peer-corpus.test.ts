import { beforeAll, expect, it } from 'vitest';
import { createBackup, restoreBackup } from '../../src/backup/index.ts';
import { quoteId } from '../../src/db/quote.ts';
import { serverUrl, type TestDatabase } from '../support/database.ts';
import { loadPeerCorpus } from '../support/public-data.ts';
import { testWorkspace } from '../support/workspace.ts';
import { allTables, exactState, type ExactState } from './exact-state.ts';

/**
 * The peer corpus (../shared/data/peer-corpus: 98 tables built from MariaDB's mysql-test and mydumper's test cases)
 * taken through a backup of all of it, a drop of every table, and a restore: each table must come back identical
 * (exact-state.ts), and none may be changed silently.
 */
const ws = testWorkspace('peer');
let t: TestDatabase;

beforeAll(async () => {
  t = await ws.database('peer_corpus');
  await loadPeerCorpus(serverUrl, t.name);
});

async function states(tables: readonly string[]): Promise<Map<string, ExactState | null>> {
  const out = new Map<string, ExactState | null>();
  for (const table of tables) out.set(table, await exactState(t.db, table));
  return out;
}

it('gives back every table of the peer corpus identical after backup, drop and restore', async () => {
  const tables = await allTables(t.db);
  expect(tables).toHaveLength(98);
  const before = await states(tables);

  const manifest = await createBackup(t.db, { dir: ws.path('backups'), tables });
  await t.db.execute('SET SESSION foreign_key_checks = 0');
  for (const table of tables) await t.db.execute(`DROP TABLE ${quoteId(table)}`);
  await t.db.execute('SET SESSION foreign_key_checks = 1');
  expect(await allTables(t.db)).toEqual([]);

  const result = await restoreBackup(t.db, { dir: ws.path('backups'), id: manifest.id });
  // Every table comes back, its rows verified by their checksum, but the MERGE table: its rows are its base table's.
  const kinds = new Map(manifest.tables.map((e) => [e.name, e.kind]));
  expect(result.tables.filter((r) => r.action !== 'restored' || r.checksumVerified !== (kinds.get(r.name) !== 'definition-only'))).toEqual(
    [],
  );
  expect([...kinds].filter(([, kind]) => kind !== 'table').sort()).toEqual([
    ['md_merge', 'definition-only'],
    ['md_seq_s1', 'sequence'],
    ['md_seq_t_i', 'sequence'],
    ['seq_full', 'sequence'],
    ['sv_explicit', 'system-versioned'],
    ['sv_history', 'system-versioned'],
  ]);

  const after = await states(tables);
  const differing = tables.filter((table) => JSON.stringify(before.get(table)) !== JSON.stringify(after.get(table)));
  console.log(`peer corpus: ${tables.length - differing.length}/${tables.length} tables identical after backup, drop and restore`);
  for (const table of differing) expect.soft(after.get(table), table).toEqual(before.get(table));
  expect(differing).toEqual([]);
});
