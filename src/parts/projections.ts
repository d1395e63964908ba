import type { Db } from '../db/connection.ts';
import { columnExists, describeTable, onUpdateColumns, type ColumnInfo } from '../db/introspect.ts';
import {
  castToColumnSql,
  comparableSql,
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
import { journaled, privilegeNeeds, type Check, type Part, type PatchScope, type WriteScope } from './part.ts';
import { planProjectionsPieces } from './projections-plan.ts';
import { compiledSteps } from './steps-compiled.ts';

/**
 * The mapping's projections: a column added to an existing table and filled with an aggregate, dropped on undo. They
 * are written beside the steps, on a connection of their own, when no step reads or writes what they touch and the
 * run is not throttled (a server with two cores works on both).
 */
export const projectionsPart: Part = {
  kind: 'projections',
  plan: planProjectionsPieces,
  beside: {
    kind: 'steps',
    when: (w) => {
      const projections = compiledProjections(w.mapping);
      const steps = compiledSteps(w);
      return projections.length > 0 && !w.throttled && projections.every((p) => independentOfSteps(p, steps));
    },
  },
  write: writeProjections,
  privileges: ({ plan }) => {
    const tables = [...new Set(plan.projections.map((p) => p.table))];
    return [
      ...privilegeNeeds(['ALTER'], tables, { for: 'write stage: ALTER TABLE ... ADD COLUMN of a projection', when: 'run' }),
      ...privilegeNeeds(['UPDATE'], tables, { for: "write stage: the projection's fill (UPDATE)", when: 'run' }),
      ...privilegeNeeds(['ALTER'], tables, { for: "rollback: dropping a projection's column", when: 'rollback' }),
    ];
  },
  fillsInPlace: ({ mapping }) => {
    const names = sourceTableNames(mapping);
    return Object.values(mapping.projections ?? {}).map((p) => names(p.table));
  },
  checks: (v) =>
    Object.entries(v.mapping.projections ?? {}).map(([name, p]) => {
      const projection = compileProjection(name, p, v.names);
      // Its table, and the aggregate's source grouped.
      const rows =
        (v.plan.projections.find((x) => x.name === name)?.tableRows ?? 0) +
        (v.plan.sources.find((x) => x.alias === p.value.from)?.rows ?? 0);
      return {
        weight: 1,
        rows,
        run: async (db) => [await projectionCheck(db, projection, (await v.tableOf(projection.table, db)).columns, v.limit)],
      };
    }),
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

/** The projected column holds exactly the aggregate the mapping defines, for every row of its table. */
async function projectionCheck(
  db: Db,
  p: ReturnType<typeof compileProjection>,
  columns: Map<string, ColumnInfo>,
  limit: number,
): Promise<Check> {
  const info = columns.get(p.column.name);
  const title = `${p.table}.${p.column.name}: ${p.name} as defined`;
  const base = { id: `${p.name}.projection`, kind: 'projection' as const, table: p.table, title };
  if (!info) return { ...base, ok: false, failures: [{ key: '*', reason: `column ${p.column.name} does not exist` }], failureCount: 1 };
  const t = quoteId(p.alias);
  // Row by row, compared exactly as the content checks compare (comparableSql; NULL only equal to NULL).
  const mapped = comparableSql(castToColumnSql('es_v.v', info), info);
  const differs = `NOT (${mapped} <=> ${comparableSql(`${t}.${quoteId(p.column.name)}`, info, true)})`;
  const from = `${quoteId(p.table)} AS ${t} LEFT JOIN (${p.aggregateSql}) AS es_v ON es_v.k = ${t}.${quoteId(p.key)}`;
  const [r] = await db.query<{ n: string; bad: string }>(`SELECT COUNT(*) AS n, SUM(${differs}) AS bad FROM ${from}`);
  const bad = Number(r!.bad ?? 0);
  const failures =
    bad === 0
      ? []
      : (
          await db.query<{ k: string; v: string | null; e: string | null }>(
            `SELECT ${t}.${quoteId(p.key)} AS k, ${t}.${quoteId(p.column.name)} AS v, es_v.v AS e FROM ${from}
      WHERE ${differs} ORDER BY k LIMIT ${limit}`,
          )
        ).map((row) => ({
          key: String(row.k),
          reason: `holds ${row.v ?? 'NULL'}, expected ${row.e ?? 'NULL'}`,
        }));
  return { ...base, ok: bad === 0, expected: Number(r!.n), actual: Number(r!.n) - bad, failures, failureCount: bad };
}
