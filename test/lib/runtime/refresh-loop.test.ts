import { describe, expect, it } from 'vitest';
import { SpacedTrigger } from '../../../lib/runtime/refresh-loop';
import { ManualClock } from './manual-clock';

describe('SpacedTrigger (the database tier read again after lost writes)', () => {
  const setup = (random = () => 0.5) => {
    const clock = new ManualClock();
    const runs: number[] = [];
    const errors: Error[] = [];
    let fail = false;
    const trigger = new SpacedTrigger({
      minSpacingMs: 5_000,
      spreadMs: 5_000,
      clock,
      random,
      run: () => {
        runs.push(clock.now() - 1_000_000);
        return fail ? Promise.reject(new Error('throttled')) : Promise.resolve();
      },
      onError: (e) => errors.push(e),
    });
    return { clock, runs, errors, trigger, failing: () => { fail = true; } };
  };

  it('runs at once for the first request, and once at the end of the spacing for any number of requests inside it', () => {
    // GIVEN a trigger spaced 5 s + up to 5 s (random 0.5: 7.5 s)
    const { clock, runs, trigger } = setup();
    // WHEN one request comes, then three more within the spacing
    trigger.request();
    clock.advance(100);
    trigger.request();
    clock.advance(100);
    trigger.request();
    trigger.request();
    // THEN one run now, one pending: not dropped (the first read may have started before the topology changed)
    expect(runs).toEqual([0]);
    expect(trigger.pending).toBe(true);
    expect(clock.pending).toBe(1);
    // AND the pending one runs when the spacing ends, once
    clock.advance(7_299);
    expect(runs).toEqual([0]);
    clock.advance(1);
    expect(runs).toEqual([0, 7_500]);
    expect(trigger.pending).toBe(false);
  });

  it('keeps one run per spacing while requests keep coming, and runs at once again after a quiet spacing', () => {
    const { clock, runs, trigger } = setup();
    // WHEN a request comes every half second for 20 s
    for (let i = 0; i < 40; i++) {
      trigger.request();
      clock.advance(500);
    }
    // THEN runs are 7.5 s apart (0, 7.5, 15), never closer, and the last requests have one more pending
    expect(runs).toEqual([0, 7_500, 15_000]);
    clock.advance(2_500);
    expect(runs).toEqual([0, 7_500, 15_000, 22_500]);
    // AND after a quiet spacing a request runs at once
    clock.advance(30_000);
    trigger.request();
    expect(runs).toEqual([0, 7_500, 15_000, 22_500, 52_500]);
    expect(trigger.pending).toBe(false);
  });

  it('spreads the spacing at random between 5 and 10 s', () => {
    for (const [random, spacing] of [[0, 5_000], [0.999, 9_995]] as const) {
      const { clock, runs, trigger } = setup(() => random);
      trigger.request();
      trigger.request();
      clock.advance(spacing - 1);
      expect(runs).toEqual([0]);
      clock.advance(1);
      expect(runs).toEqual([0, spacing]);
    }
  });

  it('reports a failed run to onError and keeps serving requests', async () => {
    const { clock, runs, errors, trigger, failing } = setup();
    failing();
    trigger.request();
    await Promise.resolve();
    await Promise.resolve();
    expect(errors.map((e) => e.message)).toEqual(['throttled']);
    trigger.request();
    clock.advance(7_500);
    expect(runs).toEqual([0, 7_500]);
  });

  it('cancels the pending run when stopped, and refuses requests after', () => {
    const { clock, runs, trigger } = setup();
    trigger.request();
    trigger.request();
    trigger.stop();
    expect(clock.pending).toBe(0);
    clock.advance(60_000);
    trigger.request();
    expect(runs).toEqual([0]);
  });
});
