/**
 * `pnpm bench:domain`: seconds per domain-classifier training step (batch 128, Adam, BatchNorm) on
 * each backend, measured in the same run, and the 2-epoch MNIST time they imply (937 steps). The
 * data are random pixels: the cost does not depend on them. EPG_BENCH_QUICK=1: fewer steps.
 * EPG_BENCH_DOMAIN_FULL=1 also runs the real thing on the cpu backend: trainDomainClassifier on the
 * MNIST train split for 2 epochs (wall and process CPU seconds, and the test accuracy reached).
 * EPG_NATIVE_THREADS sets the BLAS threads of the cpu backend (default 1). With native kernels the
 * cpu backend is measured with both convolution algorithms (Winograd for the 3×3 layers, and im2col
 * only, the baseline), alternately; the full run uses the default (EPG_NATIVE_CONV).
 */
import { printTable, processCpuMs, quick, withRatios, type Row } from '@epg/bench';
import * as tf from '@tensorflow/tfjs-core';
import { AdamW, initBackend, nativeConvAlgorithm, orThrow, RandomStream, trainStep, type ConvAlgorithm } from '@epg/tensor';
import { loadMnist } from '@epg/data';
import { domainAccuracy, trainDomainClassifier } from '../src/domain-train';
import { domainClassifierForward, initDomainClassifier } from '../src/domain-classifier';

const BATCH = 128;
const STEPS_2_EPOCHS = 2 * Math.floor(60000 / BATCH);

async function stepTime(backend: string, steps: number): Promise<{ wallMs: number; cpuMs: number }> {
  await tf.setBackend(backend);
  const store = initDomainClassifier(RandomStream.fromSeed(0));
  const opt = new AdamW(store, { lr: 1e-3, weightDecay: 0 });
  store.train();
  const x = tf.tidy(() => tf.sub(tf.mul(tf.randomUniform([BATCH, 28, 28, 1], 0, 1, 'float32', 1), 2), 1) as tf.Tensor4D);
  const y = tf.tidy(() => tf.oneHot(tf.randomUniform([BATCH], 0, 10, 'int32', 2) as tf.Tensor1D, 10));
  const step = () => trainStep(store, opt, () => tf.losses.softmaxCrossEntropy(y, domainClassifierForward(store, x).logits) as tf.Scalar);
  step();
  step();
  const before = tf.memory().numTensors;
  const w0 = performance.now();
  const c0 = processCpuMs();
  for (let i = 0; i < steps; i++) step();
  const res = { wallMs: (performance.now() - w0) / steps, cpuMs: (processCpuMs() - c0) / steps };
  if (tf.memory().numTensors !== before) throw new Error(`domain step leaked ${tf.memory().numTensors - before} tensors`);
  tf.dispose([x, y]);
  opt.dispose?.();
  store.dispose();
  return res;
}

async function main(): Promise<void> {
  await initBackend({ force: 'wasm', log: null }); // registers wasm too, so the run can switch
  const report = await initBackend({ force: 'cpu', log: null });
  console.log(`native: ${report.native.why}`);
  const steps = quick() ? 3 : 10;
  const rows: Row[] = [];
  const defaultConv = nativeConvAlgorithm();
  for (const backend of (process.env.EPG_BENCH_BACKENDS ?? 'wasm,cpu').split(',')) {
    const convs: Array<ConvAlgorithm | undefined> = backend === 'cpu' && report.native.active ? ['im2col', 'winograd', 'im2col', 'winograd'] : [undefined];
    for (const conv of convs) {
      if (conv) nativeConvAlgorithm(conv);
      const t = await stepTime(backend, backend === 'wasm' ? Math.max(2, Math.floor(steps / 3)) : steps);
      rows.push({
        step: 'domain classifier train step, batch 128',
        backend: conv ? `cpu+native, ${conv}` : backend,
        'wall ms/step': t.wallMs,
        'cpu ms/step': t.cpuMs,
        '2 epochs MNIST (s, extrapolated)': (t.wallMs * STEPS_2_EPOCHS) / 1000,
      });
    }
  }
  if (defaultConv) nativeConvAlgorithm(defaultConv);
  const vsWasm = withRatios(rows, { value: 'wall ms/step', groupKey: 'step', baselineKey: 'backend', baseline: rows[0].backend as string, higherIsBetter: false });
  // CPU time against the first im2col row: the convolution algorithm's own gain, robust to a busy machine
  printTable('domain classifier training', withRatios(vsWasm, { value: 'cpu ms/step', groupKey: 'step', baselineKey: 'backend', baseline: 'cpu+native, im2col', higherIsBetter: false }));

  if (process.env.EPG_BENCH_DOMAIN_FULL === '1') {
    await tf.setBackend('cpu');
    const train = orThrow(loadMnist('train'));
    const w0 = performance.now();
    const c0 = processCpuMs();
    const store = trainDomainClassifier(train, { epochs: 2 });
    const wall = (performance.now() - w0) / 1000;
    const cpu = (processCpuMs() - c0) / 1000;
    const acc = domainAccuracy(store, orThrow(loadMnist('test')));
    store.dispose();
    printTable('domain classifier, 2 epochs of MNIST (measured, not extrapolated)', [
      { task: 'trainDomainClassifier, 2 epochs, batch 128', backend: report.native.active ? `cpu+native, ${nativeConvAlgorithm()}` : 'cpu', 'wall s': wall, 'cpu s': cpu, 'test accuracy': acc, target: 'wall ≤ 120 s' },
    ]);
  }
}

main().catch((e) => {
  console.error(e instanceof Error ? e.stack : e);
  process.exit(1);
});
