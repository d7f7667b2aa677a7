import { interopSuite, softwareCaKeys } from './testing/interop-suite';

describe('openssl interop, software CA keys', () => {
  interopSuite(softwareCaKeys);
});
