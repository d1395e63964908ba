import type { MySqlTable } from 'drizzle-orm/mysql-core';
import type { SourceDefinition } from '../csv/declaration.ts';
import { bindCsvSources, normalizeSources } from './bind-sources.ts';
import { validateLookups } from './lookup.ts';
import type {
  CodeExpr,
  CodeValue,
  ColumnExpr,
  CutoverChange,
  FinalizeChange,
  IdStrategy,
  Mapping,
  MappingDefinition,
  TargetRow,
} from './types.ts';

export type * from './types.ts';

export const idStrategies: readonly IdStrategy[] = ['offset', 'dense', 'chronological'];

/** A source column, as `alias.column`. */
export function col(ref: string): ColumnExpr {
  const dot = ref.indexOf('.');
  if (dot <= 0 || dot === ref.length - 1) throw new Error(`col('${ref}'): write a source column as 'alias.column'`);
  return { kind: 'col', alias: ref.slice(0, dot), column: ref.slice(dot + 1) };
}

/** A constant. */
export function lit(value: string | number | boolean | null): ColumnExpr {
  return { kind: 'lit', value };
}

/** Raw SQL over the source aliases, e.g. `sql("COALESCE(pull.Machine, '')")`. */
export function sql(text: string): ColumnExpr {
  return { kind: 'sql', text };
}

/** The step's new ID. */
export const id: ColumnExpr = { kind: 'id' };

/**
 * A value SQL cannot compute well (luxon date parsing, PHP-serialized values, ...), computed in Node from inputs read
 * in SQL. The exception, not the rule: a step with a code column is streamed (its rows are read in key-range chunks,
 * evaluated in Node and written with multi-row INSERTs, each chunk committed with its journal entry) instead of
 * written by `INSERT ... SELECT`, and `eventshift sql` cannot export it. Verification computes the expected value again
 * from the legacy row and compares it, row by row, with what was written.
 *
 * Inputs arrive as the connection reads them, losslessly: DATE/DATETIME/TIMESTAMP as text (`'2023-03-26 02:30:00'`,
 * zero dates included), DECIMAL and BIGINT as decimal strings, INT and smaller as numbers, binary columns as Buffers,
 * text as strings, NULL as null. The function must be pure (the same inputs give the same value: verification calls
 * it again) and return a string, number, bigint, boolean, Buffer or null (format dates yourself; a Date is refused).
 *
 * @example
 * import { DateTime } from 'luxon';
 * rows: {
 *   synced: {
 *     ID: id,
 *     WhenSynced: code({
 *       description: 'wiki-local DATETIME -> MediaWiki timestamp in UTC',
 *       inputs: { local: col('job.synced_at') },
 *       fn: ({ local }) => {
 *         const t = typeof local === 'string' ? DateTime.fromSQL(local, { zone: 'Europe/Berlin' }) : null;
 *         return t?.isValid ? t.toUTC().toFormat('yyyyMMddHHmmss') : null;
 *       },
 *     }),
 *   },
 * }
 */
export function code(definition: {
  inputs: Record<string, ColumnExpr>;
  fn: (inputs: Record<string, unknown>) => CodeValue;
  description?: string;
}): ColumnExpr {
  return { kind: 'code', inputs: { ...definition.inputs }, fn: definition.fn, description: definition.description };
}

export function renameTable(from: string, to: string): CutoverChange {
  return { kind: 'renameTable', from, to };
}

export function renameColumn(table: string, from: string, to: string): CutoverChange {
  return { kind: 'renameColumn', table, from, to };
}

/** Drops a legacy column at finalize, e.g. `dropColumn('campaign_events', 'event_tracking_tool_id')`. */
export function dropColumn(table: string, column: string): FinalizeChange {
  return { kind: 'dropColumn', table, column };
}

/** Declares a mapping; validates its shape so mistakes surface when the mapping is loaded, not mid-run. */
export function defineMapping<S extends Record<string, SourceDefinition>, T extends Record<string, MySqlTable>>(
  definition: MappingDefinition<S, T>,
): Mapping {
  const { tables, csvSources, problems } = normalizeSources(definition.sources);
  const normalized = { ...(definition as unknown as MappingDefinition), sources: tables };
  validateMapping(normalized, problems);
  return bindCsvSources(Object.freeze({ ...normalized, csvSources, __mapping: true as const }));
}

const sqlName = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** A mapping as validateMapping reads it: its sources normalized to table names. */
type Validated = Omit<MappingDefinition, 'sources'> & { sources: Record<string, string> };

/** Each rule adds its problems to `problems`, in the order read here; any problem refuses the mapping, naming them all. */
function validateMapping(m: Validated, problems: string[] = []): void {
  if (!m.name || !/^[a-z0-9][a-z0-9-]*$/.test(m.name)) problems.push(`name '${m.name}' must be lower-case words joined by '-'`);
  for (const alias of [...Object.keys(m.sources), ...Object.keys(m.targets)]) {
    if (!sqlName.test(alias)) problems.push(`alias '${alias}' must be a plain SQL identifier (letters, digits, _)`);
  }
  for (const alias of Object.keys(m.sources)) {
    if (alias in m.targets) problems.push(`alias '${alias}' names both a source and a target`);
  }
  if (Object.keys(m.steps).length === 0 && Object.keys(m.lookups ?? {}).length === 0) {
    problems.push('it has neither steps nor lookups: declare at least one step (new rows) or one lookup (see LookupDefinition)');
  }
  validateLookups(m.lookups, m.sources, m.targets, problems);
  stepProblems(m, problems);
  changeProblems(m, problems);
  replayProblems(m, problems);
  acceptsAndRolloutProblems(m, problems);
  if (problems.length > 0) {
    throw new Error(`Mapping '${m.name}' is not valid: ${problems.join('; ')}.`);
  }
}

/** Each step: its sources, IDs and rows, the columns it reads; a chronological step's order is SQL. */
function stepProblems(m: Validated, problems: string[]): void {
  for (const [stepName, step] of Object.entries(m.steps)) {
    const where = `step '${stepName}'`;
    if (!(step.from in m.sources)) problems.push(`${where}: from '${step.from}' is not a source`);
    for (const alias of Object.keys(step.join ?? {})) {
      if (!(alias in m.sources)) problems.push(`${where}: join '${alias}' is not a source`);
    }
    if (!(step.ids.table in m.targets)) problems.push(`${where}: ids.table '${step.ids.table}' is not a target`);
    if (!idStrategies.includes(step.ids.strategy))
      problems.push(`${where}: ids.strategy '${step.ids.strategy}' is not one of ${idStrategies.join(', ')}`);
    if (step.ids.strategy === 'offset' && step.ids.offset === undefined) problems.push(`${where}: the offset strategy needs ids.offset`);
    if (!(step.ids.table in step.rows)) problems.push(`${where}: writes no row to its ids.table '${step.ids.table}'`);
    const visible = new Set([step.from, ...Object.keys(step.join ?? {})]);
    for (const [target, spec] of Object.entries(step.rows)) {
      if (!(target in m.targets)) {
        problems.push(`${where}: rows.${target} is not a target`);
        continue;
      }
      const row = rowOf(spec!);
      const idColumns = Object.entries(row)
        .filter(([, e]) => e.kind === 'id')
        .map(([c]) => c);
      if (idColumns.length !== 1) problems.push(`${where}: rows.${target} must set exactly one column to id (found ${idColumns.length})`);
      for (const [column, e] of Object.entries(row)) {
        if (e.kind === 'col' && !visible.has(e.alias)) {
          problems.push(`${where}: rows.${target}.${column} reads '${e.alias}', which is neither 'from' nor joined`);
        }
        if (e.kind === 'code') problems.push(...codeProblems(`${where}: rows.${target}.${column}`, e, visible));
      }
    }
  }
  for (const [stepName, step] of Object.entries(m.steps)) {
    const idRow = step.rows[step.ids.table];
    const orderBy = step.ids.orderBy ?? 'WhenStart';
    if (step.ids.strategy === 'chronological' && idRow && rowOf(idRow)[orderBy]?.kind === 'code') {
      problems.push(`step '${stepName}': chronological IDs are ordered by ${orderBy} in SQL, so it cannot be a code() column`);
    }
  }
}

/** finalize's drops and cutover's renames name source tables. */
function changeProblems(m: Validated, problems: string[]): void {
  for (const change of m.finalize ?? []) {
    if (change.kind !== 'dropColumn') problems.push(`finalize: unknown change ${(change as { kind: string }).kind}`);
    else if (!Object.values(m.sources).includes(change.table))
      problems.push(`finalize drops a column of '${change.table}', which is not a source table`);
  }
  for (const change of m.cutover ?? []) {
    const table = change.kind === 'renameTable' ? change.from : change.table;
    if (!Object.values(m.sources).includes(table)) problems.push(`cutover renames '${table}', which is not a source table`);
  }
}

/** Each replay: the aliases its SQL names, what it compares and what explains a difference. */
function replayProblems(m: Validated, problems: string[]): void {
  for (const [name, replay] of Object.entries(m.replays ?? {})) {
    const aliases = new Set([...Object.keys(m.sources), ...Object.keys(m.targets)]);
    const texts = [replay.events, ...Object.values(replay.compare).map((c) => c.legacy)];
    for (const [, alias] of texts.flatMap((t) => [...t.matchAll(/\{\{\s*([^}.\s]+)/g)])) {
      if (!aliases.has(alias!)) problems.push(`replay '${name}': {{${alias}}} is neither a source nor a target`);
    }
    if (Object.keys(replay.compare).length === 0) problems.push(`replay '${name}' compares with nothing`);
    for (const [label, c] of Object.entries(replay.compare)) {
      for (const problem of Object.keys(c.explainedBy ?? {})) {
        if (!(problem in (m.problems ?? {})))
          problems.push(`replay '${name}', '${label}': explainedBy '${problem}' is not a declared problem`);
      }
      if (c.state !== undefined && !sqlName.test(c.state))
        problems.push(`replay '${name}', '${label}': state '${c.state}' must be a plain column name`);
    }
  }
}

/** accepts names only what it knows; a rollout has two or more distinct stages. */
function acceptsAndRolloutProblems(m: Validated, problems: string[]): void {
  for (const [field, names] of Object.entries(m.accepts ?? {})) {
    if (field !== 'breaking' && field !== 'triggers') problems.push(`accepts.${field} is not known (accepts has breaking and triggers)`);
    else if (!Array.isArray(names) || names.some((n) => typeof n !== 'string' || n === '')) {
      problems.push(`accepts.${field} must be a list of object names`);
    }
  }
  if (m.rollout) {
    const stages = m.rollout.stages;
    if (stages.length < 2 || new Set(stages).size !== stages.length) problems.push('rollout.stages must name two or more distinct stages');
    for (const stage of Object.keys(m.rollout.requires ?? {})) {
      if (!stages.includes(stage)) problems.push(`rollout.requires names '${stage}', which is not a rollout stage`);
    }
  }
}

function codeProblems(where: string, e: CodeExpr, visible: ReadonlySet<string>): string[] {
  const problems: string[] = [];
  if (typeof e.fn !== 'function') problems.push(`${where}: code() needs fn, a function of its inputs`);
  const inputs = Object.entries(e.inputs ?? {});
  if (inputs.length === 0) problems.push(`${where}: code() has no inputs; a constant is lit(value)`);
  for (const [name, input] of inputs) {
    if (!input || typeof input !== 'object' || !('kind' in input))
      problems.push(`${where}: code() input '${name}' is not a column expression (col(), sql(), lit() or id)`);
    else if (input.kind === 'code') problems.push(`${where}: code() input '${name}' is itself code(); compute both in one function`);
    else if (input.kind === 'col' && !visible.has(input.alias))
      problems.push(`${where}: code() input '${name}' reads '${input.alias}', which is neither 'from' nor joined`);
  }
  return problems;
}

/** The column expressions of a target row spec, whether or not it has a `when`. */
export function rowOf(spec: TargetRow): Record<string, ColumnExpr> {
  return isConditional(spec) ? spec.row : spec;
}

export function whenOf(spec: TargetRow): string | undefined {
  return isConditional(spec) ? spec.when : undefined;
}

function isConditional(spec: TargetRow): spec is { when: string; row: Record<string, ColumnExpr> } {
  return typeof (spec as { when?: unknown }).when === 'string' && typeof (spec as { row?: unknown }).row === 'object';
}
