/**
 * `pnpm bench`: in one run,
 *  1. the machine's float32 GEMM ceiling, measured here with numpy (python3) on 2048² — with the
 *     environment's OPENBLAS_CORETYPE left as it is — on 1 thread and on all threads;
 *  2. matMul GFLOP/s of the stock cpu backend, the wasm backend and the native kernels, on the
 *     shapes a ViT training step uses;
 *  3. the training unit of docs/toolchain.md §13 (tiny ViT encoder forward + backward, batch 64): images/s
 *     and GFLOP/s as a fraction of the ceiling, before (wasm, stock cpu) and after (native kernels,
 *     then native kernels + fused ops).
 * EPG_BENCH_QUICK=1 shrinks the batch to 8 and the timing to a smoke run.
 */
import '@tensorflow/tfjs';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { cpus } from 'node:os';
import { bestCeiling, measure, measureGemmCeiling, printTable, quick, type GemmCeiling, type Row } from '@epg/bench';
import { nativeKernelNames, registerNativeKernels, unregisterNativeKernels } from '../src';
import { TINY_UNIT, makeInputs, makeParams, tokenCount, trainingUnit, unitFlops, type UnitConfig } from './vit-unit';

type Ceiling = GemmCeiling;
const measureCeiling = (): Ceiling => measureGemmCeiling(quick());

type Mode = 'wasm' | 'cpu' | 'native';

async function useMode(mode: Mode, threads = 1, only?: readonly string[], fusedGradients = true): Promise<void> {
  unregisterNativeKernels();
  await tf.setBackend(mode === 'wasm' ? 'wasm' : 'cpu');
  await tf.ready();
  if (mode === 'native') {
    const rep = registerNativeKernels({ threads, only, fusedGradients });
    if (!rep.active) throw new Error(`native kernels unavailable: ${rep.why}`);
  }
}

interface MatMulCase {
  readonly name: string;
  readonly a: number[];
  readonly b: number[];
  readonly ta: boolean;
  readonly tb: boolean;
  readonly flops: number;
}

function matMulCases(): MatMulCase[] {
  const rows = 64 * tokenCount(TINY_UNIT);
  const w = TINY_UNIT.width;
  const bh = 64 * TINY_UNIT.heads;
  const t = tokenCount(TINY_UNIT);
  const dh = w / TINY_UNIT.heads;
  return [
    { name: 'square 512³', a: [512, 512], b: [512, 512], ta: false, tb: false, flops: 2 * 512 ** 3 },
    { name: `qkv x·W [${rows},${w}]·[${w},${3 * w}]`, a: [rows, w], b: [w, 3 * w], ta: false, tb: false, flops: 2 * rows * w * 3 * w },
    { name: `dW xᵀ·dy [${rows},${w}]ᵀ·[${rows},${3 * w}]`, a: [rows, w], b: [rows, 3 * w], ta: true, tb: false, flops: 2 * rows * w * 3 * w },
    { name: `attn q·kᵀ [${bh},${t},${dh}]·[${bh},${t},${dh}]ᵀ`, a: [bh, t, dh], b: [bh, t, dh], ta: false, tb: true, flops: 2 * bh * t * t * dh },
  ];
}

async function benchMatMul(): Promise<Row[]> {
  const rows: Row[] = [];
  for (const c of matMulCases()) {
    for (const mode of ['cpu', 'wasm', 'native'] as const) {
      await useMode(mode);
      const a = tf.randomNormal(c.a, 0, 1, 'float32', 1);
      const b = tf.randomNormal(c.b, 0, 1, 'float32', 2);
      const slow = mode === 'cpu';
      const t = await measure(() => tf.matMul(a, b, c.ta, c.tb).dispose(), {
        warmup: slow ? 0 : 2,
        minIterations: slow ? 1 : 3,
        minTimeMs: slow || quick() ? 0 : 1000,
      });
      rows.push({ shape: c.name, backend: mode === 'native' ? 'cpu + native' : mode, 'ms/call': t.medianMs, 'GFLOP/s': c.flops / t.medianMs / 1e6 });
      tf.dispose([a, b]);
    }
  }
  unregisterNativeKernels();
  return rows;
}

interface UnitVariant {
  readonly name: string;
  readonly mode: Mode;
  readonly fused: boolean;
  readonly threads?: number;
  /** Only these kernels native, no fused gradients: the steps of docs/toolchain.md §13, one at a time. */
  readonly only?: readonly string[];
}

const STEP1 = ['BatchMatMul'];
const STEP2 = [...STEP1, 'Erf', 'Transpose', 'Add', 'Sub', 'Multiply', 'RealDiv'];
const STEP3 = nativeKernelNames();

const VARIANTS: readonly UnitVariant[] = [
  { name: 'wasm, stock', mode: 'wasm', fused: false },
  { name: 'cpu, stock', mode: 'cpu', fused: false },
  { name: 'cpu + native BatchMatMul only', mode: 'native', fused: false, only: STEP1 },
  { name: '  + Erf, Transpose, Add/Sub/Mul/Div', mode: 'native', fused: false, only: STEP2 },
  { name: '  + all native kernels', mode: 'native', fused: false, only: STEP3 },
  { name: '  + fused Erf/Softmax gradients', mode: 'native', fused: false },
  { name: '  + fused ops (model change)', mode: 'native', fused: true },
  ...(cpus().length >= 2 ? [{ name: '  same, 2 BLAS threads', mode: 'native' as const, fused: true, threads: 2 }] : []),
];

interface UnitResult {
  readonly name: string;
  readonly wallMs: number;
  readonly cpuMs: number;
  readonly runs: number;
  readonly loss: number;
}

async function benchUnit(cfg: UnitConfig): Promise<UnitResult[]> {
  const rows: UnitResult[] = [];
  for (const v of VARIANTS) {
    await useMode(v.mode, v.threads, v.only, v.only === undefined);
    const params = makeParams(cfg);
    const inputs = makeInputs(cfg);
    let loss = NaN;
    const cpuMs: number[] = [];
    const slow = v.mode !== 'native' || v.only === STEP1 || v.only === STEP2;
    const t = await measure(
      () => {
        const c0 = process.cpuUsage();
        loss = trainingUnit(cfg, params, inputs, v.fused);
        const dc = process.cpuUsage(c0);
        cpuMs.push((dc.user + dc.system) / 1000);
      },
      { warmup: slow ? 0 : 1, minIterations: slow ? 1 : 3, minTimeMs: slow || quick() ? 0 : 5000 },
    );
    const timed = cpuMs.slice(cpuMs.length - t.iterations).sort((p, q) => p - q);
    rows.push({ name: v.name, wallMs: t.medianMs, cpuMs: timed[Math.floor(timed.length / 2)], runs: t.iterations, loss });
    tf.dispose([...Object.values(params), ...Object.values(inputs)]);
  }
  unregisterNativeKernels();
  return rows;
}

/** The unit table, with fractions of the best ceiling seen in the run (the machine may be busy). */
function unitTable(cfg: UnitConfig, results: readonly UnitResult[], ceiling: Ceiling): Row[] {
  const flops = unitFlops(cfg);
  const pct = (x: number, of: number) => `${((100 * x) / of).toFixed(1)}%`;
  const base = results[0].wallMs;
  return results.map((r) => {
    const wallRate = flops / r.wallMs / 1e6;
    const cpuRate = flops / r.cpuMs / 1e6;
    return {
      variant: r.name,
      's/unit': r.wallMs / 1000,
      'CPU-s/unit': r.cpuMs / 1000,
      'images/s': (cfg.batch * 1000) / r.wallMs,
      'GFLOP/s': wallRate,
      '% ceil 1T': pct(wallRate, ceiling.oneThread.wall),
      '% ceil allT': pct(wallRate, ceiling.allThreads.wall),
      'CPU GFLOP/s': cpuRate,
      '% ceil 1T (CPU)': pct(cpuRate, ceiling.oneThread.cpu),
      runs: r.runs,
      loss: r.loss.toFixed(6),
      'x vs wasm': base / r.wallMs,
    };
  });
}

async function main(): Promise<void> {
  const probe = registerNativeKernels();
  unregisterNativeKernels();
  if (!probe.active) {
    console.log(`[@epg/tensor-native] bench skipped: ${probe.why}`);
    return;
  }
  console.log(`[@epg/tensor-native] ${probe.why}`);
  const cfg: UnitConfig = quick() ? { ...TINY_UNIT, batch: 8 } : TINY_UNIT;

  const before = measureCeiling();
  printTable('matMul GFLOP/s by backend (median)', await benchMatMul());
  const results = await benchUnit(cfg);
  const after = measureCeiling();
  const ceiling = bestCeiling(before, after);
  printTable(`GEMM ceiling (${ceiling.note}), measured before and after the units; CPU = by the process's CPU time`, [
    { threads: '1', when: 'before', 'GFLOP/s': before.oneThread.wall, 'CPU GFLOP/s': before.oneThread.cpu },
    { threads: '1', when: 'after', 'GFLOP/s': after.oneThread.wall, 'CPU GFLOP/s': after.oneThread.cpu },
    { threads: 'all', when: 'before', 'GFLOP/s': before.allThreads.wall, 'CPU GFLOP/s': before.allThreads.cpu },
    { threads: 'all', when: 'after', 'GFLOP/s': after.allThreads.wall, 'CPU GFLOP/s': after.allThreads.cpu },
  ]);
  const title =
    `Training unit: ViT encoder forward+backward, ${cfg.image}×${cfg.image}×${cfg.channels}, patch ${cfg.patch}, ` +
    `${tokenCount(cfg)} tokens, width ${cfg.width}, depth ${cfg.depth}, heads ${cfg.heads}, batch ${cfg.batch}; ` +
    `${(unitFlops(cfg) / 1e9).toFixed(1)} GFLOP (3× forward matmuls); native BLAS threads 1 unless noted; ` +
    `% of the best ceiling of the run`;
  printTable(title, unitTable(cfg, results, ceiling));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
