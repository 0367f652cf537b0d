/**
 * `pnpm bench` for the backbone (issue 7's training units): in one run, the machine's float32 GEMM
 * ceiling (numpy through python3), then forward+backward of the CPU presets for the pre-training unit
 * (encoder + projector, BatchNorm in training mode) and the fine-tuning unit (encoder + decoder):
 * images/s, achieved GFLOP/s (3 × 2 × analytic forward MACs) and its fraction of the 1-thread ceiling,
 * before (stock tfjs cpu, wasm) and after (cpu with @epg/tensor-native kernels and fused ops).
 * VIT_BENCH_BATCH (default 64; stock cpu runs min(batch, 8), ~100x slower; wasm min(batch, 32)) and
 * VIT_BENCH_PRESETS (default cpu-tiny) change the work; EPG_BENCH_QUICK=1 is a smoke run.
 */
import * as tf from '@tensorflow/tfjs-core';
import { bestCeiling, measure, measureGemmCeiling, printTable, processCpuMs, quick, withRatios, type Row } from '@epg/bench';
import { initBackend, ParameterStore, RandomStream, normalTensor, registerNativeKernels, unregisterNativeKernels } from '@epg/tensor';
import { PRESETS, buildFinetuneNetwork, buildPretrainModel, flopCounts, type PresetName } from '../src';

const BATCH = Number(process.env.VIT_BENCH_BATCH ?? (quick() ? 8 : 64));
const PRESET_LIST = (process.env.VIT_BENCH_PRESETS ?? 'cpu-tiny').split(',') as PresetName[];
for (const p of PRESET_LIST) {
  if (!(p in PRESETS)) throw new Error(`VIT_BENCH_PRESETS: unknown preset '${p}'; use names from PRESETS, e.g. cpu-tiny`);
}
/** What is measured: stock tfjs kernels (before) and the native fast path (after). */
const VARIANTS = [
  { name: 'cpu (stock tfjs)', backend: 'cpu', native: false, maxBatch: 8 },
  // tfjs-wasm's 32-bit heap aborts on the fine-tuning unit at batch 64.
  { name: 'wasm (stock tfjs)', backend: 'wasm', native: false, maxBatch: 32 },
  { name: 'cpu + native kernels', backend: 'cpu', native: true, maxBatch: Infinity },
] as const;

type Stage = 'pretrain' | 'finetune';

function stepFn(name: PresetName, stage: Stage, batch: number): { run: () => void; dispose: () => void; macs: number } {
  const cfg = PRESETS[name];
  const store = ParameterStore.create();
  const rs = RandomStream.fromSeed(1);
  const x = normalTensor(rs.child('x'), [batch, cfg.imageSize, cfg.imageSize, cfg.channels]) as tf.Tensor4D;
  const t = Float64Array.from({ length: batch }, (_, i) => 250 * Math.log(0.01 + i));
  const y = tf.tensor1d(Array.from({ length: batch }, (_, i) => i % cfg.numClasses), 'int32');
  let loss: () => tf.Scalar;
  if (stage === 'pretrain') {
    const enc = buildPretrainModel(store, cfg, { rng: rs.child('init') });
    loss = () => {
      const o = enc(x, t);
      return tf.add(tf.mean(tf.square(o.proj!)), tf.mean(tf.square(o.cls))) as tf.Scalar;
    };
  } else {
    const net = buildFinetuneNetwork(store, cfg, { rng: rs.child('init') });
    loss = () => tf.mean(tf.square(tf.sub(net(x, t, y), x))) as tf.Scalar;
  }
  const vars = store.trainableEntries().map((e) => e.variable);
  const f = flopCounts(cfg);
  return {
    macs: stage === 'pretrain' ? f.pretrainMacs : f.finetuneMacs,
    run: () => {
      const { value, grads } = tf.variableGrads(loss, vars);
      value.dataSync();
      value.dispose();
      tf.dispose(Object.values(grads));
    },
    dispose: () => {
      store.dispose();
      tf.dispose([x, y]);
    },
  };
}

async function main(): Promise<void> {
  const before = measureGemmCeiling(quick());
  const rows: Row[] = [];
  for (const v of VARIANTS) {
    await initBackend({ force: v.backend, log: null });
    if (v.native) {
      const r = registerNativeKernels();
      if (!r.active) {
        console.log(`(skipping '${v.name}': ${r.why})`);
        continue;
      }
    } else {
      unregisterNativeKernels();
    }
    const batch = Math.min(BATCH, v.maxBatch);
    for (const name of PRESET_LIST) {
      for (const stage of ['pretrain', 'finetune'] as const) {
        const s = stepFn(name, stage, batch);
        const cpu0 = processCpuMs();
        const timing = await measure(s.run, {
          warmup: v.backend === 'wasm' || v.native ? 1 : 0,
          minIterations: 1,
          minTimeMs: quick() ? 0 : 3000,
          maxIterations: 10,
        });
        const cpuMs = (processCpuMs() - cpu0) / (timing.iterations + (v.backend === 'wasm' || v.native ? 1 : 0));
        s.dispose();
        const sec = timing.medianMs / 1000;
        const gflops = (3 * 2 * s.macs * batch) / sec / 1e9;
        rows.push({
          unit: `${name} ${stage === 'pretrain' ? 'pre-training (enc+proj)' : 'fine-tuning (enc+dec)'}`,
          variant: v.name,
          batch,
          's/step': sec,
          'CPU-s/step': cpuMs / 1000,
          'img/s': batch / sec,
          'GFLOP/s': gflops,
          stage,
        });
      }
    }
  }
  unregisterNativeKernels();
  const ceiling = bestCeiling(before, measureGemmCeiling(quick()));
  printTable(`GEMM ceiling (${ceiling.note}; best of before and after the units)`, [
    { threads: '1', 'GFLOP/s': ceiling.oneThread.wall, 'GFLOP/s by CPU time': ceiling.oneThread.cpu },
    { threads: 'all', 'GFLOP/s': ceiling.allThreads.wall, 'GFLOP/s by CPU time': ceiling.allThreads.cpu },
  ]);
  const withCeil = rows.map(({ stage: _stage, ...r }) => ({
    ...r,
    '% ceil (1 thread)': `${((100 * Number(r['GFLOP/s'])) / ceiling.oneThread.wall).toFixed(1)}%`,
  }));
  printTable(
    'ViT training units, forward+backward (GFLOP = 3 × 2 × analytic forward MACs; ratio of img/s against stock cpu)',
    withRatios(withCeil, { value: 'img/s', groupKey: 'unit', baselineKey: 'variant', baseline: 'cpu (stock tfjs)' }),
  );
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
