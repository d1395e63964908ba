import { createWriteStream } from 'node:fs';
import { chmod, mkdir } from 'node:fs/promises';
import { FILE_MODE } from '../backup/private-files.ts';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import { stringify } from 'csv-stringify';
import type { Db } from '../db/connection.ts';
import { keysetKeys, runChunks } from '../engine/chunks.ts';
import { tableExists } from '../db/introspect.ts';
import type { Plan } from '../plan/plan-data.ts';
import { decodeAll, readable, type TextEncoding } from './decode.ts';
import type { BadRow } from './csv-plan.ts';

/** Bad rows of a run's CSV source, written to eventshift_quarantine in batches as the load finds them. */
export class QuarantineWriter {
  private rows: unknown[][] = [];
  written = 0;

  constructor(
    private readonly db: Db,
    private readonly runId: number,
    private readonly source: string,
  ) {}

  /** Removes what an earlier, interrupted load of this run and source set aside: a load always starts from scratch. */
  async clear(): Promise<void> {
    await this.db.execute('DELETE FROM eventshift_quarantine WHERE run_id = ? AND source = ?', [this.runId, this.source]);
  }

  async add(row: BadRow, raw: Buffer): Promise<void> {
    this.rows.push([this.runId, this.source, row.file, row.line, row.reason, raw]);
    if (this.rows.length >= 500) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.rows.length === 0) return;
    const rows = this.rows;
    this.rows = [];
    await this.db.query('INSERT INTO eventshift_quarantine (run_id, source, file, line, reason, raw) VALUES ?', [rows]);
    this.written += rows.length;
  }
}

/** How many rows a run set aside per source (0 when it set none aside, or there is no quarantine table). */
export async function quarantinedRows(db: Db, runId: number): Promise<Map<string, number>> {
  if (!(await tableExists(db, 'eventshift_quarantine'))) return new Map();
  const rows = await db.query<{ source: string; n: string | number }>(
    'SELECT source, COUNT(*) AS n FROM eventshift_quarantine WHERE run_id = ? GROUP BY source',
    [runId],
  );
  return new Map(rows.map((r) => [r.source, Number(r.n)]));
}

/**
 * Writes `quarantine.csv` into `dir` (beside the report) when the run set rows aside: source, file, line, reason and
 * the row as it reads in its file's encoding (bytes that are not valid there shown as U+FFFD; the exact bytes are in
 * eventshift_quarantine.raw). UTF-8 with a byte order mark, so spreadsheets open it right. Returns its path, or null.
 * The rows are read in pages of 1,000, in (source, file, line, id) order, by the chunk engine's keyset cursor.
 */
export async function writeQuarantineCsv(db: Db, runId: number, plan: Plan, dir: string): Promise<string | null> {
  const csvSources = plan.sources.filter((s) => s.csv);
  if (csvSources.length === 0 || !(await tableExists(db, 'eventshift_quarantine'))) return null;
  const encodings = new Map<string, TextEncoding>(csvSources.flatMap((s) => s.csv!.files.map((f) => [f.path, f.encoding.value] as const)));
  const [count] = await db.query<{ n: string | number }>('SELECT COUNT(*) AS n FROM eventshift_quarantine WHERE run_id = ?', [runId]);
  if (Number(count?.n ?? 0) === 0) return null;
  await mkdir(dir, { recursive: true });
  const path = join(dir, 'quarantine.csv');
  // The rows as they were in the files: readable by their owner only, as the report beside it.
  const out = createWriteStream(path, { mode: FILE_MODE });
  out.write('\uFEFF');
  const csv = stringify({ header: true, columns: ['source', 'file', 'line', 'reason', 'row'], record_delimiter: '\r\n' });
  csv.pipe(out);
  await runChunks({
    db,
    keys: keysetKeys<QuarantineKey>({ after: null, bound: (after, limit) => quarantineBound(db, runId, after, limit) }),
    size: { fixed: 1000 },
    work: async ({ lo, hi }) => {
      const rows = await quarantinePage(db, runId, lo, hi);
      for (const r of rows) {
        const text = readable(decodeAll(r.raw, encodings.get(r.file) ?? 'utf8'));
        if (!csv.write([r.source, r.file, Number(r.line), r.reason, text])) await new Promise<void>((ok) => csv.once('drain', () => ok()));
      }
      return rows.length;
    },
  });
  csv.end();
  await finished(out);
  await chmod(path, FILE_MODE);
  return path;
}

/**
 * A set-aside row's place in quarantine.csv: (source, file, line, id), unique since id is the table's key. No index
 * covers that order (eventshift_quarantine's is on run_id, source, line), so each page sorts the run's rows left.
 */
type QuarantineKey = [source: string, file: string, line: number, id: number];

const keyColumns = 'source, file, line, id';

/** The key of the last of the next `limit` rows of the run after `after` (null: from its first), or null when none is left. */
async function quarantineBound(db: Db, runId: number, after: QuarantineKey | null, limit: number): Promise<QuarantineKey | null> {
  const [last] = await db.query<{ source: string; file: string; line: string | number; id: string | number }>(
    `SELECT ${keyColumns} FROM (
       SELECT ${keyColumns} FROM eventshift_quarantine WHERE run_id = ?${after ? ` AND (${keyColumns}) > (?, ?, ?, ?)` : ''}
        ORDER BY ${keyColumns} LIMIT ${Number(limit)}
     ) AS page ORDER BY source DESC, file DESC, line DESC, id DESC LIMIT 1`,
    [runId, ...(after ?? [])],
  );
  return last ? [last.source, last.file, Number(last.line), Number(last.id)] : null;
}

/** The run's set-aside rows after `lo` (null: from its first) up to `hi`, in key order. */
async function quarantinePage(db: Db, runId: number, lo: QuarantineKey | null, hi: QuarantineKey) {
  return db.query<{ source: string; file: string; line: string | number; reason: string; raw: Buffer }>(
    `SELECT source, file, line, reason, raw FROM eventshift_quarantine
      WHERE run_id = ?${lo ? ` AND (${keyColumns}) > (?, ?, ?, ?)` : ''} AND (${keyColumns}) <= (?, ?, ?, ?)
      ORDER BY ${keyColumns}`,
    [runId, ...(lo ?? []), ...hi],
  );
}
