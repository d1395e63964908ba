import { describe, expect, it } from 'vitest';
import { rewrittenTriggers } from '../../src/engine/cutover.ts';
import type { BackupTrigger } from '../../src/backup/manifest.ts';

/** Which triggers a rollback creates again after renaming a table back, and from what. */
const saved: Required<BackupTrigger> = {
  name: 'rental_date',
  sqlMode: 'STRICT_ALL_TABLES',
  statement: 'CREATE DEFINER=`root`@`%` TRIGGER rental_date BEFORE INSERT ON rental FOR EACH ROW SET NEW.rental_date = NOW()',
  statementBytes: '',
  characterSetClient: 'utf8mb4',
  collationConnection: 'utf8mb4_general_ci',
  databaseCollation: 'utf8mb4_bin',
  created: '1700000000.25',
};
saved.statementBytes = Buffer.from(saved.statement).toString('hex');
const renamedBack = { ...saved, statement: saved.statement.replace('ON rental', 'ON `rental`') };
renamedBack.statementBytes = Buffer.from(renamedBack.statement).toString('hex');

describe('rewrittenTriggers', () => {
  it('gives back the saved trigger, context and creation time included, for one only the renames rewrote', () => {
    expect(rewrittenTriggers([renamedBack], [saved])).toEqual([saved]);
    expect(rewrittenTriggers([saved], [saved])).toEqual([]);
  });

  it('leaves a trigger someone changed or created again since', () => {
    expect(rewrittenTriggers([{ ...renamedBack, statement: `${renamedBack.statement} + 0` }], [saved])).toEqual([]);
    expect(rewrittenTriggers([{ ...renamedBack, created: '1800000000.00' }], [saved])).toEqual([]);
  });

  it('from a backup without context: the live context, and no bytes for a non-UTF-8 text it cannot know', () => {
    const old = { name: saved.name, sqlMode: saved.sqlMode, statement: saved.statement };
    expect(rewrittenTriggers([renamedBack], [old])).toEqual([
      { ...renamedBack, statement: saved.statement, statementBytes: saved.statementBytes },
    ]);
    const latin = { ...renamedBack, characterSetClient: 'latin1', statement: renamedBack.statement.replace('NOW()', "'é'") };
    const oldLatin = { ...old, statement: saved.statement.replace('NOW()', "'é'") };
    expect(rewrittenTriggers([latin], [oldLatin])[0]!.statementBytes).toBe('');
  });
});
