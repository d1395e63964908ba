import mysql from 'mysql2';
import { createTableSql } from '../db/ddl.ts';
import { quoteCharsetName, quoteId, quoteString } from '../db/quote.ts';
import type { Capabilities } from '../db/capabilities.ts';
import { onUpdateColumns, type TableInfo } from '../db/introspect.ts';
import type { BackupTrigger } from '../backup/manifest.ts';
import type { DatabaseDefaults } from '../backup/restore-journal.ts';
import { hasContext, triggerReplaceSql } from '../backup/triggers.ts';
import type { Mapping } from '../mapping/define.ts';
import {
  compileProjection,
  compileStep,
  insertChunkSql,
  keptAsTheyAre,
  lineageFillSql,
  projectionUpdateSql,
  sourceTableNames,
  targetAlias,
  targetRowsSql,
  type CompiledStep,
  cutoverChanges,
  type TableNames,
} from '../mapping/compile.ts';
import {
  addColumnSql,
  autoIncrementSql,
  dropColumnSql,
  dropTableSql,
  recreateTriggerSql,
  renameColumnSql,
  renameTableSql,
} from '../mapping/schema-statements.ts';
import type { Plan } from '../plan/plan-data.ts';
import { lineage as lineageTable } from '../run/bookkeeping-schema.ts';
import { lookupPatches } from '../lookup/export-lookup.ts';
import { declaredTable } from '../mapping/lookup.ts';
import { codeColumnsOf } from '../mapping/streamed.ts';
import type { PatchFile } from './patch-file.ts';

export type { PatchFile } from './patch-file.ts';

/** The run id that exported lineage rows carry (a real run's ids start at 1). */
export const exportRunId = 0;

/** What the patches are built from: the mapping and its plan, the server, and the live tables the cutover touches. */
export interface PatchInput {
  mapping: Mapping;
  plan: Plan;
  capabilities: Capabilities;
  /** The live tables, as describeTable gives them (null: absent). */
  describe: ReadonlyMap<string, TableInfo | null>;
  /** The triggers on each table the cutover renames, as they are before it (readTriggers), in the order they fire. */
  triggers?: ReadonlyMap<string, readonly BackupTrigger[]>;
  /** The database's default character set and collation (restore-journal's databaseDefaults), put back after triggers. */
  databaseDefaults?: DatabaseDefaults;
}

/** A patch before it is numbered: `stem` is its name without the number and `.sql`. */
type StemmedPatch = Omit<PatchFile, 'name'> & { stem: string };

/**
 * The patches a run of `plan` would apply, in order, built from the same compiled statements `migrate` executes,
 * with each chunk range widened to the whole step.
 */
export function patchFiles(input: PatchInput): PatchFile[] {
  const { mapping, plan } = input;
  const names = sourceTableNames(mapping);
  /** A table's `ON UPDATE` columns: the UPDATEs of the export set them to themselves, so they keep their values. */
  const keepOf = (table: string) => onUpdateColumns(input.describe.get(table) ?? null);
  const files: StemmedPatch[] = [...createTableFiles(input), ...projectionColumnFiles(mapping, names)];
  const compiled = plan.steps.map((s) => compileStep(mapping, s, { names, runId: exportRunId }));
  files.push(
    ...lineageFiles(plan, compiled),
    ...stepFiles(plan, compiled),
    ...projectionDataFiles(input, names, keepOf),
    ...lookupPatches(mapping, plan, keepOf),
    ...columnRenameFiles(input),
    ...tableRenameFiles(input),
  );
  // MediaWiki's names: patch-<table>, patch-<table>-<field>, patch-rename-<table>; data files are data-<what>.
  return files.map(({ stem, ...f }, i) => ({ ...f, name: `${String(i + 1).padStart(2, '0')}-${stem}.sql` }));
}

function createTableFiles({ mapping, plan }: PatchInput): StemmedPatch[] {
  return plan.tables.create.map((table) => ({
    kind: 'table',
    stem: `patch-${safe(table)}`,
    table,
    description: `create ${table}`,
    expectedRows: 0,
    locks: 'none on existing tables',
    statements: [createTableSql(declaredTable(mapping, table))],
    rollback: [dropTableSql(table)],
  }));
}

/** The columns the projections add, one file per table. */
function projectionColumnFiles(mapping: Mapping, names: TableNames): StemmedPatch[] {
  const projectionsByTable = new Map<string, Array<[string, NonNullable<Mapping['projections']>[string]]>>();
  for (const entry of Object.entries(mapping.projections ?? {})) {
    const table = names(entry[1].table);
    projectionsByTable.set(table, [...(projectionsByTable.get(table) ?? []), entry]);
  }
  return [...projectionsByTable].map(([table, list]) => ({
    kind: 'column',
    stem: `patch-${safe(table)}-${list.map(([, p]) => safe(p.column.name)).join('-')}`,
    table,
    description: `add ${list.map(([, p]) => p.column.name).join(', ')} to ${table}`,
    expectedRows: null,
    locks: 'brief metadata lock (instant ADD COLUMN on MariaDB 10.4+ and MySQL 8.0.29+; otherwise a table rebuild)',
    statements: list.map(([, p]) => addColumnSql(table, compileProjection('', p, names).column)),
    rollback: list.map(([, p]) => dropColumnSql(table, p.column.name)).reverse(),
  }));
}

/** The lineage rows of the steps that number their events (dense: one file per step; chronological: one for all). */
function lineageFiles(plan: Plan, compiled: CompiledStep[]): StemmedPatch[] {
  const groups: CompiledStep[][] = [
    ...compiled.filter((c) => c.ids.strategy === 'dense').map((c) => [c]),
    compiled.filter((c) => c.ids.strategy === 'chronological'),
  ].filter((g) => g.length > 0 && g.some((c) => plan.steps.find((s) => s.name === c.name)!.range));
  return groups.map((group) => {
    const rows = group.reduce((n, c) => n + plan.steps.find((s) => s.name === c.name)!.sourceRows, 0);
    const stepList = group.map((g) => mysql.escape(g.name)).join(', ');
    return {
      kind: 'data',
      stem: `data-lineage-${group.map((g) => safe(g.name)).join('-')}`,
      table: 'eventshift_lineage',
      description: `number ${group.map((g) => g.name).join(', ')} ${group[0]!.ids.strategy === 'dense' ? 'densely' : 'chronologically'}`,
      expectedRows: rows,
      locks: 'shared locks on the source rows read',
      statements: [
        createTableSql(lineageTable).replace(/^CREATE TABLE /, 'CREATE TABLE IF NOT EXISTS '),
        `DELETE FROM eventshift_lineage WHERE run_id = ${exportRunId} AND step IN (${stepList})`,
        lineageFillSql(exportRunId, group, (group[0]!.ids as { start: number }).start),
      ],
      rollback: [`DELETE FROM eventshift_lineage WHERE run_id = ${exportRunId} AND step IN (${stepList})`],
    };
  });
}

/** One file per step with rows to write; the first also raises AUTO_INCREMENT past the IDs the plan reserves. */
function stepFiles(plan: Plan, compiled: CompiledStep[]): StemmedPatch[] {
  const files: StemmedPatch[] = [];
  for (const step of compiled) {
    const planned = plan.steps.find((s) => s.name === step.name)!;
    if (!planned.range) continue;
    const source = plan.sources.find((s) => s.alias === planned.from)!;
    const statements: string[] = [];
    const rollback: string[] = [];
    if (files.length === 0) {
      for (const space of plan.idSpace.filter((x) => x.raiseAutoIncrementTo !== null)) {
        statements.push(autoIncrementSql(space.table, space.raiseAutoIncrementTo!));
        if (space.autoIncrement !== null) rollback.push(autoIncrementSql(space.table, space.autoIncrement));
      }
    }
    if (!step.streamed)
      for (const target of step.targets) statements.push(mysql.format(insertChunkSql(step, target), [source.minKey, source.maxKey]));
    for (const target of [...step.targets].reverse()) {
      const rows = targetRowsSql(step, target);
      rollback.unshift(
        mysql.format(`DELETE ${quoteId(targetAlias)} FROM ${rows.from} WHERE ${rows.where}`, rows.params(source.minKey!, source.maxKey!)),
      );
    }
    const writes = planned.writes.map((w) => `${w.rows} rows into ${w.table}`).join(', ');
    files.push({
      kind: 'data',
      stem: `data-${safe(step.name)}`,
      table: step.idTable,
      description: `step ${step.name}${step.streamed ? ' (NOT EXPORTED: code() columns; eventshift migrate writes it)' : ''}: ${writes}`,
      expectedRows: planned.writes.reduce((n, w) => n + w.rows, 0),
      locks: `shared next-key locks on the ${source.table} rows read (REPEATABLE READ); row locks on the rows inserted`,
      statements,
      rollback: reorderRollback(rollback, step),
      note: step.streamed ? streamedNote(step) : undefined,
    });
  }
  return files;
}

/** What a step's file says when the step is computed in Node (code() columns), so the file cannot write it. */
function streamedNote(step: CompiledStep): string {
  const columns = codeColumnsOf(step);
  const descriptions = step.targets
    .flatMap((t) => t.columns.flatMap((c) => c.code?.description ?? []))
    .map((d) => ` (${d})`)
    .join('');
  return (
    `Step ${step.name} is NOT in this file: ${columns.join(', ')} ${columns.length === 1 ? 'is' : 'are'} ` +
    "computed in Node by the mapping's code()" +
    `${descriptions}, which SQL cannot express, ` +
    'so migrate streams the step. Run `eventshift migrate` for it; ' +
    'applying these files by hand leaves its rows unwritten. The rollback file still removes them.'
  );
}

/** The values of the projections, one file each. */
function projectionDataFiles({ mapping, plan }: PatchInput, names: TableNames, keepOf: (table: string) => string[]): StemmedPatch[] {
  return Object.entries(mapping.projections ?? {}).map(([name, p]) => {
    const projection = compileProjection(name, p, names);
    const rows = plan.projections.find((x) => x.name === name);
    return {
      kind: 'data',
      stem: `data-${safe(name)}`,
      table: projection.table,
      description: `fill ${projection.table}.${p.column.name} (${name})`,
      expectedRows: rows?.tableRows ?? null,
      locks: `row locks on every ${projection.table} row; shared locks on the rows aggregated`,
      statements: [projectionUpdateSql(projection, keepOf(projection.table))],
      rollback: [
        `UPDATE ${quoteId(projection.table)} SET ${quoteId(p.column.name)} = NULL` + keptAsTheyAre(null, keepOf(projection.table)),
      ],
    };
  });
}

/** The cutover's column renames, one file per table. */
function columnRenameFiles({ mapping, capabilities, describe }: PatchInput): StemmedPatch[] {
  const columnRenames = new Map<string, Array<{ from: string; to: string }>>();
  for (const c of cutoverChanges(mapping)) {
    if (c.kind === 'renameColumn') columnRenames.set(c.table, [...(columnRenames.get(c.table) ?? []), { from: c.from, to: c.to }]);
  }
  return [...columnRenames].map(([table, list]) => {
    const definitionOf = (column: string) => {
      const info = describe.get(table)?.columns.find((c) => c.name === column);
      return info ? `${info.columnType} ${info.nullable ? 'NULL' : 'NOT NULL'}` : undefined;
    };
    return {
      kind: 'column',
      stem: `patch-${safe(table)}-${list.map((r) => safe(r.from)).join('-')}`,
      table,
      description: `at cutover: rename ${list.map((r) => `${table}.${r.from} to ${r.to}`).join(', ')}`,
      expectedRows: null,
      locks: 'brief exclusive metadata lock',
      statements: list.map((r) => renameColumnSql(capabilities, table, r.from, r.to, definitionOf(r.from))),
      rollback: list.map((r) => renameColumnSql(capabilities, table, r.to, r.from, definitionOf(r.from))).reverse(),
    };
  });
}

/** The cutover's table renames, one file each; undoing one recreates the triggers the rename rewrote. */
function tableRenameFiles({ mapping, capabilities, triggers = new Map(), databaseDefaults }: PatchInput): StemmedPatch[] {
  return cutoverChanges(mapping).flatMap((c): StemmedPatch[] => {
    if (c.kind !== 'renameTable') return [];
    const recreated = recreateTriggersSql(triggers.get(c.from) ?? [], capabilities.engine, databaseDefaults);
    return [
      {
        kind: 'rename',
        stem: `patch-rename-${safe(c.from)}`,
        table: c.from,
        description: `at cutover: rename ${c.from} to ${c.to}`,
        expectedRows: null,
        locks: 'brief exclusive metadata lock',
        statements: [renameTableSql(c.from, c.to)],
        rollback: [renameTableSql(c.to, c.from), ...recreated.statements],
        ...(recreated.note ? { note: recreated.note } : {}),
      },
    ];
  });
}

/** Extension rows go before their events when undoing. */
function reorderRollback(rollback: string[], step: CompiledStep): string[] {
  const isIdTable = (sql: string) => sql.includes(`FROM ${quoteId(step.idTable)} AS`);
  return [
    ...rollback.filter((s) => !isIdTable(s) && !s.startsWith('ALTER')),
    ...rollback.filter(isIdTable),
    ...rollback.filter((s) => s.startsWith('ALTER')),
  ];
}

const safe = (s: string) => s.replace(/[^A-Za-z0-9_.-]+/g, '_');

/**
 * For a rollback file: renaming a table rewrites the definitions of its triggers (MariaDB names the new table in
 * them), and renaming it back does not undo that; these statements create them again as they were, each under its
 * sql_mode, character set and collation (the session's put back after), in a DELIMITER block for the mariadb
 * client (a trigger's body may hold `;`). The file writer ends each statement with `;`, which closes the block's
 * `DELIMITER ` line.
 */
function recreateTriggersSql(
  triggers: readonly BackupTrigger[],
  engine: 'mariadb' | 'mysql',
  defaults: DatabaseDefaults | undefined,
): { statements: string[]; note?: string } {
  if (triggers.length === 0) return { statements: [] };
  const q = (s: string | undefined) => quoteString(s ?? '');
  // Each at its original creation time; replaced one by one in the order they fire, each goes last among those of
  // its timing and event, which gives that order back.
  const at = (t: BackupTrigger) => (t.created && /^\d+(\.\d+)?$/.test(t.created) ? t.created : 'DEFAULT');
  // A statement written in another character set than UTF-8, with other than ASCII in it, is sent as its bytes.
  const asBytes = (t: BackupTrigger): t is Required<BackupTrigger> =>
    hasContext(t) && !/^utf8/i.test(t.characterSetClient) && /[^\x00-\x7f]/.test(Buffer.from(t.statementBytes, 'hex').toString('latin1'));
  const unsendable = engine === 'mysql' ? triggers.filter(asBytes).map((t) => t.name) : [];
  let collation = defaults?.collation;
  const statements = [
    'SET @es_sql_mode = @@SESSION.sql_mode, @es_client = @@SESSION.character_set_client, @es_collation = @@SESSION.collation_connection',
    ...triggers.flatMap((t) => {
      // Its variables declared without a collation take the database's of when it was created.
      const switchTo =
        engine === 'mariadb' && t.databaseCollation && collation && t.databaseCollation !== collation ? t.databaseCollation : null;
      if (switchTo) collation = switchTo;
      return [
        ...(switchTo ? [`ALTER DATABASE COLLATE ${quoteCharsetName(switchTo)}`] : []),
        `SET SESSION sql_mode = ${q(t.sqlMode)}, character_set_client = ${q(t.characterSetClient)}, ` +
          `collation_connection = ${q(t.collationConnection)}, timestamp = ${at(t)}`,
        asBytes(t) && engine === 'mariadb'
          ? triggerReplaceSql(t, null, true)[0]!
          : `DELIMITER ;;\n${recreateTriggerSql(t, engine)
              .map((sql) => `${sql};;`)
              .join('\n')}\nDELIMITER `,
      ];
    }),
    'SET SESSION sql_mode = @es_sql_mode, character_set_client = @es_client, collation_connection = @es_collation, timestamp = DEFAULT',
    ...(defaults && collation !== defaults.collation
      ? [`ALTER DATABASE CHARACTER SET ${quoteCharsetName(defaults.charset)} COLLATE ${quoteCharsetName(defaults.collation)}`]
      : []),
  ];
  return {
    statements,
    ...(unsendable.length
      ? {
          note:
            `trigger(s) ${unsendable.join(', ')} were written in another character set than UTF-8 and hold other than ASCII: ` +
            'this rollback would recreate them with other text on MySQL (no EXECUTE IMMEDIATE); use `eventshift rollback`',
        }
      : {}),
  };
}
