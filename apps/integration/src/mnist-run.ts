/**
 * A short, seeded EPG pre-training run on MNIST with kNN/linear probes before and after (the slow
 * test and `scripts/mnist-pretrain.ts` both call this). The encoder is the `cpu-tiny-mnist` preset
 * shrunk to what a few CPU-minutes can train (MNIST_SSL_VIT).
 */
import * as tf from '@tensorflow/tfjs-core';
import { ImageLoader, loadMnist, normalizeImages, pairPrepare, pairToTensors, takePerClass, type ImageSet } from '@epg/data';
import { probeAtSigmas, type NoisyProbeRow } from '@epg/metrics';
import { pretrainConfig, type SslVariant } from '@epg/ssl';
import { getPreset, type ViTConfig } from '@epg/vit';
import { toShifted } from '@epg/schedules';
import { orThrow } from '@epg/tensor';
import { MNIST_PAIR, setupPretraining } from './recipes';

/** cpu-tiny-mnist with patch 7 (16 tokens), depth 2, width 64 and a 256→64 projector. */
export const MNIST_SSL_VIT: ViTConfig = getPreset('cpu-tiny-mnist', {
  patchSize: 7,
  encoder: { depth: 2, width: 64, heads: 2 },
  projector: { hidden: 256, out: 64 },
});

export interface MnistRunOptions {
  readonly steps: number;
  readonly batchSize: number;
  readonly lr: number;
  readonly seed: number;
  readonly variant?: SslVariant;
  /** Probe bank and test images per class (defaults 200 and 50). */
  readonly probeTrainPerClass?: number;
  readonly probeTestPerClass?: number;
  /**
   * Noise levels besides σ₀, UNSHIFTED (default 0.5, 1, 2): the images get toShifted(σ) = σ·H/64 of
   * noise, the same relative corruption a 64-px image gets at σ (docs/ssl.md, "Probes").
   */
  readonly sigmas?: readonly number[];
  /** Further levels given as the raw noise std on the images (shifted σ), reported after the others. */
  readonly imageSigmas?: readonly number[];
  readonly log?: (line: string) => void;
}

export interface MnistRunResult {
  readonly before: NoisyProbeRow[];
  readonly after: NoisyProbeRow[];
  readonly losses: { step: number; loss: number; terms: Readonly<Record<string, number>> }[];
  readonly seconds: number;
  readonly numTensorsAtStart: number;
  readonly numTensorsAtEnd: number;
}

function toTensor(set: ImageSet): tf.Tensor4D {
  return tf.tensor4d(normalizeImages(set.images, set.channels, 'minus-one-one'), [set.count, set.height, set.width, set.channels]);
}

export async function runMnistPretraining(o: MnistRunOptions): Promise<MnistRunResult> {
  const log = o.log ?? (() => undefined);
  const cfg = pretrainConfig(o.variant ?? 'epg', { totalSteps: o.steps, lr: o.lr });
  const setup = setupPretraining(MNIST_SSL_VIT, cfg, o.seed);
  const train = orThrow(loadMnist('train'));
  const bank = takePerClass(train, o.probeTrainPerClass ?? 200);
  const test = takePerClass(orThrow(loadMnist('test')), o.probeTestPerClass ?? 50);
  const probeTrain = { images: toTensor(bank), labels: bank.labels };
  const probeTest = { images: toTensor(test), labels: test.labels };
  const sigmas = [setup.space.sigmaMin, ...(o.sigmas ?? [0.5, 1, 2]).map((v) => toShifted(setup.space, v)), ...(o.imageSigmas ?? [])];
  const probe = () => probeAtSigmas(setup.features, probeTrain, probeTest, { numClasses: 10, sigmas, seed: o.seed, linear: { steps: 200 } });
  try {
    const before = probe();
    log(`before: ${JSON.stringify(before)}`);
    const loader = new ImageLoader(train, { batchSize: o.batchSize, seed: o.seed, prepare: pairPrepare(MNIST_PAIR, { numClasses: 10 }), prefetch: 1 });
    const losses: MnistRunResult['losses'] = [];
    const numTensorsAtStart = tf.memory().numTensors;
    const t0 = performance.now();
    for (let k = 0; k < o.steps; k++) {
      const { batch } = await loader.next();
      const t = pairToTensors(batch);
      try {
        const r = setup.pretrainer.step({ x0: t.x0, view1: t.view1, view2: t.view2 });
        if (r.skipped) throw new Error(`step ${k} skipped: loss ${r.loss}`);
        losses.push({ step: k, loss: r.loss, terms: r.terms });
        if (k % 25 === 0 || k === o.steps - 1) log(`step ${k} N ${r.scales} i ${r.index} τ ${r.tau.toFixed(3)} lr ${r.lr.toExponential(2)} loss ${r.loss.toFixed(4)} ${JSON.stringify(r.terms)}`);
      } finally {
        tf.dispose(Object.values(t));
      }
    }
    const seconds = (performance.now() - t0) / 1000;
    const numTensorsAtEnd = tf.memory().numTensors;
    const after = probe();
    log(`after: ${JSON.stringify(after)}`);
    return { before, after, losses, seconds, numTensorsAtStart, numTensorsAtEnd };
  } finally {
    tf.dispose([probeTrain.images, probeTest.images]);
    setup.dispose();
  }
}
