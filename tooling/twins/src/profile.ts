/**
 * Where one step's time goes, kernel by kernel, ours (tf.profile: every kernel the engine runs, timed
 * by the cpu backend) beside PyTorch's (torch.profiler, self CPU time per aten op) for the same
 * workload, in one run. Bench tooling, not a test.
 *
 *   pnpm --filter @epg/bench-twins profile [workload ...]     # default: pretrain-step dm-step cm-step denoise
 *
 * Same environment as the bench (TWIN_BATCH, TWIN_ENC_DEPTH, ...); 1 BLAS thread each side.
 * "engine + JS" is the profiled call's wall time minus its kernels: tape, bookkeeping, host code, GC.
 */
import * as tf from '@tensorflow/tfjs-core';
import { printTable, type Row } from '@epg/bench';
import { initBackend, registerNativeKernels, unregisterNativeKernels } from '@epg/tensor';
import { ALL, buildWorkload, torchSide } from './workloads';

const TOP = Number(process.env.TWIN_PROFILE_TOP ?? '18');

interface TorchProfile {
  total_ms: number;
  ops: Array<{ name: string; self_ms: number; calls: number }>;
}

async function main(): Promise<void> {
  await initBackend({ force: 'cpu', log: null });
  unregisterNativeKernels();
  const native = registerNativeKernels({ threads: 1 });
  if (!native.active) throw new Error(`native kernels inactive (${native.why})`);
  const names = process.argv.slice(2).length ? process.argv.slice(2) : ['pretrain-step', 'dm-step', 'cm-step', 'denoise'];
  for (const name of names) {
    if (!ALL.includes(name)) throw new Error(`unknown workload '${name}': use some of ${ALL.join(', ')}`);
    const th = torchSide(1, [name], true);
    const w = buildWorkload(name);
    for (let i = 0; i < w.warmup; i++) w.run();
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const info = await tf.profile(() => w.run());
    const wall = performance.now() - t0;
    const used = process.cpuUsage(c0);
    const cpu = (used.user + used.system) / 1000;
    const sys = used.system / 1000;
    w.dispose();
    const byName = new Map<string, { ms: number; calls: number }>();
    for (const k of info.kernels) {
      const e = byName.get(k.name) ?? { ms: 0, calls: 0 };
      e.ms += typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
      e.calls++;
      byName.set(k.name, e);
    }
    const kernels = [...byName.values()].reduce((s, e) => s + e.ms, 0);
    const rows: Row[] = [...byName.entries()]
      .sort((a, b) => b[1].ms - a[1].ms)
      .slice(0, TOP)
      .map(([kernel, e]) => ({ kernel, calls: e.calls, ms: e.ms, share: `${((100 * e.ms) / wall).toFixed(1)}%` }));
    rows.push({ kernel: 'engine + JS (wall − kernels)', calls: '-', ms: wall - kernels, share: `${((100 * (wall - kernels)) / wall).toFixed(1)}%` });
    printTable(`ours, ${name}: ${wall.toFixed(0)} ms wall, ${cpu.toFixed(0)} CPU-ms of which ${sys.toFixed(0)} system (profiled call), ${info.kernels.length} kernel calls`, rows);
    if (typeof th === 'string') {
      console.log(th);
      continue;
    }
    const prof = (th.results[name] as unknown as { profile?: TorchProfile }).profile;
    if (!prof) continue;
    const trows: Row[] = prof.ops.slice(0, TOP).map((o) => ({ op: o.name, calls: o.calls, 'self ms': o.self_ms, share: `${((100 * o.self_ms) / prof.total_ms).toFixed(1)}%` }));
    printTable(`PyTorch, ${name}: ${prof.total_ms.toFixed(0)} ms self CPU in total (torch.profiler, one step)`, trows);
  }
}

main().catch((e) => {
  console.error(e instanceof Error ? e.stack : e);
  process.exit(1);
});
