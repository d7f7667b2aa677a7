import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFileDurably, removeUnfinishedFiles, replaceFileDurably } from './durable-file';

/** When set, link() fails as on a file system without hard links (some network and FUSE mounts). */
let mockNoLinks = false;
const mockLinks: string[] = [];
jest.mock('node:fs', () => {
  const actual = jest.requireActual<typeof import('node:fs')>('node:fs');
  return {
    ...actual,
    linkSync: (existing: string, created: string) => {
      mockLinks.push(created);
      if (mockNoLinks) throw Object.assign(new Error('operation not permitted'), { code: 'EPERM' });
      return actual.linkSync(existing, created);
    },
  };
});

describe('files the ledger cannot lose', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'devid-durable-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('creates a file with its content and mode, and leaves nothing beside it', () => {
    expect(createFileDurably(join(dir, 'key.pem'), 'secret\n', 0o600)).toBe(true);

    expect(readFileSync(join(dir, 'key.pem'), 'utf8')).toBe('secret\n');
    expect(statSync(join(dir, 'key.pem')).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir)).toEqual(['key.pem']);
  });

  it('refuses to create over a file that exists (answers false), which keeps its content', () => {
    writeFileSync(join(dir, 'key.pem'), 'first');

    expect(createFileDurably(join(dir, 'key.pem'), 'second', 0o600)).toBe(false);
    expect(readFileSync(join(dir, 'key.pem'), 'utf8')).toBe('first');
    expect(readdirSync(dir)).toEqual(['key.pem']);
  });

  it('replaces a file whole, with the mode asked, and leaves nothing beside it', () => {
    writeFileSync(join(dir, 'tls.key.pem'), 'old key', { mode: 0o644 });

    replaceFileDurably(join(dir, 'tls.key.pem'), 'new key', 0o600);

    expect(readFileSync(join(dir, 'tls.key.pem'), 'utf8')).toBe('new key');
    expect(statSync(join(dir, 'tls.key.pem')).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir)).toEqual(['tls.key.pem']);
  });

  it('leaves what was there and nothing beside it when the new file cannot take its place', () => {
    mkdirSync(join(dir, 'tls.key.pem')); // a directory where the file should go: the rename fails

    expect(() => replaceFileDurably(join(dir, 'tls.key.pem'), 'new key', 0o600)).toThrow(expect.objectContaining({ code: 'EISDIR' }));
    expect(readdirSync(dir)).toEqual(['tls.key.pem']);
    expect(statSync(join(dir, 'tls.key.pem')).isDirectory()).toBe(true);
  });
  it('creates the file in place, still never over another, on a file system without hard links', () => {
    mockNoLinks = true;
    mockLinks.length = 0;
    try {
      expect(createFileDurably(join(dir, 'key.pem'), 'secret\n', 0o600)).toBe(true);
      expect(createFileDurably(join(dir, 'key.pem'), 'other', 0o600)).toBe(false);
    } finally {
      mockNoLinks = false;
    }
    expect(mockLinks).toEqual([join(dir, 'key.pem'), join(dir, 'key.pem')]);
    expect(readFileSync(join(dir, 'key.pem'), 'utf8')).toBe('secret\n');
    expect(statSync(join(dir, 'key.pem')).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir)).toEqual(['key.pem']);
  });

  it('removes what a process that died between writing and linking left beside a file, once older than ten minutes, and nothing else', () => {
    const old = (Date.now() - 11 * 60_000) / 1000;
    for (const name of ['root.p8.pem.4242.next', 'tls.pending.pem.7.next']) {
      writeFileSync(join(dir, name), 'never linked');
      utimesSync(join(dir, name), old, old);
    }
    writeFileSync(join(dir, 'issuing.p8.pem.99.next'), 'another process, at work right now');
    writeFileSync(join(dir, 'root.p8.pem'), 'a key');
    writeFileSync(join(dir, 'notes.next'), 'not a name writeBeside gives');
    utimesSync(join(dir, 'notes.next'), old, old);

    expect(removeUnfinishedFiles(dir).sort()).toEqual(['root.p8.pem.4242.next', 'tls.pending.pem.7.next']);
    expect(readdirSync(dir).sort()).toEqual(['issuing.p8.pem.99.next', 'notes.next', 'root.p8.pem']);
    expect(removeUnfinishedFiles(join(dir, 'none'))).toEqual([]);
  });
});
