import { columnExists, describeTable, onUpdateColumns } from '../db/introspect.ts';
import {
  compileProjection,
  independentOfSteps,
  projectionUpdateSql,
  sourceTableNames,
  type CompiledProjection,
  type TableNames,
} from '../mapping/compile.ts';
import type { Mapping } from '../mapping/define.ts';
import { addColumnSql, dropColumnSql } from '../mapping/schema-statements.ts';
import { journaled, type Part, type WriteScope } from './part.ts';
import { compiledSteps } from './steps.ts';

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
