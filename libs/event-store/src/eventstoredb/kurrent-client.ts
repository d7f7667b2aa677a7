import { createRequire } from 'node:module';

export type Kurrent = typeof import('@kurrent/kurrentdb-client');

/**
 * The client library, loaded on first use: it (and its native read bridge) takes ~0.2 s to
 * load, which a ledger on SQLite and every CLI command would otherwise pay at start.
 */
export const loadKurrent = (): Kurrent => createRequire(__filename)('@kurrent/kurrentdb-client') as Kurrent;
