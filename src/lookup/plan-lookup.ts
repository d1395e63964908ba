import type { Db } from '../db/connection.ts';
import type { TableInfo } from '../db/introspect.ts';
import { quoteId } from '../db/quote.ts';
import type { TableNames } from '../mapping/compile.ts';
import type { Mapping } from '../mapping/define.ts';
import type { ProblemFinding } from '../plan/plan-data.ts';
import { among, compileLookup, conflictsSql, skippedKeysSql, usableKeysSql, lookupAlias, type CompiledLookup } from './compile-lookup.ts';
import { displayKey } from './display-key.ts';
import type { LookupPlan, LookupSourcePlan } from './lookup-plan.ts';
import { formatCount } from '../format.ts';

export interface LookupPlanning {
  lookups: LookupPlan[];
  problems: ProblemFinding[];
  refusals: string[];
  /** Tables to back up, create, and alter, for the plan's TableChanges. */
  backup: string[];
  create: string[];
  alter: Array<{ table: string; change: string }>;
}

/** What planLookups reads: the mapping and its names, tables as described, and how many keys a finding lists. */
export interface LookupPlanningInput {
  mapping: Mapping;
  names: TableNames;
  describe: (table: string) => Promise<TableInfo | null>;
  /** The sources exist, so their rows can be counted. */
  ready: boolean;
  keyLimit: number;
}

/** Plans every lookup of the mapping. Read-only. */
export async function planLookups(db: Db, input: LookupPlanningInput): Promise<LookupPlanning> {
  const out: LookupPlanning = { lookups: [], problems: [], refusals: [], backup: [], create: [], alter: [] };
  for (const name of Object.keys(input.mapping.lookups ?? {})) {
    const l = await compiledForPlan(input, name);
    const info = await input.describe(l.table);
    for (const s of l.sources) out.backup.push(s.table);
    out.backup.push(l.table);
    if (!info) out.create.push(l.table);
    for (const s of l.sources) {
      const after = s.reference.after ? ` after ${s.reference.after}` : '';
      out.alter.push({ table: s.table, change: `add column ${s.reference.name} ${s.reference.definition}${after} (lookup ${name})` });
    }
    const refusals = await lookupRefusals(l, info, input.describe);
    out.refusals.push(...refusals);
    const plan = await lookupBefore(db, l, info);
    // Another lookup's refusal does not stop this one being counted.
    if (refusals.length === 0 && input.ready) {
      const counted = await countLookup(db, l, plan, info !== null);
      out.refusals.push(...counted.refusals);
      out.problems.push(...lookupProblems(input.mapping, l, counted, input.keyLimit));
    }
    out.lookups.push(plan);
  }
  return out;
}

/** The lookup compiled over the sources' key columns: declared, or each source's single-column primary key. */
async function compiledForPlan({ mapping, names, describe }: LookupPlanningInput, name: string): Promise<CompiledLookup> {
  const keyColumns = new Map<string, string | null>();
  for (const [alias, source] of Object.entries(mapping.lookups![name]!.from)) {
    const info = await describe(names(alias));
    if (source.key !== undefined) keyColumns.set(alias, names.column(alias, source.key));
    else keyColumns.set(alias, info?.primaryKey.length === 1 ? info.primaryKey[0]! : null);
  }
  return compileLookup(mapping, name, names, keyColumns);
}

/** What refuses the lookup before anything is counted: a lookup table or a source that does not fit it. */
async function lookupRefusals(l: CompiledLookup, info: TableInfo | null, describe: LookupPlanningInput['describe']): Promise<string[]> {
  const name = l.name;
  const refusals: string[] = [];
  for (const column of info ? [l.idColumn, l.naturalKey, ...l.columns] : []) {
    if (!info!.columns.some((c) => c.name === column))
      refusals.push(`Lookup ${name}: table ${l.table} exists but has no column ${column}; make it match the mapping's schema.`);
  }
  for (const s of l.sources) {
    const source = await describe(s.table);
    if (!source) continue; // the plan refuses a missing source already
    if (s.keyColumn === null)
      refusals.push(
        `Lookup ${name}: ${s.table} has no single-column primary key to fill ${s.reference.name} in chunks by; ` +
          "declare the source's `key` (a NOT NULL column, indexed, need not be unique).",
      );
    else if (!source.columns.some((c) => c.name === s.keyColumn))
      refusals.push(`Lookup ${name}: ${s.table} has no column ${s.keyColumn} (the source's key).`);
    if (source.columns.some((c) => c.name === s.reference.name)) {
      refusals.push(
        `Lookup ${name}: ${s.table} already has a column ${s.reference.name}, which the run adds and fills; ` +
          'drop it (a run fills only a column it added itself), or restore the database from before an earlier run.',
      );
    }
    if (s.reference.after && !source.columns.some((c) => c.name === s.reference.after)) {
      refusals.push(`Lookup ${name}: ${s.table} has no column ${s.reference.after} to add ${s.reference.name} after.`);
    }
  }
  return refusals;
}

/** The lookup's plan before its keys are counted: its table, and the rows and highest ID the table has. */
async function lookupBefore(db: Db, l: CompiledLookup, info: TableInfo | null): Promise<LookupPlan> {
  const plan: LookupPlan = {
    name: l.name,
    description: l.description ?? null,
    table: l.table,
    idColumn: l.idColumn,
    naturalKey: l.naturalKey,
    exists: info !== null,
    rowsBefore: 0,
    maxIdBefore: null,
    autoIncrementBefore: info?.autoIncrement ?? null,
    sources: [],
    keys: 0,
    reuse: 0,
    create: 0,
    skippedKeys: 0,
    conflictedKeys: [],
  };
  if (info) {
    const [r] = await db.query<{ n: string; hi: string | null }>(
      `SELECT COUNT(*) AS n, MAX(${quoteId(l.idColumn)}) AS hi FROM ${quoteId(l.table)}`,
    );
    plan.rowsBefore = Number(r!.n);
    plan.maxIdBefore = r!.hi;
  }
  return plan;
}

/**
 * Counts the lookup into its plan: the keys in conflict, each source's rows (skipped, in conflict, filled), the
 * `everyRowOf` sources' rows, the keys that get a row (reused or created), and the skipped keys. Rows that give no
 * natural key refuse the plan.
 */
async function countLookup(db: Db, l: CompiledLookup, plan: LookupPlan, exists: boolean): Promise<UnwrittenKeys & { refusals: string[] }> {
  const refusals: string[] = [];
  const conflicts = await db.query<{ h: string; reason: string }>(conflictsSql(l, exists ? 'all' : 'none'));
  plan.conflictedKeys = [...new Set(conflicts.map((c) => c.h))];
  for (const s of l.sources) {
    const [c] = await db.query<{ n: string; skipped: string | null; conflicted: string | null; nokey: string | null }>(
      `SELECT COUNT(*) AS n, SUM(${s.skipped}) AS skipped, ` +
        `SUM(NOT ${s.skipped} AND ${among(s.natural, plan.conflictedKeys)}) AS conflicted,
                SUM(NOT ${s.skipped} AND ${s.natural} IS NULL) AS nokey FROM ${s.from}`,
    );
    const rows = Number(c!.n),
      skipped = Number(c!.skipped ?? 0),
      conflicted = Number(c!.conflicted ?? 0);
    if (Number(c!.nokey ?? 0) > 0) refusals.push(await keylessRowsRefusal(db, l, s, Number(c!.nokey)));
    plan.sources.push({
      alias: s.alias,
      table: s.table,
      keyColumn: s.keyColumn,
      reference: s.reference,
      rows,
      skipped,
      conflicted,
      fill: rows - skipped - conflicted,
    });
  }
  plan.everyRowOf = [];
  for (const e of l.everyRowOf) {
    const [c] = await db.query<{ n: string; nokey: string | null }>(
      `SELECT COUNT(*) AS n, SUM(${e.natural} IS NULL) AS nokey FROM ${e.from}`,
    );
    if (Number(c!.nokey ?? 0) > 0) {
      refusals.push(
        `Lookup ${l.name}: ${formatCount(Number(c!.nokey))} row(s) of ${e.table} give no ${l.naturalKey} (NULL), so they can have no ` +
          `${l.table} row; nothing is written. Fix them.`,
      );
    }
    plan.everyRowOf.push({ alias: e.alias, table: e.table, rows: Number(c!.n) });
  }
  const [keys] = await db.query<{ n: string; reuse: string | null }>(
    exists
      ? `SELECT COUNT(*) AS n, SUM(${quoteId(lookupAlias)}.${quoteId(l.idColumn)} IS NOT NULL) AS reuse ` +
          `FROM (${usableKeysSql(l, plan.conflictedKeys)}) AS u
           LEFT JOIN ${quoteId(l.table)} AS ${quoteId(lookupAlias)} ON ${l.naturalSql} = u.k`
      : `SELECT COUNT(*) AS n, 0 AS reuse FROM (${usableKeysSql(l, plan.conflictedKeys)}) AS u`,
  );
  plan.keys = Number(keys!.n);
  plan.reuse = Number(keys!.reuse ?? 0);
  plan.create = plan.keys - plan.reuse;
  const skippedKeys = await db.query<{ k: Buffer }>(skippedKeysSql(l));
  plan.skippedKeys = skippedKeys.length;
  return { skipped: skippedKeys.map((r) => r.k), conflicts, refusals };
}

/** A source's rows that give no natural key (NULL) refuse the plan, naming the first five by the source's key. */
async function keylessRowsRefusal(db: Db, l: CompiledLookup, s: CompiledLookup['sources'][number], count: number): Promise<string> {
  const first =
    s.keySql === null
      ? []
      : await db.query<{ k: Buffer | string | number }>(
          `SELECT ${s.keySql} AS k FROM ${s.from} WHERE NOT ${s.skipped} AND ${s.natural} IS NULL ORDER BY ${s.keySql} LIMIT 5`,
        );
  const more = count > first.length ? ', ...' : '';
  const keys = first.length === 0 ? '' : ` (${s.keyColumn} ${first.map((r) => displayKey(r.k)).join(', ')}${more})`;
  return (
    `Lookup ${l.name}: ${formatCount(count)} row(s) of ${s.table}${keys} give no ${l.naturalKey} (NULL), ` +
    `so they can have no ${l.table} row; nothing is written. Fix them, or make the source's skip condition pick them.`
  );
}

/** The natural keys of a lookup that get no lookup row: those its `skip` picks, and those in conflict (hex, and why). */
interface UnwrittenKeys {
  skipped: Buffer[];
  conflicts: Array<{ h: string; reason: string }>;
}

/** The lookup's findings for the plan: its skipped keys (when it declares `skip`), and its conflicts by reason. */
function lookupProblems(mapping: Mapping, l: CompiledLookup, { skipped, conflicts }: UnwrittenKeys, keyLimit: number): ProblemFinding[] {
  const definition = mapping.lookups![l.name]!;
  const references = l.sources.map((s) => `${s.table}.${s.reference.name}`).join(', ');
  const findings: ProblemFinding[] = [];
  if (definition.skip) {
    findings.push({
      name: `${l.name}.skipped`,
      severity: 'warning',
      description: `${l.naturalKey}: ${definition.skip.description}`,
      consequence: definition.skip.consequence ?? `no ${l.table} row; its rows keep ${references} = 0`,
      count: skipped.length,
      keys: skipped.slice(0, keyLimit).map(displayKey),
    });
  }
  for (const reason of ['values', ...l.unique]) {
    const keys = conflicts.filter((c) => c.reason === reason).map((c) => displayKey(Buffer.from(c.h, 'hex')));
    findings.push({
      name: `${l.name}.conflict.${reason}`,
      severity: 'warning',
      description:
        reason === 'values'
          ? `${l.naturalKey} given with different ${l.columns.join(', ')} (by the sources' rows, or by an existing ${l.table} row)`
          : `${l.naturalKey} whose ${reason} another ${l.naturalKey} has too (by the sources' rows, or by an existing ${l.table} row)`,
      consequence: `no ${l.table} row is written for it; its rows keep ${references} = 0 until the data is fixed`,
      count: keys.length,
      keys: keys.slice(0, keyLimit),
    });
  }
  return findings;
}
