import { newSerialNumber, serialNumberToInteger } from './serial-number';

describe('newSerialNumber', () => {
  it('gives positive 16-octet serials, never the same one twice across many pool refills', () => {
    const serials = Array.from({ length: 5000 }, () => newSerialNumber());
    expect(new Set(serials).size).toBe(serials.length);
    for (const serial of serials) {
      expect(serial).toMatch(/^[4-7][0-9a-f]{31}$/);
      expect(serialNumberToInteger(serial)).toHaveLength(16);
    }
  });

  it('draws every bit but the top two at random', () => {
    const serials = Array.from({ length: 2000 }, () => Buffer.from(newSerialNumber(), 'hex'));
    for (let bit = 0; bit < 126; bit++) {
      const ones = serials.filter((bytes) => (bytes[15 - (bit >> 3)]! >> (bit & 7)) & 1).length;
      // 2000 fair coin flips: outside 800..1200 happens with probability < 1e-18.
      expect(ones).toBeGreaterThan(800);
      expect(ones).toBeLessThan(1200);
    }
  });
});
