import { quoteId } from '../db/quote.ts';
import { ROW_ENCODING, type BackupColumn, type RowsEncoding } from './manifest.ts';
import type { ChecksumRecipe } from '../db/capabilities.ts';
import { columnValues, rowsFromSql, storedRowTextSql } from '../db/checksum.ts';
import { fingerprintSql } from './row-checksum.ts';
import { loadExpression, readExpression } from './row-encoding.ts';

/** The columns a rows file holds, in order: every column that is not generated. */
export function writtenColumns(columns: readonly BackupColumn[]): BackupColumn[] {
  return columns.filter((c) => !c.generated);
}

/** The select-list expressions that read the written columns as the rows file holds them. */
function readList(columns: readonly BackupColumn[]): string[] {
  return writtenColumns(columns).map((c) => readExpression(quoteId(c.name), c.dataType, c.encoding ?? 'text'));
}

/** The SELECT that reads a table's rows for its rows file. */
export function selectRowsSql(table: string, columns: readonly BackupColumn[]): string {
  return `SELECT ${readList(columns).join(', ')} FROM ${rowsFromSql(table, columns)}`;
}

/**
 * selectRowsSql with each row's checksum fingerprint (row-checksum.ts, by `recipe`) as an extra first column: what a
 * backup runs, so the rows and their content checksum come from one scan.
 */
export function selectRowsAndFingerprintsSql(table: string, columns: readonly BackupColumn[], recipe: ChecksumRecipe): string {
  return `SELECT ${[fingerprintSql(writtenColumns(columns), recipe), ...readList(columns)].join(', ')} FROM ${rowsFromSql(table, columns)}`;
}

/**
 * The SELECT that reads a table's rows for a `sql-quoted/binary` rows file: one column per row, `<CRC32> <CRC32C>
 * <text>`, where the text is the row's stored text (checksum.ts, storedRowTextSql), which is the file's line, and the
 * CRCs are of that text: its `crc32c-bytes` fingerprint is CRC32 * 2^32 + CRC32C. The server builds the text once
 * (in a user variable), so the line and its checksum cost one pass, not two.
 *
 * MariaDB does not promise the order in which one statement assigns and reads a user variable; it evaluates CONCAT's
 * arguments left to right, so the CRCs and the line read this row's text. The backup does not take that on trust:
 * write-rows.ts recomputes the CRC32 of every line it receives and the CRC32C of a sample, and refuses a mismatch.
 * NULL for a row whose text exceeds max_allowed_packet.
 */
export function selectStoredRowsSql(table: string, columns: readonly BackupColumn[]): string {
  const values = columnValues(writtenColumns(columns));
  const v = '@eventshift_row';
  return `SELECT CONCAT(CRC32(${v} := ${storedRowTextSql(values)}), ' ', CRC32C(${v}), ' ', ${v}) FROM ${rowsFromSql(table, columns)}`;
}

/** The FIELDS clause of LOAD DATA for each rows encoding (backups/README.md). */
const fieldsClause: Record<RowsEncoding, string> = {
  'load-data-tsv/binary': `FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\'`,
  'sql-quoted/binary': `FIELDS TERMINATED BY ',' ENCLOSED BY '\\'' ESCAPED BY '\\\\'`,
};

/**
 * The LOAD DATA statement that reads a rows file of `encoding` into `table`. `CHARACTER SET binary` stores every byte as written;
 * columns that need a conversion (loadExpression: UNHEX() for hex columns) go through a user variable. The
 * AUTO_INCREMENT column goes through a user variable too:
 * MariaDB 10.11 ignores NO_AUTO_VALUE_ON_ZERO for a column listed directly in a LOAD DATA that has a SET clause, and
 * would give a row whose key is 0 a new key. The file name is a placeholder: the driver's infileStreamFactory
 * supplies the stream. Run it in a session without NO_BACKSLASH_ESCAPES.
 */
export function loadRowsSql(table: string, columns: readonly BackupColumn[], encoding: RowsEncoding = ROW_ENCODING): string {
  const targets: string[] = [];
  const assignments: string[] = [];
  writtenColumns(columns).forEach((c, i) => {
    const variable = `@es_${i}`;
    const expression = loadExpression(variable, c.dataType, c.encoding ?? 'text') ?? (c.autoIncrement ? variable : null);
    if (expression === null) {
      targets.push(quoteId(c.name));
    } else {
      targets.push(variable);
      assignments.push(`${quoteId(c.name)} = ${expression}`);
    }
  });
  return [
    `LOAD DATA LOCAL INFILE 'eventshift-rows' INTO TABLE ${quoteId(table)} CHARACTER SET binary`,
    `${fieldsClause[encoding]} LINES TERMINATED BY '\\n'`,
    `(${targets.join(', ')})`,
    ...(assignments.length > 0 ? [`SET ${assignments.join(', ')}`] : []),
  ].join('\n');
}
