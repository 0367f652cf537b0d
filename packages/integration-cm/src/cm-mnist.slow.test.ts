/**
 * CM fine-tuning on MNIST from an EPG-pre-trained encoder and from scratch, same steps, same seeds
 * (docs/consistency.md, "MNIST check"). Expected: the pre-trained start reaches the lower consistency
 * loss at the same step. Writes both one-step sample grids and prints both domain-FIDs.
 * Run: EPG_SLOW=1 pnpm --filter @epg/integration-cm test:slow (tens of minutes on two cores).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as E from 'fp-ts/Either';
import type { Denoiser, EncoderFn as ContractEncoderFn } from '@epg/contracts';
import {
  EPG_CM_ECT,
  EPG_CM_OPTIMIZER,
  cmLearningRate,
  consistencyTrainStep,
  sampleConsistencyOneStep,
  type AuxiliaryLossOptions,
  type ContrastiveLoss,
} from '@epg/consistency';
import { loadMnist, writePngGrid } from '@epg/data';
import { computeStatistics, ensureDomainClassifier, frechetDistance, quantizeUnitRange } from '@epg/metrics';
import { boundaryScalings, cIn, cmShortRun, noiseSpace, shiftedGrid, timeValue } from '@epg/schedules';
import { AdamW, RandomStream, normalTensor, type ParameterStore } from '@epg/tensor';
import { assembleFinetune, finetuneParamGroups, freezeEncoder, getPreset } from '@epg/vit';
import { pretrainEncoder } from './pretrain';

const STEPS = 600;
const BATCH = 32;
const SAMPLES = 256;
const cfg = getPreset('cpu-tiny-mnist', {
  encoder: { depth: 4, width: 96, heads: 3 },
  decoder: { depth: 4, width: 96, heads: 3 },
  projector: { hidden: 256, out: 64 },
  decoderDropout: 0,
});
const space = noiseSpace(28);

/** NT-Xent (cosine logits, one direction, no 2τ); replace with @epg/ssl's ntXent when it is merged. */
const ntXent: ContrastiveLoss = (q, k, tau) =>
  tf.tidy(() => {
    const B = q.shape[0];
    const s = tf.matMul(tf.div(q, tf.norm(q, 2, 1, true)), tf.div(k, tf.norm(k, 2, 1, true)), false, true);
    const logits = tf.div(s, typeof tau === 'number' ? tau : tf.tensor2d(Float32Array.from(tau), [B, 1]));
    return tf.sub(tf.logSumExp(logits, 1), tf.sum(tf.mul(logits, tf.eye(B)), 1)) as tf.Tensor1D;
  });

/** Boundary-parameterised denoiser over the ViT (replace with @epg/contracts' precondition once merged). */
function boundary(network: (x: tf.Tensor4D, t: tf.Tensor1D, y?: tf.Tensor1D) => tf.Tensor4D): Denoiser {
  return (x, sigma, cond) =>
    tf.tidy(() => {
      const B = x.shape[0];
      const sc = Array.from(sigma, (s) => boundaryScalings(s, { sigmaMin: space.sigmaMin }));
      const col = (v: number[]) => tf.tensor4d(Float32Array.from(v), [B, 1, 1, 1]);
      const F = network(tf.mul(x, col(sc.map((c) => c.cIn))) as tf.Tensor4D, tf.tensor1d(Float32Array.from(sigma, (s) => timeValue(s))), cond?.labels);
      return tf.add(tf.mul(x, col(sc.map((c) => c.cSkip))), tf.mul(F, col(sc.map((c) => c.cOut)))) as tf.Tensor4D;
    });
}

function encoderAt(fn: ContractEncoderFn | ((x: tf.Tensor4D, t: tf.Tensor1D) => { cls: tf.Tensor2D; proj?: tf.Tensor2D })) {
  return (x: tf.Tensor4D, sigma: Float64Array) =>
    tf.tidy(() => {
      const B = x.shape[0];
      const xin = tf.mul(x, tf.tensor4d(Float32Array.from(sigma, (s) => cIn(s)), [B, 1, 1, 1])) as tf.Tensor4D;
      return (fn as (x: tf.Tensor4D, t: tf.Tensor1D) => { cls: tf.Tensor2D; proj?: tf.Tensor2D })(xin, tf.tensor1d(Float32Array.from(sigma, (s) => timeValue(s))));
    });
}

function trainArm(name: string, pretrained: ParameterStore | undefined, data: { images: Float32Array; count: number }) {
  const built = assembleFinetune({ cfg, rng: RandomStream.derive(7, 0, 'finetune-init'), pretrained });
  if (E.isLeft(built)) throw built.left;
  const { store, network } = built.right;
  const run = cmShortRun(STEPS);
  const optimizer = new AdamW(store, {
    ...EPG_CM_OPTIMIZER,
    lr: cmLearningRate(EPG_CM_OPTIMIZER.lr * 5, run),
    groups: finetuneParamGroups(store, cfg, { weightDecay: EPG_CM_OPTIMIZER.weightDecay }),
  });
  const frozen = pretrained ? freezeEncoder(pretrained, cfg) : undefined;
  const aux: AuxiliaryLossOptions | undefined = frozen
    ? { encoder: encoderAt(frozen.encoder), loss: ntXent, weight: 1, tau: 0.1, frozenStore: frozen.store }
    : undefined;
  const denoiser = boundary(network);
  const losses: number[] = [];
  const per = 28 * 28;
  for (let step = 0; step < STEPS; step++) {
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

describe('CM fine-tuning on MNIST', () => {
  const probe = { images: new Float32Array(0), count: 0 };
  const mnist = loadMnist('train');
  const N = 4096;
  probe.images = Float32Array.from(mnist.images.subarray(0, N * 784), (v) => v / 127.5 - 1);
  probe.count = N;
  const pretrained = pretrainEncoder({ cfg: { ...cfg, decoder: undefined }, images: probe.images, count: N, steps: 2000, seed: 3 });

  (pretrained ? it : it.skip)('the EPG-pre-trained start reaches a lower loss than scratch at the same step', async () => {
    const pre = trainArm('pretrained', pretrained, probe);
    const scratch = trainArm('scratch', undefined, probe);
    const out = join(__dirname, '..', 'out');
    mkdirSync(out, { recursive: true });
    const domain = ensureDomainClassifier('mnist');
    const real = { images: mnist.images.subarray(0, 2000 * 784), count: 2000, height: 28, width: 28, channels: 1 };
    const refStats = computeStatistics(domain.extractor, real);
    for (const arm of [pre, scratch]) {
      await writePngGrid(join(out, `cm-onestep-${arm.name}.png`), arm.pixels, SAMPLES, 28, 28, 1);
      const stats = computeStatistics(domain.extractor, { images: arm.pixels, count: SAMPLES, height: 28, width: 28, channels: 1 });
      console.log(`${arm.name}: loss (last 50 steps) ${mean(arm.losses.slice(-50)).toFixed(4)}, domain-FID ${frechetDistance(stats, refStats).toFixed(2)}`);
    }
    expect(mean(pre.losses.slice(-50))).toBeLessThan(mean(scratch.losses.slice(-50)));
    pretrained!.dispose();
  }, 7_200_000);
});
