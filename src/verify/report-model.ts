import type { IdSpacePlan, Plan } from '../plan/plan-data.ts';
import type { Dependent } from '../plan/plan-data.ts';
import { hashTierDescription, type CheckResult, type ContentCompare, type FailingValue, type Verification } from './check-result.ts';
import type { ReportScope, ReportSection } from '../parts/part.ts';
import { reportSections, type ReportSections } from '../parts/registry.ts';
import { formatBytes, formatCount as n } from '../format.ts';

/** What a report is made from: the run's plan, the verification, and where the run stands. */
export interface ReportInput {
  mapping: string;
  runId: number;
  backupId: string;
  generatedAt: string;
  plan: Plan;
  verification: Verification;
  /** Seconds per stage run so far (migrate passes its own); absent for a verify on demand. */
  stageSeconds?: Partial<Record<string, number>>;
  /** The sign-off header's facts (run/report-header.ts); absent, report.json's `header` is null. */
  header?: ReportHeaderInput;
  /** On a Galera node: the node, its limits, and the chunk transactions the run retried; absent elsewhere. */
  galera?: ReportGalera;
}

/**
 * report.json's `galera`: the node the run wrote through, its write-set limits, and the chunk transactions this migrate
 * retried after a certification conflict (engine/chunks.ts, commitRetries): how many, by server error and by step.
 */
export interface ReportGalera {
  node: string;
  /** wsrep_max_ws_rows (0: no limit) and wsrep_max_ws_size, as the run's connection read them. */
  maxWriteSetRows: number;
  maxWriteSetBytes: number;
  retries: CommitRetryCount;
}

/** Chunk transactions retried: in all, by server error number, and by journaled step (`(none)` for a loop without one). */
export interface CommitRetryCount {
  count: number;
  byError: Record<string, number>;
  bySteps: Record<string, number>;
}

/** What the report's header says beyond the report's own fields: read from the process, the server and the journal. */
export interface ReportHeaderInput {
  /** eventshift's version (its package.json's). */
  eventshiftVersion: string;
  /** `sha256:<hex>` of the mapping's canonical compiled text (mapping/mapping-hash.ts). */
  mappingHash: string;
  /** `@@hostname:@@port (VERSION())` of the server the report was written against. */
  server: string;
  /** The replica the checks read on (`--verify-on`: `replica host:port`), or null: they read on `server`, the primary. */
  checksReadOn: string | null;
  /** Who wrote the report: the OS user and host of the process, and the database user (CURRENT_USER()). */
  operator: { osUser: string; host: string; databaseUser: string };
  /** The run record: its status when the report was written, when it started and (once completed) finished. */
  run: { status: string; startedAt: string; finishedAt: string | null };
  /** Each stage of the run the steps journal has, in run order; `running` (no end yet) for one still going. */
  stages: Array<{
    stage: string;
    status: 'done' | 'failed' | 'running';
    startedAt: string;
    finishedAt: string | null;
    seconds: number | null;
  }>;
  /** Whether the cutover (the mapping's renames) had happened when the report was written, and when it finished. */
  cutover: { done: boolean; at: string | null };
}

/** report.json's `header`: who signs what off. The facts of ReportHeaderInput with the mapping, run and database. */
export interface ReportHeader extends Omit<ReportHeaderInput, 'run'> {
  mapping: string;
  database: string;
  run: ReportHeaderInput['run'] & { id: number };
  generatedAt: string;
}

/**
 * report.json, exactly. The shape is documented in docs/report-format.md; a change that removes or changes a field
 * raises `formatVersion`, an added field does not. Absent values are null, never missing. The parts' sections
 * (ReportSections: `steps`, `lookups`) stand between `generatedAt` and `checks`.
 */
export interface Report extends ReportSections {
  formatVersion: typeof reportFormatVersion;
  /** The sign-off header (added in version 2 without a bump); null when the report was built without its facts. */
  header: ReportHeader | null;
  verdict: 'pass' | 'fail';
  summary: {
    /** One sentence for the top of the report. */
    headline: string;
    checks: number;
    passed: number;
    failed: number;
    /** Data problems found (rows > 0) and, of them, fatal ones. */
    dataProblems: number;
    fatalProblems: number;
    /** Replay disagreements that a declared data problem accounts for (not failures). */
    explainedDisagreements: number;
  };
  mapping: string;
  run: { id: number; backupId: string; database: string; server: string; plannedAt: string };
  generatedAt: string;
  checks: ReportCheck[];
  dataProblems: ReportProblem[];
  /** What names a table the cutover renames or a column finalize drops, and what becomes of it (dependents.ts). */
  dependents: ReportDependent[];
  /** Triggers the run's own writes fire. */
  firedTriggers: ReportFiredTrigger[];
  idSpace: ReportIdSpace[];
  timings: { verifyStartedAt: string; checksSeconds: number; stages: Record<string, number> };
  /**
   * How the content checks compared rows (added in version 2 without a bump): `hash` or `exact`, and in words what was
   * hashed and how; null for a verification recorded before there was a choice (row by row).
   */
  contentCompare: { how: ContentCompare; description: string } | null;
  /** On a Galera node (added in version 2 without a bump); null elsewhere. */
  galera: ReportGalera | null;
}

export interface ReportCheck {
  id: string;
  kind: CheckResult['kind'];
  title: string;
  /** Replay checks: what a key names ('order'); null for other checks. */
  entity: string | null;
  ok: boolean;
  step: string | null;
  table: string | null;
  expected: string | number | null;
  actual: string | number | null;
  failureCount: number;
  /**
   * The first failing rows: new key, legacy key (when known), what is wrong and, for a row that differs from its legacy
   * row, each differing column's expected and found value (`[]` otherwise).
   */
  failures: Array<{ key: string; legacyKey: string | null; reason: string; values: FailingValue[] }>;
  explainedCount: number;
  explained: Array<{ key: string; problem: string; reason: string }>;
  /** Content checks: how the rows were compared (pieces settled by their hashes, pieces compared row by row); null otherwise. */
  method: string | null;
  seconds: number;
}

export interface ReportProblem {
  name: string;
  description: string;
  severity: 'fatal' | 'warning';
  count: number;
  /** The first offending keys, in key order; `moreKeys` when there are more rows than keys listed. */
  keys: string[];
  moreKeys: boolean;
  consequence: string | null;
  example: string | null;
  /** Where the problem shows in the checks: replay disagreements it accounts for, by check id. */
  seenIn: Array<{ check: string; title: string; entity: string | null; keys: string[] }>;
}

export interface ReportDependent {
  kind: Dependent['kind'];
  name: string;
  stage: Dependent['stage'];
  change: string;
  effect: Dependent['effect'];
  detail: string;
  /** For an object the change breaks: `mapping` (accepts.breaking) or `flag` (--accept-breaking). */
  accepted: 'mapping' | 'flag' | null;
}

export interface ReportFiredTrigger {
  name: string;
  table: string;
  when: string;
  by: string[];
  accepted: boolean;
}

export interface ReportIdSpace {
  table: string;
  keyColumn: string;
  /** Whether the table existed before the run (runs and gaps are as they were then). */
  existed: boolean;
  rowsBefore: number;
  minId: number | null;
  maxId: number | null;
  autoIncrement: number | null;
  raiseAutoIncrementTo: number | null;
  /** The largest value the key column can hold, as a decimal string. */
  columnMax: string;
  runs: Array<{ first: number; last: number; rows: number }>;
  runCount: number;
  gaps: Array<{ first: number; last: number; size: number }>;
  gapCount: number;
  reserved: Array<{ step: string; first: number; last: number; collisions: number }>;
}

export const reportFormatVersion = 2;

/** A check's expected or actual value as the report's text shows it: a number is a count (report.json keeps it a number). */
export const shownCheckValue = (v: string | number | null): string => (typeof v === 'number' ? n(v) : (v ?? ''));

/**
 * A check's found value as a person reads it: a failed check whose counts agree (a content check with rows that
 * differ) says how many of them fail, so its columns do not read "1,665 / 1,665" beside a FAIL.
 */
export const shownCheckActual = (c: Pick<ReportCheck, 'ok' | 'expected' | 'actual' | 'failureCount'>): string =>
  !c.ok && c.expected === c.actual && c.failureCount > 0
    ? `${shownCheckValue(c.actual)} (${n(c.failureCount)} failing)`
    : shownCheckValue(c.actual);

/** The report model, built from the same result objects the commands return. */
export function buildReport(input: ReportInput): Report {
  const { plan, verification: v } = input;
  const failed = v.checks.filter((c) => !c.ok).length;
  const found = plan.problems.filter((p) => p.count > 0);
  const explainedDisagreements = v.checks.reduce((n, c) => n + (c.explainedCount ?? 0), 0);
  const checks = v.checks.map(reportCheck);
  const headline = v.ok
    ? `All ${n(v.checks.length)} checks hold: the written rows are what the mapping defines.` +
      `${found.length ? ` ${n(found.length)} known data problem(s) in the legacy data are listed below.` : ''}`
    : `${n(failed)} of ${n(v.checks.length)} checks failed: the failing keys are listed below.`;
  return {
    formatVersion: reportFormatVersion,
    header: input.header ? headerOf(input, input.header) : null,
    verdict: v.ok ? 'pass' : 'fail',
    summary: {
      headline,
      checks: v.checks.length,
      passed: v.checks.length - failed,
      failed,
      dataProblems: found.length,
      fatalProblems: found.filter((p) => p.severity === 'fatal').length,
      explainedDisagreements,
    },
    mapping: input.mapping,
    run: { id: input.runId, backupId: input.backupId, database: plan.database, server: plan.server, plannedAt: plan.createdAt },
    generatedAt: input.generatedAt,
    ...partSections({ plan, checks: v.checks }),
    checks,
    dataProblems: reportProblems(found, checks),
    dependents: reportDependents(plan),
    firedTriggers: (plan.firedTriggers ?? []).map((t) => ({ name: t.name, table: t.table, when: t.when, by: t.by, accepted: t.accepted })),
    idSpace: plan.idSpace.map(idSpaceOf),
    timings: {
      verifyStartedAt: v.startedAt,
      checksSeconds: v.seconds,
      stages: Object.fromEntries(Object.entries(input.stageSeconds ?? {}).filter((e): e is [string, number] => typeof e[1] === 'number')),
    },
    galera: input.galera ?? null,
    contentCompare: v.contentCompare ? { how: v.contentCompare, description: contentCompareText(v.contentCompare) } : null,
  };
}

const contentCompareText = (how: ContentCompare) =>
  how === 'hash' ? hashTierDescription : 'Every legacy row was joined to the rows it maps to and compared value by value (--verify exact).';

function headerOf(input: ReportInput, h: ReportHeaderInput): ReportHeader {
  return {
    eventshiftVersion: h.eventshiftVersion,
    mappingHash: h.mappingHash,
    mapping: input.mapping,
    database: input.plan.database,
    server: h.server,
    checksReadOn: h.checksReadOn ?? null,
    operator: h.operator,
    run: { id: input.runId, ...h.run },
    stages: h.stages,
    cutover: h.cutover,
    generatedAt: input.generatedAt,
  };
}

/**
 * The report's sentence on a Galera run, for report.md and report.html: `Written through Galera node node1 (write-set
 * limits: no row limit, 2.0 GiB): 3 chunk transaction(s) retried after a certification conflict (error 1213: 3;
 * step holdOn: 3).`
 */
export function galeraSentence(g: ReportGalera): string {
  const rows = g.maxWriteSetRows > 0 ? `${n(g.maxWriteSetRows)} rows` : 'no row limit';
  const limits = `write-set limits: ${rows}, ${formatBytes(g.maxWriteSetBytes)}`;
  const counts = (by: Record<string, number>, label: string) => Object.entries(by).map(([what, count]) => `${label}${what}: ${n(count)}`);
  const retried =
    g.retries.count === 0
      ? 'no chunk transaction had to be retried'
      : `${n(g.retries.count)} chunk transaction(s) retried after a certification conflict ` +
        `(${[...counts(g.retries.byError, 'error '), ...counts(g.retries.bySteps, '')].join('; ')})`;
  return `Written through Galera node ${g.node} (${limits}): ${retried} by this migrate.`;
}

/** What to run next after a failed verification, with the mapping's name filled in: verify again, or undo the run. */
export function nextCommands(r: Pick<Report, 'mapping'>): Array<{ command: string; why: string }> {
  const m = /^[\w./-]+$/.test(r.mapping) ? r.mapping : `'${r.mapping.replace(/'/g, `'\\''`)}'`;
  return [
    { command: `eventshift verify ${m}`, why: 'after fixing what the failing checks name, to check again' },
    { command: `eventshift rollback ${m}`, why: "to remove exactly what the run wrote (keeping others' writes since)" },
    { command: `eventshift restore ${m}`, why: "to put back the tables the run's backup holds, as they were before the run" },
  ];
}

/** Each part's section of report.json, under its field, in reportOrder. */
function partSections(scope: ReportScope): ReportSections {
  // ReportSections is typed from the same parts' sections, so these entries are its fields.
  return Object.fromEntries(reportSections().map((s) => [s.field, s.data(scope)])) as ReportSections;
}

/** A part's section data as the report holds it, for report.md and report.html to render. */
export function sectionData(r: Report, section: ReportSection): unknown {
  return r[section.field as keyof ReportSections];
}

function reportCheck(c: ReportInput['verification']['checks'][number]): ReportCheck {
  return {
    id: c.id,
    kind: c.kind,
    title: c.title,
    entity: c.entity ?? null,
    ok: c.ok,
    step: c.step ?? null,
    table: c.table ?? null,
    expected: c.expected ?? null,
    actual: c.actual ?? null,
    failureCount: c.failureCount,
    failures: c.failures.map((f) => ({ key: f.key, legacyKey: f.legacyKey ?? null, reason: f.reason, values: f.values ?? [] })),
    explainedCount: c.explainedCount ?? 0,
    explained: c.explained ?? [],
    method: c.method ?? null,
    seconds: c.seconds,
  };
}

/** The data problems found, each with the checks whose disagreements it explains. */
function reportProblems(found: ReportInput['plan']['problems'], checks: ReportCheck[]): Report['dataProblems'] {
  return found.map((p) => ({
    name: p.name,
    description: p.description,
    severity: p.severity,
    count: p.count,
    keys: p.keys,
    moreKeys: p.count > p.keys.length,
    consequence: p.consequence ?? null,
    example: p.example ?? null,
    seenIn: checks.flatMap((c) => {
      const keys = c.explained.filter((e) => e.problem === p.name).map((e) => e.key);
      return keys.length ? [{ check: c.id, title: c.title, entity: c.entity, keys }] : [];
    }),
  }));
}

function reportDependents(plan: ReportInput['plan']): Report['dependents'] {
  return (plan.dependents ?? []).map((d) => ({
    kind: d.kind,
    name: d.name,
    stage: d.stage,
    change: d.change,
    effect: d.effect,
    detail: d.detail,
    accepted: d.accepted ?? null,
  }));
}

function idSpaceOf(s: IdSpacePlan): ReportIdSpace {
  // Plans frozen by runs that predate the island analysis have no islands: show their one known span.
  const runs = s.islands ?? (s.minId !== null && s.maxId !== null ? [{ first: s.minId, last: s.maxId, rows: s.rows }] : []);
  return {
    table: s.table,
    keyColumn: s.keyColumn,
    existed: s.exists,
    rowsBefore: s.rows,
    minId: s.minId,
    maxId: s.maxId,
    autoIncrement: s.autoIncrement,
    raiseAutoIncrementTo: s.raiseAutoIncrementTo,
    columnMax: s.columnMax,
    runs,
    runCount: s.islandCount ?? runs.length,
    gaps: (s.gaps ?? []).map((g) => ({ first: g.first, last: g.last, size: g.last - g.first + 1 })),
    gapCount: s.gapCount ?? Math.max(0, runs.length - 1),
    reserved: s.ranges.map((r) => ({
      step: r.step,
      first: r.first,
      last: r.last,
      collisions: s.collisions.filter((c) => c.step === r.step).reduce((n, c) => n + c.count, 0),
    })),
  };
}
