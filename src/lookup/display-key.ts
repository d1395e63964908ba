const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * A natural key as a report shows it: its text when the bytes are valid UTF-8 without control characters, otherwise
 * `0x` and the hex of the bytes, so that every key is shown exactly and none is silently repaired.
 */
export function displayKey(key: Buffer | string | number | null): string {
  if (key === null) return 'NULL';
  if (!Buffer.isBuffer(key)) return String(key);
  try {
    const text = utf8.decode(key);
    // eslint-disable-next-line no-control-regex
    if (!/[\u0000-\u001f\u007f]/.test(text)) return text;
  } catch {
    // not UTF-8: shown as bytes
  }
  return `0x${key.toString('hex')}`;
}
