import { quoteId } from '../db/quote.ts';
import type { BackupColumn } from './manifest.ts';
import type { ChecksumRecipe } from '../db/checksum.ts';
import { fingerprintSql } from './row-checksum.ts';
import { loadExpression, readExpression } from './row-encoding.ts';

/** The columns a rows file holds, in order: every column that is not generated. */
export function writtenColumns(columns: readonly BackupColumn[]): BackupColumn[] {
  return columns.filter((c) => !c.generated);
}

/** The select-list expressions that read the written columns as the rows file holds them. */
function readList(columns: readonly BackupColumn[]): string[] {
  return writtenColumns(columns).map((c) => readExpression(quoteId(c.name), c.dataType));
}

/** The SELECT that reads a table's rows for its rows file. */
export function selectRowsSql(table: string, columns: readonly BackupColumn[]): string {
  return `SELECT ${readList(columns).join(', ')} FROM ${quoteId(table)}`;
}

/**
 * selectRowsSql with each row's checksum fingerprint (row-checksum.ts, by `recipe`) as an extra first column: what a
 * backup runs, so the rows and their content checksum come from one scan.
 */
export function selectRowsAndFingerprintsSql(table: string, columns: readonly BackupColumn[], recipe: ChecksumRecipe): string {
  return `SELECT ${[fingerprintSql(writtenColumns(columns), recipe), ...readList(columns)].join(', ')} FROM ${quoteId(table)}`;
}

/**
 * The LOAD DATA statement that reads a rows file into `table`. `CHARACTER SET binary` stores every byte as written;
 * columns that need a conversion (loadExpression: UNHEX() for hex columns) go through a user variable. The
 * AUTO_INCREMENT column goes through a user variable too:
 * MariaDB 10.11 ignores NO_AUTO_VALUE_ON_ZERO for a column listed directly in a LOAD DATA that has a SET clause, and
 * would give a row whose key is 0 a new key. The file name is a placeholder: the driver's infileStreamFactory
 * supplies the stream. Run it in a session without NO_BACKSLASH_ESCAPES.
 */
export function loadRowsSql(table: string, columns: readonly BackupColumn[]): string {
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
    `FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n'`,
    `(${targets.join(', ')})`,
    ...(assignments.length > 0 ? [`SET ${assignments.join(', ')}`] : []),
  ].join('\n');
}
