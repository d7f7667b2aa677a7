import { CaChainRevoked, NoActiveCa, type RevocationReason } from '@devid/domain';
import type { CaRow } from '@devid/projections';
import { Authorities } from './authorities';
import { chainRevocation } from './ca-revocation';

// A revoked CA takes everything under it along: OCSP, the inventory and issuance read the first
// revocation on a certificate's chain (its CA, then the CAs above it), never only the issuer's.
const NOW = Date.UTC(2026, 10, 30, 12, 0, 0);
const row = (caId: string, role: CaRow['role'], parentId: string | null, revoked?: { at: string; reason: RevocationReason | null }): CaRow => ({
  caId,
  role,
  parentId,
  status: revoked ? 'revoked' : 'active',
  algorithm: 'ECDSA-P256',
  certificate: {
    der: '',
    serialNumber: `${caId}-serial`,
    subject: `CN=${caId}`,
    notBefore: new Date(NOW - 86_400_000).toISOString(),
    notAfter: new Date(NOW + 3650 * 86_400_000).toISOString(),
    spkiSha256: '',
    fingerprintSha256: '',
  },
  keyRef: `file:${caId}`,
  ocspSigner: null,
  createdAt: new Date(NOW - 86_400_000).toISOString(),
  revokedAt: revoked?.at ?? null,
  revocationReason: revoked?.reason ?? null,
});

/** A CA directory and a revocation index over `rows`; the parent's index records a subordinate's revocation as the directory does. */
const pki = (rows: CaRow[], issued: Record<string, { revokedAt: string; reason: RevocationReason }> = {}) => {
  const byId = (id: string) => rows.find((ca) => ca.caId === id);
  const cas = {
    list: () => rows,
    chain: (caId: string) => {
      const chain: CaRow[] = [];
      for (let ca = byId(caId); ca; ca = ca.parentId ? byId(ca.parentId) : undefined) chain.push(ca);
      return chain;
    },
  };
  const inventory = {
    issuedRevocation: (caId: string, serial: string) => {
      const entry = issued[`${caId}/${serial}`];
      return entry && { serialNumber: serial, revokedPosition: 1, ...entry };
    },
  };
  return { cas, inventory };
};

describe('chainRevocation', () => {
  it('is undefined while the CA and every CA above it are active', () => {
    const { cas, inventory } = pki([row('root', 'root', null), row('issuing', 'issuing', 'root')]);
    expect(chainRevocation(cas, inventory, 'issuing')).toBeUndefined();
    expect(chainRevocation(cas, inventory, 'unknown')).toBeUndefined();
  });

  it("names a revoked root for what its issuing CA signed, with the root's own time and reason", () => {
    const { cas, inventory } = pki([row('root', 'root', null, { at: '2026-11-30T10:00:00.000Z', reason: 'keyCompromise' }), row('issuing', 'issuing', 'root')]);
    expect(chainRevocation(cas, inventory, 'issuing')).toEqual({ caId: 'root', revokedAt: '2026-11-30T10:00:00.000Z', reason: 'keyCompromise' });
    // A root revoked before reasons were kept has none.
    const old = pki([row('root', 'root', null, { at: '2026-11-30T10:00:00.000Z', reason: null })]);
    expect(chainRevocation(old.cas, old.inventory, 'root')).toEqual({ caId: 'root', revokedAt: '2026-11-30T10:00:00.000Z' });
  });

  it("reads a subordinate's revocation from its parent's index (what the parent's CRL says), and takes the first on the chain", () => {
    const rows = [
      row('root', 'root', null, { at: '2026-11-30T11:00:00.000Z', reason: 'cACompromise' }),
      row('issuing', 'issuing', 'root', { at: '2026-11-30T09:00:00.000Z', reason: 'superseded' }),
    ];
    const { cas, inventory } = pki(rows, { 'root/issuing-serial': { revokedAt: '2026-11-30T09:00:00.500Z', reason: 'cessationOfOperation' } });
    expect(chainRevocation(cas, inventory, 'issuing')).toEqual({ caId: 'issuing', revokedAt: '2026-11-30T09:00:00.500Z', reason: 'cessationOfOperation' });
    // The root revoked first: its revocation is the chain's, though the issuing CA was revoked later.
    rows[0] = row('root', 'root', null, { at: '2026-11-30T08:00:00.000Z', reason: 'cACompromise' });
    expect(chainRevocation(cas, inventory, 'issuing')).toEqual({ caId: 'root', revokedAt: '2026-11-30T08:00:00.000Z', reason: 'cACompromise' });
  });
});

describe('Authorities.caFor under a revoked chain', () => {
  const authorities = (rows: CaRow[]) => {
    const { cas, inventory } = pki(rows);
    return new Authorities(undefined as never, cas as never, undefined as never, undefined as never, undefined as never, {} as never, inventory as never);
  };
  const revokedRoot = { at: '2026-11-30T10:00:00.000Z', reason: 'keyCompromise' as const };

  it('passes over an issuing CA under a revoked root for one under an active root', () => {
    const rows = [row('root-1', 'root', null, revokedRoot), row('issuing-1', 'issuing', 'root-1'), row('root-2', 'root', null), row('issuing-2', 'issuing', 'root-2')];
    expect(authorities(rows).caFor('issuing', { now: NOW }).caId).toBe('issuing-2');
  });

  it('refuses with ca-revoked when every active CA of the role is under a revoked root, naming the CA and the root', () => {
    const rows = [row('root-1', 'root', null, revokedRoot), row('issuing-1', 'issuing', 'root-1'), row('factory-1', 'factory', 'root-1')];
    const refusal = (() => {
      try {
        authorities(rows).caFor('issuing', { now: NOW });
      } catch (error) {
        return error;
      }
    })();
    expect(refusal).toBeInstanceOf(CaChainRevoked);
    expect(refusal).toMatchObject({ code: 'ca-revoked', status: 409 });
    expect((refusal as CaChainRevoked).details()).toEqual({ caId: 'issuing-1', revokedCaId: 'root-1', revokedAt: revokedRoot.at, reason: 'keyCompromise' });
    // A factory CA named by the device's factoryId is not swapped for another factory's.
    const withOther = [...rows, row('root-2', 'root', null), row('factory-2', 'factory', 'root-2')];
    expect(() => authorities(withOther).caFor('factory', { factoryId: 'factory-1', now: NOW })).toThrow(CaChainRevoked);
    expect(authorities(withOther).caFor('factory', { now: NOW }).caId).toBe('factory-2');
  });

  it('refuses with no-active-ca (409) when none of the role is registered or active', () => {
    expect(() => authorities([row('root', 'root', null)]).caFor('issuing', { now: NOW })).toThrow(NoActiveCa);
    const error = (() => {
      try {
        authorities([row('root', 'root', null), row('issuing', 'issuing', 'root', revokedRoot)]).caFor('issuing', { now: NOW });
      } catch (e) {
        return e as NoActiveCa;
      }
    })();
    expect([error?.code, error?.status, error?.message]).toEqual(['no-active-ca', 409, 'no active issuing CA is registered']);
  });
});
