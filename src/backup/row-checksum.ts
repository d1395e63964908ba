import { rowFingerprintSql, valueKind, type ContentChecksum } from '../db/checksum.ts';
import { quoteId } from '../db/quote.ts';
import type { BackupColumn } from './manifest.ts';

/**
 * The select-list expression of a row's fingerprint prefix: the first 16 hex digits of tableChecksum's row
 * fingerprint (src/db/checksum.ts) over the same columns. A backup reads it in the SELECT that streams the rows, so
 * the content checksum is computed by the server in the same pass and the same snapshot as the rows written, and
 * RowChecksum adds the prefixes up exactly as aggregateSql's SUM does: one table scan instead of two.
 * (test/backup/row-checksum.test.ts checks the result against tableChecksum on the server.)
 */
export function fingerprintPrefixSql(columns: readonly BackupColumn[]): string {
  const fingerprint = rowFingerprintSql(columns.map((c) => ({ expr: quoteId(c.name), kind: valueKind(c) })));
  return `LEFT(${fingerprint}, 16)`;
}

const TWO_32 = 4294967296;
/** Rows added in Numbers before they are folded into the BigInt total: keeps every partial sum below 2^53. */
const FOLD_EVERY = 1 << 20;

/**
 * `COUNT(*)` and `IFNULL(SUM(CAST(CONV(prefix, 16, 10) AS UNSIGNED)), 0)` of the fingerprint prefixes it is given,
 * exactly (the sum exceeds 64 bits), as the decimal string the server would print: tableChecksum's result.
 * A NULL prefix (the server gives NULL when the row's canonical text exceeds max_allowed_packet) counts as a row
 * but adds nothing, as SUM skips NULL.
 */
export class RowChecksum {
  private rows = 0;
  private high = 0;
  private low = 0;
  private pending = 0;
  private total = 0n;

  /** Adds one row: its 16-hex-digit prefix as ASCII bytes, or null. */
  add(prefix: Buffer | null): void {
    this.rows++;
    if (prefix === null) return;
    if (prefix.length !== 16) throw new Error(`A row fingerprint prefix must be 16 hex digits, not ${JSON.stringify(prefix.toString('latin1'))}.`);
    this.high += hex32(prefix, 0);
    this.low += hex32(prefix, 8);
    if (++this.pending >= FOLD_EVERY) this.fold();
  }

  result(): ContentChecksum {
    this.fold();
    return { rows: this.rows, hash: this.total.toString() };
  }

  private fold(): void {
    this.total += BigInt(this.high) * BigInt(TWO_32) + BigInt(this.low);
    this.high = 0;
    this.low = 0;
    this.pending = 0;
  }
}

/** The 8 hex digits at `at` as a number (0 to 2^32 - 1); throws on anything that is not a hex digit. */
function hex32(bytes: Buffer, at: number): number {
  let value = 0;
  for (let i = at; i < at + 8; i++) {
    const c = bytes[i]!;
    const digit = c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x66 ? c - 0x57 : c >= 0x41 && c <= 0x46 ? c - 0x37 : -1;
    if (digit < 0) throw new Error(`A row fingerprint prefix must be hex, not ${JSON.stringify(bytes.toString('latin1'))}.`);
    value = value * 16 + digit;
  }
  return value;
}
