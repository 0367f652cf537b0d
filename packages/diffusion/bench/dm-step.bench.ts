/**
 * σ on the host (issue 10): one x0-denoiser call and one DM training step (EPG DM loss, AdamW) of the
 * cpu-tiny ViT at batch 256 (DM_BENCH_BATCH), on the cpu backend with the native kernels. Each is timed
 * against a same-run baseline that has no σ machinery at all: the bare network on precomputed inputs,
 * and a bare trainStep on that network. σ read-backs per call are counted, and the figures recorded at
 * the base commit d79b6fe (σ as a tensor, read back twice per call) are printed beside them: that code
 * path no longer exists, so "before" is a recorded number, not measured in this run (docs/performance.md).
 */
import * as tf from '@tensorflow/tfjs-core';
import { measure, printTable, processCpuMs, quick, type Row } from '@epg/bench';
import { noiseSpace } from '@epg/schedules';
import { AdamW, initBackend, normalTensor, ParameterStore, RandomStream, trainStep } from '@epg/tensor';
import { countReadbacks } from '@epg/tensor/testing';
import { networkInput } from '@epg/contracts';
import { PRESETS, buildFinetuneNetwork } from '@epg/vit';
import { diffusionTrainStep, x0Denoiser } from '../src';

const BATCH = Number(process.env.DM_BENCH_BATCH ?? (quick() ? 16 : 256));
/** Recorded at d79b6fe on the shared 2-core dev machine (load ≈ 9), batch 256, cpu + native kernels. */
const BEFORE = { call: { wallMs: 13607, cpuMs: 8110, sigmaReads: 2 }, step: { wallMs: 96401, cpuMs: 21823, sigmaReads: 2 } };

async function main(): Promise<void> {
  const report = await initBackend({ force: 'cpu', log: null });
  const cfg = PRESETS['cpu-tiny'];
  const space = noiseSpace(cfg.imageSize);
  const store = ParameterStore.create();
  const rs = RandomStream.fromSeed(1);
  const net = buildFinetuneNetwork(store, cfg, { rng: rs.child('init') });
  const denoiser = x0Denoiser(net, space);
  const x0 = normalTensor(rs.child('x'), [BATCH, cfg.imageSize, cfg.imageSize, cfg.channels]) as tf.Tensor4D;
  const labels = tf.tensor1d(Array.from({ length: BATCH }, (_, i) => i % cfg.numClasses), 'int32');
  const sigma = Float64Array.from({ length: BATCH }, (_, i) => 0.01 + i * 0.1);
  const { xIn, time } = networkInput(x0, sigma, space);
  const optimizer = new AdamW(store, { lr: 1e-4 });
  const opts = { warmup: 1, minIterations: quick() ? 1 : 3, minTimeMs: 0, maxIterations: 5 };

  const timed = async (f: () => void) => {
    const c0 = processCpuMs();
    const t = await measure(f, opts);
    return { wallMs: t.medianMs, cpuMs: (processCpuMs() - c0) / (t.iterations + opts.warmup) };
  };
  const floatReads = (f: () => unknown) => countReadbacks(f).reads.filter((r) => r.dtype !== 'int32' && r.shape.length > 0).length;

  const bareCall = await timed(() => net(xIn, time, labels).dispose());
  const call = await timed(() => denoiser(x0, sigma, { labels }).dispose());
  const callReads = floatReads(() => denoiser(x0, sigma, { labels }).dispose());
  let k = 0;
  const bareStep = await timed(() => trainStep(store, optimizer, () => tf.mean(tf.square(tf.sub(net(xIn, time, labels), x0))) as tf.Scalar));
  const step = await timed(() => diffusionTrainStep({ store, optimizer, denoiser, space, x0, cond: { labels }, rs: RandomStream.derive(1, k++, 'diffusion') }));
  const stepReads = floatReads(() => diffusionTrainStep({ store, optimizer, denoiser, space, x0, cond: { labels }, rs: RandomStream.derive(1, k++, 'diffusion') }));

  const row = (what: string, after: { wallMs: number; cpuMs: number }, base: { wallMs: number; cpuMs: number }, reads: number, before: typeof BEFORE.call): Row => ({
    what,
    'ms (wall)': Math.round(after.wallMs),
    'CPU-ms': Math.round(after.cpuMs),
    'ratio vs bare (CPU)': (after.cpuMs / base.cpuMs).toFixed(2),
    'σ read-backs': reads,
    'before: CPU-ms (recorded)': before.cpuMs,
    'before: σ read-backs': before.sigmaReads,
  });
  printTable(`σ on the host: cpu-tiny, batch ${BATCH}, ${report.name}${report.native.active ? ' + native kernels' : ''} (bare = network on precomputed c_in·x and τ; same run)`, [
    { what: 'bare network forward', 'ms (wall)': Math.round(bareCall.wallMs), 'CPU-ms': Math.round(bareCall.cpuMs), 'ratio vs bare (CPU)': '1.00', 'σ read-backs': 0, 'before: CPU-ms (recorded)': '', 'before: σ read-backs': '' },
    row('x0 denoiser call', call, bareCall, callReads, BEFORE.call),
    { what: 'bare trainStep (MSE)', 'ms (wall)': Math.round(bareStep.wallMs), 'CPU-ms': Math.round(bareStep.cpuMs), 'ratio vs bare (CPU)': '1.00', 'σ read-backs': 0, 'before: CPU-ms (recorded)': '', 'before: σ read-backs': '' },
    row('DM training step', step, bareStep, stepReads, BEFORE.step),
  ]);
  if (BATCH !== 256) console.log(`(the recorded "before" figures are for batch 256; this run used ${BATCH})`);
  tf.dispose([x0, labels, xIn]);
  optimizer.dispose();
  store.dispose();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
