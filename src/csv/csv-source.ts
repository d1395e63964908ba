import { existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { digestFile } from '../backup/private-files.ts';
import type { Db } from '../db/connection.ts';
import { tableExists, type TableInfo } from '../db/introspect.ts';
import { quoteId } from '../db/quote.ts';
import { refusal, usageError } from '../errors.ts';
import type { CsvSourceBinding } from '../mapping/types.ts';
import { problemKeyLimit, type ProblemFinding } from '../plan/plan-data.ts';
import type { PlannedSource, Source, SourcePlanning, SourceRun } from '../sources/source.ts';
import type { CheckResult } from '../verify/check-result.ts';
import { csvFilesOf } from './binding.ts';
import type { CsvSourcePlan } from './csv-plan.ts';
import { stagingTableName } from './declaration.ts';
import { loadCsvSource } from './load.ts';
import { QuarantineWriter, quarantinedRows } from './quarantine.ts';
import { dropStaging, stagingOwner } from './staging.ts';
import { formatCount } from '../format.ts';

const ownerOf = (mapping: string) => `eventshift staging of ${mapping} `;

/**
 * A source read from CSV files: loaded into its staging table `eventshift_src_<alias>`, which the mapping's SQL reads
 * in its place. Planning loads it into a TEMPORARY table on the planning connection (so planning writes nothing anyone
 * else sees, and nothing stays) and records the files, their dialect, records and bad rows; bad rows refuse the plan
 * unless `--quarantine`, a file whose quoting breaks refuses it always. The run loads it again, exactly as planned,
 * in the `load <alias>` step of its write stage; verification checks the rows against the files; rollback and restore
 * drop the staging table.
 */
export class CsvSource implements Source {
  readonly table: string;
  readonly staged = true;
  readonly prepareStep: string;
  /** What the plan records of it: given by the run's plan, or found by stage(). */
  private facts: CsvSourcePlan | undefined;

  /**
   * @param binding how the mapping reads it (undefined when the mapping no longer declares it: only what the run's
   *   plan recorded can be done then, not loading it again)
   * @param planned what the run's plan recorded of it; absent while planning
   */
  constructor(
    readonly alias: string,
    private readonly binding: CsvSourceBinding | undefined,
    planned?: CsvSourcePlan,
  ) {
    this.table = planned?.staging ?? stagingTableName(alias);
    this.prepareStep = `load ${alias}`;
    this.facts = planned;
  }

  unreadable(): string | null {
    if (this.binding?.table !== null || this.binding.file !== null) return null;
    return `Source ${this.alias} is read from CSV, and no file was given: pass --source ${this.alias}=PATH.`;
  }

  async stage(db: Db, planning: SourcePlanning): Promise<TableInfo | null> {
    const file = this.binding?.file;
    if (!this.binding || file == null) return null;
    const { definition } = this.binding;
    const loaded = await loadCsvSource(db, {
      alias: this.alias,
      definition,
      files: csvFilesOf(file),
      staging: this.table,
      temporary: true,
      comment: `eventshift plan of ${planning.mapping}`,
      badRowLimit: problemKeyLimit,
    });
    this.facts = {
      path: file,
      standsFor: this.binding.table,
      staging: this.table,
      key: definition.key,
      zone: definition.zone ?? definition.tableZone ?? 'UTC',
      tableZone: definition.tableZone ?? 'UTC',
      quarantine: planning.quarantine,
      files: loaded.files,
      records: loaded.records,
      accepted: loaded.accepted,
      bad: loaded.bad,
      badRows: loaded.badRows,
    };
    return loaded.table;
  }

  async unstage(db: Db): Promise<void> {
    if (this.binding?.file != null) await dropStaging(db, this.table, true);
  }

  planned(): PlannedSource {
    const csv = this.facts;
    if (!csv) return { problems: [], refusals: [] };
    const refusals: string[] = [];
    for (const file of csv.files) {
      if (file.unreadable) {
        refusals.push(
          `${basename(file.path)} cannot be read from line ${file.unreadable.line} on (${file.unreadable.message}): ` +
            'its quoting is broken there, so where its rows end cannot be known; fix the file. Nothing was written.',
        );
      }
    }
    if (csv.bad === 0) return { csv, problems: [], refusals };
    const finding: ProblemFinding = {
      name: `csvBadRows.${this.alias}`,
      description: `row(s) of the CSV source ${this.alias} that cannot be loaded`,
      severity: csv.quarantine ? 'warning' : 'fatal',
      consequence: csv.quarantine
        ? 'set aside: written to eventshift_quarantine and quarantine.csv beside the report, not migrated'
        : 'fix them, or run with --quarantine to set them aside',
      count: csv.bad,
      keys: csv.badRows.map((b) => `${basename(b.file)}:${b.line} ${b.reason}`),
    };
    if (finding.severity === 'fatal') {
      refusals.push(
        `${formatCount(csv.bad)} ${finding.description}: ${finding.keys.join('; ')}${csv.bad > finding.keys.length ? '; ...' : ''}. ` +
          'Fix them, or run with --quarantine to set them aside.',
      );
    }
    return { csv, problems: [finding], refusals };
  }

  /**
   * Loads the source into its staging table, exactly as the run's plan read it (same files, same encoding and
   * delimiter), and with `--quarantine` sets its bad rows aside in eventshift_quarantine. Always from scratch: the
   * table is dropped and created and the run's quarantined rows of the source removed first, so a load killed half-way
   * is simply done again. A file that changed since the plan stops the run: its counts and ranges would be wrong.
   */
  async prepare(db: Db, run: SourceRun): Promise<void> {
    const csv = this.facts!;
    const { alias } = this;
    if (!this.binding)
      throw usageError(`Run ${run.runId} reads ${alias} from CSV, and mapping ${run.mapping} no longer declares how.`, {
        subject: alias,
      });
    const owner = await stagingOwner(db, csv.staging);
    if (owner !== null && !owner.startsWith(ownerOf(run.mapping))) {
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
        throw changedSincePlan(
          run.runId,
          file.path,
          size === null ? 'it is gone' : `it has ${formatCount(size)} bytes, not ${formatCount(file.bytes)}`,
        );
    }
    const quarantine = new QuarantineWriter(db, run.runId, alias);
    await quarantine.clear();
    let first = true;
    const loaded = await loadCsvSource(db, {
      alias,
      definition: this.binding.definition,
      files: csv.files.map((f) => f.path),
      dialects: csv.files,
      staging: csv.staging,
      temporary: false,
      comment: `${ownerOf(run.mapping)}source ${alias}, run ${run.runId}`,
      onBadRow: csv.quarantine ? (row, raw) => quarantine.add(row, raw) : undefined,
      onBatch: (rows) => {
        run.onProgress?.(rows, csv.accepted);
        if (first) {
          first = false;
          run.faultPoint(`load ${alias} half-loaded`);
        }
      },
    });
    await quarantine.flush();
    for (const [i, file] of loaded.files.entries()) {
      if (file.sha256 !== csv.files[i]!.sha256) throw changedSincePlan(run.runId, file.path, 'its SHA-256 differs');
    }
    if (loaded.records !== csv.records || loaded.accepted !== csv.accepted || loaded.bad !== csv.bad) {
      throw refusal(
        `Run ${run.runId}: loading ${alias} gave ${formatCount(loaded.accepted)} rows and ${formatCount(loaded.bad)} bad ` +
          `of ${formatCount(loaded.records)}, the plan ${formatCount(csv.accepted)} and ${formatCount(csv.bad)} ` +
          `of ${formatCount(csv.records)}; roll the run back and plan again.`,
      );
    }
    if (loaded.bad > 0 && !csv.quarantine)
      throw refusal(
        `Run ${run.runId}: ${formatCount(loaded.bad)} row(s) of ${alias} cannot be loaded, and the run was not started with --quarantine.`,
      );
    run.onProgress?.(loaded.accepted, loaded.accepted, true);
    run.log?.(
      `Loaded ${formatCount(loaded.accepted)} row(s) of ${csv.files.map((f) => basename(f.path)).join(', ')} into ${csv.staging}` +
        `${loaded.bad ? `; ${formatCount(loaded.bad)} set aside in eventshift_quarantine` : ''}.`,
    );
  }

  /**
   * The rows in the staging table plus those set aside in the quarantine are the rows of the files, as the plan
   * counted them; and the files are still the ones the run read (same SHA-256), when they are still there.
   */
  async checks(db: Db, runId: number): Promise<Array<Omit<CheckResult, 'seconds'>>> {
    const csv = this.facts!;
    const failures: CheckResult['failures'] = [];
    let accepted = 0;
    if (await tableExists(db, csv.staging)) {
      const [row] = await db.query<{ n: string | number }>(`SELECT COUNT(*) AS n FROM ${quoteId(csv.staging)}`);
      accepted = Number(row?.n ?? 0);
    } else {
      failures.push({ key: csv.staging, reason: 'the staging table is missing' });
    }
    const setAside = (await quarantinedRows(db, runId)).get(this.alias) ?? 0;
    const files = csv.files.map((f) => basename(f.path)).join(', ');
    if (accepted + setAside !== csv.records) {
      failures.push({
        key: this.alias,
        reason:
          `${formatCount(accepted)} loaded + ${formatCount(setAside)} quarantined = ${formatCount(accepted + setAside)}, ` +
          `but ${files} hold ${formatCount(csv.records)} row(s)`,
      });
    }
    if (setAside !== (csv.quarantine ? csv.bad : 0)) {
      failures.push({ key: this.alias, reason: `${formatCount(setAside)} row(s) quarantined, the plan found ${formatCount(csv.bad)} bad` });
    }
    for (const file of csv.files) {
      if (!existsSync(file.path)) continue;
      if ((await digestFile(file.path)).sha256 !== file.sha256)
        failures.push({ key: file.path, reason: 'the file changed since the run read it' });
    }
    return [
      {
        id: `${this.alias}.csv.rows`,
        kind: 'count',
        table: csv.staging,
        title:
          `${this.alias}: ${formatCount(accepted)} row(s) loaded + ${formatCount(setAside)} quarantined = ` +
          `the ${formatCount(csv.records)} row(s) of ${files}`,
        ok: failures.length === 0,
        expected: csv.records,
        actual: accepted + setAside,
        failures,
        failureCount: failures.length,
      },
    ];
  }

  /** Drops the staging table (the run is over; the table is the tool's own). */
  async undo(db: Db): Promise<Array<{ table: string; what: string }>> {
    if (!(await tableExists(db, this.table))) return [];
    await dropStaging(db, this.table, false);
    return [{ table: this.table, what: 'the staging table of a CSV source' }];
  }
}

function changedSincePlan(runId: number, path: string, how: string) {
  return refusal(
    `${path} changed since run ${runId} planned it (${how}); put the planned file back, or roll the run back and plan again.`,
    { subject: path },
  );
}
