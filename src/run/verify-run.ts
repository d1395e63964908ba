import type { BackupManifest } from '../backup/index.ts';
import { parseDatabaseUrl, type Db } from '../db/connection.ts';
import { refusal } from '../errors.ts';
import type { Mapping } from '../mapping/define.ts';
import type { Part, ReportFilesScope } from '../parts/part.ts';
import { verifyMapping, type Verification, type VerifyContext } from '../verify/verification.ts';
import { writeReport } from '../verify/report.ts';
import type { ReportInput } from '../verify/report-model.ts';
import type { ContentCompare } from '../verify/check-result.ts';
import { withRunContext, type CommandOptions } from './context.ts';
import { renameState } from '../engine/cutover.ts';
import { undoneRunMessage, unfinishedWriteMessage, type RunRecord } from './journal.ts';
import { stages } from '../engine/step-journal.ts';
import { preRunTables } from '../engine/pre-run-rows.ts';
import { refuseAfterFinalize } from './finalize.ts';
import { locateBackup } from './backup-location.ts';
import { reportHeader } from './report-header.ts';
import { caughtUpReplica } from './run-signals.ts';

export interface VerifyOptions extends CommandOptions {
  mapping: Mapping;
  /** --backup-dir: where the run's backup is, when not where the database records it (locateBackup). */
  backupDir?: string;
  /** Write report.json, report.md and report.html here (also when a check fails). */
  reportDir?: string;
  /** About how many legacy rows a content check compares per piece (VerifyContext.pieceRows). */
  pieceRows?: number;
  /**
   * --verify-on URL: the checks read on this replica, once it has applied everything the primary had committed when
   * verify began (verify waits for it). The run's record and lock stay on the primary.
   */
  verifyOn?: string;
  /** --verify hash: the content checks hash each piece first and compare rows only where hashes differ (default `exact`). */
  contentCompare?: ContentCompare;
}

export interface VerifyResult {
  runId: number;
  /** The replica the checks read on (`replica host:port`), or null: the primary. */
  checksReadOn: string | null;
  verification: Verification;
  reportFiles: string[];
}

/** A run as verify checks it: its database, bound mapping and parts (the run context's), record, and the backup it took. */
export interface VerifiedRun {
  db: Db;
  mapping: Mapping;
  parts: readonly Part[];
  run: RunRecord;
  backupDir: string;
  manifest: BackupManifest;
  now: () => Date;
}

/**
 * Every check of `run` against the live database and its backup: the one way migrate's verify stage and `eventshift
 * verify` call verifyMapping. `more` adds what only one of them sets (progress, pause, piece size).
 */
export async function verifyRun(r: VerifiedRun, more: Partial<VerifyContext> = {}): Promise<Verification> {
  return verifyMapping({
    db: r.db,
    mapping: r.mapping,
    plan: r.run.plan,
    renames: await renameState(r.db, r.mapping),
    preRun: preRunTables(r.manifest),
    runId: r.run.id,
    now: r.now,
    backup: { dir: r.backupDir, manifest: r.manifest },
    parts: r.parts,
    ...more,
  });
}

/** What a run's report is made of: the verification, the run and its backup, and what only migrate adds. */
export interface RunReport {
  db: Db;
  mapping: Mapping;
  parts: readonly Part[];
  run: RunRecord;
  verification: Verification;
  backupId: string;
  now: () => Date;
  /** The replica the checks read on (--verify-on), or null. */
  checksReadOn: string | null;
  /** migrate's: the seconds of this invocation's stages, and the Galera node and its retries. */
  stageSeconds?: Partial<Record<string, number>>;
  galera?: ReportInput['galera'];
}

/**
 * Writes a run's report into `dir` (report.json, .md, .html, with its sign-off header) and the files the parts put
 * beside it; returns their paths. `eventshift verify --report` and migrate's verify stage and cutover gate write it.
 */
export async function writeRunReport(dir: string, r: RunReport): Promise<string[]> {
  const { db, mapping, run } = r;
  const files = await writeReport(dir, {
    mapping: mapping.name,
    runId: run.id,
    plan: run.plan,
    verification: r.verification,
    backupId: r.backupId,
    generatedAt: r.now().toISOString(),
    ...(r.stageSeconds ? { stageSeconds: r.stageSeconds } : {}),
    header: await reportHeader(db, mapping, run, { checksReadOn: r.checksReadOn }),
    ...(r.galera ? { galera: r.galera } : {}),
  });
  files.push(...(await filesBesideReport(r.parts, { db, plan: run.plan, runId: run.id, dir })));
  return files;
}

/** The files the parts put beside the report (quarantine.csv of CSV sources), in the parts' order; returns their paths. */
async function filesBesideReport(parts: readonly Part[], at: ReportFilesScope): Promise<string[]> {
  const files: string[] = [];
  for (const part of parts) files.push(...((await part.filesBesideReport?.(at)) ?? []));
  return files;
}

/** Runs the checks of the mapping's latest run again, on demand. */
export async function verify(options: VerifyOptions): Promise<VerifyResult> {
  const now = options.now ?? (() => new Date());
  const choose = async (run: RunRecord | null, db: Db, mapping: Mapping) => {
    const undone = run && undoneRunMessage(run, 'nothing to verify');
    if (undone) throw refusal(undone, { subject: mapping.name });
    if (!run || !run.backupId || run.stage === 'none' || stages.indexOf(run.stage as never) < stages.indexOf('write')) {
      // verify holds the run lock: a run still recorded `running` has stopped without recording it.
      const unfinished = run && (await unfinishedWriteMessage(db, run, 'nothing to verify', false));
      if (unfinished) throw refusal(unfinished, { subject: mapping.name });
      throw refusal(
        `There is nothing to verify for ${mapping.name} in ${db.database}: no run has written yet; ` +
          `run \`eventshift migrate ${mapping.name}\` first.`,
        { subject: mapping.name },
      );
    }
    await refuseAfterFinalize(db, run, mapping, 'verify');
    const { dir, manifest } = await locateBackup({ db, id: run.backupId, runId: run.id, given: options.backupDir });
    return { run, backupId: run.backupId, backupDir: dir, manifest };
  };
  return withRunContext(
    { options, mapping: options.mapping, choose },
    async ({ db, mapping, parts }, { run, backupId, backupDir, manifest }) => {
      const replica = options.verifyOn
        ? await caughtUpReplica(db, parseDatabaseUrl(options.databaseUrl), options.verifyOn, { log: options.log })
        : null;
      let verification: Verification;
      try {
        verification = await verifyRun(
          { db: replica?.db ?? db, mapping, parts, run, backupDir, manifest, now },
          { pieceRows: options.pieceRows, contentCompare: options.contentCompare },
        );
      } finally {
        await replica?.db.close();
      }
      const checksReadOn = replica?.name ?? null;
      const reportFiles = options.reportDir
        ? await writeRunReport(options.reportDir, { db, mapping, parts, run, verification, backupId, now, checksReadOn })
        : [];
      return { runId: run.id, checksReadOn, verification, reportFiles };
    },
  );
}
