import { Lazy } from 'aws-cdk-lib/core';
import { describe, expect, it } from 'vitest';
import { buildFreshTestApp } from '../helpers/app';

/** aws-cdk-lib's token counter: a process-wide number that every new token takes the next value of. */
function tokenMap(): { tokenCounter: number } {
  Lazy.string({ produce: () => 'x' }).toString(); // the map exists once a token was made
  const map = (globalThis as { __cdkTokenMap?: { tokenCounter?: unknown } }).__cdkTokenMap;
  if (typeof map?.tokenCounter !== 'number') throw new Error('aws-cdk-lib no longer keeps its token counter at globalThis.__cdkTokenMap.tokenCounter: this test must find it anew');
  return map as { tokenCounter: number };
}

/** The smallest power of ten above `n`. */
function powerOfTenAbove(n: number): number {
  return 10 ** (Math.floor(Math.log10(n)) + 1);
}

/**
 * Every template of the default app, as the text aws-cdk-lib writes, with the token counter started at `start`.
 *
 * The counter only ever moves forward. The files of a worker share one process (the unit project's `isolate: false`)
 * and the apps it has built (test/helpers/app.ts): their templates hold the numbers of tokens made before this file,
 * which the map resolves by number. Moved back, the counter would give new tokens those numbers, and a later file
 * resolving a shared app would get this file's values (it happened: another app's alarm topic in the default app's
 * dashboard).
 */
function templates(start: number): { texts: Record<string, string>; end: number } {
  const map = tokenMap();
  if (start <= map.tokenCounter) throw new Error(`the token counter would move back from ${map.tokenCounter} to ${start}`);
  map.tokenCounter = start;
  const assembly = buildFreshTestApp('millions').app.synth();
  return { texts: Object.fromEntries(assembly.stacks.map((s) => [s.stackName, JSON.stringify(s.template)])), end: map.tokenCounter };
}

describe('templates do not depend on how many tokens the process made before', () => {
  it('writes the default app byte for byte the same wherever a power of ten falls among its token numbers', () => {
    // GIVEN a build whose token numbers cross no power of ten (it starts at twice one, and makes far fewer tokens than
    // that), and builds where a power of ten falls 400, 800 and 2,000 tokens into the build (the first two used to
    // fall between the two tokens below; measured with a sweep)
    const power = powerOfTenAbove(tokenMap().tokenCounter + 100_000);
    const base = templates(2 * power);
    expect(base.end).toBeLessThan(10 * power);
    for (const into of [400, 800, 2_000]) {
      const crossed = powerOfTenAbove(tokenMap().tokenCounter + into);
      const crossing = templates(crossed - into);
      expect(crossing.end).toBeGreaterThan(crossed);
      // THEN every template is the same text, the order of its outputs included. (aws-cdk-lib sorts an IAM
      // statement's resources as strings that still hold token numbers, and adds the outputs that other stacks
      // reference in the order it finds them there: the data stack's outputs for rds-db:connect on the cluster and
      // on the proxy swapped places.)
      expect(Object.keys(crossing.texts)).toEqual(Object.keys(base.texts));
      for (const name of Object.keys(base.texts)) expect(crossing.texts[name], `${name}, ${crossed} at ${into} tokens into the build`).toBe(base.texts[name]);
    }
  });
});
