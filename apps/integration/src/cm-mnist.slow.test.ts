/**
 * CM fine-tuning on MNIST from an EPG-pre-trained encoder and from scratch, same steps, same seeds
 * (docs/consistency.md, "MNIST check"). Expected: the pre-trained start reaches the lower consistency
 * loss at the same step. Writes both one-step sample grids (apps/integration/out/) and prints both
 * domain-FIDs. Run: pnpm --filter epg-integration test:slow.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as E from 'fp-ts/Either';
import { encoderAt } from '@epg/contracts';
import { EPG_CM_ECT, EPG_CM_OPTIMIZER, cmLearningRate, consistencyTrainStep, sampleConsistencyOneStep, type AuxiliaryLossOptions } from '@epg/consistency';
import { boundaryDenoiser } from '@epg/diffusion';
import { ImageLoader, loadMnist, pairPrepare, pairToTensors, writePngGrid } from '@epg/data';
import { computeStatistics, ensureDomainClassifier, frechetDistance, quantizeUnitRange } from '@epg/metrics';
import { cmShortRun, noiseSpace, shiftedGrid } from '@epg/schedules';
import { pretrainConfig } from '@epg/ssl';
import { AdamW, RandomStream, normalTensor, orThrow, type ParameterStore } from '@epg/tensor';
import { allowTensorLeak, useTestBackend } from '@epg/tensor/testing';
import { assembleFinetune, finetuneParamGroups, freezeEncoder, getPreset } from '@epg/vit';
import { MNIST_SSL_VIT } from './mnist-run';
import { MNIST_PAIR, setupPretraining } from './recipes';

useTestBackend();

const PRETRAIN_STEPS = 300;
const CM_STEPS = 300;
const BATCH = 32;
const SAMPLES = 256;
/** The pre-training ViT of the MNIST check plus a decoder of the same depth and width. */
const cfg = getPreset('cpu-tiny-mnist', { ...MNIST_SSL_VIT, name: 'mnist-cm-check', decoder: { depth: 2, width: 64, heads: 2 }, decoderDropout: 0 });
const space = noiseSpace(28);

async function pretrain(train: ReturnType<typeof loadMnistOrThrow>): Promise<ParameterStore> {
  const setup = setupPretraining(MNIST_SSL_VIT, pretrainConfig('epg', { totalSteps: PRETRAIN_STEPS, lr: 2e-3 }), 1);
  const loader = new ImageLoader(train, { batchSize: 64, seed: 1, prepare: pairPrepare(MNIST_PAIR, { numClasses: 10 }), prefetch: 1 });
  for (let k = 0; k < PRETRAIN_STEPS; k++) {
    const t = pairToTensors((await loader.next()).batch);
    try {
      setup.pretrainer.step({ x0: t.x0, view1: t.view1, view2: t.view2 });
    } finally {
      tf.dispose(Object.values(t));
    }
  }
  const store = setup.onlineStore.clone();
  setup.dispose();
  return store;
}

function loadMnistOrThrow() {
  return orThrow(loadMnist('train'));
}

function trainArm(name: string, pretrained: ParameterStore | undefined, data: { images: Float32Array; count: number }) {
  const built = assembleFinetune({ cfg, rng: RandomStream.derive(7, 0, 'finetune-init'), pretrained });
  if (E.isLeft(built)) throw built.left;
  const { store, network } = built.right;
  const run = cmShortRun(CM_STEPS);
  const optimizer = new AdamW(store, {
    ...EPG_CM_OPTIMIZER,
    lr: cmLearningRate(EPG_CM_OPTIMIZER.lr * 5, run),
    groups: finetuneParamGroups(store, cfg, { weightDecay: EPG_CM_OPTIMIZER.weightDecay }),
  });
  const frozen = pretrained ? freezeEncoder(pretrained, cfg) : undefined;
  const aux: AuxiliaryLossOptions | undefined = frozen ? { encoder: encoderAt(frozen.encoder, space), weight: 1, tau: 0.1, frozenStore: frozen.store } : undefined;
  const denoiser = boundaryDenoiser(network, space);
  const losses: number[] = [];
  const per = 28 * 28;
  for (let step = 0; step < CM_STEPS; step++) {
    const rs = RandomStream.derive(11, step, 'cm');
    const idx = rs.child('batch').permutation(data.count).subarray(0, BATCH);
    const batch = new Float32Array(BATCH * per);
    idx.forEach((j, i) => batch.set(data.images.subarray(j * per, (j + 1) * per), i * per));
    const x0 = tf.tensor4d(batch, [BATCH, 28, 28, 1]);
    const res = consistencyTrainStep({ store, optimizer, denoiser, x0, rs, space, config: { ect: { ...EPG_CM_ECT, stageSteps: run.stageSteps }, distance: { kind: 'ect', c: 0.06 } }, auxiliary: aux });
    x0.dispose();
    losses.push(res.terms.consistency);
  }
  store.eval();
  const latents = normalTensor(RandomStream.derive(13, 0, 'latent'), [SAMPLES, 28, 28, 1]) as tf.Tensor4D;
  const { x } = sampleConsistencyOneStep(denoiser, latents, shiftedGrid(space, 1));
  const pixels = quantizeUnitRange(x);
  tf.dispose([x, latents]);
  optimizer.dispose();
  store.dispose();
  frozen?.store.dispose();
  return { name, losses, pixels };
}

const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;

it('CM from the EPG-pre-trained encoder reaches a lower loss than from scratch at the same step', async () => {
  allowTensorLeak('the last run left 19 tensors after both arms; not traced yet (closing note of the session that added this test)');
  const mnist = loadMnistOrThrow();
  const N = 4096;
  const data = { images: Float32Array.from(mnist.images.subarray(0, N * 784), (v) => v / 127.5 - 1), count: N };
  const t0 = performance.now();
  const pretrained = await pretrain(mnist);
  const pre = trainArm('pretrained', pretrained, data);
  const scratch = trainArm('scratch', undefined, data);
  pretrained.dispose();
  const out = join(__dirname, '..', 'out');
  mkdirSync(out, { recursive: true });
  const domain = ensureDomainClassifier('mnist');
  const real = { images: mnist.images.subarray(0, 2000 * 784), count: 2000, height: 28, width: 28, channels: 1 };
  const refStats = computeStatistics(domain.extractor, real);
  for (const arm of [pre, scratch]) {
    orThrow(await writePngGrid(join(out, `cm-onestep-${arm.name}.png`), arm.pixels, SAMPLES, 28, 28, 1)());
    const stats = computeStatistics(domain.extractor, { images: arm.pixels, count: SAMPLES, height: 28, width: 28, channels: 1 });
    console.log(`${arm.name}: CM loss (mean of the last 50 of ${CM_STEPS} steps) ${mean(arm.losses.slice(-50)).toFixed(4)}, domain-FID (${SAMPLES} one-step samples vs 2000 train images) ${frechetDistance(stats, refStats).toFixed(2)}`);
  }
  console.log(`total ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  domain.store.dispose();
  expect(mean(pre.losses.slice(-50))).toBeLessThan(mean(scratch.losses.slice(-50)));
}, 7_200_000);
