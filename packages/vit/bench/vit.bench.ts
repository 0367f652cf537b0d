/**
 * Forward + backward throughput of the small presets on the cpu and wasm backends: images/s and
 * GFLOP/s (analytic matmul FLOPs, ×3 for forward + backward, from `flopCounts`), for the
 * pre-training model (encoder + projector, BatchNorm in training mode) and the fine-tuning network
 * (encoder + decoder). Ratios are against the stock cpu backend measured in the same run.
 * Run: pnpm bench (about 2–3 minutes on 2 cores). VIT_BENCH_BATCH changes the batch (default 4),
 * VIT_BENCH_PRESETS a comma list of presets (default cpu-tiny-mnist,cpu-tiny; cpu-small also fits).
 * The stock cpu backend spends ~75 % of the time in BatchMatMul at ≈ 0.7 GFLOP/s (tf.profile), so
 * each cpu case runs once after no warm-up; wasm gets one warm-up call.
 */
import * as tf from '@tensorflow/tfjs-core';
import { measure, printTable, quick, withRatios, type Row } from '@epg/bench';
import { initBackend, ParameterStore, RandomStream, normalTensor } from '@epg/tensor';
import { PRESETS, buildFinetuneNetwork, buildPretrainModel, flopCounts, type PresetName } from '../src';

const BATCH = Number(process.env.VIT_BENCH_BATCH ?? 4);
const PRESET_LIST = (process.env.VIT_BENCH_PRESETS ?? 'cpu-tiny-mnist,cpu-tiny').split(',') as PresetName[];
for (const p of PRESET_LIST) {
  if (!(p in PRESETS)) throw new Error(`VIT_BENCH_PRESETS: unknown preset '${p}'; use names from PRESETS, e.g. cpu-tiny`);
}
const BACKENDS = ['cpu', 'wasm'] as const;

type Stage = 'pretrain' | 'finetune';

function stepFn(name: PresetName, stage: Stage): { run: () => void; dispose: () => void; macs: number } {
  const cfg = PRESETS[name];
  const store = ParameterStore.create();
  const rs = RandomStream.fromSeed(1);
  const x = normalTensor(rs.child('x'), [BATCH, cfg.imageSize, cfg.imageSize, cfg.channels]) as tf.Tensor4D;
  const t = tf.tensor1d(Array.from({ length: BATCH }, (_, i) => 250 * Math.log(0.01 + i)));
  const y = tf.tensor1d(Array.from({ length: BATCH }, (_, i) => i % cfg.numClasses), 'int32');
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
      tf.dispose([x, t, y]);
    },
  };
}

async function main(): Promise<void> {
  const rows: Row[] = [];
  for (const backend of BACKENDS) {
    await initBackend({ force: backend, log: null });
    for (const name of PRESET_LIST) {
      for (const stage of ['pretrain', 'finetune'] as const) {
        const s = stepFn(name, stage);
        const timing = await measure(s.run, { warmup: backend === 'wasm' ? 1 : 0, minIterations: 1, minTimeMs: quick() ? 0 : 1000, maxIterations: 10 });
        s.dispose();
        const sec = timing.medianMs / 1000;
        rows.push({
          case: `${name} ${stage} b${BATCH}`,
          backend,
          'ms/step': timing.medianMs,
          'img/s': BATCH / sec,
          'GFLOP/s': (3 * 2 * s.macs * BATCH) / sec / 1e9,
        });
      }
    }
  }
  printTable(
    `ViT forward+backward (batch ${BATCH}; GFLOP = 3 × 2 × analytic forward MACs)`,
    withRatios(rows, { value: 'img/s', groupKey: 'case', baselineKey: 'backend', baseline: 'cpu' }),
  );
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
