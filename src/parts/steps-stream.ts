import { insertBudget, type Db } from '../db/connection.ts';
import { quoteId } from '../db/quote.ts';
import type { CompiledStep, CompiledTarget } from '../mapping/compile.ts';
import { evaluateStreamedRow, streamedSourceSql } from '../mapping/streamed.ts';

export interface StreamedWriteOptions {
  /** Rows per multi-row INSERT at most (default 1000). */
  batchRows?: number;
  /**
   * Bytes of values per multi-row INSERT at most (default 4 MiB), and never over a quarter of the session's
   * max_allowed_packet: a server whose packet is smaller than the default still takes every statement. A row larger
   * than the budget goes in an INSERT of its own; the plan refuses a row too large for the packet (server-variables).
   */
  batchBytes?: number;
}

export const defaultBatchRows = 1000;
const defaultBatchBytes = 4 * 1024 * 1024;
/** Legacy keys per chunk at most: a chunk's rows are held in memory while they are evaluated and written. */
export const maxStreamedChunkKeys = 5000;

/**
 * The write of a streamed step (one with a code() column), a chunk at a time: reads the legacy rows of keys [lo, hi]
 * in key order, computes each target row in Node and inserts them with multi-row INSERTs, ID table first. Called inside
 * the chunk's transaction, with the journal entry, so a chunk commits whole or not at all. Memory holds one chunk.
 */
export function streamedChunkWriter(
  step: CompiledStep,
  options: StreamedWriteOptions = {},
): (tx: Db, lo: number, hi: number) => Promise<number> {
  const select = streamedSourceSql(step);
  const limits = { rows: options.batchRows ?? defaultBatchRows, bytes: options.batchBytes ?? defaultBatchBytes };
  return async (tx, lo, hi) => {
    const budget = { rows: limits.rows, bytes: insertBudget(tx, limits.bytes) };
    const rows = await tx.query(select, [lo, hi]);
    const perTarget: unknown[][][] = step.targets.map(() => []);
    for (const row of rows) {
      const evaluated = evaluateStreamedRow(step, row);
      evaluated.targets.forEach((values, i) => values && perTarget[i]!.push(values));
    }
    let written = 0;
    for (const [i, target] of step.targets.entries()) written += await insertBatches(tx, target, perTarget[i]!, budget);
    return written;
  };
}

/**
 * Inserts a target's rows in multi-row INSERTs of at most `limits.rows` rows and `limits.bytes` bytes of values (a row
 * larger than that alone): a row that would take an INSERT past the bytes goes in the next one.
 */
async function insertBatches(tx: Db, target: CompiledTarget, rows: unknown[][], limits: { rows: number; bytes: number }): Promise<number> {
  const head = `INSERT INTO ${quoteId(target.table)} (${target.columns.map((c) => quoteId(c.name)).join(', ')}) VALUES `;
  const tuple = `(${target.columns.map(() => '?').join(', ')})`;
  let written = 0;
  let batch: unknown[][] = [];
  let bytes = 0;
  const flush = async () => {
    if (batch.length === 0) return;
    written += (await tx.execute(head + batch.map(() => tuple).join(', '), batch.flat())).affectedRows;
    batch = [];
    bytes = 0;
  };
  for (const row of rows) {
    const size = row.reduce<number>((n, v) => n + literalBytes(v), 0);
    if (batch.length > 0 && bytes + size > limits.bytes) await flush();
    batch.push(row);
    bytes += size;
    if (batch.length >= limits.rows) await flush();
  }
  await flush();
  return written;
}

/**
 * Size of a value as a literal in the statement, at most: bytes are sent as hex (X'...'), a string quoted with each
 * byte escaped at worst, anything else as a short literal.
 */
function literalBytes(value: unknown): number {
  if (Buffer.isBuffer(value)) return value.length * 2 + 3;
  if (typeof value === 'string') return Buffer.byteLength(value) * 2 + 2;
  return 24;
}
