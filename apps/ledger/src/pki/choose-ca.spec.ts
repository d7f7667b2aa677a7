import { chooseCa } from './authorities';

// Which active CA signs: the first valid one that outlasts the certificate asked for, else the
// valid one ending last, else (none valid) the first, for the caller to refuse with its reason.
const DAY = 86_400_000;
const NOW = Date.UTC(2026, 10, 30, 12, 0, 0);
const ca = (caId: string, fromDays: number, toDays: number) => ({
  caId,
  certificate: {
    der: '',
    serialNumber: caId,
    subject: `CN=${caId}`,
    notBefore: new Date(NOW + fromDays * DAY).toISOString(),
    notAfter: new Date(NOW + toDays * DAY).toISOString(),
    spkiSha256: '',
    fingerprintSha256: '',
  },
});
const ids = (found: { caId: string } | undefined) => found?.caId;

describe('chooseCa', () => {
  const year = NOW + 365 * DAY;

  it('keeps the first valid CA while it outlasts the certificate, however many newer ones exist', () => {
    expect(ids(chooseCa([ca('old', -100, 3000), ca('new', 0, 3650)], NOW, year))).toBe('old');
  });

  it('hands over to a newer CA once the first cannot cover the certificate (rollover before expiry)', () => {
    expect(ids(chooseCa([ca('old', -3600, 30), ca('new', 0, 3650)], NOW, year))).toBe('new');
    // Creation order among those that cover it: the first of them, not the longest.
    expect(ids(chooseCa([ca('old', -3600, 30), ca('a', 0, 400), ca('b', 0, 3650)], NOW, year))).toBe('a');
  });

  it('takes the valid CA that ends last when none covers the certificate (it is cut to that end)', () => {
    expect(ids(chooseCa([ca('a', -10, 30), ca('b', -10, 200), ca('c', -10, 100)], NOW, year))).toBe('b');
  });

  it('counts a CA ending in the very second asked for as covering it (certificates hold whole seconds)', () => {
    const until = NOW + 365 * DAY + 999;
    expect(ids(chooseCa([ca('exact', -10, 365), ca('later', -10, 3650)], NOW, until))).toBe('exact');
    expect(ids(chooseCa([ca('short', -10, 365), ca('later', -10, 3650)], NOW, NOW + 365 * DAY + 1000))).toBe('later');
  });

  it('never picks an expired or not yet valid CA while another is valid, with or without a wanted end', () => {
    const cas = [ca('expired', -400, -1), ca('future', 1, 4000), ca('valid', -1, 50)];
    expect(ids(chooseCa(cas, NOW, year))).toBe('valid');
    expect(ids(chooseCa(cas, NOW))).toBe('valid');
  });

  it('answers the first active CA when none is valid (to be refused with its dates), and nothing when there is none', () => {
    expect(ids(chooseCa([ca('expired', -400, -1), ca('future', 1, 4000)], NOW, year))).toBe('expired');
    expect(chooseCa([], NOW, year)).toBeUndefined();
  });

  it('without a wanted end, keeps the first valid CA (the order they were created in)', () => {
    expect(ids(chooseCa([ca('short', -10, 5), ca('long', -10, 3650)], NOW))).toBe('short');
  });
});
