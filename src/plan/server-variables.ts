import { sessionSqlMode, sessionTimeZone, type Db } from '../db/connection.ts';
import { quoteId } from '../db/quote.ts';
import type { Plan, ServerFacts } from './plan-data.ts';
import { formatBytes } from '../format.ts';

/** What the server's settings mean for a run of a plan: refusals for what would break it, warnings for what may later. */
export interface ServerCheck {
  facts: ServerFacts;
  refusals: string[];
  warnings: string[];
}

/** What a run still has to do, for the checks that concern only part of it (a resumed run: preflight.ts). */
export interface StagesToCome {
  /**
   * The write stage is not done: the packet must take a streamed step's rows, and the way back (restore's LOAD DATA
   * LOCAL) must work before more is written; once the writes are done, finishing the run is the better way on.
   */
  writing: boolean;
}

export const allToCome: StagesToCome = { writing: true };

/** Bytes of an INSERT besides its values: the statement's head and the tuple's punctuation, generously. */
const statementOverhead = 64 * 1024;

/**
 * Checks the server variables a run of `plan` relies on, read-only:
 * - the session's sql_mode and time zone are the ones eventshift set when it connected (a proxy that pools
 *   connections may lose a session's settings, and the run's reads and writes would no longer be lossless);
 * - local_infile is on: restore, the way back, loads the backup with LOAD DATA LOCAL INFILE;
 * - max_allowed_packet takes a streamed step's largest row, which goes to the server in an INSERT of its own;
 * - lower_case_table_names: no two names the run uses, creates or renames to differ only by case (one table where
 *   the names are compared in lower case; two here that a replica or a copy with lower_case_table_names=1 would merge).
 */
export async function checkServerVariables(db: Db, plan: Plan, still: StagesToCome = allToCome): Promise<ServerCheck> {
  const [row] = await db.query<{ mode: string; tz: string; lctn: string | number; li: string | number; globalMode: string }>(
    'SELECT @@SESSION.sql_mode AS mode, @@SESSION.time_zone AS tz, @@lower_case_table_names AS lctn, ' +
      '@@GLOBAL.local_infile AS li, @@GLOBAL.sql_mode AS globalMode',
  );
  const facts: ServerFacts = {
    lowerCaseTableNames: Number(row!.lctn),
    maxAllowedPacket: db.maxAllowedPacket,
    localInfile: Number(row!.li) === 1,
    sqlMode: String(row!.globalMode),
  };
  const refusals: string[] = [];
  const warnings: string[] = [];
  const flags = (mode: string) => new Set(mode.split(',').filter(Boolean));
  const want = flags(sessionSqlMode);
  const have = flags(String(row!.mode));
  if (want.size !== have.size || [...want].some((f) => !have.has(f)) || String(row!.tz) !== sessionTimeZone) {
    refusals.push(
      `This session's sql_mode is '${row!.mode}' and its time_zone '${row!.tz}', not the '${sessionSqlMode}' and ` +
        `'${sessionTimeZone}' eventshift set when it connected: something between eventshift and the server (a proxy ` +
        "that shares connections?) does not keep a session's settings, and the run would not read and write losslessly. " +
        'Connect to the server directly.',
    );
  }
  if (!facts.localInfile && still.writing) {
    refusals.push(
      'The server has local_infile OFF: restore, the way back, loads the backup with LOAD DATA LOCAL INFILE, which the ' +
        'server would refuse. Turn it on for the run (SET GLOBAL local_infile = ON, and local_infile=1 under [mysqld]), ' +
        'then plan again.',
    );
  }
  if (still.writing) refusals.push(...packetRefusals(plan, facts.maxAllowedPacket));
  const cases = await caseCollisions(db, plan, facts.lowerCaseTableNames === 0);
  for (const names of cases) {
    const list = names.map((n) => quoteId(n)).join(' and ');
    if (facts.lowerCaseTableNames === 0)
      warnings.push(
        `${list} differ only by case: two tables on this server (lower_case_table_names=0), one on a replica or copy ` +
          'with lower_case_table_names=1 or 2, where the run would write into one table twice.',
      );
    else
      refusals.push(
        `${list} differ only by case, and this server (lower_case_table_names=${facts.lowerCaseTableNames}) compares table ` +
          "names in lower case: they are one table. Give the mapping's tables names that differ by more than case.",
      );
  }
  return { facts, refusals, warnings };
}

/** A refusal per streamed step and table whose largest row, as an INSERT carries it, the server would not take. */
function packetRefusals(plan: Plan, packet: number): string[] {
  const out: string[] = [];
  for (const step of plan.steps) {
    for (const write of step.writes) {
      const bytes = write.largestRowBytes;
      if (bytes === undefined || bytes + statementOverhead <= packet) continue;
      const needed = Math.ceil((bytes + statementOverhead) / (1024 * 1024)) * 1024 * 1024;
      out.push(
        `Step ${step.name} is streamed, and its largest row for ${write.table} is up to ${formatBytes(bytes)} as an INSERT ` +
          `carries it (binary values as hex), over the server's max_allowed_packet of ${formatBytes(packet)}: the server ` +
          `would refuse that INSERT mid-run. Raise max_allowed_packet to at least ${needed} ` +
          `(SET GLOBAL max_allowed_packet = ${needed}, and under [mysqld]), then plan again.`,
      );
    }
  }
  return out;
}

/**
 * Groups of table names that differ only by case, each with at least one name the run creates or renames a table to.
 * The other names: the tables the run reads and writes, and, where the server compares names as written
 * (`withExisting`), the database's tables; where it compares them in lower case, those are the same tables.
 */
async function caseCollisions(db: Db, plan: Plan, withExisting: boolean): Promise<string[][]> {
  const made = new Set([...plan.tables.create, ...plan.tables.rename.filter((r) => r.kind === 'table').map((r) => r.to)]);
  const existing = withExisting
    ? await db.query<{ t: string }>('SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()')
    : [];
  const names = new Set([...existing.map((r) => String(r.t)), ...made, ...plan.tables.backup, ...plan.sources.map((s) => s.table)]);
  const byLower = new Map<string, string[]>();
  for (const name of names) byLower.set(name.toLowerCase(), [...(byLower.get(name.toLowerCase()) ?? []), name]);
  return [...byLower.values()].filter((group) => group.length > 1 && group.some((n) => made.has(n))).map((g) => g.sort());
}
