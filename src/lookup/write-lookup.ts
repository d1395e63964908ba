import { createHash } from 'node:crypto';
import type { Db } from '../db/connection.ts';
import { columnExists, describeTable, onUpdateColumns, tableExists } from '../db/introspect.ts';
import { quoteId } from '../db/quote.ts';
import { refusal } from '../errors.ts';
import { sourceTableNames } from '../mapping/compile.ts';
import { addColumnSql } from '../mapping/schema-statements.ts';
import { keysetKeys, runChunks, type Chunk } from '../engine/chunks.ts';
import { journaledStep, openStep, recordProgress, type JournaledStepAt } from '../engine/step-journal.ts';
import {
  chunkBoundSql,
  compilePlannedLookup,
  fillChunkSql,
  keyBatchBoundSql,
  keyBatchSql,
  keysTableSql,
  lookupAlias,
  lookupRowSets,
  type CompiledLookup,
  type CompiledLookupSource,
} from './compile-lookup.ts';
import type { LookupPlan } from './lookup-plan.ts';
import type { WriteScope } from '../parts/part.ts';
import { formatCount } from '../format.ts';

/**
 * What the write stage needs to write a mapping's lookups: the part's write scope (chunkKeys: natural keys per batch
 * and source rows per fill chunk to start with, adapted to about half a second each), and the fault points every
 * step, batch and chunk passes (engine/fault-points.ts).
 */
export type LookupWriteContext = Pick<
  WriteScope,
  'db' | 'mapping' | 'plan' | 'runId' | 'now' | 'log' | 'throttle' | 'chunkKeys' | 'onRetry'
> & {
  faultPoint: (name: string) => void;
  onProgress?: WriteScope['progress'];
};

/** The journal's record of the get-or-create: where it is, and which IDs it gave (to undo exactly those). */
export interface LookupCreateDetail {
  /** The last natural key done (hex), null before the first batch. */
  cursor: string | null;
  /** The ID blocks the run inserted, [first, last] as decimal strings. */
  ranges: Array<[string, string]>;
  created: number;
  reused: number;
  /** The run's work table of natural keys, once built (it is rebuilt when a resumed run does not find it). */
  keysTable?: string;
}

/** The run's work table of a lookup's natural keys (a bookkeeping table, dropped when the lookup rows are created). */
export function lookupKeysTable(runId: number, lookup: string): string {
  const name = `eventshift_keys_${runId}_${lookup}`;
  return name.length <= 64 ? name : `eventshift_keys_${runId}_${createHash('sha1').update(lookup).digest('hex').slice(0, 20)}`;
}

/** The journal step names of a lookup, shared with verify and rollback. */
export const lookupSteps = {
  addColumn: (lookup: string, table: string, column: string) => `lookup ${lookup} add ${table}.${column}`,
  create: (lookup: string) => `lookup ${lookup} create`,
  fill: (lookup: string, alias: string) => `lookup ${lookup} fill ${alias}`,
};

/**
 * Writes every lookup of the plan: adds the reference columns, gets or creates the lookup rows in batches of natural
 * keys, then fills each source's reference in key-range chunks. Every batch and chunk commits with its journal entry,
 * so a killed run resumes after the last one; the fill is guarded by `reference = 0` besides. Returns rows filled per
 * `lookup.source`.
 */
export async function writeLookups(ctx: LookupWriteContext): Promise<Record<string, number>> {
  const filled: Record<string, number> = {};
  const names = sourceTableNames(ctx.mapping);
  for (const planned of ctx.plan.lookups ?? []) {
    const l = compilePlannedLookup(ctx.mapping, planned, names);
    for (const s of l.sources) {
      await journaled(ctx, lookupSteps.addColumn(l.name, s.table, s.reference.name), async () => {
        if (!(await columnExists(ctx.db, s.table, s.reference.name))) await ctx.db.execute(addColumnSql(s.table, s.reference));
      });
    }
    await createLookupRows(ctx, l, planned);
    for (const s of l.sources) {
      const rows = await fillReferences(ctx, l, s, planned);
      filled[`${l.name}.${s.alias}`] = rows;
    }
  }
  return filled;
}

/** A lookup's step of the write stage, journaled on the run's connection. */
const journalAt = (ctx: LookupWriteContext, step: string): JournaledStepAt => ({
  db: ctx.db,
  runId: ctx.runId,
  stage: 'write',
  step,
  now: ctx.now,
  faultPoint: ctx.faultPoint,
});

const journaled = (ctx: LookupWriteContext, step: string, work: () => Promise<void>) => journaledStep(journalAt(ctx, step), work);

/** Keys per batch or chunk at most, as they adapt to half a second each: a batch's keys are parameters of one statement. */
const maxChunkKeys = 20_000;

/**
 * Get-or-create in batches of natural keys, in key order: first the distinct (key, values) pairs of the sources go into
 * a work table in one pass (after the journal's cursor when resumed), then each batch reads the next of them through
 * its index, finds the lookup rows that exist, inserts the missing ones (INSERT IGNORE) with consecutive IDs above the
 * table's highest, and reads them back by key to prove each is the row's own. The IDs depend only on the data, not on
 * batch sizes or interruptions. Each batch costs about its own size, so the whole is linear in the sources' rows.
 */
async function createLookupRows(ctx: LookupWriteContext, l: CompiledLookup, planned: LookupPlan): Promise<void> {
  const { db } = ctx;
  const at = journalAt(ctx, lookupSteps.create(l.name));
  const keysTable = lookupKeysTable(ctx.runId, l.name);
  const dropKeys = () => db.execute(`DROP TABLE IF EXISTS ${quoteId(keysTable)}`);
  const opened = await openStep(at);
  if ('done' in opened) {
    await dropKeys(); // left by a run killed after the step was done
    return;
  }
  const detail: LookupCreateDetail = (opened.resumed?.detail as LookupCreateDetail | null) ?? {
    cursor: null,
    ranges: [],
    created: 0,
    reused: 0,
  };
  if (detail.keysTable !== keysTable || !(await tableExists(db, keysTable))) {
    // Built whole or built again: the journal names the table only once the statement that fills it has finished.
    await dropKeys();
    const after = detail.cursor === null ? null : Buffer.from(detail.cursor, 'hex');
    await db.execute(keysTableSql(l, keysTable, ctx.runId, after !== null), after === null ? [] : lookupRowSets(l).map(() => after));
    detail.keysTable = keysTable;
    await recordProgress(db, at, { detail, rows: 0 });
    ctx.faultPoint(`lookup ${l.name} keys`);
  }
  const conflicted = new Set(planned.conflictedKeys);
  const progress = () => ctx.onProgress?.(`lookup ${l.name} create`, detail.created + detail.reused, planned.keys);
  progress();
  await runChunks({
    db,
    keys: keysetKeys<Buffer>({
      after: detail.cursor === null ? null : Buffer.from(detail.cursor, 'hex'),
      bound: async (lo, limit) => {
        const [bound] = await db.query<{ hi: Buffer | null }>(keyBatchBoundSql(keysTable, limit, lo === null), lo === null ? [] : [lo]);
        return bound?.hi ?? null;
      },
    }),
    size: { start: ctx.chunkKeys ?? 2000, max: maxChunkKeys },
    journal: {
      step: at,
      entry: (hi) => {
        detail.cursor = hi.toString('hex');
        return { detail };
      },
    },
    work: (chunk) => createBatch(ctx, { l, keysTable, conflicted, detail }, chunk),
    throttle: ctx.throttle,
    onRetry: ctx.onRetry,
    onChunk: progress,
    faultPoint: { hook: ctx.faultPoint, name: (chunk) => `lookup ${l.name} create batch ${chunk.index}` },
  });
  await opened.finish(detail);
  const done = detail.created + detail.reused;
  ctx.onProgress?.(`lookup ${l.name} create`, done, done, true);
  await dropKeys();
  ctx.log(`Lookup ${l.name}: ${formatCount(detail.created)} ${l.table} row(s) created, ${formatCount(detail.reused)} reused.`);
}

/**
 * One batch of the get-or-create: the natural keys after `lo` up to `hi` in the work table, their lookup rows found or
 * inserted, and `detail` (ID blocks, counts) brought up to date in the batch's transaction. Returns the rows inserted.
 */
async function createBatch(
  ctx: LookupWriteContext,
  batch: { l: CompiledLookup; keysTable: string; conflicted: Set<string>; detail: LookupCreateDetail },
  { lo, hi, commit }: Chunk<Buffer, Buffer | null>,
): Promise<number> {
  const { db } = ctx;
  const { l, detail } = batch;
  const table = quoteId(l.table);
  const a = quoteId(lookupAlias);
  // The lookup rows of some natural keys: key (hex), ID and fingerprint of the values.
  const byKeySql =
    `SELECT LOWER(HEX(${l.naturalSql})) AS h, ${a}.${quoteId(l.idColumn)} AS id, ${l.fingerprint} AS t ` +
    `FROM ${table} AS ${a} WHERE ${l.naturalSql} IN (?)`;
  const pairs = await db.query<Record<string, unknown> & { k: Buffer; t: string }>(
    keyBatchSql(l, batch.keysTable, lo === null),
    lo === null ? [hi] : [lo, hi],
  );
  const wanted = pairs.filter((p) => !batch.conflicted.has(p.k.toString('hex').toUpperCase()));
  const byKey = new Map<string, (typeof wanted)[number]>();
  for (const p of wanted) {
    const h = p.k.toString('hex');
    if (byKey.has(h)) throw changedSincePlan(l, `${l.naturalKey} 0x${h} now has several values of ${l.columns.join(', ')}`);
    byKey.set(h, p);
  }
  const existing =
    byKey.size === 0 ? [] : await db.query<{ h: string; id: string; t: string }>(byKeySql, [[...byKey.values()].map((p) => p.k)]);
  const found = new Map(existing.map((e) => [e.h, e]));
  for (const [h, e] of found) {
    if (e.t !== byKey.get(h)!.t) throw changedSincePlan(l, `the ${l.table} row of 0x${h} (ID ${e.id}) holds other values than its rows`);
  }
  const missing = [...byKey.values()].filter((p) => !found.has(p.k.toString('hex')));
  // The transaction may run again (a certification conflict on Galera), or not commit: each attempt starts from the
  // detail as it was, and a failed one leaves it so.
  const before = structuredClone(detail);
  const restore = () => Object.assign(detail, structuredClone(before));
  return commit(async (tx) => {
    restore();
    if (missing.length > 0) await insertMissing(tx, batch, { missing, byKeySql });
    detail.created += missing.length;
    detail.reused += found.size;
    return missing.length;
  }).catch((error: unknown) => {
    restore();
    throw error;
  });
}

/**
 * Inserts the lookup rows of the `missing` keys, numbered after the table's highest ID (read FOR UPDATE), refuses
 * unless each came back as planned, and records their ID block in `detail`.
 */
async function insertMissing(
  tx: Db,
  { l, detail }: { l: CompiledLookup; detail: LookupCreateDetail },
  { missing, byKeySql }: { missing: Array<Record<string, unknown> & { k: Buffer; t: string }>; byKeySql: string },
): Promise<void> {
  const table = quoteId(l.table);
  const [top] = await tx.query<{ hi: string | number | null }>(`SELECT MAX(${quoteId(l.idColumn)}) AS hi FROM ${table} FOR UPDATE`);
  const first = BigInt(top?.hi ?? 0) + 1n;
  const rows = missing.map((p, i) => [(first + BigInt(i)).toString(), p.k, ...l.columns.map((_, j) => p[`v${j}`])]);
  await tx.execute(`INSERT IGNORE INTO ${table} (${[l.idColumn, l.naturalKey, ...l.columns].map(quoteId).join(', ')}) VALUES ?`, [rows]);
  const back = await tx.query<{ h: string; id: string; t: string }>(byKeySql, [missing.map((p) => p.k)]);
  const got = new Map(back.map((b) => [b.h, b]));
  for (const [i, p] of missing.entries()) {
    const row = got.get(p.k.toString('hex'));
    if (!row || BigInt(row.id) !== first + BigInt(i) || row.t !== p.t) {
      throw refusal(
        `Lookup ${l.name}: the ${l.table} row for ${l.naturalKey} 0x${p.k.toString('hex')} could not be created as planned ` +
          `(${row ? `found ID ${row.id}` : 'no row after INSERT IGNORE'}); something else writes ${l.table} meanwhile. ` +
          'Stop it and run migrate again: the run resumes.',
      );
    }
  }
  const last = first + BigInt(missing.length - 1);
  const previous = detail.ranges.at(-1);
  if (previous && BigInt(previous[1]) + 1n === first) previous[1] = last.toString();
  else detail.ranges.push([first.toString(), last.toString()]);
}

function changedSincePlan(l: CompiledLookup, what: string) {
  return refusal(
    `Lookup ${l.name}: the data changed since the run was planned: ${what}. Roll the run back (\`eventshift rollback\`) and plan again.`,
    { subject: l.name },
  );
}

type ChunkKey = { hex: string } | { value: string };
const encodeKey = (k: unknown): ChunkKey => (Buffer.isBuffer(k) ? { hex: k.toString('hex') } : { value: String(k) });
const decodeKey = (k: ChunkKey): Buffer | string => ('hex' in k ? Buffer.from(k.hex, 'hex') : k.value);
const keyLabel = (k: ChunkKey) => ('hex' in k ? `0x${k.hex}` : k.value);

/** Fills one source's reference in chunks of its key, set-based on the server; returns the rows it set. */
async function fillReferences(ctx: LookupWriteContext, l: CompiledLookup, s: CompiledLookupSource, planned: LookupPlan): Promise<number> {
  const { db } = ctx;
  const at = journalAt(ctx, lookupSteps.fill(l.name, s.alias));
  const opened = await openStep(at);
  const total = planned.sources.find((x) => x.alias === s.alias)!.fill;
  if ('done' in opened) return total;
  const detail = (opened.resumed?.detail as { cursor: ChunkKey | null } | null) ?? { cursor: null };
  let rows = opened.resumed?.rowsDone ?? 0;
  const label = `lookup ${l.name} ${s.alias}`;
  const keep = onUpdateColumns(await describeTable(db, s.table));
  ctx.onProgress?.(label, rows, total);
  // A chunk's lower bound goes to the server as the journal keeps it, so a resumed fill reads as an uninterrupted one.
  const asJournaled = (k: unknown) => decodeKey(encodeKey(k));
  await runChunks({
    db,
    keys: keysetKeys<unknown>({
      after: detail.cursor === null ? null : decodeKey(detail.cursor),
      bound: async (lo, limit) => {
        const [bound] = await db.query<{ hi: unknown }>(chunkBoundSql(s, limit, lo === null), lo === null ? [] : [asJournaled(lo)]);
        return bound?.hi ?? null;
      },
    }),
    size: { start: ctx.chunkKeys ?? 5000, max: maxChunkKeys },
    journal: {
      step: at,
      entry: (hi) => {
        detail.cursor = encodeKey(hi);
        return { detail };
      },
    },
    work: ({ lo, hi, commit }) =>
      commit(
        async (tx) =>
          (
            await tx.execute(
              fillChunkSql(l, s, { conflicted: planned.conflictedKeys, bounds: lo === null ? 'upTo' : 'between', keep }),
              lo === null ? [hi] : [asJournaled(lo), hi],
            )
          ).affectedRows,
      ),
    throttle: ctx.throttle,
    onRetry: ctx.onRetry,
    onChunk: (_, written) => ctx.onProgress?.(label, (rows += written), total),
    faultPoint: { hook: ctx.faultPoint, name: (chunk) => `chunk lookup ${l.name} ${s.alias} ${keyLabel(encodeKey(chunk.hi))}` },
  });
  await opened.finish(detail);
  ctx.onProgress?.(label, rows, rows, true);
  ctx.log(`Lookup ${l.name}: ${formatCount(rows)} row(s) of ${s.table} got their ${s.reference.name}.`);
  return rows;
}
