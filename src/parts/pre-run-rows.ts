import type { Db } from '../db/connection.ts';
import { sameChecksum } from '../db/checksum.ts';
import { describeTable, onUpdateColumns, tableExists } from '../db/introspect.ts';
import type { RenameState } from '../mapping/compile.ts';
import { keepsOnUpdateSince, type Plan } from '../plan/plan-data.ts';
import {
  describeChangedRow,
  preRunDifferences,
  putBackOnUpdateValues,
  unchangedRowLimit,
  withBackedUpRows,
  type BackupAt,
} from '../engine/pre-run-diff.ts';
import { preRunRowsChecksum, preRunTables, reservedRanges } from '../engine/pre-run-rows.ts';
import type { Part } from './part.ts';
import { preRunChecks } from './pre-run-checks.ts';
import { formatCount } from '../format.ts';

/**
 * The rows that existed before the run, compared with the backup: it writes nothing, and guards what the other parts
 * do. Verify checks them unchanged (pre-run-checks.ts); on undo, the pre-run rows that differ from the backup are
 * named and left as they are (see comparePreRunRows).
 */
export const preRunRowsPart: Part = {
  kind: 'preRunRows',
  checks: preRunChecks,
  async undo({ db, plan, backupDir, manifest, actions, filledInPlace }) {
    // Pre-run rows of the tables the run filled or its triggers may write that are no longer as the backup has them.
    if (manifest) actions.push(...(await comparePreRunRows(db, { dir: backupDir, manifest }, plan, filledInPlace)));
  },
};

/**
 * For each table the run filled in place (`filled`) or a trigger it fired may write (plan.firedTriggers), when its pre-run rows
 * no longer have the backup's checksum, names the rows that differ and leaves them as they are: each may be a write of
 * someone else's since, which a rollback never undoes (`eventshift restore` puts the backup's rows back, all of them).
 * Only what the run's own UPDATE did is put back: a run planned before fills kept `ON UPDATE` columns (plan version 1,
 * see keepsOnUpdateSince) rewrote them in every row it filled, so there the rows that differ from the backup
 * in those columns only get the backup's values. A run since sets them to themselves: such a row is another's write
 * (an UPDATE that set only the time, or a trigger's), and is left and named. Returns the actions as sentences.
 */
async function comparePreRunRows(db: Db, backup: BackupAt, plan: Plan, filled: readonly string[]): Promise<string[]> {
  const actions: string[] = [];
  const ranges = reservedRanges(plan);
  const noRenames: RenameState = { tables: new Map(), columns: new Map(), done: true };
  const rewroteTimes = plan.version < keepsOnUpdateSince;
  const writtenBy = new Map<string, string[]>();
  for (const t of plan.firedTriggers) {
    for (const name of [t.table, ...t.names]) writtenBy.set(name, [...(writtenBy.get(name) ?? []), t.name]);
  }
  const preRun = preRunTables(backup.manifest);
  for (const table of [...new Set([...filled, ...writtenBy.keys()])]) {
    const entry = backup.manifest.tables.find((t) => t.name === table);
    const pre = preRun.find((t) => t.name === table);
    if (!entry?.exists || !pre?.checksum || !(await tableExists(db, table))) continue;
    const own = ranges.get(table) ?? [];
    if (sameChecksum(await preRunRowsChecksum(db, pre, noRenames, own), pre.checksum)) continue;
    const triggers = [...new Set(writtenBy.get(table) ?? [])];
    const by = `written since by others${triggers.length ? ` or by trigger(s) ${triggers.join(', ')}, which the run fired` : ''}`;
    const onUpdate = onUpdateColumns(await describeTable(db, table));
    // Comparing needs the backup's rows loaded (LOAD DATA LOCAL): when that fails, the rest of the rollback still stands.
    await withBackedUpRows(db, { backup, entry }, async (staged) => {
      if (rewroteTimes && filled.includes(table)) {
        const putBack = await putBackOnUpdateValues(db, { entry, staged, ranges: own, onUpdate });
        if (putBack > 0) {
          actions.push(
            `put back ${onUpdate.join(', ')} of ${formatCount(putBack)} row(s) of ${table} as the backup has them ` +
              "(rewritten by the run's UPDATE, which changed nothing else of those rows)",
          );
        }
      }
      const kept = await preRunDifferences(db, { entry, staged, renames: noRenames, ranges: own, limit: unchangedRowLimit });
      if (kept.count > 0) {
        actions.push(
          `left ${formatCount(kept.count)} row(s) of ${table} that differ from the backup as they are, as ${by} ` +
            `(${kept.rows.map((r) => `${r.key}: ${describeChangedRow(r)}`).join('; ')}${kept.count > kept.rows.length ? '; ...' : ''}); ` +
            '`eventshift restore` puts them back too',
        );
      }
    }).catch((error: unknown) => {
      actions.push(
        `could not compare ${table} with the backup row by row (${error instanceof Error ? error.message : String(error)}); ` +
          `some of its rows differ from the backup (${by}), and \`eventshift restore\` would put the backup's back`,
      );
    });
  }
  return actions;
}
