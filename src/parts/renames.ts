import { columnExists, tableExists } from '../db/introspect.ts';
import { cutoverChanges } from '../mapping/compile.ts';
import { applyCutoverChange, putBackTriggerTexts } from '../run/cutover.ts';
import { faultPoint } from '../run/fault-points.ts';
import type { Part, UndoScope } from './part.ts';

/**
 * The cutover's renames of tables and columns (the mapping's `cutover`): applied by migrate's cutover stage, renamed
 * back on undo, the last first.
 */
export const renamesPart: Part = {
  kind: 'renames',
  undo: undoRenames,
};

async function undoRenames({ db, mapping, manifest, actions }: UndoScope): Promise<void> {
  for (const change of [...cutoverChanges(mapping)].reverse()) {
    const back = { ...change, from: change.to, to: change.from };
    const exists = change.kind === 'renameTable' ? await tableExists(db, change.to) : await columnExists(db, change.table, change.to);
    if (exists) {
      await applyCutoverChange(db, back);
      actions.push(
        change.kind === 'renameTable'
          ? `renamed ${change.to} back to ${change.from}`
          : `renamed ${change.table}.${change.to} back to ${change.from}`,
      );
      faultPoint(`rollback ${actions.length}`);
    }
    // The renames rewrote the definitions of the table's triggers; they get the text they had back.
    const saved = manifest?.tables.find((t) => t.name === change.from)?.triggers;
    if (change.kind === 'renameTable' && saved?.length && (await tableExists(db, change.from))) {
      const { putBack, left } = await putBackTriggerTexts(db, change.from, saved);
      for (const name of putBack)
        actions.push(`put back trigger ${name} on ${change.from} as the backup has it (the renames had rewritten it)`);
      for (const { name, reason } of left) {
        actions.push(`left trigger ${name} on ${change.from} as the renames rewrote it (naming the table in quotes): ${reason}`);
      }
    }
  }
}
