import { columnExists, describeTable, onUpdateColumns } from '../db/introspect.ts';
import {
  compileProjection,
  independentOfSteps,
  keptAsTheyAre,
  projectionUpdateSql,
  sourceTableNames,
  type CompiledProjection,
  type TableNames,
} from '../mapping/compile.ts';
import type { Mapping } from '../mapping/define.ts';
import { quoteId } from '../db/quote.ts';
import { addColumnSql, dropColumnSql } from '../mapping/schema-statements.ts';
import { safeStem, type StemmedPatch } from '../export/patch-file.ts';
import { journaled, type Part, type PatchScope, type WriteScope } from './part.ts';
import { compiledSteps } from './steps-compiled.ts';

/**
 * The mapping's projections: a column added to an existing table and filled with an aggregate, dropped on undo. They
 * are written beside the steps, on a connection of their own, when no step reads or writes what they touch and the
 * run is not throttled (a server with two cores works on both).
 */
export const projectionsPart: Part = {
  kind: 'projections',
  beside: {
    kind: 'steps',
    when: (w) => {
      const projections = compiledProjections(w.mapping);
      const steps = compiledSteps(w);
      return projections.length > 0 && !w.throttled && projections.every((p) => independentOfSteps(p, steps));
    },
  },
  write: writeProjections,
  patches: (p) => ({ schema: projectionColumnFiles(p.mapping, p.names), data: projectionDataFiles(p, p.names, p.keepOf) }),
  async undo({ db, mapping, actions }) {
    const names = sourceTableNames(mapping);
    for (const [name, p] of Object.entries(mapping.projections ?? {})) {
      const table = names(p.table);
      if (!(await columnExists(db, table, p.column.name))) continue;
      await db.execute(dropColumnSql(table, p.column.name));
      actions.push(`dropped ${table}.${p.column.name} (projection ${name})`);
    }
  },
};

/** The mapping's projections compiled, in the mapping's order. */
export function compiledProjections(mapping: Mapping, names: TableNames = sourceTableNames(mapping)): CompiledProjection[] {
  return Object.entries(mapping.projections ?? {}).map(([name, p]) => compileProjection(name, p, names));
}

/** Each projection's column added (unless it exists: a resumed run) and filled, journaled on the scope's connection. */
async function writeProjections(w: WriteScope): Promise<void> {
  const { db } = w;
  for (const projection of compiledProjections(w.mapping)) {
    await w.throttle.waitWhilePaused();
    await journaled(w, `projection ${projection.name}`, async () => {
      if (!(await columnExists(db, projection.table, projection.column.name)))
        await db.execute(addColumnSql(projection.table, projection.column));
      await db.execute(projectionUpdateSql(projection, onUpdateColumns(await describeTable(db, projection.table))));
    });
  }
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
    stem: `patch-${safeStem(table)}-${list.map(([, p]) => safeStem(p.column.name)).join('-')}`,
    table,
    description: `add ${list.map(([, p]) => p.column.name).join(', ')} to ${table}`,
    expectedRows: null,
    locks: 'brief metadata lock (instant ADD COLUMN on MariaDB 10.4+ and MySQL 8.0.29+; otherwise a table rebuild)',
    statements: list.map(([, p]) => addColumnSql(table, compileProjection('', p, names).column)),
    rollback: list.map(([, p]) => dropColumnSql(table, p.column.name)).reverse(),
  }));
}

/** The values of the projections, one file each. */
function projectionDataFiles({ mapping, plan }: PatchScope, names: TableNames, keepOf: (table: string) => string[]): StemmedPatch[] {
  return Object.entries(mapping.projections ?? {}).map(([name, p]) => {
    const projection = compileProjection(name, p, names);
    const rows = plan.projections.find((x) => x.name === name);
    return {
      kind: 'data',
      stem: `data-${safeStem(name)}`,
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
