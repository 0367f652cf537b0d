/**
 * The MNIST consistency-fine-tuning experiment (docs/consistency.md, "MNIST check"): one EPG
 * pre-training of the MNIST_SSL_VIT encoder, then CM fine-tuning arms that differ only in the start
 * (pre-trained or random encoder) and the auxiliary weight. Every arm sees the same batches, the same
 * (t, r) pairs, the same ε and the same dropout streams at every step (all derived from the step
 * number), so their consistency terms are comparable step by step. The slow test and
 * `scripts/cm-mnist.ts` both call this.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as E from 'fp-ts/Either';
import { encoderAt } from '@epg/contracts';
import {
  EPG_CM_ECT,
  EPG_CM_OPTIMIZER,
  cmLearningRate,
  consistencyDistance,
  consistencyLoss,
  consistencyTrainStep,
  prepareConsistencyBatch,
  sampleConsistencyOneStep,
  type AuxiliaryLossOptions,
  type ConsistencyConfig,
} from '@epg/consistency';
import { boundaryDenoiser } from '@epg/diffusion';
import { ImageLoader, loadMnist, pairPrepare, pairToTensors } from '@epg/data';
import { quantizeUnitRange } from '@epg/metrics';
import { cmShortRun, noiseSpace, shiftedGrid } from '@epg/schedules';
import { pretrainConfig } from '@epg/ssl';
import { AdamW, RandomStream, normalTensor, orThrow, type ParameterStore } from '@epg/tensor';
import { assembleFinetune, finetuneParamGroups, freezeEncoder, getPreset, type ViTConfig } from '@epg/vit';
import { MNIST_SSL_VIT } from './mnist-run';
import { MNIST_PAIR, setupPretraining } from './recipes';

/** The pre-training ViT of the MNIST check plus a decoder of the encoder's depth and width (no dropout). */
export const MNIST_CM_VIT: ViTConfig = getPreset('cpu-tiny-mnist', { ...MNIST_SSL_VIT, name: 'mnist-cm-check', decoder: { depth: 2, width: 64, heads: 2 }, decoderDropout: 0 });

const PIXELS = 28 * 28;

/** Images in [−1, 1] (the fine-tuning input range). */
export interface MnistImages {
  readonly images: Float32Array;
  readonly count: number;
}

export function mnistImages(split: 'train' | 'test', count: number, offset = 0): MnistImages {
  const set = orThrow(loadMnist(split));
  if (offset + count > set.count) throw new RangeError(`mnistImages: asked for ${offset + count} ${split} images, the split has ${set.count}`);
  return { images: Float32Array.from(set.images.subarray(offset * PIXELS, (offset + count) * PIXELS), (v) => v / 127.5 - 1), count };
}

/**
 * EPG pre-training of MNIST_SSL_VIT on MNIST_PAIR views (the recipe of the pre-training slow test,
 * docs/ssl.md "MNIST check": kNN top-1 at σ₀ 0.394 → 0.594 after 300 steps at lr 2e-3, batch 64, seed 1).
 * Returns the online store (the caller disposes it).
 */
export async function pretrainMnistEncoder(o: { steps: number; lr: number; batch: number; seed: number }): Promise<ParameterStore> {
  const setup = setupPretraining(MNIST_SSL_VIT, pretrainConfig('epg', { totalSteps: o.steps, lr: o.lr }), o.seed);
  const loader = new ImageLoader(orThrow(loadMnist('train')), { batchSize: o.batch, seed: o.seed, prepare: pairPrepare(MNIST_PAIR, { numClasses: 10 }), prefetch: 1 });
  try {
    for (let k = 0; k < o.steps; k++) {
      const t = pairToTensors((await loader.next()).batch);
      try {
        const r = setup.pretrainer.step({ x0: t.x0, view1: t.view1, view2: t.view2 });
        if (r.skipped) throw new Error(`pre-training step ${k} skipped: loss ${r.loss}`);
      } finally {
        tf.dispose(Object.values(t));
      }
    }
    return setup.onlineStore.clone();
  } finally {
    setup.dispose();
  }
}

export interface CmArmOptions {
  readonly name: string;
  /** Pre-trained encoder store (not disposed here); undefined = random encoder (scratch). */
  readonly pretrained?: ParameterStore;
  /** Auxiliary weight λ (needs `pretrained` when > 0). */
  readonly auxWeight: number;
  readonly steps: number;
  readonly batch: number;
  /** Peak LR of the CM schedule (cmLearningRate over cmShortRun(steps)). */
  readonly lr: number;
  readonly data: MnistImages;
  /** Held-out images for the end-of-run consistency term on fixed pairs. */
  readonly heldOut: MnistImages;
  readonly samples: number;
  /** Seed of the batches, pairs, noise and dropout (same for every arm). */
  readonly seed: number;
  /** Override of cmShortRun(steps).stageSteps (exploration only). */
  readonly stageSteps?: number;
  readonly log?: (line: string) => void;
}

export interface CmArmResult {
  readonly name: string;
  /** Per step: the consistency term mean_i w_i·d_i (before the update of that step). */
  readonly consistency: number[];
  /** Per step: the auxiliary term (unweighted), when on. */
  readonly auxiliary: number[];
  /** Per step: the differentiated total. */
  readonly total: number[];
  /**
   * After training: the consistency term on `heldOut` at the final ECT stage with pairs, ε and
   * dropout from fixed seeds (identical across arms), no update.
   */
  readonly heldOutConsistency: number;
  /** The same per-sample terms w_i·d_i, averaged within bins of unshifted t (keys: bin upper edges). */
  readonly heldOutByT: Record<string, number>;
  /** Held-out MSE of f(x₀ + σε, σ) against x₀ at unshifted σ (keys), one-step denoising quality. */
  readonly denoiseMse: Record<string, number>;
  /** One-step samples, quantised to bytes [samples·28·28]. */
  readonly pixels: Uint8Array;
  readonly seconds: number;
}

function batchOf(data: MnistImages, idx: ArrayLike<number>): tf.Tensor4D {
  const out = new Float32Array(idx.length * PIXELS);
  for (let i = 0; i < idx.length; i++) out.set(data.images.subarray(idx[i] * PIXELS, (idx[i] + 1) * PIXELS), i * PIXELS);
  return tf.tensor4d(out, [idx.length, 28, 28, 1]);
}

export function runCmArm(o: CmArmOptions): CmArmResult {
  const cfg = MNIST_CM_VIT;
  const space = noiseSpace(28);
  if (o.auxWeight > 0 && !o.pretrained) throw new Error(`arm ${o.name}: the auxiliary term needs the pre-trained encoder`);
  const built = assembleFinetune({ cfg, rng: RandomStream.derive(o.seed, 0, 'finetune-init'), ...(o.pretrained ? { pretrained: o.pretrained } : {}) });
  if (E.isLeft(built)) throw built.left;
  const { store, network } = built.right;
  const run = cmShortRun(o.steps);
  const optimizer = new AdamW(store, {
    ...EPG_CM_OPTIMIZER,
    lr: cmLearningRate(o.lr, run),
    groups: finetuneParamGroups(store, cfg, { weightDecay: EPG_CM_OPTIMIZER.weightDecay }),
  });
  const frozen = o.pretrained && o.auxWeight > 0 ? freezeEncoder(o.pretrained, cfg) : undefined;
  const aux: AuxiliaryLossOptions | undefined = frozen ? { encoder: encoderAt(frozen.encoder, space), weight: o.auxWeight, tau: 0.1, frozenStore: frozen.store } : undefined;
  const denoiser = boundaryDenoiser(network, space);
  const config: ConsistencyConfig = { ect: { ...EPG_CM_ECT, stageSteps: o.stageSteps ?? run.stageSteps }, distance: { kind: 'ect', c: 0.06 } };
  const consistency: number[] = [];
  const auxiliary: number[] = [];
  const total: number[] = [];
  const t0 = performance.now();
  try {
    for (let step = 0; step < o.steps; step++) {
      const rs = RandomStream.derive(o.seed, step, 'cm');
      const x0 = batchOf(o.data, rs.child('batch').permutation(o.data.count).subarray(0, o.batch)); // [B, 28, 28, 1]
      try {
        const res = consistencyTrainStep({ store, optimizer, denoiser, x0, rs, space, step, config, ...(aux ? { auxiliary: aux } : {}) });
        if (res.skipped) throw new Error(`arm ${o.name}: step ${step} skipped (loss ${res.loss})`);
        consistency.push(res.terms.consistency);
        if (res.terms.auxiliary !== undefined) auxiliary.push(res.terms.auxiliary);
        total.push(res.loss);
        if (o.log && (step % 50 === 0 || step === o.steps - 1)) {
          o.log(`${o.name} step ${step} stage ${res.stage} gradNorm ${res.gradNorm.toFixed(2)} consistency ${res.terms.consistency.toFixed(3)}${res.terms.auxiliary !== undefined ? ` auxiliary ${res.terms.auxiliary.toFixed(3)}` : ''}`);
        }
      } finally {
        x0.dispose();
      }
    }
    store.eval();
    const { mean: heldOutConsistency, byT: heldOutByT } = heldOutTerm(o, denoiser, space, config, o.steps - 1);
    const denoiseMse = denoiseError(o, denoiser, space);
    const latents = normalTensor(RandomStream.derive(o.seed, 0, 'latent'), [o.samples, 28, 28, 1]) as tf.Tensor4D; // [S, 28, 28, 1]
    const { x } = sampleConsistencyOneStep(denoiser, latents, shiftedGrid(space, 1)); // [S, 28, 28, 1]
    const pixels = quantizeUnitRange(x);
    tf.dispose([x, latents]);
    return { name: o.name, consistency, auxiliary, total, heldOutConsistency, heldOutByT, denoiseMse, pixels, seconds: (performance.now() - t0) / 1000 };
  } finally {
    optimizer.dispose();
    store.dispose();
    frozen?.store.dispose();
  }
}

const T_BINS = [0.1, 1, 10, Infinity];

/** Mean consistency term over the held-out set in batches of `o.batch`, fixed pairs at `step`'s stage. */
function heldOutTerm(o: CmArmOptions, denoiser: ReturnType<typeof boundaryDenoiser>, space: ReturnType<typeof noiseSpace>, config: ConsistencyConfig, step: number): { mean: number; byT: Record<string, number> } {
  let sum = 0;
  let n = 0;
  const binSum = T_BINS.map(() => 0);
  const binN = T_BINS.map(() => 0);
  for (let start = 0; start + o.batch <= o.heldOut.count; start += o.batch) {
    const idx = Array.from({ length: o.batch }, (_, i) => start + i);
    const x0 = batchOf(o.heldOut, idx); // [B, 28, 28, 1]
    const batch = prepareConsistencyBatch({ denoiser, x0, rs: RandomStream.derive(o.seed + 1, start, 'held-out'), step, space, config });
    try {
      const loss = consistencyLoss(batch, denoiser, space, { config });
      sum += loss.terms.consistency.dataSync()[0];
      n++;
      tf.dispose([loss.total, loss.terms.consistency]);
      const perSample = tf.tidy(() => consistencyDistance(denoiser(batch.xt, batch.t, undefined, { dropout: RandomStream.fromState(batch.dropout) }), batch.target, config.distance).dataSync()); // [B]
      for (let i = 0; i < o.batch; i++) {
        const b = T_BINS.findIndex((edge) => batch.t[i] / space.shift < edge);
        binSum[b] += perSample[i] * batch.weight[i];
        binN[b]++;
      }
    } finally {
      batch.dispose();
      x0.dispose();
    }
  }
  return { mean: sum / n, byT: Object.fromEntries(T_BINS.map((e, b) => [String(e), binSum[b] / Math.max(1, binN[b])])) };
}

/** Held-out x₀ MSE of one denoiser call at each unshifted σ (same ε for every arm). */
function denoiseError(o: CmArmOptions, denoiser: ReturnType<typeof boundaryDenoiser>, space: ReturnType<typeof noiseSpace>): Record<string, number> {
  const out: Record<string, number> = {};
  const x0 = batchOf(o.heldOut, Array.from({ length: o.heldOut.count }, (_, i) => i)); // [N, 28, 28, 1]
  for (const s of [0.2, 2, 10, 80]) {
    const sigma = new Float64Array(o.heldOut.count).fill(s * space.shift);
    out[String(s)] = tf.tidy(() => {
      const eps = normalTensor(RandomStream.derive(o.seed + 2, 0, 'denoise'), x0.shape); // [N, 28, 28, 1]
      const pred = denoiser(tf.add(x0, tf.mul(eps, s * space.shift)) as tf.Tensor4D, sigma); // [N, 28, 28, 1]
      return tf.mean(tf.square(tf.sub(pred, x0))).dataSync()[0];
    });
  }
  x0.dispose();
  return out;
}

export const meanOf = (a: readonly number[]): number => a.reduce((s, v) => s + v, 0) / a.length;
