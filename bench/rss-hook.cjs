// Preloaded (NODE_OPTIONS=--require) into every node process of a benchmarked command: each writes its peak
// resident set size (KiB) and the CPU time it used (µs, every thread) to $BENCH_RSS_DIR/<pid> at exit; the
// benchmark takes the largest RSS and the sum of the CPU.
const { writeFileSync } = require('node:fs');
const { join } = require('node:path');
process.on('exit', () => {
  if (process.env.BENCH_RSS_DIR) {
    const u = process.resourceUsage();
    try { writeFileSync(join(process.env.BENCH_RSS_DIR, String(process.pid)), JSON.stringify({ maxRSS: u.maxRSS, cpuMicros: u.userCPUTime + u.systemCPUTime })); } catch { /* best effort */ }
  }
});
