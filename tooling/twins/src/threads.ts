/**
 * CPU time per thread of the process over a few steps of each workload (`/proc/self/task/<tid>/stat`,
 * Linux; 10 ms ticks): separates the main thread from V8's platform threads (concurrent/parallel GC)
 * and OpenBLAS's. This is how the GC cost of fresh output buffers was found (docs/performance.md,
 * "Round 2 (issue 15), training steps"). Bench tooling.
 *
 *   pnpm --filter @epg/bench-twins bench:threads [workload ...]   # default: dm-step
 */
import { readdirSync, readFileSync } from 'node:fs';
import { initBackend, registerNativeKernels, unregisterNativeKernels } from '@epg/tensor';
import { ALL, buildWorkload } from './workloads';

const STEPS = 3;

/** CPU ms (user + system) of every thread of this process, by "tid name". */
function threadTimes(): Map<string, number> {
  const m = new Map<string, number>();
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const s = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const name = s.slice(s.indexOf('(') + 1, s.lastIndexOf(')'));
      const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
      m.set(`${tid} ${name}`, (Number(f[11]) + Number(f[12])) * 10); // utime + stime, in 10 ms ticks
    } catch {
      // the thread exited between the listing and the read
    }
  }
  return m;
}

async function main(): Promise<void> {
  await initBackend({ force: 'cpu', log: null });
  unregisterNativeKernels();
  registerNativeKernels({ threads: 1 });
  const names = process.argv.slice(2).length ? process.argv.slice(2) : ['dm-step'];
  for (const name of names) {
    if (!ALL.includes(name)) throw new Error(`unknown workload '${name}': use some of ${ALL.join(', ')}`);
    const w = buildWorkload(name);
    for (let i = 0; i < w.warmup; i++) w.run();
    const before = threadTimes();
    const c0 = process.cpuUsage();
    for (let i = 0; i < STEPS; i++) w.run();
    const used = process.cpuUsage(c0);
    const after = threadTimes();
    w.dispose();
    console.log(`${name}: process ${((used.user + used.system) / 1000 / STEPS).toFixed(0)} CPU-ms per call; by thread:`);
    for (const [k, v] of after) {
      const d = (v - (before.get(k) ?? 0)) / STEPS;
      if (d > 0) console.log(`  ${k}: ${d.toFixed(0)} ms`);
    }
  }
}

main().catch((e) => {
  console.error(e instanceof Error ? e.stack : e);
  process.exit(1);
});
