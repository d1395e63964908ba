/**
 * bench:backup's many-small-tables case: the 98 tables of ../shared/data/peer-corpus (see its README), backed up and
 * restored end to end the way a DBA runs each tool, start-up included:
 *
 * - eventshift: `eventshift backup create --table T ...` then `eventshift restore --backup ID --yes` into an empty
 *   database, each as the CLI in a process of its own (bench/eventshift-rss.mjs);
 * - `mariadb-dump --single-transaction ...` of the tables, then `mariadb < dump.sql` into an empty database;
 * - `mydumper` of the tables, then `myloader` into an empty database.
 *
 * Every restore must give back each table's content checksum. The corpus holds tables the baselines cannot give back
 * (a row longer than the server's max_allowed_packet as an INSERT, names mydumper cannot write as files, ...): an
 * untimed probe first finds them (the whole dump and load, then each table that differed on its own), and each
 * baseline's timed rounds leave those out, which spares the baseline their work; they are printed. eventshift's rounds
 * hold all 98.
 */
import { readFile, rm } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { sameChecksum, tableChecksum, type ContentChecksum } from '../src/db/checksum.ts';
import { connect } from '../src/db/connection.ts';
import { describeTable } from '../src/db/introspect.ts';
import {
  clientArgs,
  eventshift,
  median,
  mydumper,
  myloader,
  mysqldumpFlags,
  pad,
  program,
  run,
  say,
  scratchSpace,
  server,
  type Finished,
} from './support.ts';

type Scratch = ReturnType<typeof scratchSpace>;

/** The peer corpus, as its README says to load it. */
const corpusFile = resolve(import.meta.dirname, '..', '..', 'shared', 'data', 'peer-corpus', 'peer-corpus.sql');

/** Each table's content checksum (non-generated columns); a table that is missing or unreadable is absent from the map. */
async function checksums(database: string, tables: readonly string[]): Promise<Map<string, ContentChecksum>> {
  const db = await connect(`${server}/${database}`);
  try {
    const out = new Map<string, ContentChecksum>();
    for (const table of tables) {
      const info = await describeTable(db, table);
      // A table that cannot be read (a MERGE table whose base tables did not come back) counts as missing.
      const checksum = info
        ? await tableChecksum(
            db,
            table,
            info.columns.filter((c) => !c.generated),
          ).catch(() => null)
        : null;
      if (checksum) out.set(table, checksum);
    }
    return out;
  } finally {
    await db.close();
  }
}

/** The tables of `tables` whose content in `database` is not the source's. */
async function differing(database: string, tables: readonly string[], source: Map<string, ContentChecksum>): Promise<string[]> {
  const got = await checksums(database, tables);
  return tables.filter((t) => !got.has(t) || !sameChecksum(got.get(t)!, source.get(t)!));
}

/** A baseline: dump `tables` of the source and load them into `into`, each timed; a failure rejects. */
interface Baseline {
  name: string;
  backup(tables: readonly string[]): Promise<Finished>;
  restore(into: string): Promise<Finished>;
}

/**
 * The tables a baseline cannot give back: the whole set dumped and loaded once (errors ignored), then each table that
 * differed, dumped and loaded on its own (an early error can stop the rest of a load).
 */
async function probe(scratch: Scratch, baseline: Baseline, tables: readonly string[], source: Map<string, ContentChecksum>) {
  const attempt = async (which: readonly string[]) => {
    const into = await scratch.database('probe');
    try {
      await baseline.backup(which);
      await baseline.restore(into);
    } catch {
      // what it could not load shows in the checksums
    }
    const diff = await differing(into, which, source);
    await scratch.drop(into);
    return diff;
  };
  const failing: string[] = [];
  for (const table of await attempt(tables)) if ((await attempt([table])).length > 0) failing.push(table);
  return failing;
}

export interface PeerFigures {
  tables: number;
  rows: number;
  seconds: Record<string, { backup: number; restore: number; total: number; runs: Array<{ backup: number; restore: number }> }>;
  leftOut: Record<string, string[]>;
  roundLoads: number[];
  ratio: number;
  goalMet: boolean;
}

export async function peerCase(scratch: Scratch, repeat: number): Promise<{ lines: string[]; figures: PeerFigures }> {
  const folder = await scratch.folder();
  const source = await scratch.database('peer');
  const replay = await program(['mariadb', 'mysql']);
  const dump = await program(['mariadb-dump', 'mysqldump']);
  say(`Loading the peer corpus into ${source} ...`);
  await run(replay, [...clientArgs(), '--default-character-set=utf8mb4', source], { input: corpusFile });
  const admin = await scratch.admin();
  const tables = (
    await admin.query<{ TABLE_NAME: string }>(
      'SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME',
      [source],
    )
  ).map((t) => t.TABLE_NAME);
  const sourceState = await checksums(source, tables);
  const rows = [...sourceState.values()].reduce((sum, c) => sum + c.rows, 0);
  say(`${tables.length} tables, ${rows} rows.`);

  const dumpFile = join(folder, 'peer-dump.sql');
  const mydumperDir = join(folder, 'peer-mydumper');
  const backupDir = join(folder, 'peer-backups');
  const baselines: Baseline[] = [
    {
      name: `${dump} + ${replay}`,
      backup: async (which) => {
        await rm(dumpFile, { force: true });
        return run(dump, [...clientArgs(), ...mysqldumpFlags, '--triggers', `--result-file=${dumpFile}`, source, ...which]);
      },
      // CHECK constraints off, as the backup's rows predate them; the client's packet as large as the server takes.
      restore: (into) =>
        run(replay, [...clientArgs(), '--max-allowed-packet=1G', '--init-command=SET SESSION check_constraint_checks = 0', into], {
          input: dumpFile,
        }),
    },
    {
      name: 'mydumper + myloader',
      backup: (which) => mydumper(source, which, mydumperDir, folder),
      restore: (into) => myloader(mydumperDir, into, folder),
    },
  ];
  const leftOut: Record<string, string[]> = {};
  for (const baseline of baselines) {
    say(`Probing which tables ${baseline.name} gives back (untimed) ...`);
    leftOut[baseline.name] = await probe(scratch, baseline, tables, sourceState);
  }

  const times: Record<string, Array<{ backup: number; restore: number }>> = { eventshift: [] };
  for (const b of baselines) times[b.name] = [];
  const roundLoads: number[] = [];
  const tableArgs = tables.flatMap((t) => ['--table', t]);
  for (let round = 1; round <= repeat; round++) {
    roundLoads.push(loadavg()[0]!);
    const of = repeat > 1 ? ` (round ${round} of ${repeat})` : '';
    for (const baseline of baselines) {
      const which = tables.filter((t) => !leftOut[baseline.name]!.includes(t));
      say(`${baseline.name}, ${which.length} tables${of} ...`);
      const into = await scratch.database('peer_base');
      const backedUp = await baseline.backup(which);
      const restored = await baseline.restore(into);
      const diff = await differing(into, which, sourceState);
      if (diff.length > 0) throw new Error(`${baseline.name}: ${diff.join(', ')} differ from the source; its time would not count.`);
      await scratch.drop(into);
      times[baseline.name]!.push({ backup: backedUp.seconds, restore: restored.seconds });
    }
    say(`eventshift backup create + restore (the CLI), ${tables.length} tables${of} ...`);
    await rm(backupDir, { recursive: true, force: true });
    const into = await scratch.database('peer_es');
    const backedUp = await eventshift(['backup', 'create', ...tableArgs, '--backup-dir', backupDir], source);
    const id = String(backedUp.result.id);
    const restored = await eventshift(['restore', '--backup', id, '--yes', '--backup-dir', backupDir], into);
    const diff = await differing(into, tables, sourceState);
    if (diff.length > 0) throw new Error(`eventshift: ${diff.join(', ')} differ from the source.`);
    await scratch.drop(into);
    times.eventshift!.push({ backup: backedUp.seconds, restore: restored.seconds });
  }

  const seconds = Object.fromEntries(
    Object.entries(times).map(([name, runs]) => [
      name,
      {
        backup: median(runs.map((r) => r.backup)),
        restore: median(runs.map((r) => r.restore)),
        total: median(runs.map((r) => r.backup + r.restore)),
        runs,
      },
    ]),
  );
  const dumpName = baselines[0]!.name;
  const ratio = seconds.eventshift!.total / seconds[dumpName]!.total;
  const lines = [
    '',
    `Many small tables: the peer corpus, ${tables.length} tables, ${rows} rows; end to end, each tool's start-up included.` +
      `${repeat > 1 ? ` Median of ${repeat} rounds` : ''} ` +
      `(load average as rounds started: ${roundLoads.map((l) => l.toFixed(2)).join(', ')}).`,
    `${'tool'.padEnd(36)}${pad('backup', 9)}${pad('restore', 9)}${pad('total', 9)}  tables`,
    ...Object.entries(seconds).map(
      ([name, s]) =>
        `${name.padEnd(36)}${pad(s.backup.toFixed(2), 9)}${pad(s.restore.toFixed(2), 9)}${pad(s.total.toFixed(2), 9)}  ` +
        (name === 'eventshift'
          ? `all ${tables.length}, content = source`
          : `${tables.length - leftOut[name]!.length}, content = source; ` +
            `left out (cannot give back): ${leftOut[name]!.join(', ') || 'none'}`),
    ),
    `Runs (s, backup + restore): ${Object.entries(times)
      .map(([name, runs]) => `${name} ${runs.map((r) => `${r.backup.toFixed(2)}+${r.restore.toFixed(2)}`).join(' ')}`)
      .join('; ')}.`,
    `eventshift / (${dumpName}): ${ratio.toFixed(2)}  ${ratio < 2 ? '(goal < 2.0 met)' : '(goal < 2.0 NOT met)'}`,
  ];
  return { lines, figures: { tables: tables.length, rows, seconds, leftOut, roundLoads, ratio, goalMet: ratio < 2 } };
}

/** The corpus file, for a check that it is there before anything is built. */
export async function peerCorpusPresent(): Promise<boolean> {
  return readFile(corpusFile).then(
    () => true,
    () => false,
  );
}
