// Preloaded (NODE_OPTIONS=--require) into every node process of a benchmarked command: each writes its
// peak resident set size (KiB) to $BENCH_RSS_DIR/<pid> at exit; the benchmark takes the largest.
const { writeFileSync } = require('node:fs');
const { join } = require('node:path');
process.on('exit', () => {
  if (process.env.BENCH_RSS_DIR) {
    try { writeFileSync(join(process.env.BENCH_RSS_DIR, String(process.pid)), String(process.resourceUsage().maxRSS)); } catch { /* best effort */ }
  }
});
