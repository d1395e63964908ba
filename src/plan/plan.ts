import type { Db } from '../db/connection.ts';
import { describeTable, isIntegerType, type TableInfo } from '../db/introspect.ts';
import { quoteId, quoteQualified } from '../db/quote.ts';
import { sideBySide } from '../db/side-by-side.ts';
import { EventshiftError, refusal, usageError } from '../errors.ts';
import type { LookupPlan } from '../lookup/lookup-plan.ts';
import { fromClauseSql, sourceTableNames, type TableNames } from '../mapping/compile.ts';
import type { Mapping } from '../mapping/define.ts';
import type { Describe, PartPlanned, PlanScope } from '../parts/part.ts';
import { inOrder, partsOf, planOrder } from '../parts/registry.ts';
import { dependedChanges, findDependents, runWrites } from './dependents.ts';
import { encodingFindings, encodingScans } from './encoding-problems.ts';
import { sharedPasses } from './shared-passes.ts';
import { compileMappingNames, missingColumns } from './mapping-names.ts';
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
import { formatCount } from '../format.ts';

/** What buildPlan reads besides the connection, the mapping and the time. */
export interface BuildPlanOptions {
  overrides?: PlanOverrides;
  /** Tables described by the caller, e.g. the TEMPORARY staging tables of CSV sources, which information_schema does not show. */
  staged?: ReadonlyMap<string, TableInfo>;
  /** The plan of a run migrate starts now (PlanScope.forRun): what only a person reads is not counted. */
  forRun?: boolean;
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

/** A describer per connection, sharing one cache: each table is described once for the whole plan. */
function describers(staged: ReadonlyMap<string, TableInfo>): (on: Db) => Describe {
  const described = new Map<string, TableInfo | null>();
  return (on) => async (table) => {
    if (!described.has(table)) described.set(table, staged.get(table) ?? (await describeTable(on, table)));
    return described.get(table)!;
  };
}

/**
 * The plan: the sources counted and the names the mapping reads proved, then a fold over the parts (each adds its
 * share, in planOrder), the data problems found, and what depends on what the run changes.
 */
async function planOf(db: Db, mapping: Mapping, now: Date, options: BuildPlanOptions): Promise<Plan> {
  const names = sourceTableNames(mapping);
  const staged = options.staged ?? new Map<string, TableInfo>();
  const describeOn = describers(staged);
  const refusals: string[] = [];
  const passes = sharedPasses();
  const sources = await planSources(db, mapping, describeOn(db), refusals);
  refusals.push(...(await nameRefusals(mapping, names, sources, describeOn(db))));
  const p: PlanScope = {
    mapping,
    names,
    overrides: options.overrides ?? {},
    sources,
    ready: refusals.length === 0,
    forRun: options.forRun === true,
    pass: passes.ask,
  };

  const { planned, scanned } = await planSideBySide(db, p, { describeOn, shared: staged.size === 0, passes });
  const { steps, projections, lookups, tables, idSpace, suggestion, ...joined } = joinPlanned(planned);
  refusals.push(...joined.refusals);
  const problems = orderedProblems(mapping, scanned, joined.problems);
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
    lookups,
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

/**
 * The parts' pieces of planning (counting the steps and fixing their IDs, each projection's count, the lookups), the
 * encoding scan and the data problems' scans, shared out between two connections, unless a source is a TEMPORARY
 * staging table (CSV), which only `db` sees (`shared` false). What reads the same rows (a FROM clause: a source and its
 * joins) is read in one pass (plan/shared-passes.ts): a step's counts, the data problems of that FROM clause, and a
 * source's encoding scan; the passes run first, then the pieces that wait for them. Each piece describes tables on its
 * own connection. The parts' findings come back in planOrder, the scans' in theirs (the encoding scan first).
 */
async function planSideBySide(
  db: Db,
  p: PlanScope,
  { describeOn, shared, passes }: { describeOn: (on: Db) => Describe; shared: boolean; passes: ReturnType<typeof sharedPasses> },
): Promise<{ planned: PartPlanned[]; scanned: ProblemFinding[][] }> {
  const pieces = inOrder(partsOf(), planOrder, (part) => part.plan !== undefined).flatMap((part) => part.plan?.(p) ?? []);
  const scans: Array<(on: Db) => Promise<ProblemFinding[]>> = [];
  if (p.ready) {
    const encoding = await encodingScans(p.sources, describeOn(db), db.capabilities.regexpOnBytes);
    const counted = encoding.map((scan) => ({
      scan,
      counts: passes.ask({ from: fromClauseSql(scan.source.alias, {}, p.names), columns: scan.sums }),
    }));
    scans.push(async (on) => {
      const found: ProblemFinding[] = [];
      for (const { scan, counts } of counted) found.push(...(await encodingFindings(on, scan, await counts, problemKeyLimit)));
      return found;
    });
    for (const scan of problemsByScan(p.mapping, p.names, p.sources)) {
      const asked = passes.ask({
        from: scan.from,
        columns: problemColumns(scan),
        where: scan.problems.map((x) => `(${x.where})`).join(' OR '),
      });
      scans.push(async () => problemFindings(scan, await asked));
    }
  }
  const passPieces = passes.pieces();
  const found = await sideBySide<unknown>(db, [...passPieces, ...pieces.map((piece) => (on: Db) => piece(on, describeOn(on))), ...scans], {
    shared,
  });
  const planned = found.slice(passPieces.length, passPieces.length + pieces.length) as PartPlanned[];
  return { planned, scanned: found.slice(passPieces.length + pieces.length) as ProblemFinding[][] };
}

/** The parts' shares of the plan joined, in their order: a table is backed up once, whichever parts name it. */
function joinPlanned(planned: readonly PartPlanned[]) {
  const tables: TableChanges = { backup: [], create: [], alter: [], rename: [] };
  const joined = {
    steps: [] as StepPlan[],
    idSpace: [] as IdSpacePlan[],
    suggestion: null as Plan['suggestion'],
    projections: [] as ProjectionPlan[],
    lookups: [] as LookupPlan[],
    tables,
    problems: [] as ProblemFinding[],
    refusals: [] as string[],
  };
  for (const x of planned) {
    joined.steps.push(...(x.steps ?? []));
    joined.idSpace.push(...(x.idSpace ?? []));
    joined.suggestion = x.suggestion ?? joined.suggestion;
    joined.projections.push(...(x.projections ?? []));
    joined.lookups.push(...(x.lookups ?? []));
    joined.problems.push(...(x.problems ?? []));
    joined.refusals.push(...(x.refusals ?? []));
    for (const t of x.tables?.backup ?? []) if (!tables.backup.includes(t)) tables.backup.push(t);
    tables.create.push(...(x.tables?.create ?? []));
    tables.alter.push(...(x.tables?.alter ?? []));
    tables.rename.push(...(x.tables?.rename ?? []));
  }
  return joined;
}

/** What depends on what the run changes, and the triggers its writes fire; what those triggers write joins `backup`. */
async function planDependents(db: Db, p: PlanScope, backup: string[]) {
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

/** The mapping's problems in its order (`scanned` after its first entry), the encoding findings, then the parts' findings. */
function orderedProblems(mapping: Mapping, scanned: ProblemFinding[][], parts: ProblemFinding[]): ProblemFinding[] {
  const order = Object.keys(mapping.problems ?? {});
  const problems = scanned
    .slice(1)
    .flat()
    .sort((a, b) => order.indexOf(a.name) - order.indexOf(b.name));
  problems.push(...(scanned[0] ?? []));
  problems.push(...parts);
  return problems;
}

/** A fatal problem that has rows refuses the plan, naming its first keys. */
function fatalProblemRefusals(problems: ProblemFinding[]): string[] {
  return problems
    .filter((p) => p.severity === 'fatal' && p.count > 0)
    .map((p) => {
      const keys = `${p.keys.join(', ')}${p.count > p.keys.length ? ', ...' : ''}`;
      return `${formatCount(p.count)} ${p.description}${p.count === 1 ? '' : ' (rows)'}: ${keys}. ${p.consequence ?? ''}`.trim();
    });
}

/** Data problems found in one pass: those whose FROM clause (source and joins) is the same. */
interface ProblemScan {
  from: string;
  problems: Array<{ name: string; key: string; where: string; definition: NonNullable<Mapping['problems']>[string] }>;
}

/** The mapping's data problems grouped into scans, in the order of each scan's first problem. */
function problemsByScan(mapping: Mapping, names: TableNames, sources: readonly SourcePlan[]): ProblemScan[] {
  const scans: ProblemScan[] = [];
  for (const [name, p] of Object.entries(mapping.problems ?? {})) {
    const source = sources.find((s) => s.alias === p.from);
    const key = p.key !== undefined ? names.snippet(p.key) : source?.keyColumn ? quoteQualified(p.from, source.keyColumn) : null;
    if (!key)
      throw usageError(`Mapping ${mapping.name}, problem ${name}: ${p.from} has no single primary key; declare the problem's \`key\`.`);
    const from = fromClauseSql(p.from, p.join ?? {}, names);
    let scan = scans.find((s) => s.from === from);
    if (!scan) scans.push((scan = { from, problems: [] }));
    scan.problems.push({ name, key, where: names.snippet(p.where), definition: p });
  }
  return scans;
}

/**
 * The aggregates that count the rows of each problem of a scan and list its first keys, in one pass over the scan's
 * rows (shared with whatever else reads them): each counts and sorts only its own problem's rows (a NULL is skipped).
 */
function problemColumns(scan: ProblemScan): string[] {
  return scan.problems.flatMap(({ where, key }) => [
    `SUM(CASE WHEN (${where}) THEN 1 ELSE 0 END)`,
    `SUBSTRING_INDEX(GROUP_CONCAT(CASE WHEN (${where}) THEN ${key} END ORDER BY ${key} SEPARATOR '\n'), '\n', ${problemKeyLimit})`,
  ]);
}

/** Each problem of a scan, counted and its first keys listed, from its pass's values (problemColumns' order). */
function problemFindings(scan: ProblemScan, found: unknown[]): ProblemFinding[] {
  return scan.problems.map(({ name, definition: p }, i) => {
    const ks = (found[2 * i + 1] ?? null) as string | Buffer | null;
    return {
      name,
      description: p.description,
      severity: p.severity,
      consequence: p.consequence,
      count: Number(found[2 * i] ?? 0),
      keys: ks === null ? [] : String(ks).split('\n'),
    };
  });
}
