/**
 * matMul GFLOP/s per available backend for the shapes one ViT training step produces
 * (cpu-tiny: batch 16 × 66 tokens, width 192, 3 heads of 64): plain, transposeA, transposeB
 * (the backward pass) and batched attention products. 'cpu-stock' is tfjs's own cpu kernels,
 * 'cpu' adds @epg/tensor-native's kernels when they are built. Ratios are against cpu-stock
 * measured in the same run.
 */
import * as tf from '@tensorflow/tfjs-core';
import { measure, printTable, withRatios, type Row } from '@epg/bench';
import { initBackend, RandomStream, registerNativeKernels, uniformTensor, unregisterNativeKernels } from '../src';

interface Case {
  readonly name: string;
  readonly a: number[];
  readonly b: number[];
  readonly transposeA?: boolean;
  readonly transposeB?: boolean;
}

const rows = 16 * 66; // batch × tokens
const d = 192;
const heads = 16 * 3;
const cases: Case[] = [
  { name: `plain [${rows},${d}]x[${d},${3 * d}] (qkv)`, a: [rows, d], b: [d, 3 * d] },
  { name: `transposeB [${rows},${3 * d}]x[${d},${3 * d}]^T (dX)`, a: [rows, 3 * d], b: [d, 3 * d], transposeB: true },
  { name: `transposeA [${rows},${d}]^Tx[${rows},${3 * d}] (dW)`, a: [rows, d], b: [rows, 3 * d], transposeA: true },
  { name: `batched [${heads},66,64]x[${heads},66,64]^T (QK^T)`, a: [heads, 66, 64], b: [heads, 66, 64], transposeB: true },
  { name: `batched [${heads},66,66]x[${heads},66,64] (AV)`, a: [heads, 66, 66], b: [heads, 66, 64] },
];

function flops(c: Case): number {
  const batch = c.a.length === 3 ? c.a[0] : 1;
  const [ar, ac] = c.a.slice(-2);
  const [br, bc] = c.b.slice(-2);
  const m = c.transposeA ? ac : ar;
  const k = c.transposeA ? ar : ac;
  const n = c.transposeB ? br : bc;
  return 2 * batch * m * k * n;
}

async function main(): Promise<void> {
  const out: Row[] = [];
  for (const backend of ['cpu-stock', 'cpu', 'wasm', 'node', 'node-gpu']) {
    try {
      await initBackend({ force: backend === 'cpu-stock' ? 'cpu' : backend, log: null });
    } catch (e) {
      console.log(`(${backend} not available: ${(e as Error).message.slice(0, 120)}...)`);
      continue;
    }
    if (backend === 'cpu-stock') unregisterNativeKernels();
    else if (backend === 'cpu' && !registerNativeKernels().active) continue; // same as cpu-stock
    for (const c of cases) {
      const rs = RandomStream.fromSeed(1);
      const a = uniformTensor(rs, c.a, -1, 1);
      const b = uniformTensor(rs, c.b, -1, 1);
      const t = await measure(() => {
        const y = tf.matMul(a, b, c.transposeA, c.transposeB);
        y.dataSync();
        y.dispose();
      });
      out.push({ shape: c.name, backend, ms: t.medianMs, 'GFLOP/s': flops(c) / (t.medianMs * 1e6) });
      a.dispose();
      b.dispose();
    }
  }
  printTable(
    'matMul on the shapes of a ViT training step (median of repeated calls)',
    withRatios(out, { value: 'GFLOP/s', groupKey: 'shape', baselineKey: 'backend', baseline: 'cpu-stock' }),
  );
}

main().catch((e) => {
  console.error(`error: ${(e as Error).message}`);
  process.exit(1);
});
