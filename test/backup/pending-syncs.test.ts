import { chmod, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, expect, it } from 'vitest';
import { PendingSyncs, writePrivateFile } from '../../src/backup/private-files.ts';

/**
 * A backup leaves its files' fsyncs to one PendingSyncs.flush() before its manifest: the flush must still give every
 * file its private mode (0600 whatever the umask made it) and fail, not pass, when a file cannot be synced.
 */
const dir = await mkdtemp(join(tmpdir(), 'es-pending-syncs-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

it('writes a file whose fsync and mode wait for flush, then sets 0600 on every file added', async () => {
  const later = new PendingSyncs();
  const paths = [];
  for (let i = 0; i < 20; i++) {
    const path = join(dir, `f${i}`);
    const written = await writePrivateFile(path, Readable.from([Buffer.from(`row ${i}\n`)]), [], later);
    expect(written.bytes).toBe(`row ${i}\n`.length);
    // As a restrictive umask would have left it: the flush sets the mode a backup's files have.
    await chmod(path, 0o400);
    paths.push(path);
  }
  await later.flush();
  for (const path of paths) expect((await stat(path)).mode & 0o777, path).toBe(0o600);
});

it('rejects when a file it holds is gone, so no manifest is written after it', async () => {
  const later = new PendingSyncs();
  const kept = join(dir, 'kept');
  await writeFile(kept, 'x', { mode: 0o600 });
  later.add(kept);
  later.add(join(dir, 'never-written'));
  await expect(later.flush()).rejects.toMatchObject({ code: 'ENOENT' });
});
