import { connect, parseDatabaseUrl, type Db } from '../db/connection.ts';
import type { Mapping } from '../mapping/define.ts';
import { acquireLock, lockName, type LockHolding, type RunLock } from './lock.ts';
import { hasBookkeeping } from './bookkeeping.ts';
import { latestRun, runHoldingLock, type RunRecord } from './journal.ts';
import { mappingAsPlanned } from '../sources/sources.ts';
import type { Part } from '../parts/part.ts';
import { partsOf } from '../parts/registry.ts';

/** What every command needs: where the database is, and the injected clock and logger. */
export interface CommandOptions {
  databaseUrl: string;
  /** Defaults to the real clock. */
  now?: () => Date;
  /** Progress and stage lines for a person; undefined means silent. */
  log?: (line: string) => void;
}

/** Runs `work` on a working connection while holding the mapping's run lock. */
export async function withRunLock<T>(options: CommandOptions, mapping: Mapping, work: (db: Db, lock: RunLock) => Promise<T>): Promise<T> {
  const target = parseDatabaseUrl(options.databaseUrl);
  const db = await connect(target);
  try {
    const describe = async (holder: LockHolding | null) => {
      if (holder !== null && (await hasBookkeeping(db))) {
        const run = await runHoldingLock(db, holder);
        if (run) return `Run ${run.id} of ${mapping.name} (host ${run.host}, pid ${run.pid}, started ${run.startedAt} UTC)`;
      }
      if (holder?.host) return `Another eventshift process (host ${holder.host}, pid ${holder.pid})`;
      return `Another eventshift process (server connection ${holder?.connectionId ?? 'unknown'})`;
    };
    const lock = await acquireLock(target, lockName(db.database, mapping.name), describe, { log: options.log });
    try {
      return await work(db, lock);
    } finally {
      await lock.release();
    }
  } finally {
    await db.close();
  }
}

/**
 * What a command works on, built once by withRunContext: its connection, the run it acts on (with its plan), the
 * mapping with its CSV sources bound as that run's plan read them, and the parts the command folds over. This mapping
 * is the command's only copy: what the command reads, compiles and undoes, it names through it.
 */
export interface RunContext {
  readonly db: Db;
  /** The mapping's run lock, held for the whole command; null for a command that only reads (lineage). */
  readonly lock: RunLock | null;
  /** The run the command acts on; null when it acts on none (a migrate about to plan, a restore of another backup). */
  readonly run: RunRecord | null;
  /** The mapping, bound as `run`'s plan read its sources (as given when there is no run). */
  readonly mapping: Mapping;
  /** The parts of a run (parts/registry.ts), in write order: the command's folds (write, checks, undo) go over these. */
  readonly parts: readonly Part[];
}

/** A command's choice of run: the run to act on (with what the choice found on the way), or its answer already. */
export type RunChoice<C, T> = ({ run: RunRecord | null } & C) | { done: T };

export interface RunContextOptions<C, T> {
  options: CommandOptions;
  /** The mapping as the command was given it: its declared files and `--source` bound. Only `choose` sees it. */
  mapping: Mapping;
  /** Holds the mapping's run lock for the command (default true). */
  locked?: boolean;
  /**
   * Chooses the run the command acts on from the mapping's latest run (null when none is recorded), before the mapping
   * is bound to it: refuses (throws) what the command must not act on, or answers at once with `{ done }`.
   */
  choose(latest: RunRecord | null, db: Db, given: Mapping): Promise<RunChoice<C, T>>;
}

/**
 * Builds the command's run context and runs `work` in it: connects (holding the run lock unless `locked` is false),
 * reads the mapping's latest run, lets the command choose the run it acts on, and binds the mapping as that run's plan
 * read its sources.
 */
export async function withRunContext<C, T>(o: RunContextOptions<C, T>, work: (ctx: RunContext, chosen: C) => Promise<T>): Promise<T> {
  const inContext = async (db: Db, lock: RunLock | null): Promise<T> => {
    const latest = (await hasBookkeeping(db)) ? await latestRun(db, o.mapping.name) : null;
    const chosen = await o.choose(latest, db, o.mapping);
    if ('done' in chosen) return chosen.done;
    const { run } = chosen;
    return work({ db, lock, run, mapping: run ? mappingAsPlanned(o.mapping, run.plan) : o.mapping, parts: partsOf() }, chosen);
  };
  if (o.locked !== false) return withRunLock(o.options, o.mapping, inContext);
  const db = await connect(o.options.databaseUrl);
  try {
    return await inContext(db, null);
  } finally {
    await db.close();
  }
}
