import { expect, it } from 'vitest';
import type { RestoredTable } from '../../src/backup/index.ts';
import { renderRestore } from '../../src/cli/render.ts';

const table = (name: string, over: Partial<RestoredTable> = {}): RestoredTable => ({
  name,
  action: 'restored',
  method: 'swap',
  rows: 1,
  checksumVerified: true,
  autoIncrement: null,
  definitionMatches: true,
  loadWarnings: 0,
  ...over,
});

it('says which tables came back by definition only, and warns of a definition that differs', () => {
  const text = renderRestore({
    backupId: '20261121T104500Z-ab12cd',
    restore: {
      id: '20261121T104500Z-ab12cd',
      database: 'db',
      resumed: false,
      retired: [],
      repointed: [],
      tables: [table('m1'), table('merged', { rows: 0, checksumVerified: false }), table('odd', { definitionMatches: false })],
    },
  });
  expect(text.split('\n')).toEqual([
    'Restored backup 20261121T104500Z-ab12cd: m1 (restored), merged (restored), odd (restored).',
    'Restored by definition only (their rows are those of the tables they are built on): merged.',
    "WARNING: SHOW CREATE TABLE now differs from the backup's saved definition for odd; " +
      'compare them with the schema files of backup 20261121T104500Z-ab12cd.',
  ]);
});
