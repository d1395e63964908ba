import type { Db } from '../db/connection.ts';
import { formatCount } from '../format.ts';

/** A lint finding on an exported statement or a table it touches. */
export interface LintFinding {
  file: string;
  severity: 'error' | 'warning' | 'info';
  rule:
    | 'full-scan'
    | 'filesort'
    | 'limit-without-order-by'
    | 'non-deterministic'
    | 'no-primary-key'
    | 'signed-id'
    | 'not-explained'
    | 'code-column';
  message: string;
}

export interface ExplainRow {
  table: string | null;
  type: string | null;
  rows: number | null;
  key: string | null;
  extra: string | null;
}

/** Tables this small are scanned whole cheaply: no finding. */
export const fullScanRows = 1000;

const nonDeterministic = new RegExp(
  '\\b(NOW|SYSDATE|RAND|UUID|UUID_SHORT|CURRENT_TIMESTAMP|CURRENT_DATE|CURRENT_TIME|CURDATE|CURTIME|UTC_TIMESTAMP|UTC_DATE|' +
    'UNIX_TIMESTAMP|CONNECTION_ID|USER|CURRENT_USER|LAST_INSERT_ID|FOUND_ROWS)\\s*\\(',
  'i',
);

/** The statement with its string literals blanked, so that words inside data are not read as SQL. */
function withoutLiterals(sql: string): string {
  return sql.replace(/'(?:[^'\\]|\\.|'')*'/g, "''").replace(/X''/g, "''");
}

/** Findings readable from the statement text alone. */
export function lintStatement(file: string, sql: string): LintFinding[] {
  const code = withoutLiterals(sql);
  const findings: LintFinding[] = [];
  if (/^\s*(UPDATE|DELETE)\b/i.test(code) && /\bLIMIT\b/i.test(code) && !/\bORDER\s+BY\b/i.test(code)) {
    findings.push({
      file,
      severity: 'error',
      rule: 'limit-without-order-by',
      message: 'UPDATE/DELETE with LIMIT but no ORDER BY touches rows in no defined order: unsafe for replication and for re-runs.',
    });
  }
  const call = nonDeterministic.exec(code);
  if (call) {
    findings.push({
      file,
      severity: 'error',
      rule: 'non-deterministic',
      message: `${call[1]!.toUpperCase()}() gives a different value on each run and on each replica; compute it once into a literal.`,
    });
  }
  return findings;
}

/** The SELECT that does a data statement's reading, for EXPLAIN (an INSERT's SELECT; an UPDATE's joined tables). */
export function readingSelect(sql: string): string | null {
  const insert = /^INSERT INTO [^\n]*\n(SELECT [\s\S]*)$/.exec(sql);
  if (insert) return insert[1]!;
  const update = /^UPDATE ([\s\S]*?)\nSET [\s\S]*$/.exec(sql);
  if (update) return `SELECT 1 FROM ${update[1]}`;
  return null;
}

/** EXPLAIN of the statement's reading part, and the findings it shows. */
export async function explainStatement(db: Db, file: string, sql: string): Promise<{ plan: ExplainRow[]; findings: LintFinding[] }> {
  const select = readingSelect(sql);
  if (!select) return { plan: [], findings: [] };
  let rows: Array<Record<string, unknown>>;
  try {
    rows = await db.query(`EXPLAIN ${select}`);
  } catch (error) {
    return {
      plan: [],
      findings: [
        {
          file,
          severity: 'info',
          rule: 'not-explained',
          message:
            `EXPLAIN failed (${(error as Error).message.replace(/^.*failed: /, '')}); ` +
            'it runs against tables an earlier patch creates.',
        },
      ],
    };
  }
  const plan = rows.map((r) => ({
    table: (r.table as string | null) ?? null,
    type: (r.type as string | null) ?? null,
    rows: r.rows === null || r.rows === undefined ? null : Number(r.rows),
    key: (r.key as string | null) ?? null,
    extra: (r.Extra as string | null) ?? null,
  }));
  const findings: LintFinding[] = [];
  for (const r of plan) {
    if (r.type === 'ALL' && (r.rows ?? 0) > fullScanRows && !(r.table ?? '').startsWith('<derived')) {
      findings.push({
        file,
        severity: 'warning',
        rule: 'full-scan',
        message: `reads all of ${r.table} (about ${formatCount(r.rows ?? 0)} rows) without an index.`,
      });
    }
    if (/filesort/i.test(r.extra ?? '')) {
      findings.push({ file, severity: 'warning', rule: 'filesort', message: `sorts ${r.table} rows without an index (${r.extra}).` });
    }
  }
  return { plan, findings };
}
