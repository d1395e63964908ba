import type { Db } from '../db/connection.ts';
import { describeTable } from '../db/introspect.ts';
import type { Mapping } from '../mapping/define.ts';
import type { CheckResult, ContentCompare, PreRunTable, Verification } from './check-result.ts';
import { sourceTableNames, type RenameState } from '../mapping/compile.ts';
import type { Plan } from '../plan/plan-data.ts';
import { connectAgain } from '../db/row-stream.ts';
import type { BackupAt } from '../engine/pre-run-diff.ts';
import type { CheckScope, DescribedTable, Part } from '../parts/part.ts';
import { inOrder, verifyOrder } from '../parts/registry.ts';

export type { CheckResult, PreRunTable, Verification } from './check-result.ts';

export interface VerifyContext {
  db: Db;
  mapping: Mapping;
  plan: Plan;
  renames: RenameState;
  preRun: PreRunTable[];
  /** The run whose lineage rows steps numbered dense or chronologically read. */
  runId: number;
  now: () => Date;
  failureLimit?: number;
  /** About how many legacy rows a content check compares per piece (default 50,000: steps-checks.ts, pieceRows). */
  pieceRows?: number;
  /** How content checks compare rows (default `exact`: check-result.ts, ContentCompare). */
  contentCompare?: ContentCompare;
  /** Called after each check (or group of checks run by one query) with how many of `total` are done. */
  /** Checks done of `total`; `ended` in the last report only, once every check has run. */
  onProgress?: (done: number, total: number, ended?: boolean) => void;
  /**
   * The run's backup: when the rows that existed before the run differ from it, the check names them (key and
   * columns) from the backup's rows; without it, only their checksums are compared.
   */
  backup?: BackupAt;
  /**
   * Awaited before each check with the worker's connection: lets a run pause between checks (migrate's --pause-file),
   * that connection kept alive meanwhile.
   */
  beforeCheck?: (db: Db) => Promise<void>;
  /** The parts whose checks are run: the command's run context's (run/context.ts). */
  parts: readonly Part[];
}

/** Runs every check the mapping implies. Never throws for a failed check: each one is a result. */
export async function verifyMapping(ctx: VerifyContext): Promise<Verification> {
  const started = ctx.now();
  const limit = ctx.failureLimit ?? 50;
  const checks: CheckResult[] = [];
  const scope: CheckScope = {
    db: ctx.db,
    mapping: ctx.mapping,
    plan: ctx.plan,
    renames: ctx.renames,
    names: sourceTableNames(ctx.mapping, ctx.renames),
    preRun: ctx.preRun,
    runId: ctx.runId,
    limit,
    pieceRows: ctx.pieceRows,
    contentCompare: ctx.contentCompare ?? 'exact',
    backup: ctx.backup,
    tableOf: memoTables(),
  };
  // Every check is listed first, so progress can say how many of how many are done: a fold over the run's parts.
  const work = inOrder(ctx.parts, verifyOrder, (p) => p.checks !== undefined).flatMap((part) => part.checks?.(scope) ?? []);

  // Two workers, each on a connection of its own, take the items in turn: a server with two cores or more works on
  // two checks at once. The replays first, then the others, the longest first, so that no long check is left for
  // one worker at the end while the other has nothing to do. The report lists the checks in the order above,
  // whatever order they run in.
  const total = work.reduce((n, w) => n + w.weight, 0);
  const results: Array<CheckResult[]> = [];
  const queue = [...work.keys()].sort(
    (a, b) => Number(Boolean(work[b]!.first)) - Number(Boolean(work[a]!.first)) || (work[b]!.rows ?? 0) - (work[a]!.rows ?? 0),
  );
  let done = 0;
  ctx.onProgress?.(0, total);
  const worker = async (db: Db) => {
    for (let i = queue.shift(); i !== undefined; i = queue.shift()) {
      await ctx.beforeCheck?.(db);
      const t0 = performance.now();
      const found = await work[i]!.run(db).catch((error: unknown) => {
        queue.length = 0; // the other worker stops after its current item
        throw error;
      });
      // Checks computed together share the time they took.
      const seconds = round((performance.now() - t0) / 1000 / Math.max(1, found.length));
      results[i] = found.map((r) => ({ ...r, seconds }));
      ctx.onProgress?.((done += work[i]!.weight), total);
    }
  };
  const second = await connectAgain(ctx.db);
  const settled = await Promise.allSettled([worker(ctx.db), worker(second)]);
  await second.close();
  const failed = settled.find((s) => s.status === 'rejected');
  if (failed) throw (failed as PromiseRejectedResult).reason;
  checks.push(...results.flat());
  ctx.onProgress?.(done, total, true);

  return {
    ok: checks.every((c) => c.ok),
    contentCompare: ctx.contentCompare ?? 'exact',
    checks,
    startedAt: started.toISOString(),
    seconds: round((ctx.now().getTime() - started.getTime()) / 1000),
  };
}

function memoTables() {
  const cache = new Map<string, DescribedTable>();
  return async (table: string, db: Db) => {
    if (!cache.has(table)) {
      const info = await describeTable(db, table);
      cache.set(table, { columns: new Map((info?.columns ?? []).map((c) => [c.name, c])), primaryKey: info?.primaryKey ?? [] });
    }
    return cache.get(table)!;
  };
}

const round = (n: number) => Math.round(n * 1000) / 1000;
