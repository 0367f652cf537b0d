/**
 * Where the time goes in one training unit: tf.profile per kernel, summed by kernel name.
 * Usage: tsx bench/profile.ts [native|native-fused|stock|wasm] [batch]
 */
import '@tensorflow/tfjs';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { printTable } from '@epg/bench';
import { registerNativeKernels } from '../src';
import { TINY_UNIT, makeInputs, makeParams, trainingUnit, unitFlops } from './vit-unit';

async function main(): Promise<void> {
  const mode = process.argv[2] ?? 'native';
  const batch = Number(process.argv[3] ?? TINY_UNIT.batch);
  await tf.setBackend(mode === 'wasm' ? 'wasm' : 'cpu');
  if (mode.startsWith('native')) console.log(registerNativeKernels().why);
  const cfg = { ...TINY_UNIT, batch };
  const p = makeParams(cfg);
  const inputs = makeInputs(cfg);
  const fused = mode === 'native-fused';
  trainingUnit(cfg, p, inputs, fused);
  const t0 = performance.now();
  const info = await tf.profile(() => {
    trainingUnit(cfg, p, inputs, fused);
  });
  const wall = performance.now() - t0;
  const byName = new Map<string, { ms: number; calls: number }>();
  for (const k of info.kernels) {
    const e = byName.get(k.name) ?? { ms: 0, calls: 0 };
    e.ms += typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    e.calls += 1;
    byName.set(k.name, e);
  }
  const total = [...byName.values()].reduce((s, e) => s + e.ms, 0);
  const rows = [...byName.entries()]
    .sort((a, b) => b[1].ms - a[1].ms)
    .slice(0, 25)
    .map(([name, e]) => ({ kernel: name, calls: e.calls, ms: e.ms, share: `${((100 * e.ms) / total).toFixed(1)}%` }));
  printTable(`tf.profile, mode ${mode}, batch ${batch}: kernels ${total.toFixed(0)} ms of ${wall.toFixed(0)} ms wall (profiled); ${(unitFlops(cfg) / 1e9).toFixed(1)} GFLOP`, rows);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
