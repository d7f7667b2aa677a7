import { CaAlreadyExists, CaNotFound, decideCa, firstChainRevocation, evolveCa, initialCaState, ocspSignerHistory, ServerCertificateNotFound, type CaCommand, type CaEvent, type CaState } from './ca';
import { IllegalTransition, InvalidCommand } from '../errors';

const cert = { der: 'MAA=', serialNumber: '01', subject: 'CN=x', notBefore: 't0', notAfter: 't1', spkiSha256: 's', fingerprintSha256: 'f' };
const ctx = { commandId: 'c', now: '2026-01-01T00:00:00.000Z', actor: 'admin' };
const create = (caId: string, role: 'root' | 'issuing' | 'factory', parent: CaState | null): CaCommand => ({
  type: 'CreateCertificateAuthority',
  caId,
  ...ctx,
  data: {
    role,
    parent: parent && parent.status !== 'unknown' ? { caId: parent.caId, status: parent.status, role: parent.role } : null,
    algorithm: 'ECDSA-P256',
    certificate: cert,
    keyRef: `file:${caId}`,
    ocspSigner: { certificate: cert, keyRef: `file:${caId}-ocsp` },
  },
});
const apply = (state: CaState, command: CaCommand) => decideCa(command, state).reduce(evolveCa, state);

describe('certificate authority decider', () => {
  const root = apply(initialCaState, create('root', 'root', null));

  it('creates a root with its OCSP signer, then issuing and factory CAs under it', () => {
    expect(root).toMatchObject({ status: 'active', role: 'root', parentId: null, ocspSigner: { keyRef: 'file:root-ocsp' } });
    expect(apply(initialCaState, create('issuing-1', 'issuing', root))).toMatchObject({ role: 'issuing', parentId: 'root' });
    expect(apply(initialCaState, create('factory-1', 'factory', root))).toMatchObject({ role: 'factory', parentId: 'root' });
  });

  it('refuses a two-level-deep CA, a parentless subordinate, a revoked parent and a second create', () => {
    const issuing = apply(initialCaState, create('issuing-1', 'issuing', root));
    expect(() => decideCa(create('sub', 'factory', issuing), initialCaState)).toThrow(InvalidCommand);
    expect(() => decideCa(create('sub', 'issuing', null), initialCaState)).toThrow(InvalidCommand);
    const revokedRoot = apply(root, { type: 'RevokeCertificateAuthority', caId: 'root', ...ctx, data: { reason: 'cACompromise' } });
    expect(revokedRoot.status).toBe('revoked');
    expect(() => decideCa(create('sub', 'issuing', revokedRoot), initialCaState)).toThrow(InvalidCommand);
    expect(() => decideCa(create('root', 'root', null), root)).toThrow(CaAlreadyExists);
    expect(() => decideCa(create('root', 'root', null), revokedRoot)).toThrow(CaAlreadyExists);
    expect(() => decideCa(create('Bad Id', 'root', null), initialCaState)).toThrow(InvalidCommand);
  });

  it('replaces the OCSP signer of an active CA, and refuses the same signer again or a revoked or unknown CA', () => {
    const next = { ...cert, serialNumber: '02' };
    const renew = (certificate: typeof cert): CaCommand => ({ type: 'IssueOcspSigner', caId: 'root', ...ctx, data: { certificate, keyRef: 'file:root-ocsp-2' } });
    expect(decideCa(renew(next), root)).toEqual([{ type: 'OcspSignerIssued', version: 1, data: { caId: 'root', certificate: next, keyRef: 'file:root-ocsp-2', issuedAt: ctx.now } }]);
    // The signer it replaced is retired with its certificate (the key to destroy is its pair), its key not destroyed yet.
    expect(apply(root, renew(next))).toEqual({
      ...root,
      ocspSigner: { certificate: next, keyRef: 'file:root-ocsp-2' },
      retiredOcspSigners: { '01': { keyRef: 'file:root-ocsp', certificate: cert, retiredAt: ctx.now } },
    });
    expect(() => decideCa(renew(cert), root)).toThrow(InvalidCommand);
    const revoked = apply(root, { type: 'RevokeCertificateAuthority', caId: 'root', ...ctx, data: { reason: 'cACompromise' } });
    expect(() => decideCa(renew(next), revoked)).toThrow(IllegalTransition);
    expect(() => decideCa(renew(next), initialCaState)).toThrow(IllegalTransition);
  });

  it("records a replaced signer's key destroyed once, and refuses it for the signer in use, an unknown serial or a key the CA still uses", () => {
    const renew = (serialNumber: string, keyRef: string): CaCommand => ({ type: 'IssueOcspSigner', caId: 'root', ...ctx, data: { certificate: { ...cert, serialNumber }, keyRef } });
    const destroyed = (serialNumber: string): CaCommand => ({ type: 'RecordOcspSignerKeyDestroyed', caId: 'root', ...ctx, now: '2026-01-02T00:00:00.000Z', data: { serialNumber } });
    const renewed = apply(apply(root, renew('0A', 'file:root-ocsp-2')), renew('0b', 'file:root-ocsp-3'));
    expect(renewed).toMatchObject({ retiredOcspSigners: { '01': { keyRef: 'file:root-ocsp' }, '0a': { keyRef: 'file:root-ocsp-2' } } });
    // Serial numbers compared as lowercase hex.
    expect(decideCa(destroyed('0A'), renewed)).toEqual([
      { type: 'OcspSignerKeyDestroyed', version: 1, data: { caId: 'root', serialNumber: '0a', keyRef: 'file:root-ocsp-2', destroyedAt: '2026-01-02T00:00:00.000Z' } },
    ]);
    const after = apply(renewed, destroyed('0a'));
    expect(after).toMatchObject({
      ocspSigner: { keyRef: 'file:root-ocsp-3' },
      retiredOcspSigners: { '01': { keyRef: 'file:root-ocsp', retiredAt: ctx.now }, '0a': { keyRef: 'file:root-ocsp-2', retiredAt: ctx.now, keyDestroyedAt: '2026-01-02T00:00:00.000Z' } },
    });
    expect(after.status !== 'unknown' && after.retiredOcspSigners?.['01']?.keyDestroyedAt).toBeUndefined();
    expect(() => decideCa(destroyed('0a'), after)).toThrow(IllegalTransition);
    expect(() => decideCa(destroyed('0b'), after)).toThrow(InvalidCommand);
    expect(() => decideCa(destroyed('ff'), after)).toThrow(InvalidCommand);
    expect(() => decideCa(destroyed('__proto__'), after)).toThrow(InvalidCommand);
    expect(() => decideCa(destroyed('01'), initialCaState)).toThrow(CaNotFound);
    // A signer renewed onto the key of an older one (a mistake elsewhere): that key is not destroyed.
    const reused = apply(root, renew('0c', 'file:root-ocsp'));
    expect(() => decideCa(destroyed('01'), reused)).toThrow(InvalidCommand);
    // A revoked CA's replaced signers' keys are destroyed too.
    const revoked = apply(renewed, { type: 'RevokeCertificateAuthority', caId: 'root', ...ctx, data: { reason: 'cessationOfOperation' } });
    expect(decideCa(destroyed('01'), revoked)).toHaveLength(1);
  });

  it('tells every OCSP signer of a CA from its events: when each was replaced and its key destroyed, the last one in use', () => {
    const history: CaEvent[] = [];
    let state = initialCaState;
    const run = (command: CaCommand) => {
      const events = decideCa(command, state);
      history.push(...events);
      state = events.reduce(evolveCa, state);
    };
    run(create('root', 'root', null));
    run({ type: 'IssueOcspSigner', caId: 'root', ...ctx, now: '2026-02-01T00:00:00.000Z', data: { certificate: { ...cert, serialNumber: '0A', notAfter: 't2' }, keyRef: 'file:2' } });
    run({ type: 'RecordOcspSignerKeyDestroyed', caId: 'root', ...ctx, now: '2026-02-01T01:00:00.000Z', data: { serialNumber: '01' } });
    run({ type: 'IssueOcspSigner', caId: 'root', ...ctx, now: '2026-03-01T00:00:00.000Z', data: { certificate: { ...cert, serialNumber: '0b', notAfter: 't3' }, keyRef: 'file:3' } });
    expect(ocspSignerHistory(history)).toEqual([
      { serialNumber: '01', notAfter: 't1', issuedAt: ctx.now, retiredAt: '2026-02-01T00:00:00.000Z', keyDestroyedAt: '2026-02-01T01:00:00.000Z' },
      { serialNumber: '0a', notAfter: 't2', issuedAt: '2026-02-01T00:00:00.000Z', retiredAt: '2026-03-01T00:00:00.000Z', keyDestroyedAt: null },
      { serialNumber: '0b', notAfter: 't3', issuedAt: '2026-03-01T00:00:00.000Z', retiredAt: null, keyDestroyedAt: null },
    ]);
    expect(ocspSignerHistory([])).toEqual([]);
  });

  it('records a server certificate issued by an active issuing CA, and refuses it from a root, a revoked CA or with no host', () => {
    const issuing = apply(initialCaState, create('issuing-1', 'issuing', root));
    const issue = (caId: string, hostnames: string[]): CaCommand => ({
      type: 'IssueServerCertificate',
      caId,
      ...ctx,
      data: { purpose: 'est-tls', hostnames, certificate: cert },
    });
    expect(decideCa(issue('issuing-1', ['localhost', '127.0.0.1']), issuing)).toEqual([
      { type: 'ServerCertificateIssued', version: 1, data: { caId: 'issuing-1', purpose: 'est-tls', hostnames: ['localhost', '127.0.0.1'], certificate: cert, issuedAt: ctx.now } },
    ]);
    expect(apply(issuing, issue('issuing-1', ['localhost']))).toEqual({ ...issuing, serverCertificates: { '01': 'good' } });
    expect(() => decideCa(issue('root', ['localhost']), root)).toThrow(InvalidCommand);
    expect(() => decideCa(issue('issuing-1', []), issuing)).toThrow(InvalidCommand);
    const revoked = apply(issuing, { type: 'RevokeCertificateAuthority', caId: 'issuing-1', ...ctx, data: { reason: 'cACompromise' } });
    expect(() => decideCa(issue('issuing-1', ['localhost']), revoked)).toThrow(IllegalTransition);
    expect(() => decideCa(issue('nope', ['localhost']), initialCaState)).toThrow(IllegalTransition);
  });

  it('revokes a server certificate it issued once, with an RFC 5280 reason, and refuses an unknown serial, a second revocation and a CA-only reason', () => {
    const issuing = apply(initialCaState, create('issuing-1', 'issuing', root));
    const withCert = apply(issuing, { type: 'IssueServerCertificate', caId: 'issuing-1', ...ctx, data: { purpose: 'est-tls', hostnames: ['localhost'], certificate: { ...cert, serialNumber: '7f0A' } } });
    const revoke = (serialNumber: string, reason: 'keyCompromise' | 'superseded' | 'cACompromise' = 'keyCompromise'): CaCommand => ({
      type: 'RevokeServerCertificate',
      caId: 'issuing-1',
      ...ctx,
      data: { serialNumber, reason },
    });
    // Serial numbers are compared as lowercase hex, whatever case the caller used.
    expect(decideCa(revoke('7F0A'), withCert)).toEqual([
      { type: 'ServerCertificateRevoked', version: 1, data: { caId: 'issuing-1', serialNumber: '7f0a', reason: 'keyCompromise', revokedAt: ctx.now } },
    ]);
    const revoked = apply(withCert, revoke('7f0a'));
    expect(revoked).toMatchObject({ status: 'active', serverCertificates: { '7f0a': 'revoked' } });
    expect(() => decideCa(revoke('7f0a'), revoked)).toThrow(IllegalTransition);
    expect(() => decideCa(revoke('7f0b'), withCert)).toThrow(ServerCertificateNotFound);
    expect(() => decideCa(revoke('__proto__'), withCert)).toThrow(ServerCertificateNotFound);
    expect(() => decideCa(revoke('7f0a', 'cACompromise'), withCert)).toThrow(InvalidCommand);
    expect(() => decideCa(revoke('7f0a'), initialCaState)).toThrow(CaNotFound);
    // The CA's own revocation leaves its certificates revocable (they stay on its CRL).
    const caRevoked = apply(withCert, { type: 'RevokeCertificateAuthority', caId: 'issuing-1', ...ctx, data: { reason: 'cACompromise' } });
    expect(decideCa(revoke('7f0a', 'superseded'), caRevoked)).toHaveLength(1);
  });
});

describe('firstChainRevocation', () => {
  it('takes the revocation that took effect first on the chain, whichever CA it is, and none when all are active', () => {
    const root = { caId: 'root', revokedAt: '2026-11-30T08:00:00.000Z', reason: 'cACompromise' as const };
    const issuing = { caId: 'issuing', revokedAt: '2026-11-30T09:00:00.000Z', reason: 'superseded' as const };
    expect(firstChainRevocation([undefined, undefined])).toBeUndefined();
    expect(firstChainRevocation([issuing, root])).toBe(root);
    expect(firstChainRevocation([{ ...issuing, revokedAt: '2026-11-30T07:59:59.999Z' }, root])).toEqual({ ...issuing, revokedAt: '2026-11-30T07:59:59.999Z' });
    // The earlier of two in the same second, by milliseconds.
    expect(firstChainRevocation([{ ...root, revokedAt: '2026-11-30T09:00:00.001Z' }, issuing])).toBe(issuing);
  });
});
