import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import type { Db } from '../db/connection.ts';
import { columnExists, describeTable, onUpdateColumns, tableExists } from '../db/introspect.ts';
import { quoteId } from '../db/quote.ts';
import { readManifest } from '../backup/index.ts';
import { refusal } from '../errors.ts';
import type { Mapping } from '../mapping/define.ts';
import { keepsOnUpdateSince } from '../plan/plan-data.ts';
import { sourceTableNames, cutoverChanges } from '../mapping/compile.ts';
import { applyCutoverChange, putBackTriggerTexts, type RenameState } from './cutover.ts';
import { withRunContext, type CommandOptions } from './context.ts';
import { faultPoint } from './fault-points.ts';
import { dropColumnSql, dropTableSql, autoIncrementSql } from '../mapping/schema-statements.ts';
import { deleteKeyRange } from '../engine/delete-range.ts';
import { dropRunStaging } from '../csv/run-steps.ts';
import { restoringRunMessage, updateRun, type RunRecord } from './journal.ts';
import { stepRecord } from '../engine/step-journal.ts';
import { refuseAfterFinalize } from './finalize.ts';
import { rollbackLookups } from '../lookup/rollback-lookup.ts';
import { sameChecksum } from '../db/checksum.ts';
import {
  describeChangedRow,
  preRunDifferences,
  putBackOnUpdateValues,
  unchangedRowLimit,
  withBackedUpRows,
  type BackupAt,
} from './pre-run-diff.ts';
import { preRunRowsChecksum, reservedRanges } from './pre-run-rows.ts';
import { preRunTables } from './migrate.ts';

export interface RollbackOptions extends CommandOptions {
  mapping: Mapping;
  backupDir: string;
  /** Rows deleted per statement (default 10,000 keys). */
  chunkKeys?: number;
}

export interface RollbackResult {
  runId: number;
  /** What was undone, in order, as sentences. */
  actions: string[];
  rowsDeleted: Record<string, number>;
  /** Tables the run created that now hold others' rows: kept, with those rows. */
  keptTables: Array<{ table: string; rows: number }>;
}

/**
 * Removes exactly what the mapping's latest run wrote, and nothing else: cutover renames are undone, added columns
 * dropped, the run's rows deleted from its reserved ranges, and tables it created dropped when no one else wrote to
 * them. Rows others wrote meanwhile stay. Every action checks the live schema first, so it works after a completed
 * run, after a crash at any point, and when itself interrupted and run again.
 */
export async function rollback(options: RollbackOptions): Promise<RollbackResult> {
  const now = options.now ?? (() => new Date());
  const log = options.log ?? (() => undefined);
  const choose = async (run: RunRecord | null, db: Db, mapping: Mapping) => {
    const restoring = run && restoringRunMessage(run);
    if (restoring) throw refusal(restoring, { subject: mapping.name });
    if (!run || run.status === 'restored' || run.status === 'rolled_back') {
      throw refusal(
        `There is no run of ${mapping.name} to roll back in ${db.database}` +
          `${run ? ` (run ${run.id} was already ${run.status.replace('_', ' ')})` : ''}.`,
        { subject: mapping.name },
      );
    }
    await refuseAfterFinalize(db, run, mapping, 'rollback');
    return { run };
  };
  return withRunContext({ options, mapping: options.mapping, choose }, async ({ db, mapping }, { run }) => {
    const plan = run.plan;
    const actions: string[] = [];
    const rowsDeleted: Record<string, number> = {};
    const keptTables: RollbackResult['keptTables'] = [];

    const manifest = run.backupId ? await readManifest(options.backupDir, run.backupId).catch(() => null) : null;
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

    const names = sourceTableNames(mapping);
    for (const [name, p] of Object.entries(mapping.projections ?? {})) {
      const table = names(p.table);
      if (await columnExists(db, table, p.column.name)) {
        await db.execute(dropColumnSql(table, p.column.name));
        actions.push(`dropped ${table}.${p.column.name} (projection ${name})`);
      }
    }

    const chunkKeys = options.chunkKeys ?? 10_000;
    for (const step of [...plan.steps].reverse()) {
      if (!step.range) continue;
      for (const w of [...step.writes].reverse()) {
        if (!(await tableExists(db, w.table))) continue;
        const { first, last } = step.range;
        const deleted = await deleteKeyRange(db, { table: w.table, keyColumn: w.keyColumn, first, last, chunkKeys });
        rowsDeleted[w.table] = (rowsDeleted[w.table] ?? 0) + deleted;
        if (deleted > 0)
          actions.push(`deleted ${deleted} row(s) of step ${step.name} from ${w.table} (${step.range.first}..${step.range.last})`);
        faultPoint(`rollback delete ${step.name} ${w.table}`);
      }
    }

    if (plan.lookups?.length) {
      const undone = await rollbackLookups(db, { plan, runId: run.id, manifest, chunkKeys });
      actions.push(...undone.actions);
      for (const [table, n] of Object.entries(undone.rowsDeleted)) rowsDeleted[table] = (rowsDeleted[table] ?? 0) + n;
    }

    // Pre-run rows of the tables the run filled or its triggers may write that are no longer as the backup has them.
    if (manifest) actions.push(...(await comparePreRunRows(db, { dir: options.backupDir, manifest }, mapping, plan)));

    for (const table of plan.tables.create) {
      if (!(await tableExists(db, table))) continue;
      const [row] = await db.query<{ n: string }>(`SELECT COUNT(*) AS n FROM ${quoteId(table)}`);
      const rows = Number(row!.n);
      if (rows === 0) {
        await db.execute(dropTableSql(table));
        actions.push(`dropped ${table}, which the run had created`);
      } else {
        keptTables.push({ table, rows });
        actions.push(`kept ${table}, created by the run: it holds ${rows} row(s) written by others`);
      }
    }

    const raised = plan.idSpace.filter((s) => s.raiseAutoIncrementTo !== null && s.exists);
    if (raised.length > 0 && run.backupId) {
      for (const space of raised) {
        const before = manifest?.tables.find((t) => t.name === space.table)?.autoIncrement;
        if (before === undefined || before === null) continue;
        // The server keeps AUTO_INCREMENT above the highest row, so others' rows are never put at risk by this.
        await db.execute(autoIncrementSql(space.table, before));
        actions.push(`set ${space.table}'s AUTO_INCREMENT back towards ${before}`);
      }
    }

    for (const table of await dropRunStaging(db, plan)) actions.push(`dropped ${table}, the staging table of a CSV source`);
    // A backup the run started but never finished (no manifest) can never be restored: it goes with the run.
    const backupStep = await stepRecord(db, run.id, 'backup', 'tables');
    const unfinished = (backupStep?.detail as { dir?: string } | null)?.dir;
    if (unfinished && backupStep?.status !== 'done' && existsSync(unfinished)) {
      await rm(unfinished, { recursive: true, force: true });
      actions.push(`removed the unfinished backup folder ${unfinished}`);
    }
    await updateRun(db, run.id, { status: 'rolled_back', finished: true }, now());
    for (const a of actions) log(a);
    return { runId: run.id, actions, rowsDeleted, keptTables };
  });
}

/** The existing tables a run of the mapping UPDATEs in place: its projections' tables and its lookups' source tables. */
function filledTables(mapping: Mapping, plan: RunRecord['plan']): string[] {
  const names = sourceTableNames(mapping);
  return [
    ...new Set([
      ...Object.values(mapping.projections ?? {}).map((p) => names(p.table)),
      ...(plan.lookups ?? []).flatMap((l) => l.sources.map((s) => s.table)),
    ]),
  ];
}

/**
 * For each table the run filled in place or a trigger it fired may write (plan.firedTriggers), when its pre-run rows
 * no longer have the backup's checksum, names the rows that differ and leaves them as they are: each may be a write of
 * someone else's since, which a rollback never undoes (`eventshift restore` puts the backup's rows back, all of them).
 * Only what the run's own UPDATE did is put back: a run planned before fills kept `ON UPDATE` columns (plan version 1,
 * see keepsOnUpdateSince) rewrote them in every row it filled, so there the rows that differ from the backup
 * in those columns only get the backup's values. A run since sets them to themselves: such a row is another's write
 * (an UPDATE that set only the time, or a trigger's), and is left and named. Returns the actions as sentences.
 */
async function comparePreRunRows(db: Db, backup: BackupAt, mapping: Mapping, plan: RunRecord['plan']): Promise<string[]> {
  const actions: string[] = [];
  const ranges = reservedRanges(plan);
  const noRenames: RenameState = { tables: new Map(), columns: new Map(), done: true };
  const filled = filledTables(mapping, plan);
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
            `put back ${onUpdate.join(', ')} of ${putBack} row(s) of ${table} as the backup has them ` +
              "(rewritten by the run's UPDATE, which changed nothing else of those rows)",
          );
        }
      }
      const kept = await preRunDifferences(db, { entry, staged, renames: noRenames, ranges: own, limit: unchangedRowLimit });
      if (kept.count > 0) {
        actions.push(
          `left ${kept.count} row(s) of ${table} that differ from the backup as they are, as ${by} ` +
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
