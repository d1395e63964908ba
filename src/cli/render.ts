import type { PlanResult } from '../run/plan-command.ts';
import type { RestoreResult } from '../backup/index.ts';
import type { Interruption, MigrateResult } from '../run/migrate.ts';
import { writtenSoFar } from '../run/journal.ts';
import type { VerifyResult } from '../run/verify-run.ts';
import type { Verification } from '../verify/verification.ts';
import { galeraSentence } from '../verify/report-model.ts';
import { csvSourceLines } from '../csv/cli.ts';
import { dependentLine } from '../plan/dependents.ts';
import { sessionSqlMode, sessionTimeZone } from '../db/connection.ts';
import { formatBytes, formatCount as n, formatDuration } from '../format.ts';

const pad = (s: string, n: number) => (s.length >= n ? s : s + ' '.repeat(n - s.length));

export function renderPlan(r: PlanResult): string {
  const p = r.plan;
  const out: string[] = [];
  out.push(`Plan for ${p.mapping} on ${p.database} (${p.server})`);
  if (r.run) out.push(`Run ${r.run.id}: ${r.run.status}, last stage ${r.run.stage}, started ${r.run.startedAt} UTC`);
  out.push(
    ...sourceLines(p),
    ...stepLines(p),
    ...lookupLines(p),
    ...idSpaceLines(p),
    ...tableLines(p),
    ...problemLines(p),
    ...serverLines(p),
    ...galeraLines(p),
  );
  out.push('');
  out.push(r.ok ? `OK: migrate can go ahead.${r.reasons.length ? ` (${r.reasons.join('; ')})` : ''}` : `REFUSED: ${r.reasons.join(' ')}`);
  return out.join('\n');
}

type Plan = PlanResult['plan'];

/** The plan's sources: each table's rows and keys, and a CSV source's file. */
function sourceLines(p: Plan): string[] {
  const out: string[] = [];
  out.push('', 'Sources:');
  for (const s of p.sources) {
    out.push(
      `  ${pad(s.alias, 12)} ${pad(s.table, 20)} ` +
        `${s.exists ? `${n(s.rows)} rows, keys ${s.minKey ?? '-'}..${s.maxKey ?? '-'}` : 'MISSING'}`,
    );
    out.push(...csvSourceLines(s));
  }
  return out;
}

/** The steps: rows, IDs, reserved range and the rows each target gets. */
function stepLines(p: Plan): string[] {
  const out: string[] = [];
  out.push('', 'Steps:');
  for (const s of p.steps) {
    const ids =
      s.ids.strategy === 'offset'
        ? `IDs = ${s.keyColumn} + ${s.ids.offset}`
        : `IDs ${s.ids.strategy}${s.ids.strategy === 'chronological' ? ` by ${s.ids.orderBy}` : ''} from ${s.ids.start}`;
    out.push(
      `  ${s.name}: ${n(s.sourceRows)} source rows${s.description ? ` (${s.description})` : ''}; ${ids}` +
        `${s.range ? `, reserved ${s.range.table} ${s.range.first}..${s.range.last}` : ''}`,
    );
    for (const w of s.writes) out.push(`    -> ${pad(w.table, 20)} ${n(w.rows)} rows${w.when ? ' (when ' + w.when + ')' : ''}`);
    if (s.writePath === 'streamed')
      out.push(
        `    streamed: ${s.codeColumns?.join(', ')} computed in Node (code); rows read in key-range chunks and written in batched INSERTs`,
      );
  }
  return out;
}

/** Projections and lookups: the values they fill and the lookup rows they reuse or create. */
function lookupLines(p: Plan): string[] {
  const out: string[] = [];
  if (p.projections.length) {
    out.push('', 'Projections:');
    for (const x of p.projections)
      out.push(
        `  ${x.table}.${x.column} ${x.definition}: ` +
          (x.rowsWithValue === null
            ? `${n(x.tableRows)} rows filled with the aggregate (not counted ahead in a run's plan)`
            : `${n(x.rowsWithValue)} of ${n(x.tableRows)} rows get a value`),
      );
  }
  for (const l of p.lookups ?? []) {
    out.push(
      '',
      `Lookup ${l.name}: ${l.table}${l.exists ? ` (${n(l.rowsBefore)} rows)` : ' (created by the run)'} by ${l.naturalKey}: ` +
        `${n(l.keys)} distinct, ${n(l.reuse)} reused, ${n(l.create)} to create; ` +
        `${n(l.skippedKeys)} skipped, ${n(l.conflictedKeys.length)} in conflict`,
    );
    for (const s of l.sources)
      out.push(
        `  ${pad(`${s.table}.${s.reference.name}`, 28)} ${n(s.rows)} rows: ` +
          `${n(s.fill)} to fill, ${n(s.skipped)} skipped, ${n(s.conflicted)} in conflict`,
      );
    for (const e of l.everyRowOf ?? []) out.push(`  ${pad(e.table, 28)} ${n(e.rows)} rows: each gets its ${l.table} row (no reference)`);
  }
  return out;
}

/** The ID space of each ID table: what is there, the steps' ranges and whether they are free. */
function idSpaceLines(p: Plan): string[] {
  const out: string[] = [];
  out.push('', 'ID space:');
  for (const s of p.idSpace) {
    out.push(
      `  ${s.table}.${s.keyColumn}: ` +
        (s.exists
          ? `${n(s.rows)} rows, IDs ${s.minId ?? '-'}..${s.maxId ?? '-'}, AUTO_INCREMENT ${s.autoIncrement ?? '-'}`
          : 'created by the run'),
    );
    for (const range of s.ranges)
      out.push(`    ${range.step}: ${range.first}..${range.last} ${s.collisions.some((c) => c.step === range.step) ? 'TAKEN' : 'free'}`);
    if (s.raiseAutoIncrementTo !== null) out.push(`    AUTO_INCREMENT raised to ${s.raiseAutoIncrementTo} before writing`);
  }
  return out;
}

/** The tables backed up, created, altered and renamed; what depends on them; the triggers the run fires. */
function tableLines(p: Plan): string[] {
  const out: string[] = [];
  out.push('', 'Tables:');
  out.push(`  back up: ${p.tables.backup.join(', ')}`);
  if (p.tables.create.length) out.push(`  create:  ${p.tables.create.join(', ')}`);
  for (const a of p.tables.alter) out.push(`  alter:   ${a.table}: ${a.change}`);
  for (const n of p.tables.rename.filter((x) => x.kind === 'table')) out.push(`  rename:  ${n.from} -> ${n.to} (at cutover)`);
  if (p.dependents?.length) {
    out.push('', 'What depends on what the cutover renames and finalize drops:');
    for (const change of [...new Set(p.dependents.map((d) => `${d.stage}: ${d.change}`))]) {
      out.push(`  ${change}`);
      for (const d of p.dependents.filter((x) => `${x.stage}: ${x.change}` === change)) out.push(`    ${dependentLine(d)}`);
    }
  }
  if (p.firedTriggers?.length) {
    out.push('', "Triggers the run's own writes fire:");
    for (const t of p.firedTriggers) {
      out.push(
        `  ${t.name} (${t.when} ON ${t.table}), by ${t.by.join(' and ')}${t.accepted ? ' (accepted by the mapping)' : ': NOT ACCEPTED'}`,
      );
    }
  }
  return out;
}

/** The data problems found, and the alias warnings. */
function problemLines(p: Plan): string[] {
  const out: string[] = [];
  out.push('', 'Data problems:');
  const found = p.problems.filter((x) => x.count > 0);
  if (found.length === 0) out.push('  none');
  for (const x of found)
    out.push(
      `  ${x.severity === 'fatal' ? 'FATAL' : 'warn '} ${n(x.count)} ${x.description}: ${x.keys.join(', ')}` +
        `${x.count > x.keys.length ? ', ...' : ''}${x.consequence ? ` -> ${x.consequence}` : ''}`,
    );
  if (p.aliasWarnings?.length) out.push('', 'Alias warnings:', ...p.aliasWarnings.map((w) => `  ${w}`));
  if (p.privilegeWarnings?.length) out.push('', 'Privileges (later commands):', ...p.privilegeWarnings.map((w) => `  ${w}`));
  return out;
}

/** The server variables the run relies on, as plan read them, and what they may mean later. */
function serverLines(p: Plan): string[] {
  const s = p.serverSettings;
  if (!s) return [];
  return [
    '',
    'Server:',
    `  lower_case_table_names ${s.lowerCaseTableNames}, max_allowed_packet ${formatBytes(s.maxAllowedPacket)}, ` +
      `local_infile ${s.localInfile ? 'ON' : 'OFF'}`,
    `  sql_mode '${s.sqlMode}' (eventshift's sessions set their own: ${sessionSqlMode}, time zone ${sessionTimeZone})`,
    ...(p.serverWarnings ?? []).map((w) => `  ${w}`),
  ];
}

/** On a Galera node: the node and its limits, the run's DDL with its cluster-wide effect, and the warnings. */
function galeraLines(p: Plan): string[] {
  const g = p.galera;
  if (!g) return [];
  const rows = g.maxWriteSetRows > 0 ? `${n(g.maxWriteSetRows)} rows` : 'no row limit';
  return [
    '',
    `Galera: node ${g.node} of ${g.clusterSize}; write-set limits ${rows}, ${formatBytes(g.maxWriteSetBytes)} ` +
      '(each chunk stays under a quarter of them; a chunk that loses a certification conflict is retried)',
    `  DDL (wsrep_OSU_method ${g.osuMethod}): each statement runs on every node at the same point of the cluster's order of ` +
      'writes (total order isolation); while it runs, every node holds the writes ordered after it, to any table, and ' +
      "other nodes' transactions on its table are aborted:",
    ...g.ddl.map((d) => `    ${d}`),
    ...g.warnings.map((w) => `  ${w}`),
  ];
}

export function renderVerification(v: Verification): string {
  const out: string[] = [];
  for (const c of v.checks) {
    out.push(`  ${c.ok ? 'pass' : 'FAIL'}  ${c.title}`);
    for (const f of c.failures.slice(0, 10)) out.push(`          ${f.key}${f.legacyKey ? ` (legacy ${f.legacyKey})` : ''}: ${f.reason}`);
    if (c.failureCount > Math.min(10, c.failures.length))
      out.push(`          ... ${n(c.failureCount - Math.min(10, c.failures.length))} more`);
  }
  const failed = v.checks.filter((c) => !c.ok).length;
  const checks = n(v.checks.length);
  out.push(v.ok ? `All ${checks} checks passed (${formatDuration(v.seconds)}).` : `${n(failed)} of ${checks} checks FAILED.`);
  return out.join('\n');
}

/** A migrate's result; `ref` is the mapping as it was named on the command line, for the commands it suggests. */
export function renderMigrate(r: MigrateResult, ref: string = r.plan.mapping): string {
  const out: string[] = [];
  out.push(`Run ${r.runId} of ${r.plan.mapping}${r.resumed ? ' (resumed)' : ''}: ${r.status}, last stage ${r.stage}.`);
  if (r.backup) out.push(`Backup: ${r.backup.dir}`);
  for (const [step, rows] of Object.entries(r.rowsWritten)) out.push(`Wrote ${n(rows)} rows in step ${step}.`);
  if (r.verification) out.push(renderVerification(r.verification));
  if (r.reportDir) out.push(`Report: ${r.reportDir}/report.html (and report.md, report.json)`);
  if (r.galera) out.push(galeraSentence(r.galera));
  const times = [...(r.planSeconds === null ? [] : [['plan', r.planSeconds] as const]), ...Object.entries(r.stageSeconds)]
    .map(([s, t]) => `${s} ${formatDuration(t)}`)
    .join(', ');
  if (times) out.push(`Stage times: ${times}`);
  if (r.holds.length > 0) {
    const seconds = r.holds.reduce((n, h) => n + h.seconds, 0);
    const by = [...new Set(r.holds.flatMap((h) => h.signals))].join(', ');
    out.push(`Held ${n(r.holds.length)} time(s), ${formatDuration(seconds)} in all, by ${by}.`);
  }
  if (r.interruption) out.push(...renderInterruption(r.interruption, r.plan, ref));
  return out.join('\n');
}

/** Where an interrupted run stopped, what it wrote so far, and the two ways on. */
function renderInterruption(i: Interruption, plan: Plan, ref: string): string[] {
  return [
    `Interrupted by ${i.signal} during stage ${i.stage}; it stopped at a chunk boundary, and everything committed is journaled.`,
    `Written so far: ${writtenSoFar(plan, i.journal)}.`,
    `\`eventshift migrate ${ref}\` resumes it from there; \`eventshift rollback ${ref}\` undoes what it wrote.`,
  ];
}

export function renderVerify(r: VerifyResult): string {
  return [
    `Verification of run ${r.runId}${r.checksReadOn ? ` (read on ${r.checksReadOn})` : ''}:`,
    renderVerification(r.verification),
    ...r.reportFiles.map((f) => `Wrote ${f}`),
  ].join('\n');
}

/** A restore: each table and what became of it, the tables the cutover had renamed, the foreign keys pointed back. */
export function renderRestore(r: {
  backupId: string | null;
  restore: RestoreResult | null;
  untouched?: string | null;
  droppedRenamed?: string[];
}): string {
  if (r.untouched) return r.untouched;
  const restore = r.restore!;
  const lines = [
    `Restored backup ${r.backupId}${restore.resumed ? ', finishing a restore that had been interrupted' : ''}: ` +
      `${restore.tables.map((t) => `${t.name} (${t.action})`).join(', ')}.`,
  ];
  if (r.droppedRenamed?.length) lines.push(`Dropped ${r.droppedRenamed.join(', ')}, renamed at cutover.`);
  if (restore.repointed.length > 0) lines.push(`Pointed back at the restored tables: foreign keys ${restore.repointed.join(', ')}.`);
  const definitionOnly = restore.tables.filter((t) => t.action === 'restored' && !t.checksumVerified).map((t) => t.name);
  if (definitionOnly.length > 0)
    lines.push(`Restored by definition only (their rows are those of the tables they are built on): ${definitionOnly.join(', ')}.`);
  const differing = restore.tables.filter((t) => t.definitionMatches === false).map((t) => t.name);
  if (differing.length > 0)
    lines.push(
      `WARNING: SHOW CREATE TABLE now differs from the backup's saved definition for ${differing.join(', ')}; ` +
        `compare them with the schema files of backup ${r.backupId}.`,
    );
  return lines.join('\n');
}
