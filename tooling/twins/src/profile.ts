/**
 * Where one step's time goes, kernel by kernel: ours by process CPU time per tfjs kernel (every
 * kernel registered for 'cpu' wrapped in a timer; self time, nested kernel calls subtracted) and per
 * GEMM shape (the native addon's gemm wrapped), beside PyTorch's torch.profiler (self CPU time per
 * aten op, and per mm/addmm/bmm input shape) for the same workload, in one run. Bench tooling.
 *
 *   pnpm --filter @epg/bench-twins bench:profile [workload ...]   # default: pretrain-step dm-step cm-step denoise
 *
 * Same environment as the bench (TWIN_BATCH, TWIN_ENC_DEPTH, ...); 1 BLAS thread each side; one
 * profiled call after the warm-up. "engine + JS" = the call's CPU time minus all kernels: the tape,
 * tensor bookkeeping, host-side code and V8's garbage collector.
 */
import * as tf from '@tensorflow/tfjs-core';
import { printTable, type Row } from '@epg/bench';
import { initBackend, registerNativeKernels, unregisterNativeKernels } from '@epg/tensor';
import { loadAddon } from '@epg/tensor-native';
import { ALL, buildWorkload, torchSide } from './workloads';

const TOP = Number(process.env.TWIN_PROFILE_TOP ?? '16');

interface TorchProfile {
  total_ms: number;
  ops: Array<{ name: string; self_ms: number; calls: number }>;
  gemm: Array<{ name: string; shapes: string; self_ms: number; calls: number; gflops: number }>;
}

const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

/** Self CPU time per kernel name, and per GEMM shape. */
class Timers {
  readonly kernels = new Map<string, { ms: number; calls: number }>();
  readonly gemm = new Map<string, { ms: number; calls: number; flop: number }>();
  private readonly stack: number[] = [];

  reset(): void {
    this.kernels.clear();
    this.gemm.clear();
  }

  /** Wraps every kernel registered for 'cpu' (call after the native kernels are registered). */
  install(): void {
    for (const k of tf.getKernelsForBackend('cpu')) {
      const inner = k.kernelFunc;
      tf.unregisterKernel(k.kernelName, 'cpu');
      tf.registerKernel({
        ...k,
        kernelFunc: (args) => {
          this.stack.push(0);
          const t0 = cpuMs();
          try {
            return inner(args);
          } finally {
            const total = cpuMs() - t0;
            const children = this.stack.pop()!;
            if (this.stack.length) this.stack[this.stack.length - 1] += total;
            const e = this.kernels.get(k.kernelName) ?? { ms: 0, calls: 0 };
            e.ms += total - children;
            e.calls++;
            this.kernels.set(k.kernelName, e);
          }
        },
      });
    }
    const addon = loadAddon().addon as unknown as Record<string, (...a: unknown[]) => unknown> | undefined;
    if (!addon) throw new Error('native addon not active');
    const gemm = addon.gemm;
    addon.gemm = (...a: unknown[]) => {
      const [ta, tb, m, n, k, , , , aOff] = a as [boolean, boolean, number, number, number, unknown, unknown, unknown, Int32Array];
      const key = `${ta ? 'Aᵀ' : 'A'}·${tb ? 'Bᵀ' : 'B'} ${aOff.length > 1 ? `${aOff.length}×` : ''}[${m}×${k}]·[${k}×${n}]`;
      const t0 = cpuMs();
      const r = gemm(...a);
      const e = this.gemm.get(key) ?? { ms: 0, calls: 0, flop: 0 };
      e.ms += cpuMs() - t0;
      e.calls++;
      e.flop += 2 * m * n * k * aOff.length;
      this.gemm.set(key, e);
      return r;
    };
  }
}

async function main(): Promise<void> {
  await initBackend({ force: 'cpu', log: null });
  unregisterNativeKernels();
  const native = registerNativeKernels({ threads: 1 });
  if (!native.active) throw new Error(`native kernels inactive (${native.why})`);
  const timers = new Timers();
  timers.install();
  const names = process.argv.slice(2).length ? process.argv.slice(2) : ['pretrain-step', 'dm-step', 'cm-step', 'denoise'];
  for (const name of names) {
    if (!ALL.includes(name)) throw new Error(`unknown workload '${name}': use some of ${ALL.join(', ')}`);
    const th = torchSide(1, [name], true);
    const w = buildWorkload(name);
    for (let i = 0; i < w.warmup; i++) w.run();
    timers.reset();
    const c0 = process.cpuUsage();
    w.run();
    const used = process.cpuUsage(c0);
    w.dispose();
    const cpu = (used.user + used.system) / 1000;
    const kernels = [...timers.kernels.values()].reduce((s, e) => s + e.ms, 0);
    const calls = [...timers.kernels.values()].reduce((s, e) => s + e.calls, 0);
    const rows: Row[] = [...timers.kernels.entries()]
      .sort((a, b) => b[1].ms - a[1].ms)
      .slice(0, TOP)
      .map(([kernel, e]) => ({ kernel, calls: e.calls, 'CPU ms': e.ms, share: `${((100 * e.ms) / cpu).toFixed(1)}%` }));
    rows.push({ kernel: 'engine + JS + GC (call − kernels)', calls: '-', 'CPU ms': cpu - kernels, share: `${((100 * (cpu - kernels)) / cpu).toFixed(1)}%` });
    printTable(`ours, ${name}: ${cpu.toFixed(0)} CPU-ms (${(used.system / 1000).toFixed(0)} system), ${calls} kernel calls`, rows);
    const gemmMs = [...timers.gemm.values()].reduce((s, e) => s + e.ms, 0);
    const grows: Row[] = [...timers.gemm.entries()]
      .sort((a, b) => b[1].ms - a[1].ms)
      .slice(0, TOP)
      .map(([shape, e]) => ({ shape, calls: e.calls, 'CPU ms': e.ms, 'GFLOP/s': e.flop / 1e6 / e.ms }));
    printTable(`ours, ${name}: GEMM by shape, ${gemmMs.toFixed(0)} CPU-ms in all`, grows);
    if (typeof th === 'string') {
      console.log(th);
      continue;
    }
    const prof = (th.results[name] as unknown as { profile?: TorchProfile }).profile;
    if (!prof) continue;
    const trows: Row[] = prof.ops.slice(0, TOP).map((o) => ({ op: o.name, calls: o.calls, 'self CPU ms': o.self_ms, share: `${((100 * o.self_ms) / prof.total_ms).toFixed(1)}%` }));
    printTable(`PyTorch, ${name}: ${prof.total_ms.toFixed(0)} ms self CPU in total (torch.profiler, one step; ${th.results[name].cpu.toFixed(2)} CPU-s by the clock)`, trows);
    const tg: Row[] = prof.gemm.slice(0, TOP).map((o) => ({ op: o.name, shapes: o.shapes, calls: o.calls, 'self CPU ms': o.self_ms, 'GFLOP/s': o.gflops }));
    printTable(`PyTorch, ${name}: GEMM by shape, ${prof.gemm.reduce((s, o) => s + o.self_ms, 0).toFixed(0)} ms in all`, tg);
  }
}

main().catch((e) => {
  console.error(e instanceof Error ? e.stack : e);
  process.exit(1);
});
