import { RENEWAL_TIMER, renewalDelay } from './renewal-delay';

describe('renewalDelay', () => {
  const now = Date.parse('2026-11-30T00:00:00Z');

  it('sleeps until the renewal is due, within a second and 12 hours', () => {
    expect(renewalDelay(now + 5_000, now)).toBe(5_000);
    expect(renewalDelay(now + 40 * 86_400_000, now)).toBe(RENEWAL_TIMER.maxMs);
    // Due now or overdue (a revoked certificate is due at 0): a second, never a busy loop.
    expect(renewalDelay(now, now)).toBe(RENEWAL_TIMER.minMs);
    expect(renewalDelay(0, now)).toBe(RENEWAL_TIMER.minMs);
  });

  it('waits a minute before trying again after a failure, unless the renewal is due later than that', () => {
    expect(renewalDelay(0, now, true)).toBe(60_000);
    expect(renewalDelay(now + 5_000, now, true)).toBe(60_000);
    expect(renewalDelay(now + 3_600_000, now, true)).toBe(3_600_000);
  });
});
