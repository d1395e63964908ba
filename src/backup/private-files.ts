import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { chmod, mkdir, open, rename } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/**
 * Backups hold production data: folders are 0700 and files 0600 whatever the umask, files are created exclusively
 * (never through an existing file or symlink), and everything is fsynced before the manifest says it exists.
 */
export const FOLDER_MODE = 0o700;
export const FILE_MODE = 0o600;

/** Creates `path` (and missing parents, when asked) as a private folder. Fails with EEXIST if it exists and !recursive. */
export async function makePrivateFolder(path: string, options: { recursive?: boolean } = {}): Promise<void> {
  if (options.recursive) {
    const created = await mkdir(path, { recursive: true, mode: FOLDER_MODE });
    if (created !== undefined) await chmod(path, FOLDER_MODE);
    return;
  }
  await mkdir(path, { mode: FOLDER_MODE });
  await chmod(path, FOLDER_MODE);
}

/** Counts and hashes the bytes passing through it. */
export class DigestTap extends Transform {
  bytes = 0;
  private readonly hash = createHash('sha256');

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null, data?: Buffer) => void): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    done(null, chunk);
  }

  sha256(): string {
    return this.hash.copy().digest('hex');
  }
}

/**
 * Files written whose fsync is left for later: `flush` fsyncs them all at once (a few at a time, as the disk
 * takes them together), which a backup of many small files does once, before its manifest, instead of waiting on
 * each file's fsync as it is written. Nothing may record the files as durable before `flush` has resolved.
 */
export class PendingSyncs {
  private readonly paths: string[] = [];

  add(path: string): void {
    this.paths.push(path);
  }

  /** fsyncs (and sets the mode of) every file added, then forgets them; rejects if any fails. */
  async flush(): Promise<void> {
    const paths = this.paths.splice(0);
    let next = 0;
    const worker = async () => {
      while (next < paths.length) await syncFile(paths[next++]!);
    };
    await Promise.all(Array.from({ length: Math.min(SYNCS_AT_ONCE, paths.length) }, worker));
  }
}

/** fsyncs PendingSyncs runs at once (node runs file system calls on 4 threads by default). */
const SYNCS_AT_ONCE = 8;

/**
 * Streams `source` (through `transforms`) into a new private file, fsyncs it (or, given `later`, leaves its fsync
 * to `later.flush()`), and returns its size and SHA-256.
 */
export async function writePrivateFile(
  path: string,
  source: Readable,
  transforms: readonly Transform[] = [],
  later?: PendingSyncs,
): Promise<{ bytes: number; sha256: string }> {
  const tap = new DigestTap();
  await pipeline([source, ...transforms, tap, createWriteStream(path, { flags: 'wx', mode: FILE_MODE })]);
  if (later) later.add(path);
  else await syncFile(path);
  return { bytes: tap.bytes, sha256: tap.sha256() };
}

async function syncFile(path: string): Promise<void> {
  const handle = await open(path, 'r+');
  try {
    await handle.chmod(FILE_MODE);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Writes `content` to `path` atomically: a private temp file, fsync, rename, fsync of the folder. */
export async function writePrivateFileAtomically(path: string, content: string): Promise<void> {
  const temp = `${path}.tmp`;
  const handle = await open(temp, 'wx', FILE_MODE);
  try {
    await handle.chmod(FILE_MODE);
    await handle.writeFile(content, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temp, path);
  await syncFolder(dirname(path));
}

export async function syncFolder(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Size and SHA-256 of a file as it is on disk. */
export async function digestFile(path: string): Promise<{ bytes: number; sha256: string }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of createReadStream(path)) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { bytes, sha256: hash.digest('hex') };
}
