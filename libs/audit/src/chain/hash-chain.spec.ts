import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StoredEvent } from '@devid/event-store';
import { canonicalize } from '../canonical/jcs';
import { ChainDiscontinuity, ChainForked } from '../errors';
import { openAuditDb } from './audit-db';
import { canonicalEvent } from './canonical-event';
import { chainHash, GENESIS_HASH } from './chain-hash';
import { HashChain } from './hash-chain';

const event = (position: number, data: unknown = { owner: 'acme', n: position, nested: { z: 1, a: [true, null, 'é'] } }): StoredEvent => ({
  id: `00000000-0000-4000-8000-${String(position).padStart(12, '0')}`,
  type: 'DeviceShipped',
  version: 1,
  streamId: 'device-d1',
  revision: position - 1,
  position,
  occurredAt: '2025-03-03T10:00:00.000Z',
  recordedAt: '2025-03-03T10:00:00.123Z',
  data,
  metadata: { commandId: 'c', causationId: 'c', correlationId: 'c', actor: 'admin', requestFingerprint: 'f' },
});

describe('chain hash', () => {
  it('is SHA-256(previous hash ‖ UTF-8 of the RFC 8785 form of the ten stored fields)', () => {
    const e = event(1);
    const { id, type, version, streamId, revision, position, occurredAt, recordedAt, data, metadata } = e;
    const canonical = canonicalize({ id, type, version, streamId, revision, position, occurredAt, recordedAt, data, metadata });
    expect(canonicalEvent(e)).toBe(canonical);
    const previous = createHash('sha256').update('x').digest();
    expect(chainHash(previous, e)).toEqual(createHash('sha256').update(previous).update(Buffer.from(canonical, 'utf8')).digest());
  });

  it('does not depend on the order of members as stored, and ignores members outside the ten', () => {
    const e = event(1, { b: 1, a: 2 });
    const reordered = { ...event(1, { a: 2, b: 1 }), extra: 'adapter-specific' } as StoredEvent;
    expect(chainHash(GENESIS_HASH, reordered)).toEqual(chainHash(GENESIS_HASH, e));
  });

  it('changes when any one field changes', () => {
    const base = chainHash(GENESIS_HASH, event(1));
    const variants: Partial<StoredEvent>[] = [
      { id: 'other' }, { type: 'DeviceEnrolled' }, { version: 2 }, { streamId: 'device-d2' }, { revision: 7 }, { position: 2 },
      { occurredAt: '2025-03-03T10:00:00.001Z' }, { recordedAt: '2025-03-03T10:00:00.124Z' }, { data: { owner: 'acme' } },
      { metadata: { commandId: 'c', causationId: 'c', correlationId: 'c', actor: 'root' } },
    ];
    for (const variant of variants) expect(chainHash(GENESIS_HASH, { ...event(1), ...variant })).not.toEqual(base);
    expect(chainHash(Buffer.alloc(32, 1), event(1))).not.toEqual(base);
  });
});

describe('HashChain', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'hash-chain-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('stores one hash per position, skips what it has seen, and resumes from its file', () => {
    const db = openAuditDb(join(dir, 'audit.db'));
    const chain = new HashChain(db);
    chain.apply([event(1), event(2)]);
    chain.apply([event(2), event(3)]);
    const h1 = chainHash(GENESIS_HASH, event(1));
    const h3 = chainHash(chainHash(h1, event(2)), event(3));
    expect(chain.head()).toEqual({ position: 3, hash: h3 });
    expect(chain.hashAt(1)).toEqual(h1);
    expect(chain.hashAt(0)).toEqual(GENESIS_HASH);
    expect(chain.hashAt(4)).toBeUndefined();
    db.close();
    const reopened = new HashChain(openAuditDb(join(dir, 'audit.db')));
    expect(reopened.checkpoint()).toBe(3);
    reopened.apply([event(4)]);
    expect(reopened.head().hash).toEqual(chainHash(h3, event(4)));
  });

  it('refuses a gap in the log and writes nothing of that batch', () => {
    const chain = new HashChain(openAuditDb(join(dir, 'audit.db')));
    chain.apply([event(1)]);
    expect(() => chain.apply([event(2), event(4)])).toThrow(ChainDiscontinuity);
    expect(chain.checkpoint()).toBe(1);
    expect(chain.hashAt(2)).toBeUndefined();
  });

  it('shares one audit.db with another process chaining the same log: each checks what the other stored and writes only past it', () => {
    const first = new HashChain(openAuditDb(join(dir, 'audit.db')));
    const second = new HashChain(openAuditDb(join(dir, 'audit.db')));
    first.apply([event(1), event(2), event(3)]);
    second.apply([event(1), event(2)]);
    second.apply([event(3), event(4)]);
    first.apply([event(4), event(5)]);

    const alone = new HashChain(openAuditDb(':memory:'));
    alone.apply([1, 2, 3, 4, 5].map((n) => event(n)));
    expect(first.head()).toEqual(alone.head());
    expect(second.head()).toEqual({ position: 4, hash: alone.hashAt(4) });
    for (let n = 1; n <= 5; n++) expect(second.hashAt(n)).toEqual(alone.hashAt(n));
  });

  it('refuses to chain past another process that stored a different log, and writes nothing of that batch', () => {
    const first = new HashChain(openAuditDb(join(dir, 'audit.db')));
    const second = new HashChain(openAuditDb(join(dir, 'audit.db')));
    first.apply([event(1), event(2)]);
    expect(() => second.apply([event(1), event(2, { owner: 'other' }), event(3)])).toThrow(ChainForked);
    expect(second.checkpoint()).toBe(0);
    expect(first.hashAt(3)).toBeUndefined();
  });

  it('tells listeners the new head after each batch, and reset starts again from genesis', () => {
    const chain = new HashChain(openAuditDb(':memory:'));
    const heads: number[] = [];
    chain.onChained((_events, head) => heads.push(head.position));
    chain.apply([event(1)]);
    chain.apply([event(2), event(3)]);
    expect(heads).toEqual([1, 3]);
    chain.reset();
    expect(chain.head()).toEqual({ position: 0, hash: GENESIS_HASH });
  });
});
