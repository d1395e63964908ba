import type { Db } from '../db/connection.ts';
import { tableName } from '../db/ddl.ts';
import { idIslands } from '../db/id-islands.ts';
import { integerMax, type TableInfo } from '../db/introspect.ts';
import { quoteId } from '../db/quote.ts';
import type { Mapping } from '../mapping/define.ts';
import type { IdSpacePlan, StepPlan } from '../plan/plan-data.ts';
import type { Describe } from './part.ts';
import { formatCount } from '../format.ts';

/** Reserved ranges that collide with rows, overlap, overflow the key column or contain its AUTO_INCREMENT. */
export function idSpaceRefusals(idSpace: IdSpacePlan[]): string[] {
  const refusals: string[] = [];
  for (const space of idSpace) {
    for (const c of space.collisions) {
      refusals.push(
        `Step ${c.step}: ${formatCount(c.count)} row(s) of ${c.table} already have IDs in its reserved range ` +
          `(first: ${c.firstIds.join(', ')}); ` +
          'free the range or choose another offset.',
      );
    }
    // Chronological steps share one block: it counts once.
    const sorted = space.ranges
      .filter((r, i) => space.ranges.findIndex((o) => o.first === r.first && o.last === r.last) === i)
      .sort((a, b) => a.first - b.first);
    for (let i = 1; i < sorted.length; i++) {
      if (sorted[i]!.first <= sorted[i - 1]!.last) {
        refusals.push(
          `Steps ${sorted[i - 1]!.step} and ${sorted[i]!.step} reserve overlapping IDs in ${space.table} ` +
            `(${sorted[i]!.first}..${Math.min(sorted[i]!.last, sorted[i - 1]!.last)}); change their offsets.`,
        );
      }
    }
    for (const r of space.ranges) {
      if (BigInt(r.last) > BigInt(space.columnMax)) {
        refusals.push(
          `Step ${r.step}: its range ${r.first}..${r.last} exceeds the largest value ${space.columnMax} ` +
            `of ${space.table}.${space.keyColumn}.`,
        );
      }
      if (space.autoIncrement !== null && r.first < space.autoIncrement && space.autoIncrement <= r.last) {
        refusals.push(
          `Step ${r.step}: its range ${r.first}..${r.last} contains ${space.table}'s AUTO_INCREMENT ${space.autoIncrement}, ` +
            'so new application rows would land inside it; move the range.',
        );
      }
    }
  }
  return refusals;
}

/**
 * The ID space of each table the steps reserve IDs in: its rows and IDs as they are, each step's range in it with the
 * rows already there (collisions), and the AUTO_INCREMENT to raise when a range lies at or above it.
 */
export async function idSpacePlan(db: Db, mapping: Mapping, steps: StepPlan[], describe: Describe): Promise<IdSpacePlan[]> {
  const byTable = new Map<string, IdSpacePlan>();
  for (const target of Object.values(mapping.targets)) {
    const table = tableName(target);
    const info = await describe(table);
    const keyColumn = steps.flatMap((s) => s.writes).find((w) => w.table === table)?.keyColumn;
    if (!keyColumn) continue;
    byTable.set(table, await tableIdSpace(db, { table, target, keyColumn, info }));
  }
  await findCollisions(db, steps, byTable);
  for (const space of byTable.values()) {
    const top = Math.max(...space.ranges.map((r) => r.last), 0);
    const ai = space.autoIncrement ?? 1;
    if (space.hasAutoIncrement && space.ranges.some((r) => r.first >= ai)) space.raiseAutoIncrementTo = top + 1;
  }
  return [...byTable.values()];
}

/** One ID table's space as it is: its rows and IDs, AUTO_INCREMENT, the key column's range and its islands of IDs. */
async function tableIdSpace(
  db: Db,
  { table, target, keyColumn, info }: { table: string; target: Mapping['targets'][string]; keyColumn: string; info: TableInfo | null },
): Promise<IdSpacePlan> {
  const keyInfo = info?.columns.find((c) => c.name === keyColumn);
  const drizzleKey = Object.values(target).find((c) => (c as { name?: string }).name === keyColumn) as
    { getSQLType?: () => string; autoIncrement?: boolean } | undefined;
  const sqlType = keyInfo?.columnType ?? drizzleKey?.getSQLType?.() ?? 'int';
  const dataType = keyInfo?.dataType ?? sqlType.split(/[ (]/)[0]!;
  let rows = 0,
    minId: number | null = null,
    maxId: number | null = null;
  const occupancy = info ? await idIslands(db, table, keyColumn) : { runs: [], gaps: [], runCount: 0, gapCount: 0 };
  if (info) {
    const [r] = await db.query<{ n: string; lo: string | null; hi: string | null }>(
      `SELECT COUNT(*) AS n, MIN(${quoteId(keyColumn)}) AS lo, MAX(${quoteId(keyColumn)}) AS hi FROM ${quoteId(table)}`,
    );
    rows = Number(r!.n);
    minId = r!.lo === null ? null : Number(r!.lo);
    maxId = r!.hi === null ? null : Number(r!.hi);
  }
  return {
    table,
    keyColumn,
    exists: info !== null,
    rows,
    minId,
    maxId,
    autoIncrement: info?.autoIncrement ?? null,
    hasAutoIncrement: keyInfo?.autoIncrement ?? drizzleKey?.autoIncrement === true,
    columnMax: integerMax({ dataType, columnType: sqlType } as never).toString(),
    ranges: [],
    raiseAutoIncrementTo: null,
    collisions: [],
    islands: occupancy.runs,
    gaps: occupancy.gaps,
    islandCount: occupancy.runCount,
    gapCount: occupancy.gapCount,
  };
}

/** Each step's range, added to its tables' spaces, with the rows that already hold IDs in it (collisions). */
async function findCollisions(db: Db, steps: StepPlan[], byTable: Map<string, IdSpacePlan>): Promise<void> {
  for (const step of steps) {
    if (!step.range) continue;
    for (const w of step.writes) {
      const space = byTable.get(w.table);
      if (!space) continue;
      const shared = space.ranges.some((r) => r.first === step.range!.first && r.last === step.range!.last);
      space.ranges.push({ step: step.name, first: step.range.first, last: step.range.last });
      if (!space.exists || shared) continue;
      const k = quoteId(w.keyColumn);
      const [c] = await db.query<{ n: string }>(`SELECT COUNT(*) AS n FROM ${quoteId(w.table)} WHERE ${k} BETWEEN ? AND ?`, [
        step.range.first,
        step.range.last,
      ]);
      if (Number(c!.n) > 0) {
        const first = await db.query<{ id: string }>(
          `SELECT ${k} AS id FROM ${quoteId(w.table)} WHERE ${k} BETWEEN ? AND ? ORDER BY ${k} LIMIT 5`,
          [step.range.first, step.range.last],
        );
        space.collisions.push({ step: step.name, table: w.table, count: Number(c!.n), firstIds: first.map((r) => Number(r.id)) });
      }
    }
  }
}
