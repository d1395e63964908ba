import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { getTableConfig } from 'drizzle-orm/mysql-core';
import { connect, sessionSettingsSql } from '../db/connection.ts';
import { describeTable, type TableInfo } from '../db/introspect.ts';
import { readTriggers } from '../backup/triggers.ts';
import { databaseDefaults } from '../backup/restore-journal.ts';
import type { BackupTrigger } from '../backup/manifest.ts';
import type { Mapping } from '../mapping/define.ts';
import { buildPlan } from '../plan/plan.ts';
import type { Plan, PlanOverrides } from '../plan/plan-data.ts';
import type { CommandOptions } from './context.ts';
import { explainStatement, lintStatement, type ExplainRow, type LintFinding } from '../export/lint.ts';
import { patchFiles } from '../export/patch-files.ts';
import type { PatchFile } from '../export/patch-file.ts';
import { formatCount } from '../format.ts';

export interface SqlExportOptions extends CommandOptions {
  mapping: Mapping;
  /** Folder to write; its numbered files and rollback/ are replaced. */
  outDir: string;
  overrides?: PlanOverrides;
}

export interface ExportedFile extends PatchFile {
  explain: Array<{ statement: number; plan: ExplainRow[] }>;
  findings: LintFinding[];
}

export interface SqlExportResult {
  outDir: string;
  files: ExportedFile[];
  findings: LintFinding[];
  /** The plan the SQL was written from; when it refuses, migrate would not run it either. */
  plan: Plan;
  /** No finding of severity error and a plan that may run. */
  ok: boolean;
}

/** Writes the SQL a run would execute as reviewable patch files with rollbacks, EXPLAIN and lint. Read-only on the database. */
export async function exportSql(options: SqlExportOptions): Promise<SqlExportResult> {
  const now = options.now ?? (() => new Date());
  const db = await connect(options.databaseUrl);
  try {
    const plan = await buildPlan(db, options.mapping, now(), { overrides: options.overrides });
    const described = new Map<string, TableInfo | null>();
    for (const table of [...Object.values(options.mapping.sources), ...plan.tables.backup])
      described.set(table, await describeTable(db, table));
    // The triggers on the tables the cutover renames: the renames rewrite them, so the rollback creates them again.
    const triggers = new Map<string, BackupTrigger[]>();
    for (const r of plan.tables.rename) if (r.kind === 'table') triggers.set(r.from, await readTriggers(db, r.from));
    const patches = patchFiles({
      mapping: options.mapping,
      plan,
      capabilities: db.capabilities,
      describe: described,
      triggers,
      databaseDefaults: await databaseDefaults(db),
    });
    const files: ExportedFile[] = [];
    for (const patch of patches) {
      const findings: LintFinding[] = patch.note ? [{ file: patch.name, severity: 'error', rule: 'code-column', message: patch.note }] : [];
      const explain: ExportedFile['explain'] = [];
      for (const [i, sql] of patch.statements.entries()) {
        findings.push(...lintStatement(patch.name, sql));
        if (patch.kind !== 'data') continue;
        const explained = await explainStatement(db, patch.name, sql);
        if (explained.plan.length > 0) explain.push({ statement: i + 1, plan: explained.plan });
        findings.push(...explained.findings);
      }
      files.push({ ...patch, explain, findings });
    }
    const findings = [...files.flatMap((f) => f.findings), ...tableFindings(options.mapping, plan, described)];
    const result: SqlExportResult = {
      outDir: options.outDir,
      files,
      findings,
      plan,
      ok: plan.ok && !findings.some((f) => f.severity === 'error'),
    };
    await writeExport(result, options.mapping, now());
    return result;
  } finally {
    await db.close();
  }
}

/**
 * Targets without a primary key (error) or with a signed key (warning); sources without a primary key: a warning when a
 * step or lookup reads one with no declared chunk key, else a note of the key it is chunked by.
 */
function tableFindings(mapping: Mapping, plan: Plan, described: Map<string, TableInfo | null>): LintFinding[] {
  return [...targetFindings(mapping, plan, described), ...sourceFindings(mapping, described)];
}

/** Targets without a primary key (error) or with a signed key (warning). */
function targetFindings(mapping: Mapping, plan: Plan, described: Map<string, TableInfo | null>): LintFinding[] {
  const findings: LintFinding[] = [];
  for (const target of Object.values(mapping.targets)) {
    const config = getTableConfig(target);
    const live = described.get(config.name);
    const pk = live
      ? live.primaryKey
      : [...config.columns.filter((c) => c.primary).map((c) => c.name), ...config.primaryKeys.flatMap((k) => k.columns.map((c) => c.name))];
    if (pk.length === 0)
      findings.push({
        file: config.name,
        severity: 'error',
        rule: 'no-primary-key',
        message: `target ${config.name} has no primary key: rows cannot be checked or undone one by one.`,
      });
    for (const step of plan.steps) {
      const key = step.writes.find((w) => w.table === config.name)?.keyColumn;
      if (!key) continue;
      const type = live?.columns.find((c) => c.name === key)?.columnType ?? config.columns.find((c) => c.name === key)?.getSQLType() ?? '';
      if (type && !/unsigned/i.test(type)) {
        findings.push({
          file: config.name,
          severity: 'warning',
          rule: 'signed-id',
          message: `${config.name}.${key} is signed (${type}): half its range is unusable for IDs.`,
        });
      }
      break;
    }
  }
  return findings;
}

/** Sources without a primary key: a warning when a reader has no declared chunk key, else a note of the key. */
function sourceFindings(mapping: Mapping, described: Map<string, TableInfo | null>): LintFinding[] {
  const findings: LintFinding[] = [];
  for (const [alias, table] of Object.entries(mapping.sources)) {
    const live = described.get(table);
    if (!live || live.primaryKey.length > 0) continue;
    // Who reads it in key-range chunks, and by what: a step or lookup source may declare its own `key`.
    const readers = [
      ...Object.entries(mapping.steps)
        .filter(([, step]) => step.from === alias)
        .map(([name, step]) => ({ by: `step ${name}`, key: step.key ?? null })),
      ...Object.entries(mapping.lookups ?? {})
        .filter(([, l]) => alias in l.from)
        .map(([name, l]) => ({ by: `lookup ${name}`, key: l.from[alias]!.key ?? null })),
    ];
    const unkeyed = readers.filter((r) => r.key === null);
    if (unkeyed.length > 0) {
      findings.push({
        file: table,
        severity: 'warning',
        rule: 'no-primary-key',
        message:
          `source ${table} (${alias}) has no primary key: ${unkeyed.map((r) => r.by).join(', ')} cannot chunk it by key; ` +
          'declare the column to chunk by (`key`).',
      });
    } else if (readers.length > 0) {
      findings.push({
        file: table,
        severity: 'info',
        rule: 'no-primary-key',
        message:
          `source ${table} (${alias}) has no primary key: ${readers.map((r) => `${r.by} chunks it by ${r.key}`).join(', ')} ` +
          '(not unique: rows with one value stay in one chunk).',
      });
    }
  }
  return findings;
}

const header = (mapping: Mapping, title: string, generatedAt: Date) =>
  `-- eventshift ${mapping.name}: ${title}\n` +
  `-- Generated ${generatedAt.toISOString()} by \`eventshift sql\`; apply in file order with the mariadb/mysql client.\n` +
  `SET NAMES utf8mb4;\n${sessionSettingsSql};\n`;

/** A count of rows as a person reads it, or `none` when there is none. */
const rowsOr = (rows: number | null, none: string) => (rows === null ? none : formatCount(rows));

/** One row of a statement's EXPLAIN, as the comment line above it in its file. */
const explainLine = (r: ExplainRow) =>
  `--   ${r.table ?? '-'}: type ${r.type ?? '-'}, key ${r.key ?? '-'}, ~${rowsOr(r.rows, '?')} rows${r.extra ? `, ${r.extra}` : ''}`;

async function writeExport(result: SqlExportResult, mapping: Mapping, generatedAt: Date): Promise<void> {
  await rm(join(result.outDir, 'rollback'), { recursive: true, force: true });
  await mkdir(join(result.outDir, 'rollback'), { recursive: true });
  for (const f of result.files) {
    const transactional = f.kind === 'data';
    const body = f.statements
      .map((sql, i) => {
        const explained = f.explain.find((e) => e.statement === i + 1);
        const plan = explained ? `\n${explained.plan.map(explainLine).join('\n')}` : '';
        return `${explained ? '-- EXPLAIN (live server):' + plan + '\n' : ''}${sql};`;
      })
      .join('\n\n');
    const findings = f.findings.map((x) => `-- ${x.severity.toUpperCase()} ${x.rule}: ${x.message}`).join('\n');
    await writeFile(
      join(result.outDir, f.name),
      `${header(mapping, f.description, generatedAt)}-- Expected rows: ${rowsOr(f.expectedRows, 'n/a')}. Locks: ${f.locks}.\n` +
        `${findings ? findings + '\n' : ''}\n` +
        (f.note ? `-- NOT EXPRESSIBLE AS SQL: see the ERROR code-column above.\n\n` : '') +
        `${transactional ? 'START TRANSACTION;\n\n' : ''}${body}\n${transactional ? '\nCOMMIT;\n' : ''}`,
    );
    await writeFile(
      join(result.outDir, 'rollback', f.name),
      `${header(mapping, `undo ${f.name}: ${f.description}`, generatedAt)}\n${transactional ? 'START TRANSACTION;\n\n' : ''}` +
        `${f.rollback.map((s) => `${s};`).join('\n\n')}\n${transactional ? '\nCOMMIT;\n' : ''}`,
    );
  }
  await writeFile(join(result.outDir, 'README.md'), renderExportReadme(result, mapping, generatedAt));
}

export function renderExportReadme(result: SqlExportResult, mapping: Mapping, generatedAt: Date): string {
  const lines = [
    `# ${mapping.name}: the SQL a run executes`,
    '',
    `Generated ${generatedAt.toISOString()} from database \`${result.plan.database}\` (${result.plan.server}) by \`eventshift sql\`.`,
    'The data statements are those `eventshift migrate` runs, each over the whole key range instead of in chunks; migrate',
    'also takes a backup first, verifies before the renames, and journals every step. Apply in order:',
    '',
    '```sh',
    `for f in [0-9]*.sql; do mariadb ${result.plan.database} < "$f" || break; done`,
    '```',
    '',
    'and undo with the files of `rollback/` in reverse order:',
    '',
    '```sh',
    `for f in $(ls rollback/[0-9]*.sql | sort -r); do mariadb ${result.plan.database} < "$f" || break; done`,
    '```',
    '',
    '| # | file | what | expected rows | locks | findings |',
    '| --- | --- | --- | ---: | --- | --- |',
    ...result.files.map(
      (f, i) =>
        `| ${i + 1} | \`${f.name}\` | ${f.description} | ${rowsOr(f.expectedRows, '')} | ${f.locks} | ${f.findings
          .filter((x) => x.severity !== 'info')
          .map((x) => `${x.severity} ${x.rule}`)
          .join(', ')} |`,
    ),
    '',
  ];
  if (!result.plan.ok) lines.push('## The plan refuses to run', '', ...result.plan.refusals.map((r) => `- ${r}`), '');
  const tableFindings = result.findings.filter((f) => !result.files.some((x) => x.name === f.file));
  if (tableFindings.length > 0)
    lines.push('## Table findings', '', ...tableFindings.map((f) => `- ${f.severity} ${f.rule}: ${f.message}`), '');
  return lines.join('\n');
}
