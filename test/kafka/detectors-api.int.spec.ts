// (Beside the Kafka tests: detectors exist for them.) The detector registry REST API in-process, over real HTTP, on a real SQLite file.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from '../support/http';
import { loadConfig } from '../../apps/ledger/src/config/config';
import { startLedger, type RunningLedger } from '../../apps/ledger/src/ledger';

const KEY = 'test-admin-key-0123456789';
const P256 = { kty: 'EC', crv: 'P-256', x: 'ocMR4YUHlqHgWiz8Hw8EzUOzlQG3JQtuK-6rYpIRT1w', y: 'v4TVsxgH9nrWd1e1QL5BcG1-Sk_SyvxkfkAOAfE8t4I' };
const ED25519 = { kty: 'OKP', crv: 'Ed25519', x: 'dD6oSJNw71ULnB3fAKOfPJ0x-NqGCOhUBqqP-vLXLVs' };

let ledger: RunningLedger;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'devid-detectors-'));
  ledger = await startLedger(loadConfig({ DATA_DIR: dir, PORT: '0', ADMIN_API_KEY: KEY, LOG_LEVEL: 'silent' }), false);
});
afterAll(async () => {
  await ledger.app.close();
  rmSync(dir, { recursive: true, force: true });
});

const api = (method: string, path: string, options: Parameters<typeof request>[3] = {}) => request(ledger.url, method, path, { key: KEY, ...options });

describe('detector registry API', () => {
  it('registers, lists, disables, enables and rotates a detector, each as an event', async () => {
    const created = await api('POST', '/detectors', { body: { detectorId: 'fleet-anomaly', publicKey: P256, scope: { owners: ['acme'] } } });
    expect(created.status).toBe(201);
    expect(created.headers.get('location')).toBe('/detectors/fleet-anomaly');
    expect(created.body).toMatchObject({ detectorId: 'fleet-anomaly', status: 'enabled', keyVersion: 1, publicKey: { ...P256, alg: 'ES256' }, scope: { owners: ['acme'] } });

    expect((await api('GET', '/detectors')).body.detectors).toEqual([expect.objectContaining({ detectorId: 'fleet-anomaly', status: 'enabled' })]);
    expect((await api('POST', '/detectors/fleet-anomaly/disable', { body: { reason: 'noisy' } })).body).toMatchObject({ status: 'disabled', revision: 1 });
    expect((await api('POST', '/detectors/fleet-anomaly/enable')).body).toMatchObject({ status: 'enabled', revision: 2 });
    expect((await api('POST', '/detectors/fleet-anomaly/rotate-key', { body: { publicKey: ED25519 } })).body).toMatchObject({ keyVersion: 2, publicKey: { kty: 'OKP' } });
    const current = await api('GET', '/detectors/fleet-anomaly');
    expect(current.body).toMatchObject({ status: 'enabled', keyVersion: 2, revision: 3 });
    expect(current.headers.get('etag')).toBe('"3"');
    expect((await api('GET', '/detectors')).body.detectors).toEqual([expect.objectContaining({ keyVersion: 2, revision: 3 })]);
  });

  it('answers problem+json with a stable type for each kind of bad request', async () => {
    const cases: Array<[string, string, unknown, number, string, string?]> = [
      ['POST', '/detectors', { detectorId: 'x', publicKey: P256, scope: { all: true } }, 401, 'unauthenticated', 'none'],
      ['POST', '/detectors', { detectorId: 'Bad Id', publicKey: P256, scope: { all: true } }, 400, 'validation-failed'],
      ['POST', '/detectors', { detectorId: 'x', publicKey: P256, scope: { everyone: true } }, 400, 'validation-failed'],
      ['POST', '/detectors', { detectorId: 'x', publicKey: { ...P256, d: 'c2VjcmV0' }, scope: { all: true } }, 400, 'invalid-detector-key'],
      ['POST', '/detectors', { detectorId: 'x', publicKey: { kty: 'RSA', n: 'AQAB', e: 'AQAB' }, scope: { all: true } }, 400, 'invalid-detector-key'],
      // Right shape, but the point is not on P-256.
      ['POST', '/detectors', { detectorId: 'x', publicKey: { ...P256, y: 'v4TVsxgH9nrWd1e1QL5BcG1-Sk_SyvxkfkAOAfE8t4A' }, scope: { all: true } }, 400, 'invalid-detector-key'],
      ['POST', '/detectors/nobody/disable', {}, 404, 'detector-not-found'],
      ['GET', '/detectors/nobody', undefined, 404, 'detector-not-found'],
    ];
    for (const [method, path, body, status, code, auth] of cases) {
      const res = await request(ledger.url, method, path, { ...(auth === 'none' ? {} : { key: KEY }), ...(body === undefined ? {} : { body }) });
      expect({ path, body, status: res.status, code: res.body.code }).toEqual({ path, body, status, code });
      expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    }
    await api('POST', '/detectors', { body: { detectorId: 'twice', publicKey: P256, scope: { all: true } } });
    expect((await api('POST', '/detectors', { body: { detectorId: 'twice', publicKey: P256, scope: { all: true } } })).body.code).toBe('detector-exists');
    expect((await api('POST', '/detectors/twice/enable')).body.code).toBe('illegal-transition');
    expect((await api('POST', '/detectors/twice/rotate-key', { body: { publicKey: P256 } })).body.code).toBe('invalid-command');
    expect((await api('GET', '/detectors/twice')).body.revision).toBe(0);
  });
});
