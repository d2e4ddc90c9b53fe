/** "Did you mean" hints for config values and keys. */

/**
 * The allowed values nearest to `key`: those with the same letters in another order (`gc7` → `c7g`) if any,
 * else those at the smallest edit distance up to 2; at most `limit`.
 */
export function nearest(key: string, allowed: readonly string[], limit = 3): string[] {
  const letters = (s: string) => [...s.toLowerCase()].sort().join('');
  const score = (a: string) => (letters(a) === letters(key) ? 0.5 : editDistance(key.toLowerCase(), a.toLowerCase()));
  const scored = allowed.map((a) => ({ a, s: score(a) })).filter((x) => x.s <= 2);
  const best = Math.min(...scored.map((x) => x.s));
  return scored.filter((x) => x.s === best).map((x) => x.a).slice(0, limit);
}

/** `a`, `a or b`, `a, b or c`. */
export function orList(items: readonly string[]): string {
  return items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} or ${items[items.length - 1]}`;
}

function editDistance(a: string, b: string): number {
  const dp = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = dp[0];
    dp[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = dp[j];
      dp[j] = Math.min(dp[j] + 1, dp[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return dp[b.length];
}
