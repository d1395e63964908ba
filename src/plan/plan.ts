import type { Db } from '../db/connection.ts';
import { describeTable, integerMax, isIntegerType, type TableInfo } from '../db/introspect.ts';
import { quoteId, quoteQualified } from '../db/quote.ts';
import { tableName } from '../db/ddl.ts';
import { EventshiftError, refusal, usageError } from '../errors.ts';
import type { IdStrategy, Mapping } from '../mapping/define.ts';
import { alignUp, lowestFreeBlock, type IdBlock } from './id-placement.ts';
import { idIslands, type IdGap, type IdRun } from './id-islands.ts';
import { findEncodingProblems } from './encoding-problems.ts';
import { compileMappingNames, missingColumns } from './mapping-names.ts';
import { dependedChanges, findDependents, runWrites } from './dependents.ts';
import { sideBySide } from '../db/side-by-side.ts';
import { codeColumnsOf } from '../mapping/streamed.ts';
import { finalizeAlterations, finalizeTables } from '../mapping/finalize-names.ts';
import { planLookups, type LookupPlanning } from '../lookup/plan-lookup.ts';
import {
  compileProjection,
  compileStep,
  fromClauseSql,
  sourceTableNames,
  stepCountSql,
  type CompiledStep,
  type TableNames,
  cutoverChanges,
} from '../mapping/compile.ts';
import {
  planVersion,
  problemKeyLimit,
  type IdSpacePlan,
  type Plan,
  type PlanOverrides,
  type ProblemFinding,
  type ProjectionPlan,
  type SourcePlan,
  type StepPlan,
  type TableChanges,
} from './plan-data.ts';

/** What buildPlan reads besides the connection, the mapping and the time. */
export interface BuildPlanOptions {
  overrides?: PlanOverrides;
  /** Tables described by the caller, e.g. the TEMPORARY staging tables of CSV sources, which information_schema does not show. */
  staged?: ReadonlyMap<string, TableInfo>;
}

/**
 * Builds the plan. Read-only: it runs SELECTs and information_schema queries only. A table or column the server says
 * does not exist (in SQL the mapping writes outside its `{{alias.column}}` placeholders) refuses the plan, naming it.
 */
export async function buildPlan(db: Db, mapping: Mapping, now: Date, options: BuildPlanOptions = {}): Promise<Plan> {
  try {
    return await planOf(db, mapping, now, options);
  } catch (error) {
    const cause = error instanceof EventshiftError ? (error.cause as { errno?: number; message?: string } | undefined) : undefined;
    if (cause?.errno !== 1054 && cause?.errno !== 1146) throw error;
    const said = cause.message;
    throw refusal(
      `Mapping ${mapping.name} names something database ${db.database} does not have: ${said}. Fix the mapping's SQL ` +
        'to the live schema (`eventshift check` lists the names it proves).',
      { subject: mapping.name, cause: error },
    );
  }
}

/** Describes a table (null when it does not exist), once for the whole plan whichever connection asks. */
type Describe = (table: string) => Promise<TableInfo | null>;

/** What the pieces of a plan share: the mapping, its names and sources, and whether the counting queries may run. */
interface Planning {
  mapping: Mapping;
  names: TableNames;
  overrides: PlanOverrides;
  sources: SourcePlan[];
  /** Every name the mapping reads exists, so its steps, lookups, ID space and problems can be counted. */
  ready: boolean;
}

// Long on purpose: the plan read top to bottom (sources, the counts shared out side by side, dependents, the Plan).
async function planOf(db: Db, mapping: Mapping, now: Date, options: BuildPlanOptions): Promise<Plan> {
  const names = sourceTableNames(mapping);
  const staged = options.staged ?? new Map<string, TableInfo>();
  const described = new Map<string, TableInfo | null>();
  /** Describes tables on connection `on`, once for the whole plan whichever connection asks. */
  const describeOn =
    (on: Db): Describe =>
    async (table) => {
      if (!described.has(table)) described.set(table, staged.get(table) ?? (await describeTable(on, table)));
      return described.get(table)!;
    };
  const refusals: string[] = [];
  const sources = await planSources(db, mapping, describeOn(db), refusals);
  refusals.push(...(await nameRefusals(mapping, names, sources, describeOn(db))));
  const p: Planning = { mapping, names, overrides: options.overrides ?? {}, sources, ready: refusals.length === 0 };

  // The plan's own counting (steps, IDs, lookups) and its longest reads, each projection's count, the encoding scan
  // and the data problems' scans (one per FROM clause: problems that read the same rows share a pass), are shared out
  // between two connections, unless a source is a TEMPORARY staging table (CSV), which only `db` sees. Each piece
  // describes tables on its own connection.
  const projectionNames = Object.keys(mapping.projections ?? {});
  const problemScans = p.ready ? problemsByScan(mapping, names, sources) : [];
  const [counted, ...pieces] = (await sideBySide<unknown>(
    db,
    [
      (on) => planCounts(on, p, describeOn(on)),
      ...projectionNames.map((name) => (on: Db) => planProjection(on, p, name)),
      ...(p.ready ? [(on: Db) => findEncodingProblems(on, sources, describeOn(on), problemKeyLimit)] : []),
      ...problemScans.map((scan) => (on: Db) => findProblems(on, scan)),
    ],
    { shared: staged.size === 0 },
  )) as [Counted, ...unknown[]];
  const { steps, tables, lookupPlanning, idSpace, suggestion } = counted;
  refusals.push(...counted.refusals);
  const projections = pieces.slice(0, projectionNames.length) as ProjectionPlan[];
  const problems = orderedProblems(mapping, pieces.slice(projectionNames.length) as ProblemFinding[][], lookupPlanning.problems);
  refusals.push(...fatalProblemRefusals(problems));

  const { dependents, firedTriggers, ...found } = await planDependents(db, p, tables.backup);
  refusals.push(...found.refusals);

  const [server] = await db.query<{ v: string }>('SELECT VERSION() AS v');
  return {
    version: planVersion,
    mapping: mapping.name,
    database: db.database,
    server: server!.v,
    createdAt: now.toISOString(),
    sources,
    steps,
    projections,
    lookups: lookupPlanning.lookups,
    tables,
    dependents,
    firedTriggers,
    idSpace,
    problems,
    refusals,
    suggestion,
    aliasWarnings: [...names.warnings],
    ok: refusals.length === 0,
  };
}

/** What depends on what the run changes, and the triggers its writes fire; what those triggers write joins `backup`. */
async function planDependents(db: Db, p: Planning, backup: string[]) {
  const found = p.ready
    ? await findDependents(db, p.mapping, {
        changes: dependedChanges(p.mapping),
        writes: runWrites(p.mapping),
        acceptBreaking: p.overrides.acceptBreaking,
      })
    : { dependents: [], firedTriggers: [], refusals: [] };
  // What the triggers the run fires may write is backed up too: verify's unchanged check then covers it.
  for (const t of found.firedTriggers) for (const name of t.names) if (!backup.includes(name)) backup.push(name);
  return found;
}

/** Each source's table: whether it exists, its rows, and its single integer key's range (a missing table refuses). */
async function planSources(db: Db, mapping: Mapping, describe: Describe, refusals: string[]): Promise<SourcePlan[]> {
  const sources: SourcePlan[] = [];
  for (const [alias, table] of Object.entries(mapping.sources)) {
    const info = await describe(table);
    if (!info) {
      refusals.push(`Source table ${table} (${alias}) does not exist in database ${db.database}.`);
      sources.push({ alias, table, exists: false, rows: 0, keyColumn: null, minKey: null, maxKey: null });
      continue;
    }
    const keyColumn = info.primaryKey.length === 1 ? info.primaryKey[0]! : null;
    const keyInfo = keyColumn ? info.columns.find((c) => c.name === keyColumn) : undefined;
    const usable = keyColumn && keyInfo && isIntegerType(keyInfo.dataType);
    const [stats] = await db.query<{ n: string; lo: string | null; hi: string | null }>(
      usable
        ? `SELECT COUNT(*) AS n, MIN(${quoteId(keyColumn)}) AS lo, MAX(${quoteId(keyColumn)}) AS hi FROM ${quoteId(table)}`
        : `SELECT COUNT(*) AS n, NULL AS lo, NULL AS hi FROM ${quoteId(table)}`,
    );
    sources.push({
      alias,
      table,
      exists: true,
      rows: Number(stats!.n),
      keyColumn: usable ? keyColumn : null,
      minKey: stats!.lo === null ? null : Number(stats!.lo),
      maxKey: stats!.hi === null ? null : Number(stats!.hi),
    });
  }
  return sources;
}

/** Every legacy column the mapping's SQL reads must exist, or the plan would fail on it with a raw SQL error. */
async function nameRefusals(mapping: Mapping, names: TableNames, sources: SourcePlan[], describe: Describe): Promise<string[]> {
  const sourceOf = (alias: string) => sources.find((s) => s.alias === alias);
  const stepKeys = new Map(Object.entries(mapping.steps).map(([n, st]) => [n, st.key ?? sourceOf(st.from)?.keyColumn ?? 'ID']));
  return [...compileMappingNames(mapping, names, stepKeys), ...(await missingColumns(mapping, names, describe)).map((m) => m.message)];
}

/** What planCounts found: the steps with their IDs, the tables, the lookups, the ID space, and what refuses the plan. */
interface Counted {
  steps: StepPlan[];
  tables: TableChanges;
  lookupPlanning: LookupPlanning;
  idSpace: IdSpacePlan[];
  suggestion: Plan['suggestion'];
  refusals: string[];
}

/** What the plan counts and decides on one connection: steps, their IDs, tables, lookups, ID space. */
async function planCounts(on: Db, p: Planning, describe: Describe): Promise<Counted> {
  const { mapping, names, ready } = p;
  const refusals: string[] = [];
  const steps = await planSteps(on, p, refusals);
  if (ready) await assignIds(on, { mapping, steps, sources: p.sources, overrides: p.overrides, describe });

  const tables = await tableChanges(mapping, names, describe);
  // Tables `eventshift finalize` alters later are backed up by the run, so restore can bring their columns back.
  for (const t of finalizeTables(mapping)) if (!tables.backup.includes(t)) tables.backup.push(t);
  tables.alter.push(...finalizeAlterations(mapping));
  const lookupPlanning = await planLookups(on, { mapping, names, describe, ready, keyLimit: problemKeyLimit });
  for (const t of lookupPlanning.backup) if (!tables.backup.includes(t)) tables.backup.push(t);
  tables.create.push(...lookupPlanning.create);
  tables.alter.push(...lookupPlanning.alter);
  refusals.push(...lookupPlanning.refusals);
  refusals.push(...(await renameRefusals(tables.rename, describe)));
  refusals.push(...(await projectionRefusals(p, describe)));

  const idSpace = ready ? await idSpacePlan(on, mapping, steps, describe) : [];
  const idRefusals = idSpaceRefusals(idSpace);
  refusals.push(...idRefusals);
  let suggestion: Plan['suggestion'] = null;
  if (idRefusals.length > 0) {
    suggestion = await suggestPlacement(on, mapping, steps, describe);
    refusals.push(
      suggestion
        ? `A placement that fits: \`${suggestion.args}\` (IDs ${suggestion.first}..${suggestion.last}, ` +
            `the lowest free block of ${suggestion.last - suggestion.first + 1}).`
        : "No free block of IDs fits the whole run below the key column's maximum.",
    );
  }
  return { steps, tables, lookupPlanning, idSpace, suggestion, refusals };
}

/** Each step's plan before its IDs are fixed; a step without a usable key is refused (when its source exists). */
async function planSteps(on: Db, p: Planning, refusals: string[]): Promise<StepPlan[]> {
  const steps: StepPlan[] = [];
  for (const [name, step] of Object.entries(p.mapping.steps)) {
    const source = p.sources.find((s) => s.alias === step.from)!;
    const keyColumn = step.key ?? source.keyColumn;
    if (!keyColumn) {
      if (source.exists)
        refusals.push(
          `Step ${name}: source ${source.table} has no single integer primary key; declare the legacy key column as the step's \`key\`.`,
        );
      continue;
    }
    steps.push(await planStep(on, p, name, keyColumn));
  }
  return steps;
}

/** One step's rows and each target's, counted as the write would write them, and how the step is written. */
async function planStep(on: Db, p: Planning, name: string, keyColumn: string): Promise<StepPlan> {
  const step = p.mapping.steps[name]!;
  const counting = compileStep(p.mapping, { name, keyColumn, ids: { strategy: 'offset', offset: 0 } }, { names: p.names });
  const counts = p.ready ? await countStep(on, counting) : {};
  return {
    name,
    description: step.description,
    from: step.from,
    keyColumn,
    sourceRows: Number(counts.total ?? 0),
    ids: { strategy: 'offset', offset: 0 },
    range: null,
    writes: counting.targets.map((t, i) => ({
      alias: t.alias,
      table: t.table,
      keyColumn: t.keyColumn,
      rows: Number(counts[`t${i}`] ?? 0),
      when: t.when,
    })),
    writePath: counting.streamed ? 'streamed' : 'set-based',
    codeColumns: codeColumnsOf(counting),
  };
}

/** A step's rows (`total`) and each target's (`t0`, `t1`, ...), counted on the server. */
async function countStep(on: Db, counting: CompiledStep): Promise<Record<string, string | null>> {
  const [counts = {}] = await on.query<Record<string, string | null>>(stepCountSql(counting));
  // Every expression the write evaluates, resolved by the server without reading a row: a name the database
  // lacks (in SQL outside the placeholders) refuses the plan here rather than failing the write.
  const exprs = counting.targets.flatMap((t) => [
    t.when ?? '1',
    ...t.columns.flatMap((c) => (c.code ? c.code.inputs.map((i) => i.sql) : [c.sql])),
  ]);
  await on.query(`SELECT ${exprs.map((e) => `(${e})`).join(', ')} FROM ${counting.fromClause} WHERE (${counting.where}) LIMIT 0`);
  return counts;
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

/** A projection whose column exists already, or whose `after` column does not, refuses the plan. */
async function projectionRefusals({ mapping, names }: Planning, describe: Describe): Promise<string[]> {
  const refusals: string[] = [];
  for (const p of Object.values(mapping.projections ?? {})) {
    const info = await describe(names(p.table));
    if (info?.columns.some((c) => c.name === p.column.name)) {
      refusals.push(`${names(p.table)} already has a column ${p.column.name}, which the run would add; drop it or rename the projection.`);
    }
    const after = p.column.after === undefined ? undefined : names.column(p.table, p.column.after);
    if (info && after && !info.columns.some((c) => c.name === after)) {
      refusals.push(`${names(p.table)} has no column ${after} to add ${p.column.name} after.`);
    }
  }
  return refusals;
}

/** Reserved ranges that collide with rows, overlap, overflow the key column or contain its AUTO_INCREMENT. */
function idSpaceRefusals(idSpace: IdSpacePlan[]): string[] {
  const refusals: string[] = [];
  for (const space of idSpace) {
    for (const c of space.collisions) {
      refusals.push(
        `Step ${c.step}: ${c.count} row(s) of ${c.table} already have IDs in its reserved range (first: ${c.firstIds.join(', ')}); ` +
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

/** A projection's plan: its column, and (a pass over its aggregate) how many rows of its table get a value. */
async function planProjection(on: Db, { mapping, names, ready }: Planning, name: string): Promise<ProjectionPlan> {
  const p = mapping.projections![name]!;
  const compiled = compileProjection(name, p, names);
  const [r] = ready
    ? await on.query<{ n: string; v: string }>(
        `SELECT COUNT(*) AS n, COUNT(es_v.v) AS v FROM ${quoteId(compiled.table)} AS ${quoteId(p.table)}
         LEFT JOIN (${compiled.aggregateSql}) AS es_v ON es_v.k = ${quoteQualified(p.table, p.key)}`,
      )
    : [];
  return {
    name,
    table: compiled.table,
    key: p.key,
    column: p.column.name,
    definition: p.column.definition,
    after: p.column.after,
    rowsWithValue: Number(r?.v ?? 0),
    tableRows: Number(r?.n ?? 0),
  };
}

/** The mapping's problems in its order (`scanned` after its first entry, the encoding findings), then those, then the lookups'. */
function orderedProblems(mapping: Mapping, scanned: ProblemFinding[][], lookups: ProblemFinding[]): ProblemFinding[] {
  const order = Object.keys(mapping.problems ?? {});
  const problems = scanned
    .slice(1)
    .flat()
    .sort((a, b) => order.indexOf(a.name) - order.indexOf(b.name));
  problems.push(...(scanned[0] ?? []));
  problems.push(...lookups);
  return problems;
}

/** A fatal problem that has rows refuses the plan, naming its first keys. */
function fatalProblemRefusals(problems: ProblemFinding[]): string[] {
  return problems
    .filter((p) => p.severity === 'fatal' && p.count > 0)
    .map((p) => {
      const keys = `${p.keys.join(', ')}${p.count > p.keys.length ? ', ...' : ''}`;
      return `${p.count} ${p.description}${p.count === 1 ? '' : ' (rows)'}: ${keys}. ${p.consequence ?? ''}`.trim();
    });
}

/** The steps whose IDs assignIds fixes, and what it reads to fix them. */
interface IdsToAssign {
  mapping: Mapping;
  steps: StepPlan[];
  sources: SourcePlan[];
  overrides: PlanOverrides;
  describe: Describe;
}

/**
 * Fixes each step's IDs: offset steps from their rule (or a --start), dense steps one block after another, the
 * chronological steps one shared block; blocks without a given start go to the lowest free gap that fits them.
 */
async function assignIds(db: Db, planned: IdsToAssign): Promise<void> {
  const { mapping, steps, overrides } = planned;
  for (const name of Object.keys(overrides.start ?? {})) {
    if (!(name in mapping.steps))
      throw usageError(
        `--start names a step ${name} that mapping ${mapping.name} does not have (steps: ${Object.keys(mapping.steps).join(', ')}).`,
      );
  }
  const strategyOf = (name: string): IdStrategy => {
    const o = overrides.ids;
    if (o === 'auto') return 'dense';
    return o ?? mapping.steps[name]!.ids.strategy;
  };
  const taken: IdBlock[] = [];
  for (const step of steps) if (strategyOf(step.name) === 'offset') assignOffset(planned, step, taken);
  const place = placer(db, planned, taken);
  await assignDense(planned, { steps: steps.filter((s) => strategyOf(s.name) === 'dense'), place, taken });
  await assignChronological(planned, { steps: steps.filter((s) => strategyOf(s.name) === 'chronological'), place, taken });
}

/** A step's first ID as the command line (--start) or the mapping gives it; none under `--ids auto`. */
const startOf = ({ mapping, overrides }: IdsToAssign, name: string): number | undefined =>
  overrides.start?.[name] ?? (overrides.ids === 'auto' ? undefined : mapping.steps[name]!.ids.start);

/** An offset step's IDs: its legacy keys plus the offset (the mapping's, or one that makes --start its first ID). */
function assignOffset(planned: IdsToAssign, step: StepPlan, taken: IdBlock[]): void {
  const { mapping } = planned;
  const def = mapping.steps[step.name]!;
  const source = planned.sources.find((s) => s.alias === step.from)!;
  const stats = { rows: source.rows, minKey: source.minKey ?? 0, maxKey: source.maxKey ?? 0 };
  const start = startOf(planned, step.name);
  if (def.ids.offset === undefined && start === undefined) {
    throw usageError(`Step ${step.name} has no ids.offset in mapping ${mapping.name}, so --ids offset needs --start ${step.name}=N.`);
  }
  const offset =
    start !== undefined ? start - stats.minKey : typeof def.ids.offset === 'function' ? def.ids.offset(stats) : def.ids.offset!;
  if (!Number.isSafeInteger(offset))
    throw usageError(`Mapping ${mapping.name}, step ${step.name}: the ID offset ${offset} is not an integer.`);
  step.ids = { strategy: 'offset', offset };
  step.range =
    source.minKey === null || source.maxKey === null
      ? null
      : { table: idTableOf(mapping, step.name), first: source.minKey + offset, last: source.maxKey + offset };
  if (step.range) taken.push(step.range);
}

/** Finds the first ID of a block of `size` for a group of steps: the lowest free gap of their ID table that fits it. */
type Place = (group: StepPlan[], size: number) => Promise<number>;

/** Places blocks in the ID table of a group's first step, avoiding the blocks `taken` so far. */
function placer(db: Db, { mapping, describe }: IdsToAssign, taken: readonly IdBlock[]): Place {
  return async (group, size) => {
    const first = group[0]!;
    const table = idTableOf(mapping, first.name);
    const info = await describe(table);
    const key = first.writes.find((w) => w.table === table)!.keyColumn;
    const keyInfo = info?.columns.find((c) => c.name === key);
    const align = mapping.steps[first.name]!.ids.align ?? 100;
    if (!info) return alignUp(1, align);
    const start = await lowestFreeBlock(
      db,
      { table, key, size },
      {
        align,
        avoid: taken,
        autoIncrement: info.autoIncrement,
        columnMax: keyInfo ? integerMax(keyInfo) : 2n ** 63n - 1n,
      },
    );
    if (start === null)
      throw usageError(`No free block of ${size} IDs fits in ${table}.${key} below its maximum; widen the column or free IDs.`);
    return start;
  };
}

/** Steps of one strategy, and how their blocks are placed. */
interface IdGroup {
  steps: StepPlan[];
  place: Place;
  taken: IdBlock[];
}

/** Dense steps: one block after another, each from its --start or where the previous ended, else placed with the rest. */
async function assignDense(planned: IdsToAssign, { steps: dense, place, taken }: IdGroup): Promise<void> {
  let cursor: number | null = null;
  for (const [i, step] of dense.entries()) {
    let start: number | null = startOf(planned, step.name) ?? cursor;
    if (start === null)
      start = await place(
        dense.slice(i),
        dense.slice(i).reduce((n, s) => n + s.sourceRows, 0),
      );
    step.ids = { strategy: 'dense', start };
    step.range =
      step.sourceRows === 0 ? null : { table: idTableOf(planned.mapping, step.name), first: start, last: start + step.sourceRows - 1 };
    if (step.range) taken.push(step.range);
    cursor = start + step.sourceRows;
  }
}

/** The chronological steps: one block they share, from the first --start given, else placed. */
async function assignChronological(planned: IdsToAssign, { steps: chronological, place }: IdGroup): Promise<void> {
  if (chronological.length === 0) return;
  const { mapping } = planned;
  const size = chronological.reduce((n, s) => n + s.sourceRows, 0);
  const given = chronological.map((s) => startOf(planned, s.name)).find((n) => n !== undefined);
  const start = given ?? (size === 0 ? 1 : await place(chronological, size));
  for (const step of chronological) {
    step.ids = { strategy: 'chronological', start, orderBy: mapping.steps[step.name]!.ids.orderBy ?? 'WhenStart' };
    step.range = size === 0 ? null : { table: idTableOf(mapping, step.name), first: start, last: start + size - 1 };
  }
}

/** The lowest free block of the ID table that holds every step's rows, numbered densely one step after another. */
async function suggestPlacement(
  db: Db,
  mapping: Mapping,
  steps: StepPlan[],
  describe: (table: string) => Promise<TableInfo | null>,
): Promise<Plan['suggestion']> {
  const first = steps.find((s) => s.sourceRows > 0);
  if (!first) return null;
  const table = idTableOf(mapping, first.name);
  const info = await describe(table);
  if (!info) return null;
  const key = first.writes.find((w) => w.table === table)!.keyColumn;
  const keyInfo = info.columns.find((c) => c.name === key);
  const size = steps.reduce((n, s) => n + s.sourceRows, 0);
  const start = await lowestFreeBlock(
    db,
    { table, key, size },
    {
      align: mapping.steps[first.name]!.ids.align ?? 100,
      avoid: [],
      autoIncrement: info.autoIncrement,
      columnMax: keyInfo ? integerMax(keyInfo) : 2n ** 63n - 1n,
    },
  );
  if (start === null) return null;
  return { args: `--ids dense --start ${first.name}=${start}`, first: start, last: start + size - 1 };
}

const idTableOf = (mapping: Mapping, step: string) => tableName(mapping.targets[mapping.steps[step]!.ids.table]!);

async function tableChanges(
  mapping: Mapping,
  names: TableNames,
  describe: (table: string) => Promise<TableInfo | null>,
): Promise<TableChanges> {
  const backup: string[] = [];
  const add = (t: string) => backup.includes(t) || backup.push(t);
  const create: string[] = [];
  for (const target of Object.values(mapping.targets)) {
    const name = tableName(target);
    add(name);
    if (!(await describe(name))) create.push(name);
  }
  const alter: TableChanges['alter'] = [];
  for (const p of Object.values(mapping.projections ?? {})) {
    add(names(p.table));
    alter.push({
      table: names(p.table),
      change: `add column ${p.column.name} ${p.column.definition}${p.column.after ? ` after ${p.column.after}` : ''}`,
    });
  }
  const rename: TableChanges['rename'] = [];
  for (const c of cutoverChanges(mapping)) {
    if (c.kind === 'renameTable') {
      add(c.from);
      rename.push({ kind: 'table', table: c.from, from: c.from, to: c.to });
    } else {
      add(c.table);
      rename.push({ kind: 'column', table: c.table, from: c.from, to: c.to });
      alter.push({ table: c.table, change: `rename column ${c.from} to ${c.to} (at cutover)` });
    }
  }
  return { backup, create, alter, rename };
}

async function idSpacePlan(
  db: Db,
  mapping: Mapping,
  steps: StepPlan[],
  describe: (table: string) => Promise<TableInfo | null>,
): Promise<IdSpacePlan[]> {
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

/** Data problems found in one pass: those whose FROM clause (source and joins) and key are the same. */
interface ProblemScan {
  from: string;
  key: string;
  problems: Array<{ name: string; where: string; definition: NonNullable<Mapping['problems']>[string] }>;
}

/** The mapping's data problems grouped into scans, in the order of each scan's first problem. */
function problemsByScan(mapping: Mapping, names: TableNames, sources: SourcePlan[]): ProblemScan[] {
  const scans: ProblemScan[] = [];
  for (const [name, p] of Object.entries(mapping.problems ?? {})) {
    const source = sources.find((s) => s.alias === p.from);
    const key = p.key !== undefined ? names.snippet(p.key) : source?.keyColumn ? quoteQualified(p.from, source.keyColumn) : null;
    if (!key)
      throw usageError(`Mapping ${mapping.name}, problem ${name}: ${p.from} has no single primary key; declare the problem's \`key\`.`);
    const from = fromClauseSql(p.from, p.join ?? {}, names);
    let scan = scans.find((s) => s.from === from && s.key === key);
    if (!scan) scans.push((scan = { from, key, problems: [] }));
    scan.problems.push({ name, where: names.snippet(p.where), definition: p });
  }
  return scans;
}

/**
 * Counts the rows of each problem of a scan and lists its first keys, in one pass over the scan's rows: only rows
 * some problem names pass the WHERE, and each GROUP_CONCAT sorts only its own problem's rows (a NULL is skipped).
 */
async function findProblems(db: Db, scan: ProblemScan): Promise<ProblemFinding[]> {
  const { key } = scan;
  const columns = scan.problems.flatMap(({ where }, i) => [
    `SUM(CASE WHEN (${where}) THEN 1 ELSE 0 END) AS n${i}`,
    `SUBSTRING_INDEX(GROUP_CONCAT(CASE WHEN (${where}) THEN ${key} END ORDER BY ${key} SEPARATOR '\n'), '\n', ` +
      `${problemKeyLimit}) AS ks${i}`,
  ]);
  const [found] = await db.query<Record<string, string | Buffer | null>>(
    `SELECT ${columns.join(', ')} FROM ${scan.from} WHERE ${scan.problems.map((p) => `(${p.where})`).join(' OR ')}`,
  );
  return scan.problems.map(({ name, definition: p }, i) => {
    const ks = found?.[`ks${i}`] ?? null;
    return {
      name,
      description: p.description,
      severity: p.severity,
      consequence: p.consequence,
      count: Number(found?.[`n${i}`] ?? 0),
      keys: ks === null ? [] : String(ks).split('\n'),
    };
  });
}
