import { columnExists, tableExists } from '../db/introspect.ts';
import { cutoverChanges } from '../mapping/compile.ts';
import { applyCutoverChange, putBackTriggerTexts } from '../engine/cutover.ts';
import { faultPoint } from '../engine/fault-points.ts';
import { quoteCharsetName, quoteId, quoteString } from '../db/quote.ts';
import type { BackupTrigger } from '../backup/manifest.ts';
import type { DatabaseDefaults } from '../backup/restore-journal.ts';
import { hasContext, triggerReplaceSql } from '../backup/triggers.ts';
import { safeStem, type StemmedPatch } from '../export/patch-file.ts';
import { recreateTriggerSql, renameColumnSql, renameTableSql } from '../mapping/schema-statements.ts';
import type { TableChanges } from '../plan/plan-data.ts';
import {
  journaled,
  privilegeNeeds,
  type Describe,
  type Part,
  type PatchScope,
  type PlanScope,
  type PrivilegeScope,
  type UndoScope,
} from './part.ts';

/**
 * The cutover's renames of tables and columns (the mapping's `cutover`): applied in migrate's cutover stage, one
 * journaled step each, and renamed back on undo, the last first.
 */
export const renamesPart: Part = {
  kind: 'renames',
  plan: (p) => [async (_on, describe) => planRenames(p, describe)],
  async cutover(w) {
    for (const change of cutoverChanges(w.mapping)) {
      const label = change.kind === 'renameTable' ? `rename ${change.from}` : `rename ${change.table}.${change.from}`;
      await journaled(w, label, async () => {
        await applyCutoverChange(w.db, change);
        w.log(
          change.kind === 'renameTable'
            ? `Renamed table ${change.from} to ${change.to}.`
            : `Renamed column ${change.table}.${change.from} to ${change.to}.`,
        );
      });
    }
  },
  patches: (p) => ({ cutover: [...columnRenameFiles(p), ...tableRenameFiles(p)] }),
  undo: undoRenames,
  privileges: renamePrivileges,
};

/**
 * RENAME TABLE needs ALTER and DROP on the table renamed and CREATE and INSERT on its new name (MariaDB's and MySQL's
 * manuals); a column rename is an ALTER TABLE. Rollback renames back, and gives the triggers on a renamed table their
 * text back (TRIGGER).
 */
function renamePrivileges({ plan }: PrivilegeScope) {
  const cutover = { when: 'run' } as const;
  const back = { when: 'rollback' } as const;
  return plan.tables.rename.flatMap((r) => {
    if (r.kind === 'column') {
      return [
        ...privilegeNeeds(['ALTER'], [r.table], { ...cutover, for: `cutover: ALTER TABLE ... RENAME COLUMN ${r.from} TO ${r.to}` }),
        ...privilegeNeeds(['ALTER'], [r.table], { ...back, for: `rollback: renaming column ${r.to} back` }),
      ];
    }
    const statement = `cutover: RENAME TABLE ${quoteId(r.from)} TO ${quoteId(r.to)}`;
    const backStatement = `rollback: RENAME TABLE ${quoteId(r.to)} TO ${quoteId(r.from)}`;
    return [
      ...privilegeNeeds(['ALTER', 'DROP'], [r.from], { ...cutover, for: statement }),
      ...privilegeNeeds(['CREATE', 'INSERT'], [r.to], { ...cutover, for: statement }),
      ...privilegeNeeds(['ALTER', 'DROP'], [r.to], { ...back, for: backStatement }),
      ...privilegeNeeds(['CREATE', 'INSERT'], [r.from], { ...back, for: backStatement }),
      ...privilegeNeeds(['TRIGGER'], [r.from], { ...back, for: `rollback: the texts of ${r.from}'s triggers put back` }),
    ];
  });
}

/** The renamed tables (backed up), the renames, the column renames as alterations, and what refuses them. */
async function planRenames({ mapping }: PlanScope, describe: Describe) {
  const backup: string[] = [];
  const rename: TableChanges['rename'] = [];
  const alter: TableChanges['alter'] = [];
  for (const c of cutoverChanges(mapping)) {
    if (c.kind === 'renameTable') {
      backup.push(c.from);
      rename.push({ kind: 'table', table: c.from, from: c.from, to: c.to });
    } else {
      backup.push(c.table);
      rename.push({ kind: 'column', table: c.table, from: c.from, to: c.to });
      alter.push({ table: c.table, change: `rename column ${c.from} to ${c.to} (at cutover)` });
    }
  }
  return { tables: { backup, rename, alter }, refusals: await renameRefusals(rename, describe) };
}

/** A cutover rename whose new name is taken, or whose column is missing, refuses the plan. */
async function renameRefusals(renames: TableChanges['rename'], describe: Describe): Promise<string[]> {
  const refusals: string[] = [];
  for (const r of renames) {
    const info = await describe(r.table);
    if (r.kind === 'table' && (await describe(r.to))) {
      refusals.push(`Cutover would rename ${r.from} to ${r.to}, but a table ${r.to} already exists; rename or drop it first.`);
    }
    if (r.kind === 'column' && info && info.columns.some((c) => c.name === r.to)) {
      refusals.push(`Cutover would rename ${r.table}.${r.from} to ${r.to}, but ${r.table} already has a column ${r.to}.`);
    }
    if (r.kind === 'column' && info && !info.columns.some((c) => c.name === r.from)) {
      refusals.push(`Cutover would rename ${r.table}.${r.from}, but ${r.table} has no column ${r.from}.`);
    }
  }
  return refusals;
}

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

/** The cutover's column renames, one file per table. */
function columnRenameFiles({ mapping, capabilities, describe }: PatchScope): StemmedPatch[] {
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
      stem: `patch-${safeStem(table)}-${list.map((r) => safeStem(r.from)).join('-')}`,
      table,
      description: `at cutover: rename ${list.map((r) => `${table}.${r.from} to ${r.to}`).join(', ')}`,
      expectedRows: null,
      locks: 'brief exclusive metadata lock',
      statements: list.map((r) => renameColumnSql(capabilities, table, { from: r.from, to: r.to, definition: definitionOf(r.from) })),
      rollback: list
        .map((r) => renameColumnSql(capabilities, table, { from: r.to, to: r.from, definition: definitionOf(r.from) }))
        .reverse(),
    };
  });
}

/** The cutover's table renames, one file each; undoing one recreates the triggers the rename rewrote. */
function tableRenameFiles({ mapping, capabilities, triggers = new Map(), databaseDefaults }: PatchScope): StemmedPatch[] {
  return cutoverChanges(mapping).flatMap((c): StemmedPatch[] => {
    if (c.kind !== 'renameTable') return [];
    const recreated = recreateTriggersSql(triggers.get(c.from) ?? [], capabilities.engine, databaseDefaults);
    return [
      {
        kind: 'rename',
        stem: `patch-rename-${safeStem(c.from)}`,
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
