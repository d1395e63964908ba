import { existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { digestFile } from '../backup/private-files.ts';
import type { Db } from '../db/connection.ts';
import { tableExists } from '../db/introspect.ts';
import { quoteId } from '../db/quote.ts';
import { refusal, usageError } from '../errors.ts';
import type { Mapping } from '../mapping/define.ts';
import type { Plan, SourcePlan } from '../plan/plan-data.ts';
import type { CheckResult } from '../verify/check-result.ts';
import { loadCsvSource } from './load.ts';
import { QuarantineWriter, quarantinedRows } from './quarantine.ts';
import { dropStaging, stagingOwner } from './staging.ts';

/**
 * What a run does with its CSV sources: the `load <alias>` step at the start of the write stage, the count check of
 * verification, and the removal of staging tables when a run is restored or rolled back.
 */

const ownerOf = (mapping: string) => `eventshift staging of ${mapping} `;

/**
 * Loads a run's CSV source into its staging table, exactly as the run's plan read it (same files, same encoding and
 * delimiter), and with `--quarantine` sets its bad rows aside in eventshift_quarantine. Always from scratch: the
 * table is dropped and created and the run's quarantined rows of the source removed first, so a load killed half-way
 * is simply done again. A file that changed since the plan stops the run: its counts and ranges would be wrong.
 */
export async function loadRunCsvSource(
  db: Db,
  mapping: Mapping,
  source: SourcePlan,
  runId: number,
  hooks: { faultPoint: (name: string) => void; log?: (line: string) => void; onProgress?: (rows: number, total: number) => void },
): Promise<void> {
  const csv = source.csv!;
  const binding = mapping.csvSources[source.alias];
  if (!binding)
    throw usageError(`Run ${runId} reads ${source.alias} from CSV, and mapping ${mapping.name} no longer declares how.`, {
      subject: source.alias,
    });
  const owner = await stagingOwner(db, csv.staging);
  if (owner !== null && !owner.startsWith(ownerOf(mapping.name))) {
    throw refusal(
      `The table ${csv.staging} belongs to another run (${owner || 'no owner recorded'}); restore or roll that run back first.`,
      { subject: csv.staging },
    );
  }
  for (const file of csv.files) {
    const size = await stat(file.path).then(
      (s) => s.size,
      () => null,
    );
    if (size !== file.bytes)
      throw changedSincePlan(runId, file.path, size === null ? 'it is gone' : `it has ${size} bytes, not ${file.bytes}`);
  }
  const quarantine = new QuarantineWriter(db, runId, source.alias);
  await quarantine.clear();
  let first = true;
  const loaded = await loadCsvSource(db, {
    alias: source.alias,
    definition: binding.definition,
    files: csv.files.map((f) => f.path),
    dialects: csv.files,
    staging: csv.staging,
    temporary: false,
    comment: `${ownerOf(mapping.name)}source ${source.alias}, run ${runId}`,
    onBadRow: csv.quarantine ? (row, raw) => quarantine.add(row, raw) : undefined,
    onBatch: (rows) => {
      hooks.onProgress?.(rows, csv.accepted);
      if (first) {
        first = false;
        hooks.faultPoint(`load ${source.alias} half-loaded`);
      }
    },
  });
  await quarantine.flush();
  for (const [i, file] of loaded.files.entries()) {
    if (file.sha256 !== csv.files[i]!.sha256) throw changedSincePlan(runId, file.path, 'its SHA-256 differs');
  }
  if (loaded.records !== csv.records || loaded.accepted !== csv.accepted || loaded.bad !== csv.bad) {
    throw refusal(
      `Run ${runId}: loading ${source.alias} gave ${loaded.accepted} rows and ${loaded.bad} bad of ${loaded.records}, ` +
        `the plan ${csv.accepted} and ${csv.bad} of ${csv.records}; roll the run back and plan again.`,
    );
  }
  if (loaded.bad > 0 && !csv.quarantine)
    throw refusal(`Run ${runId}: ${loaded.bad} row(s) of ${source.alias} cannot be loaded, and the run was not started with --quarantine.`);
  hooks.log?.(
    `Loaded ${loaded.accepted} row(s) of ${csv.files.map((f) => basename(f.path)).join(', ')} into ${csv.staging}` +
      `${loaded.bad ? `; ${loaded.bad} set aside in eventshift_quarantine` : ''}.`,
  );
}

function changedSincePlan(runId: number, path: string, how: string) {
  return refusal(
    `${path} changed since run ${runId} planned it (${how}); put the planned file back, or roll the run back and plan again.`,
    { subject: path },
  );
}

/** Drops the staging tables of a plan's CSV sources (restore and rollback: the run is over; the tables are the tool's own). */
export async function dropRunStaging(db: Db, plan: Plan | null | undefined): Promise<string[]> {
  const dropped: string[] = [];
  for (const s of plan?.sources ?? []) {
    if (!s.csv || !(await tableExists(db, s.csv.staging))) continue;
    await dropStaging(db, s.csv.staging, false);
    dropped.push(s.csv.staging);
  }
  return dropped;
}

/**
 * Per CSV source: the rows in its staging table plus those set aside in the quarantine are the rows of its files, as
 * the plan counted them; and the files are still the ones the run read (same SHA-256), when they are still there.
 */
export async function csvChecks(db: Db, plan: Plan, runId: number): Promise<Array<Omit<CheckResult, 'seconds'>>> {
  const checks: Array<Omit<CheckResult, 'seconds'>> = [];
  const sources = plan.sources.filter((s) => s.csv);
  if (sources.length === 0) return checks;
  const quarantined = await quarantinedRows(db, runId);
  for (const source of sources) {
    const csv = source.csv!;
    const failures: CheckResult['failures'] = [];
    let accepted = 0;
    if (await tableExists(db, csv.staging)) {
      const [row] = await db.query<{ n: string | number }>(`SELECT COUNT(*) AS n FROM ${quoteId(csv.staging)}`);
      accepted = Number(row?.n ?? 0);
    } else {
      failures.push({ key: csv.staging, reason: 'the staging table is missing' });
    }
    const setAside = quarantined.get(source.alias) ?? 0;
    const files = csv.files.map((f) => basename(f.path)).join(', ');
    if (accepted + setAside !== csv.records) {
      failures.push({
        key: source.alias,
        reason: `${accepted} loaded + ${setAside} quarantined = ${accepted + setAside}, but ${files} hold ${csv.records} row(s)`,
      });
    }
    if (setAside !== (csv.quarantine ? csv.bad : 0)) {
      failures.push({ key: source.alias, reason: `${setAside} row(s) quarantined, the plan found ${csv.bad} bad` });
    }
    for (const file of csv.files) {
      if (!existsSync(file.path)) continue;
      if ((await digestFile(file.path)).sha256 !== file.sha256)
        failures.push({ key: file.path, reason: 'the file changed since the run read it' });
    }
    checks.push({
      id: `${source.alias}.csv.rows`,
      kind: 'count',
      table: csv.staging,
      title: `${source.alias}: ${accepted} row(s) loaded + ${setAside} quarantined = the ${csv.records} row(s) of ${files}`,
      ok: failures.length === 0,
      expected: csv.records,
      actual: accepted + setAside,
      failures,
      failureCount: failures.length,
    });
  }
  return checks;
}
