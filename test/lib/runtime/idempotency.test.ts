import { describe, expect, it } from 'vitest';
import { Idempotency, type RedisClient } from '../../../lib/runtime';

describe('Idempotency scripts', () => {
  it('defines its scripts under names of their own text, so a client another version defined other Lua on runs this version\'s', async () => {
    const defined: string[] = [];
    const calls: string[] = [];
    // GIVEN a client shared with another version of the module, which defined the same names with other Lua
    // (here: a claim that always says "claimed")
    const client = {
      status: 'ready',
      s2mIdempotencyClaim: async () => { calls.push('other version'); return 'claimed'; },
      s2mIdempotencyLease: async () => 1,
      set: async () => 'OK',
      defineCommand(name: string) {
        defined.push(name);
        // This version's claim: the key is done already.
        (this as unknown as Record<string, unknown>)[name] = async () => { calls.push(name); return name.startsWith('s2mIdempotencyClaim_') ? 'done:1700000000000' : 1; };
      },
    } as unknown as RedisClient;
    // WHEN two helpers use it THEN the first defines both scripts under hashed names, the second none
    const once = new Idempotency(client);
    new Idempotency(client);
    expect(defined).toHaveLength(2);
    for (const name of defined) expect(name).toMatch(/^s2mIdempotency(Claim|Lease)_[0-9a-f]{8}$/);
    // AND a run goes through this version's claim, not the other version's
    const outcome = await once.run('job', async () => 'ran again');
    expect(outcome).toEqual({ status: 'duplicate', completedAt: new Date(1_700_000_000_000) });
    expect(calls).toEqual([defined.find((n) => n.startsWith('s2mIdempotencyClaim_'))]);
  });
});
