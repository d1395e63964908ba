import { Command, InvalidArgumentError, Option } from 'commander';
import { DEFAULT_BACKUP_DIR, backupDirOrDefault } from '../run/backup-dir.ts';
import { stages } from '../engine/step-journal.ts';
import type { PlanOverrides } from '../plan/plan-data.ts';
import type { ContentCompare } from '../verify/check-result.ts';
import { eventshiftVersion } from '../run/version.ts';
import type { CommonFlags } from './io.ts';
import { quarantineFlag, sourceFlag } from '../csv/flags.ts';
import { collect, parseTableList, tablesFromFlags } from './table-list.ts';

// Each command's action imports what it runs when it runs (`eventshift backup create` loads the backup, not migrate,
// the renderers or the parts): defining the commands loads only commander and the small modules above, so that
// --version, --help and a command that needs little start in about the time node itself takes.

const program = new Command('eventshift')
  .description('Convert legacy MySQL/MariaDB rows into an event-log schema, safely: backed up, verified, reversible.')
  .version(eventshiftVersion, '-V, --version', 'print the version of eventshift')
  .showHelpAfterError('(eventshift --help lists the commands)')
  .exitOverride((err) => {
    process.exit(err.exitCode === 0 ? 0 : 2);
  });

/** The options every command takes. */
function common(cmd: Command): Command {
  return cmd
    .option('--database-url <url>', 'mysql://user:password@host:3306/database (default: $DATABASE_URL)')
    .option('--defaults-file <path>', 'without a URL: read the connection from this option file (default: ~/.my.cnf and /etc)')
    .option('--database <name>', "without a URL: the database to use (default: the option files' database)")
    .option(
      '--backup-dir <dir>',
      `where new backups go (default ${DEFAULT_BACKUP_DIR}); a run's backup is read where the run recorded it, unless given here`,
    )
    .option('--json', 'print the result as JSON on stdout')
    .option('--quiet', 'no progress lines on stderr')
    .option('--debug', 'show stack traces of errors');
}

const nonNegativeInt = (value: string) => {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError('expected a whole number, 0 or more');
  return n;
};

const positiveInt = (value: string) => {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n <= 0) throw new InvalidArgumentError('expected a positive whole number');
  return n;
};

const positiveNumber = (value: string) => {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a positive number');
  return n;
};

/** --replica, --no-replica-discovery, --max-lag and --max-load: what holds a run's chunks besides the pause file. */
function watchFlags(cmd: Command): Command {
  return cmd
    .option('--replica <url>', 'a replica whose lag holds the run (repeatable; without it, those the primary reports)', collect)
    .option('--no-replica-discovery', 'without --replica, watch no replica instead of those the primary reports')
    .option(
      '--max-lag <seconds>',
      'hold the run before each chunk while a replica is more than this far behind (default 1.5)',
      positiveNumber,
    )
    .option(
      '--max-load <VAR=N>',
      "hold the run while the primary's global status variable VAR is N or more, e.g. Threads_running=25 (repeatable)",
      (value: string, all: Record<string, number> = {}) => {
        const m = /^([A-Za-z_][A-Za-z0-9_]*)=(\d+(?:\.\d+)?)$/.exec(value);
        if (!m) throw new InvalidArgumentError('expected VARIABLE=N, e.g. Threads_running=25');
        return { ...all, [m[1]!]: Number(m[2]) };
      },
    );
}
type WatchFlags = { replica?: string[]; replicaDiscovery?: boolean; maxLag?: number; maxLoad?: Record<string, number> };

const verifyOnFlag = (cmd: Command) =>
  cmd
    .option(
      '--verify-on <url>',
      'run the checks on this replica, once it has applied all the primary committed (writes stay on the primary)',
    )
    .addOption(
      new Option('--verify <how>', 'content checks: compare every row, or hash each piece and compare rows only where hashes differ')
        .choices(['exact', 'hash'])
        .default('exact'),
    );

/** --ids and --start, which override the mapping's ID assignment for a new run. */
function idFlags(cmd: Command): Command {
  return cmd
    .addOption(
      new Option(
        '--ids <strategy>',
        'number every step: offset, dense, chronological, or auto (dense in the lowest free gap that fits)',
      ).choices(['offset', 'dense', 'chronological', 'auto']),
    )
    .option('--start <step=N>', 'first ID of a step (repeatable)', (value: string, all: Record<string, number> = {}) => {
      const m = /^([A-Za-z_][A-Za-z0-9_]*)=(\d+)$/.exec(value);
      if (!m) throw new InvalidArgumentError('expected STEP=N, e.g. holdOn=20000');
      return { ...all, [m[1]!]: Number(m[2]) };
    });
}

type IdFlags = { ids?: PlanOverrides['ids']; start?: Record<string, number> };
/** --source NAME=path and --quarantine: sources read from CSV, and what becomes of their bad rows. */
type CsvFlags = { source?: Record<string, string>; quarantine?: boolean };

/** --accept-breaking: the views, routines and events the cutover or finalize would break (as the plan lists them) may break. */
function acceptBreakingFlag(cmd: Command): Command {
  return cmd.option(
    '--accept-breaking',
    'go ahead although the cutover or finalize breaks views, routines or events that read what it renames or drops',
  );
}
type AcceptFlags = { acceptBreaking?: boolean };

acceptBreakingFlag(quarantineFlag(sourceFlag(idFlags(common(program.command('plan <mapping>'))))))
  .description('read-only: what migrate would do, the ID ranges, the tables touched and every data problem (exit 1 when it must not run)')
  .action(async (ref: string, flags: CommonFlags & IdFlags & CsvFlags & AcceptFlags) => {
    const { runCommand, databaseUrlFrom, logger } = await import('./io.ts');
    const { loadMapping } = await import('../mapping/load.ts');
    const { withSourceFlags } = await import('../csv/cli.ts');
    const { plan } = await import('../run/plan-command.ts');
    const { renderPlan } = await import('./render.ts');
    await runCommand(
      flags,
      async () =>
        plan({
          databaseUrl: databaseUrlFrom(flags),
          mapping: withSourceFlags(await loadMapping(ref), flags),
          overrides: { ids: flags.ids, start: flags.start, acceptBreaking: flags.acceptBreaking },
          quarantine: flags.quarantine,
          backupDir: flags.backupDir,
          log: logger(flags),
        }),
      renderPlan,
      (r) => (r.ok ? 0 : 1),
    );
  });

verifyOnFlag(watchFlags(acceptBreakingFlag(quarantineFlag(sourceFlag(idFlags(common(program.command('migrate <mapping>'))))))))
  .description('backup -> write -> verify -> cutover; resumes an interrupted run')
  .addOption(new Option('--until <stage>', 'stop after this stage').choices([...stages]))
  .option(
    '--report <dir>',
    'where the verify stage writes report.html, report.md and report.json (default reports/<database>/<mapping>-run-<id>)',
  )
  .option('--chunk-keys <n>', 'legacy keys per write chunk to start with (adapted to ~0.5 s per chunk)', positiveInt)
  .option('--batch-rows <n>', 'steps with code() columns: rows per multi-row INSERT at most (default 1000)', positiveInt)
  .option('--max-rows-per-second <n>', 'write at most this many rows per second on average (sleeps between chunks)', positiveInt)
  .option('--pause-file <path>', 'while this file exists, the run waits before its next chunk, stage or check')
  .option('--postpone-cutover-file <path>', 'while this file exists, the verified run waits before its cutover, then verifies again')
  .option('--yes', 'do not ask for confirmation')
  .action(
    async (
      ref: string,
      flags: CommonFlags &
        IdFlags &
        CsvFlags &
        AcceptFlags &
        WatchFlags & {
          until?: (typeof stages)[number];
          verifyOn?: string;
          verify?: ContentCompare;
          report?: string;
          chunkKeys?: number;
          batchRows?: number;
          maxRowsPerSecond?: number;
          pauseFile?: string;
          postponeCutoverFile?: string;
        },
    ) => {
      const { runCommand, confirm, databaseUrlFrom, logger } = await import('./io.ts');
      const { loadMapping } = await import('../mapping/load.ts');
      const { withSourceFlags } = await import('../csv/cli.ts');
      const { migrate } = await import('../run/migrate.ts');
      const { runProgress } = await import('./run-progress.ts');
      const { interruptOnSignals, signalExitCode } = await import('./interrupt.ts');
      const { renderMigrate } = await import('./render.ts');
      await runCommand(
        flags,
        async () => {
          const mapping = withSourceFlags(await loadMapping(ref), flags);
          const databaseUrl = databaseUrlFrom(flags);
          await confirm(flags, `migrate ${mapping.name} changes database ${new URL(databaseUrl).pathname.slice(1)}.`);
          const progress = runProgress(flags);
          const interrupts = interruptOnSignals(
            `Everything committed is journaled: \`eventshift migrate ${ref}\` resumes, \`eventshift rollback ${ref}\` undoes.`,
            // Said even with --quiet; a bar being drawn ends first.
            progress.logger((line) => void process.stderr.write(`${line}\n`)),
          );
          try {
            return await migrate({
              databaseUrl,
              mapping,
              backupDir: flags.backupDir,
              reportDir: flags.report,
              until: flags.until,
              chunkKeys: flags.chunkKeys,
              batchRows: flags.batchRows,
              overrides: { ids: flags.ids, start: flags.start, acceptBreaking: flags.acceptBreaking },
              log: progress.logger(logger(flags)),
              onProgress: progress.report,
              maxRowsPerSecond: flags.maxRowsPerSecond,
              pauseFile: flags.pauseFile,
              postponeCutoverFile: flags.postponeCutoverFile,
              quarantine: flags.quarantine,
              interrupt: interrupts.signal,
              replicas: flags.replica,
              discoverReplicas: flags.replicaDiscovery,
              maxLagSeconds: flags.maxLag,
              maxLoad: flags.maxLoad,
              verifyOn: flags.verifyOn,
              contentCompare: flags.verify,
            });
          } finally {
            interrupts.close();
            progress.close();
          }
        },
        (r) => renderMigrate(r, ref),
        (r) => (r.interruption ? signalExitCode(r.interruption.signal) : r.status === 'failed' ? 1 : 0),
      );
    },
  );

verifyOnFlag(sourceFlag(common(program.command('verify <mapping>'))))
  .description("run the checks of the mapping's latest run again (exit 1 when any fails)")
  .option('--report <dir>', 'write report.html, report.md and report.json into this folder')
  .action(async (ref: string, flags: CommonFlags & CsvFlags & { report?: string; verifyOn?: string; verify?: ContentCompare }) => {
    const { runCommand, databaseUrlFrom, logger } = await import('./io.ts');
    const { loadMapping } = await import('../mapping/load.ts');
    const { withSourceFlags } = await import('../csv/cli.ts');
    const { verify } = await import('../run/verify-run.ts');
    const { renderVerify } = await import('./render.ts');
    await runCommand(
      flags,
      async () =>
        verify({
          databaseUrl: databaseUrlFrom(flags),
          mapping: withSourceFlags(await loadMapping(ref), flags),
          backupDir: flags.backupDir,
          reportDir: flags.report,
          verifyOn: flags.verifyOn,
          contentCompare: flags.verify,
          log: logger(flags),
        }),
      renderVerify,
      (r) => (r.verification.ok ? 0 : 1),
    );
  });

common(program.command('restore [mapping]'))
  .description("put back every table of the mapping's latest backup (or --backup ID), exactly as it was")
  .option('--backup <id>', 'the backup to restore')
  .option('--tables <list>', 'only these tables (with --backup): comma-separated, a name in backticks taken verbatim')
  .option('--table <name>', 'only this table, its exact name (repeatable; with --backup)', collect)
  .option('--force', 'restore even if rows written since the backup would be lost')
  .option('--yes', 'do not ask for confirmation')
  .action(async (ref: string | undefined, flags: CommonFlags & { backup?: string; tables?: string; table?: string[]; force?: boolean }) => {
    const { runCommand, confirm, databaseUrlFrom, logger } = await import('./io.ts');
    const { usageError } = await import('../errors.ts');
    const { renderRestore } = await import('./render.ts');
    await runCommand(
      flags,
      async () => {
        const databaseUrl = databaseUrlFrom(flags);
        if (ref) {
          if (flags.tables !== undefined || flags.table)
            throw usageError('--tables and --table restore part of a backup: use them with --backup ID and no mapping.');
          const { loadMapping } = await import('../mapping/load.ts');
          const { restoreMapping } = await import('../run/restore.ts');
          const mapping = await loadMapping(ref);
          await confirm(flags, `restore replaces the tables of ${mapping.name}'s backup in the database.`);
          return restoreMapping({
            databaseUrl,
            mapping,
            backupDir: flags.backupDir,
            backupId: flags.backup,
            force: flags.force,
            log: logger(flags),
          });
        }
        if (!flags.backup) throw usageError('Name what to restore: a mapping (eventshift restore MAPPING) or a backup (--backup ID).');
        await confirm(flags, `restore replaces the tables of backup ${flags.backup} in the database.`);
        const { restoreStandalone } = await import('../run/restore.ts');
        const { progressSink, trackSteps } = await import('./progress.ts');
        const steps = trackSteps(progressSink(flags));
        try {
          return await restoreStandalone({
            databaseUrl,
            backupDir: flags.backupDir,
            backupId: flags.backup,
            tables: tablesFromFlags(flags),
            force: flags.force,
            log: logger(flags),
            onProgress: (p) => steps.report(p.table, p.rows, p.totalRows, p.ended),
          });
        } finally {
          steps.close();
        }
      },
      renderRestore,
    );
  });

idFlags(common(program.command('sql <mapping>')))
  .description('write, without changing the database, the SQL a run would execute: numbered patch files with rollbacks, EXPLAIN and lint')
  .requiredOption('--out <dir>', 'folder for the patch files, rollback/ and README.md')
  .option('--check', 'exit 1 when any finding has severity error (or the plan refuses)')
  .action(async (ref: string, flags: CommonFlags & IdFlags & { out: string; check?: boolean }) => {
    const { runCommand, databaseUrlFrom } = await import('./io.ts');
    const { loadMapping } = await import('../mapping/load.ts');
    const { exportSql } = await import('../run/sql-export.ts');
    const { formatCount } = await import('../format.ts');
    await runCommand(
      flags,
      async () =>
        exportSql({
          databaseUrl: databaseUrlFrom(flags),
          mapping: await loadMapping(ref),
          outDir: flags.out,
          overrides: { ids: flags.ids, start: flags.start },
        }),
      (r) =>
        [
          ...r.files.map(
            (f) =>
              `${f.name}  ${f.description}${f.findings
                .filter((x) => x.severity !== 'info')
                .map((x) => `\n    ${x.severity}: ${x.rule}: ${x.message}`)
                .join('')}`,
          ),
          ...r.findings.filter((x) => !r.files.some((f) => f.name === x.file)).map((x) => `${x.severity}: ${x.rule}: ${x.message}`),
          ...(r.plan.ok ? [] : [`The plan refuses to run: ${r.plan.refusals.join(' ')}`]),
          `Wrote ${formatCount(r.files.length)} patch files, their rollbacks and README.md to ${r.outDir}.`,
        ].join('\n'),
      (r) => (flags.check && !r.ok ? 1 : 0),
    );
  });

common(program.command('check <mapping>'))
  .description("prove every alias of the mapping's aliases.yaml against the live schema (exit 1 naming each one that is broken)")
  .action(async (ref: string, flags: CommonFlags) => {
    const { runCommand, databaseUrlFrom } = await import('./io.ts');
    const { loadMapping } = await import('../mapping/load.ts');
    const { checkMapping } = await import('../run/check.ts');
    const { formatCount } = await import('../format.ts');
    await runCommand(
      flags,
      async () => checkMapping({ databaseUrl: databaseUrlFrom(flags), mapping: await loadMapping(ref) }),
      (r) =>
        [
          r.aliasFile
            ? `Aliases: ${r.aliasFile} (version ${r.version}), ${formatCount(r.aliases.length)} checked.`
            : `Mapping ${r.mapping} has no aliases.yaml.`,
          ...r.aliases.filter((a) => !a.ok).map((a) => `BROKEN ${a.alias} -> ${a.target}: ${a.problem}`),
          ...r.references.map((x) => `BROKEN ${x}`),
          r.ok ? 'Every alias resolves.' : 'Update aliases.yaml (or the mapping) and check again.',
        ].join('\n'),
      (r) => (r.ok ? 0 : 1),
    );
  });

common(program.command('init <name>'))
  .description('scaffold a mapping folder (index.ts, schema.ts, aliases.yaml) from the live schema of legacy tables')
  .requiredOption('--from <tables>', 'the legacy tables, comma-separated: a step and an extension table each')
  .option('--dir <dir>', 'the folder to write (default ./mappings/<name>; refused when it exists and is not empty)')
  .action(async (name: string, flags: CommonFlags & { from: string; dir?: string }) => {
    const { runCommand, databaseUrlFrom } = await import('./io.ts');
    const { initMapping } = await import('../run/init.ts');
    const { renderInit } = await import('./render-init.ts');
    const init = async () => initMapping({ databaseUrl: databaseUrlFrom(flags), name, from: parseTableList(flags.from), dir: flags.dir });
    await runCommand(flags, init, renderInit);
  });

common(program.command('stage <mapping>'))
  .description("the mapping's rollout stage for applications; --set moves it forward (refused backward or before its requirements)")
  .option('--set <stage>', 'the stage to move to')
  .option('--yes', 'do not ask for confirmation')
  .action(async (ref: string, flags: CommonFlags & { set?: string }) => {
    const { runCommand, confirm, databaseUrlFrom } = await import('./io.ts');
    const { loadMapping } = await import('../mapping/load.ts');
    const { rolloutStage } = await import('../run/rollout.ts');
    await runCommand(
      flags,
      async () => {
        const mapping = await loadMapping(ref);
        const databaseUrl = databaseUrlFrom(flags);
        if (flags.set !== undefined)
          await confirm(flags, `stage --set tells the applications of ${mapping.name} to run in stage ${flags.set}.`);
        return rolloutStage({ databaseUrl, mapping, set: flags.set });
      },
      (r) =>
        [
          r.changedFrom !== null ? `${r.mapping}: moved from ${r.changedFrom} to ${r.stage}.` : `${r.mapping} is in stage ${r.stage}.`,
          `Stages: ${r.stages.map((x) => (x === r.stage ? `[${x}]` : x)).join(' -> ')}`,
          `Applications read it with: ${r.query.replace('?', `'${r.mapping}'`)}`,
        ].join('\n'),
    );
  });

common(program.command('lineage <mapping>'))
  .description('which legacy row produced an event (--event ID), or which events a legacy row produced (--legacy KEY)')
  .option('--event <id>', 'a new ID', positiveInt)
  .option('--legacy <key>', 'a legacy key', positiveInt)
  .action(async (ref: string, flags: CommonFlags & { event?: number; legacy?: number }) => {
    const { runCommand, databaseUrlFrom } = await import('./io.ts');
    const { loadMapping } = await import('../mapping/load.ts');
    const { lineage } = await import('../run/lineage.ts');
    await runCommand(
      flags,
      async () =>
        lineage({ databaseUrl: databaseUrlFrom(flags), mapping: await loadMapping(ref), event: flags.event, legacy: flags.legacy }),
      (r) =>
        r.links.length === 0
          ? `Run ${r.runId} wrote nothing for that ${flags.event !== undefined ? 'ID' : 'legacy key'}.`
          : r.links.map((l) => `${l.table} ${l.eventId} <- ${l.source} ${l.legacyKey} (step ${l.step}, by ${l.via})`).join('\n'),
      (r) => (r.links.length === 0 ? 1 : 0),
    );
  });

common(program.command('status <mapping>'))
  .description(
    'read-only: every run of the mapping in the database, newest first: status, stage, lock holder, rows per step, backup, verification',
  )
  .action(async (ref: string, flags: CommonFlags) => {
    const { runCommand, databaseUrlFrom } = await import('./io.ts');
    const { loadMapping } = await import('../mapping/load.ts');
    const { status } = await import('../run/status.ts');
    const { renderStatus } = await import('./render-status.ts');
    await runCommand(flags, async () => status({ databaseUrl: databaseUrlFrom(flags), mapping: await loadMapping(ref) }), renderStatus);
  });

common(program.command('rollback <mapping>'))
  .description("remove exactly what the mapping's latest run wrote, keeping rows others wrote since (works after a crash too)")
  .option('--yes', 'do not ask for confirmation')
  .action(async (ref: string, flags: CommonFlags) => {
    const { runCommand, confirm, databaseUrlFrom, logger } = await import('./io.ts');
    const { loadMapping } = await import('../mapping/load.ts');
    const { rollback } = await import('../run/rollback.ts');
    await runCommand(
      flags,
      async () => {
        const mapping = await loadMapping(ref);
        const databaseUrl = databaseUrlFrom(flags);
        await confirm(flags, `rollback removes what ${mapping.name}'s latest run wrote.`);
        return rollback({ databaseUrl, mapping, backupDir: flags.backupDir, log: logger(flags) });
      },
      (r) => [`Rolled back run ${r.runId}:`, ...r.actions.map((a) => `  ${a}`)].join('\n'),
    );
  });

acceptBreakingFlag(common(program.command('finalize <mapping>')))
  .description(
    "later, separately: drop the legacy columns the mapping's finalize declares, once its latest run has completed and verified " +
      'and its backup checks out',
  )
  .option('--yes', 'do not ask for confirmation')
  .action(async (ref: string, flags: CommonFlags & AcceptFlags) => {
    const { runCommand, confirm, databaseUrlFrom, logger } = await import('./io.ts');
    const { loadMapping } = await import('../mapping/load.ts');
    const { finalize } = await import('../run/finalize.ts');
    const { formatCount } = await import('../format.ts');
    await runCommand(
      flags,
      async () => {
        const mapping = await loadMapping(ref);
        const databaseUrl = databaseUrlFrom(flags);
        await confirm(flags, `finalize drops legacy columns of ${mapping.name} (they stay in the run's backup).`);
        return finalize({ databaseUrl, mapping, backupDir: flags.backupDir, acceptBreaking: flags.acceptBreaking, log: logger(flags) });
      },
      (r) =>
        [
          `Finalized run ${r.runId}${r.checksPassed === null ? '' : ` (its ${formatCount(r.checksPassed)} checks passed again first)`}.`,
          ...r.dropped.map((c) => `  dropped ${c}`),
          ...r.alreadyDropped.map((c) => `  ${c} was already gone`),
          `Backup ${r.backupId} holds the dropped columns; \`eventshift restore ${ref}\` brings them back.`,
        ].join('\n'),
    );
  });

const backupsCommand = program.command('backups').description("list, prune and delete a database's backups");
common(backupsCommand.command('list'))
  .description(
    "the database's backups (recorded in eventshift_backups, or found in the folders): run, state, size, tables and where each is; " +
      'without a database, those in --backup-dir',
  )
  .option('--check', "recompute every file's SHA-256 of each complete backup (state checked or damaged)")
  .action(async (flags: CommonFlags & { check?: boolean }) => {
    const { runCommand, databaseUrlFrom } = await import('./io.ts');
    const { backupsList, folderBackups } = await import('../run/backups.ts');
    const { renderBackupsList } = await import('./render-backups.ts');
    await runCommand(
      flags,
      async () => {
        // With a database (a URL, or option files naming one), its backups; without one, the folder's.
        const given = flags.databaseUrl ?? process.env.DATABASE_URL ?? flags.database ?? flags.defaultsFile;
        if (given === undefined) return folderBackups(flags.backupDir);
        const databaseUrl = databaseUrlFrom(flags);
        return backupsList({ databaseUrl, backupDir: flags.backupDir, check: flags.check });
      },
      renderBackupsList,
    );
  });

common(backupsCommand.command('prune'))
  .description(
    'keep the newest N complete backups of each mapping and delete the rest; never the only backup of a run not finalized or undone',
  )
  .requiredOption('--keep <n>', 'complete backups to keep per mapping', nonNegativeInt)
  .option('--dry-run', 'show what would be deleted, delete nothing')
  .option('--yes', 'do not ask for confirmation')
  .action(async (flags: CommonFlags & { keep: number; dryRun?: boolean }) => {
    const { runCommand, confirm, databaseUrlFrom } = await import('./io.ts');
    const { pruneBackups } = await import('../run/backups.ts');
    const { renderBackupsDeletion } = await import('./render-backups.ts');
    await runCommand(
      flags,
      async () => {
        const databaseUrl = databaseUrlFrom(flags);
        if (!flags.dryRun) await confirm(flags, `backups prune deletes all but the newest ${flags.keep} backup(s) of each mapping.`);
        return pruneBackups({ databaseUrl, backupDir: flags.backupDir, keep: flags.keep, dryRun: flags.dryRun });
      },
      renderBackupsDeletion,
    );
  });

common(backupsCommand.command('delete <id>'))
  .description('delete one backup (its folder and its record); refused for the only backup of a run not finalized or undone')
  .option('--dry-run', 'show what would be deleted, delete nothing')
  .option('--yes', 'do not ask for confirmation')
  .action(async (id: string, flags: CommonFlags & { dryRun?: boolean }) => {
    const { runCommand, confirm, databaseUrlFrom } = await import('./io.ts');
    const { deleteBackup } = await import('../run/backups.ts');
    const { renderBackupsDeletion } = await import('./render-backups.ts');
    await runCommand(
      flags,
      async () => {
        const databaseUrl = databaseUrlFrom(flags);
        if (!flags.dryRun) await confirm(flags, `backups delete removes backup ${id} for good.`);
        return deleteBackup({ databaseUrl, backupDir: flags.backupDir, id, dryRun: flags.dryRun });
      },
      renderBackupsDeletion,
    );
  });

const backupCommand = program.command('backup').description('take or check a backup by hand');
common(backupCommand.command('create'))
  .description('back up tables (prints the new backup ID)')
  .option('--tables <list>', 'table names, comma-separated; a name in backticks is taken verbatim (`a,b`, ` lead`; `` for a backtick)')
  .option('--table <name>', 'a table by its exact name (repeatable): commas, spaces and newlines are part of it', collect)
  .option('--label <label>', 'a label shown by backups list')
  .action(async (flags: CommonFlags & { tables?: string; table?: string[]; label?: string }) => {
    const { runCommand, databaseUrlFrom } = await import('./io.ts');
    await runCommand(
      flags,
      async () => {
        const tables = tablesFromFlags(flags);
        const { usageError } = await import('../errors.ts');
        if (!tables) throw usageError('Name the tables to back up: --tables LIST or --table NAME (repeatable).');
        const { connect } = await import('../db/connection.ts');
        const { createBackup } = await import('../backup/create-backup.ts');
        const { progressSink, trackSteps } = await import('./progress.ts');
        const db = await connect(databaseUrlFrom(flags));
        const steps = trackSteps(progressSink(flags));
        try {
          return await createBackup(db, {
            dir: backupDirOrDefault(flags.backupDir),
            tables,
            label: flags.label,
            onProgress: (p) => steps.report(p.table, p.rows, p.totalRows, p.ended),
          });
        } finally {
          steps.close();
          await db.close();
        }
      },
      (m) => m.id,
    );
  });

common(backupCommand.command('check <id>'))
  .description("recompute every file's SHA-256 and compare with the manifest (exit 1 on any difference)")
  .action(async (id: string, flags: CommonFlags) => {
    const { runCommand } = await import('./io.ts');
    const { checkBackup } = await import('../backup/check-backup.ts');
    await runCommand(
      flags,
      async () => checkBackup(backupDirOrDefault(flags.backupDir), id),
      (r) =>
        r.ok ? `Backup ${id}: every file matches its manifest.` : `Backup ${id} does NOT match its manifest: ${r.problems.join('; ')}`,
      (r) => (r.ok ? 0 : 1),
    );
  });

await program.parseAsync(process.argv);
