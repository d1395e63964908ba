import type { Db } from '../db/connection.ts';
import type { TableInfo } from '../db/introspect.ts';
import { quoteId } from '../db/quote.ts';
import type { TableNames } from '../mapping/compile.ts';
import type { Mapping } from '../mapping/define.ts';
import type { ProblemFinding } from '../plan/plan-data.ts';
import { among, compileLookup, conflictsSql, skippedKeysSql, usableKeysSql, lookupAlias, type CompiledLookup } from './compile-lookup.ts';
import { displayKey } from './display-key.ts';
import type { LookupPlan, LookupSourcePlan } from './lookup-plan.ts';

export type { LookupPlan, LookupSourcePlan } from './lookup-plan.ts';

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
  const { mapping, names, describe, ready, keyLimit } = input;
  const out: LookupPlanning = { lookups: [], problems: [], refusals: [], backup: [], create: [], alter: [] };
  for (const name of Object.keys(mapping.lookups ?? {})) {
    const refusedBefore = out.refusals.length;
    const definition = mapping.lookups![name]!;
    const keyColumns = new Map<string, string | null>();
    for (const [alias, source] of Object.entries(definition.from)) {
      const info = await describe(names(alias));
      if (source.key !== undefined) keyColumns.set(alias, names.column(alias, source.key));
      else keyColumns.set(alias, info?.primaryKey.length === 1 ? info.primaryKey[0]! : null);
    }
    const l = compileLookup(mapping, name, names, keyColumns);
    const info = await describe(l.table);
    for (const s of l.sources) out.backup.push(s.table);
    out.backup.push(l.table);
    if (!info) out.create.push(l.table);
    else {
      for (const column of [l.idColumn, l.naturalKey, ...l.columns]) {
        if (!info.columns.some((c) => c.name === column))
          out.refusals.push(`Lookup ${name}: table ${l.table} exists but has no column ${column}; make it match the mapping's schema.`);
      }
    }
    for (const s of l.sources) {
      out.alter.push({
        table: s.table,
        change:
          `add column ${s.reference.name} ${s.reference.definition}` +
          `${s.reference.after ? ` after ${s.reference.after}` : ''} (lookup ${name})`,
      });
      const source = await describe(s.table);
      if (!source) continue; // the plan refuses a missing source already
      if (s.keyColumn === null)
        out.refusals.push(
          `Lookup ${name}: ${s.table} has no single-column primary key to fill ${s.reference.name} in chunks by; ` +
            "declare the source's `key` (a NOT NULL column, indexed, need not be unique).",
        );
      else if (!source.columns.some((c) => c.name === s.keyColumn))
        out.refusals.push(`Lookup ${name}: ${s.table} has no column ${s.keyColumn} (the source's key).`);
      if (source.columns.some((c) => c.name === s.reference.name)) {
        out.refusals.push(
          `Lookup ${name}: ${s.table} already has a column ${s.reference.name}, which the run adds and fills; ` +
            'drop it (a run fills only a column it added itself), or restore the database from before an earlier run.',
        );
      }
      if (s.reference.after && !source.columns.some((c) => c.name === s.reference.after)) {
        out.refusals.push(`Lookup ${name}: ${s.table} has no column ${s.reference.after} to add ${s.reference.name} after.`);
      }
    }
    // Another lookup's refusal does not stop this one being counted.
    const blocked = out.refusals.length > refusedBefore || !ready;
    const plan: LookupPlan = {
      name,
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
    if (blocked) {
      out.lookups.push(plan);
      continue;
    }
    const conflicts = await db.query<{ h: string; reason: string }>(conflictsSql(l, info ? 'all' : 'none'));
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
      if (Number(c!.nokey ?? 0) > 0) {
        const first =
          s.keySql === null
            ? []
            : await db.query<{ k: Buffer | string | number }>(
                `SELECT ${s.keySql} AS k FROM ${s.from} WHERE NOT ${s.skipped} AND ${s.natural} IS NULL ORDER BY ${s.keySql} LIMIT 5`,
              );
        const more = Number(c!.nokey) > first.length ? ', ...' : '';
        const keys = first.length === 0 ? '' : ` (${s.keyColumn} ${first.map((r) => displayKey(r.k)).join(', ')}${more})`;
        out.refusals.push(
          `Lookup ${name}: ${c!.nokey} row(s) of ${s.table}${keys} give no ${l.naturalKey} (NULL), ` +
            `so they can have no ${l.table} row; nothing is written. Fix them, or make the source's skip condition pick them.`,
        );
      }
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
        out.refusals.push(
          `Lookup ${name}: ${c!.nokey} row(s) of ${e.table} give no ${l.naturalKey} (NULL), so they can have no ` +
            `${l.table} row; nothing is written. Fix them.`,
        );
      }
      plan.everyRowOf.push({ alias: e.alias, table: e.table, rows: Number(c!.n) });
    }
    const [keys] = await db.query<{ n: string; reuse: string | null }>(
      info
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
    out.problems.push(...lookupProblems(mapping, l, { skipped: skippedKeys.map((r) => r.k), conflicts }, keyLimit));
    out.lookups.push(plan);
  }
  return out;
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
