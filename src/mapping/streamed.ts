import type { Row } from '../db/connection.ts';
import { EventshiftError } from '../errors.ts';
import type { CompiledColumn, CompiledStep, CompiledTarget } from './compile.ts';

/**
 * The streaming path's view of a compiled step: one SELECT reads, per legacy row in a key range and in key order, its
 * key, its new ID, whether each target gets a row, each SQL column's value and each code() column's inputs; Node then
 * computes the code columns. The writer (src/parts/steps-stream.ts) and the verifier (src/parts/steps-streamed-checks.ts)
 * both read through here, so what is checked is computed exactly as what was written.
 */

const whenAlias = (t: number) => `es_w${t}`;
const valueAlias = (t: number, c: number) => `es_v${t}_${c}`;
const inputAlias = (t: number, c: number, i: number) => `es_i${t}_${c}_${i}`;

export interface StreamedSourceOptions {
  /** LEFT JOIN the lineage, so a legacy row without its lineage row is read with a NULL ID (verification). */
  leftLineage?: boolean;
  /** The SQL selected for a SQL column, given its expression (verification reads a canonical form). */
  value?: (sql: string, target: CompiledTarget, column: CompiledColumn) => string;
}

/** SELECT of the step's legacy rows with keys in [?, ?], in key order, with everything its streamed rows need. */
export function streamedSourceSql(step: CompiledStep, options: StreamedSourceOptions = {}): string {
  const lineage = options.leftLineage ? step.lineageJoin.replace(/^ JOIN /, ' LEFT JOIN ') : step.lineageJoin;
  const value = options.value ?? ((sql: string) => sql);
  const select = [`${step.keySql} AS es_k`, `${step.idSql} AS es_id`];
  step.targets.forEach((t, ti) => {
    select.push(`CASE WHEN ${t.when === undefined ? '1=1' : `(${t.when})`} THEN 1 ELSE 0 END AS ${whenAlias(ti)}`);
    t.columns.forEach((c, ci) => {
      if (c.code) c.code.inputs.forEach((input, ii) => select.push(`${input.sql} AS ${inputAlias(ti, ci, ii)}`));
      else select.push(`${value(c.sql, t, c)} AS ${valueAlias(ti, ci)}`);
    });
  });
  return (
    `SELECT ${select.join(', ')}\nFROM ${step.fromClause}${lineage}\n` +
    `WHERE (${step.where}) AND ${step.keySql} BETWEEN ? AND ?\nORDER BY ${step.keySql}`
  );
}

/** A legacy row on the streaming path: per target (in `step.targets` order), its column values, or null for no row. */
export interface StreamedRow {
  legacyKey: string;
  /** The new ID; null only when a lineage row is missing (read with `leftLineage`). */
  id: string | null;
  targets: Array<unknown[] | null>;
}

/** Evaluates one row read with streamedSourceSql: SQL values as read, code columns computed from their inputs. */
export function evaluateStreamedRow(step: CompiledStep, row: Row): StreamedRow {
  const legacyKey = String(row.es_k);
  return {
    legacyKey,
    id: row.es_id === null || row.es_id === undefined ? null : String(row.es_id),
    targets: step.targets.map((t, ti) => {
      if (Number(row[whenAlias(ti)]) !== 1) return null;
      return t.columns.map((c, ci) => {
        if (!c.code) return row[valueAlias(ti, ci)];
        const inputs: Record<string, unknown> = {};
        c.code.inputs.forEach((input, ii) => (inputs[input.name] = row[inputAlias(ti, ci, ii)]));
        return runCode({ step, target: t, column: c, inputs, legacyKey });
      });
    }),
  };
}

/** One call of a code() column's function: for which step, target column and legacy row, with which inputs. */
interface CodeCall {
  step: CompiledStep;
  target: CompiledTarget;
  column: CompiledColumn;
  inputs: Record<string, unknown>;
  legacyKey: string;
}

function runCode({ step, target, column, inputs, legacyKey }: CodeCall): unknown {
  const legacy = `legacy ${step.fromAlias}.${step.keyColumn} = ${legacyKey}`;
  const where = `Step ${step.name}, ${legacy}: the code() column ${target.table}.${column.name}`;
  let value: unknown;
  try {
    value = column.code!.fn(inputs);
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new EventshiftError(
      'usage',
      `${where} threw: ${reason}. Fix its function, or exclude such rows with the step's where and a declared data problem.`,
      {
        subject: `${target.table}.${column.name}`,
        cause,
        details: { step: step.name, legacyKey, inputs: describeInputs(inputs) },
      },
    );
  }
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (Buffer.isBuffer(value)) return value;
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  const what =
    value === undefined
      ? 'undefined (return null for NULL)'
      : value instanceof Date
        ? 'a Date (format it, e.g. with luxon, so the text written is explicit)'
        : typeof value === 'number'
          ? `${value}, which is not a finite number`
          : `a ${typeof value} (${Object.prototype.toString.call(value)})`;
  throw new EventshiftError('usage', `${where} returned ${what}; it must return a string, number, bigint, boolean, Buffer or null.`, {
    subject: `${target.table}.${column.name}`,
    details: { step: step.name, legacyKey, inputs: describeInputs(inputs) },
  });
}

function describeInputs(inputs: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(inputs).map(([k, v]) => [k, Buffer.isBuffer(v) ? `0x${v.toString('hex')}` : v === null ? 'NULL' : String(v)]),
  );
}

/** The code() columns of a step, as `table.column`, for the plan and messages. */
export function codeColumnsOf(step: CompiledStep): string[] {
  return step.targets.flatMap((t) => t.columns.filter((c) => c.code).map((c) => `${t.table}.${c.name}`));
}
