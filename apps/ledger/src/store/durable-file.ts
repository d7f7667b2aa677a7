import { closeSync, fsyncSync, linkSync, openSync, readdirSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * Files whose loss the ledger could not recover from once it has recorded what they hold: a CA's
 * or OCSP signer's key, the passphrase that encrypts them, the EST certificate's key. The log
 * is fsynced on every commit (synchronous=FULL); a key written with a plain writeFile sits in the
 * page cache for up to half a minute, and a power cut in that time would leave a CA in the ledger
 * whose key file is empty. These are on disk, with their directory entry, before they return.
 */

/** Flushes a directory's entries (a new or renamed file in it). */
const syncDirectory = (dir: string): void => {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
};

/**
 * Creates `file` with `data`, on disk when it returns true. Returns false, writing nothing, when
 * the file exists, also when another process created it a moment before: nothing is overwritten.
 * The content is written beside it and linked into place, so a reader (another process starting
 * at the same time) finds no file or all of it, never an empty one.
 */
export function createFileDurably(file: string, data: string, mode: number): boolean {
  const next = writeBeside(file, data, mode);
  try {
    linkSync(next, file);
  } catch (error) {
    if (codeOf(error) === 'EEXIST') return false;
    // A file system without hard links (some network and FUSE mounts): created in place, still
    // exclusively, with a moment in which another process could find it empty.
    if (!NO_LINKS.has(codeOf(error))) throw error;
    try {
      writeNew(file, data, mode);
    } catch (inPlace) {
      if (codeOf(inPlace) === 'EEXIST') return false;
      throw inPlace;
    }
  } finally {
    rmSync(next, { force: true });
  }
  syncDirectory(dirname(file));
  return true;
}

const codeOf = (error: unknown): string => (error as NodeJS.ErrnoException).code ?? '';
const NO_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS']);

/**
 * Replaces `file` with `data` in one step (a file beside it, flushed, renamed over it): a reader,
 * or the next start after a crash, finds the old content or the new, never a part of it.
 */
export function replaceFileDurably(file: string, data: string, mode: number): void {
  const next = writeBeside(file, data, mode);
  try {
    renameSync(next, file);
  } catch (error) {
    rmSync(next, { force: true });
    throw error;
  }
  syncDirectory(dirname(file));
}

/** `data` in a new file beside `file` (this process's), flushed; removed again when that fails. */
const writeBeside = (file: string, data: string, mode: number): string => {
  const next = `${file}.${process.pid}.next`;
  rmSync(next, { force: true });
  writeNew(next, data, mode);
  return next;
};

/** `data` in a file that must not exist yet (EEXIST), flushed; removed again when the write fails. */
const writeNew = (file: string, data: string, mode: number): void => {
  const fd = openSync(file, 'wx', mode);
  try {
    const bytes = Buffer.from(data);
    for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at, bytes.length - at);
    fsyncSync(fd);
  } catch (error) {
    closeSync(fd);
    rmSync(file, { force: true });
    throw error;
  }
  closeSync(fd);
};

/** The name writeBeside gives the file it writes next to `<name>`. */
const UNFINISHED = /^.+\.\d+\.next$/;
/** A file beside another lives for the milliseconds of one call: one this old was left by a process that died in that call. */
const UNFINISHED_AFTER_MS = 10 * 60_000;

/**
 * Removes from `dir` the files writeBeside left when its process died between writing one and
 * linking or renaming it (SIGKILL, power loss): content that never took effect (for a key file,
 * an encrypted key no certificate names). Only files older than ten minutes: a younger one may be
 * another process's, at work on the same directory. Answers the names removed; a directory
 * that does not exist has none.
 */
export function removeUnfinishedFiles(dir: string, now = Date.now()): string[] {
  let names: string[];
  try {
    names = readdirSync(dir).filter((name) => UNFINISHED.test(name));
  } catch (error) {
    if (codeOf(error) === 'ENOENT') return [];
    throw error;
  }
  const removed: string[] = [];
  for (const name of names) {
    const file = join(dir, name);
    try {
      if (now - statSync(file).mtimeMs < UNFINISHED_AFTER_MS) continue;
      rmSync(file, { force: true });
      removed.push(name);
    } catch (error) {
      if (codeOf(error) !== 'ENOENT') throw error; // removed meanwhile by another process's sweep
    }
  }
  return removed;
}
