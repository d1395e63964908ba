import type { ChecksumRecipe } from '../db/capabilities.ts';
import { columnValues, rowFingerprintSql, type ContentChecksum } from '../db/checksum.ts';
import type { BackupColumn } from './manifest.ts';

/**
 * The select-list expression of a row's fingerprint: tableChecksum's (src/db/checksum.ts) over the same columns, by
 * `recipe`. A backup reads it in the SELECT that streams the rows, so the content checksum is computed by the server
 * in the same pass and the same snapshot as the rows written, and RowChecksum adds the fingerprints up exactly as
 * aggregateSql's SUM does: one table scan instead of two.
 * (test/backup/row-checksum.test.ts checks the result against tableChecksum on the server.)
 */
export function fingerprintSql(columns: ReadonlyArray<Pick<BackupColumn, 'name' | 'dataType'>>, recipe: ChecksumRecipe): string {
  return rowFingerprintSql(columnValues(columns), recipe);
}

/** The low part of a fingerprint: its last 10 decimal digits. */
const LOW_DIGITS = 10;
const LOW = 10 ** LOW_DIGITS;
/** Rows added in Numbers before they are folded into the BigInt total: keeps every partial sum below 2^53. */
const FOLD_EVERY = 1 << 19;

/**
 * `COUNT(*)` and `IFNULL(SUM(fingerprint), 0)` of the fingerprints it is given (unsigned 64-bit integers as the server
 * prints them, in decimal), exactly (the sum exceeds 64 bits), as the decimal string the server would print:
 * tableChecksum's result. A NULL fingerprint (the server gives NULL when the row's canonical text exceeds
 * max_allowed_packet) counts as a row but adds nothing, as SUM skips NULL.
 */
export class RowChecksum {
  private rows = 0;
  private high = 0;
  private low = 0;
  /** Sums of the two 32-bit halves added by addHalves. */
  private high32 = 0;
  private low32 = 0;
  private pending = 0;
  private total = 0n;

  constructor(private readonly recipe: ChecksumRecipe) {}

  /** Adds one row: its fingerprint as ASCII decimal digits, or null. */
  add(fingerprint: Buffer | null): void {
    if (fingerprint === null) this.rows++;
    else this.addDigits(fingerprint, 0, fingerprint.length);
  }

  /** Adds one row whose fingerprint is the ASCII decimal digits `bytes[from..to)`. */
  addDigits(bytes: Buffer, from: number, to: number): void {
    this.rows++;
    const length = to - from;
    if (length <= 0 || length > 20)
      throw new Error(
        `A row fingerprint must be an unsigned 64-bit integer, not ${JSON.stringify(bytes.toString('latin1', from, Math.max(from, to)))}.`,
      );
    const split = Math.max(from, to - LOW_DIGITS);
    this.high += digits(bytes, from, split);
    this.low += digits(bytes, split, to);
    if (++this.pending >= FOLD_EVERY) this.fold();
  }

  /** Adds one row whose fingerprint is `high * 2^32 + low` (two unsigned 32-bit numbers, e.g. a CRC32 and a CRC32C). */
  addHalves(high: number, low: number): void {
    this.rows++;
    this.high32 += high;
    this.low32 += low;
    if (++this.pending >= FOLD_EVERY) this.fold();
  }

  result(): ContentChecksum {
    this.fold();
    return { rows: this.rows, hash: this.total.toString(), recipe: this.recipe };
  }

  private fold(): void {
    this.total += BigInt(this.high) * BigInt(LOW) + BigInt(this.low) + (BigInt(this.high32) << 32n) + BigInt(this.low32);
    this.high = 0;
    this.low = 0;
    this.high32 = 0;
    this.low32 = 0;
    this.pending = 0;
  }
}

/** The decimal digits from `from` to `to` as a number; throws on anything that is not a digit. */
function digits(bytes: Buffer, from: number, to: number): number {
  let value = 0;
  for (let i = from; i < to; i++) {
    const digit = bytes[i]! - 0x30;
    if (digit < 0 || digit > 9)
      throw new Error(`A row fingerprint must be decimal digits, not ${JSON.stringify(bytes.toString('latin1', from, to))}.`);
    value = value * 10 + digit;
  }
  return value;
}
