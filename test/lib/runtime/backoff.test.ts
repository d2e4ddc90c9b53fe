import { describe, expect, it } from 'vitest';
import { exponentialBackoff } from '../../../lib/runtime';

describe('exponentialBackoff', () => {
  it('doubles from the base up to the cap without jitter', () => {
    const delay = exponentialBackoff({ base: 100, max: 1_000, jitter: 'none' });
    expect([1, 2, 3, 4, 5, 6].map(delay)).toEqual([100, 200, 400, 800, 1_000, 1_000]);
    expect(delay(0)).toBe(100);
    expect(delay(10_000)).toBe(1_000);
  });

  it('spreads full jitter over [0, d] and equal jitter over [d/2, d]', () => {
    const zero = exponentialBackoff({ base: 100, max: 1_000, random: () => 0 });
    const top = exponentialBackoff({ base: 100, max: 1_000, random: () => 0.999_999 });
    expect(zero(3)).toBe(0);
    expect(top(3)).toBeCloseTo(400, 2);
    const equal = exponentialBackoff({ base: 100, max: 1_000, jitter: 'equal', random: () => 0 });
    expect(equal(3)).toBe(200);
  });

  it('grows by the given factor', () => {
    const delay = exponentialBackoff({ base: 1, max: 1_000, factor: 3, jitter: 'none' });
    expect([1, 2, 3].map(delay)).toEqual([1, 3, 9]);
  });

  it.each([
    [{ base: -1, max: 10 }, /base must be a finite number >= 0 \(got: -1\)/],
    [{ base: 10, max: 5 }, /max must be a finite number >= base \(10\) \(got: 5\)/],
    [{ base: 1, max: 5, factor: 0.5 }, /factor must be a finite number >= 1 \(got: 0\.5\)/],
  ])('fails for %j', (options, message) => {
    expect(() => exponentialBackoff(options)).toThrow(message);
  });
});
