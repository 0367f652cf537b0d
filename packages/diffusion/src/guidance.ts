/**
 * Classifier-free guidance as a Denoiser → Denoiser wrapper, with EPG's σ-interval (docs/method.md,
 * "Sampling") [Ho & Salimans 2022; interval: Kynkäänniemi et al. 2024; EPG rcm/rcm_denoiser.py].
 */
import * as tf from '@tensorflow/tfjs-core';
import { epgError } from '@epg/tensor';
import { guidanceActive, type NoiseSpace } from '@epg/schedules';
import { checkImages, checkSigmas, scaleRows, type Cond, type Denoiser, type NetworkCall, type Sigmas } from '@epg/contracts';

/**
 * Passes over the batch made by a guided denoiser. With a shared σ per batch (all samplers here) each
 * pass is one network evaluation per image, so these are the per-image NFE of the paper's "75 NFE".
 */
export interface EvaluationCounter {
  conditional: number;
  unconditional: number;
}

export function createEvaluationCounter(): EvaluationCounter {
  return { conditional: 0, unconditional: 0 };
}

export interface GuidanceOptions {
  /** Guidance scale s: guided = D_u + s·(D_c − D_u) (EPG-XL: 2.5; s = 1 is plain conditional). */
  readonly scale: number;
  /** The null label (= numClasses; 1000 on ImageNet) used for the unconditional pass. */
  readonly nullLabel: number;
  /**
   * The noise space of the resolution: guidance runs only where guidanceActive(space, σ), i.e. the
   * shifted σ ∈ (low·shift, high·shift] of space.guidanceInterval (EPG: (0.19, 1.61]); everywhere when
   * the space has no interval (plain CFG).
   */
  readonly space: NoiseSpace;
  /** Counts the passes (optional). */
  readonly counter?: EvaluationCounter;
}

/**
 * CFG on x̂₀ predictions with an optional σ-interval [EPG §6]. The conditional and unconditional passes
 * are two calls of the inner denoiser on the same batch (not one concatenated batch), so a pass is
 * counted once per call. Needs cond.labels. The interval test runs on the host σ.
 */
export function classifierFreeGuidance(denoiser: Denoiser, opts: GuidanceOptions): Denoiser {
  const { scale, nullLabel, space } = opts;
  if (!Number.isFinite(scale)) throw epgError('config', `classifierFreeGuidance needs a finite scale, got ${scale}`, 'pass e.g. scale: 2.5');
  if (!Number.isInteger(nullLabel) || nullLabel < 0) {
    throw epgError('config', `classifierFreeGuidance needs nullLabel = numClasses (a non-negative integer), got ${nullLabel}`, 'pass the class count of the model');
  }
  if (!space) throw epgError('config', 'classifierFreeGuidance needs options.space', 'pass noiseSpace(resolution)');
  return (x: tf.Tensor4D, sigma: Sigmas, cond?: Cond, call?: NetworkCall) =>
    tf.tidy(() => {
      checkImages(x, 'classifierFreeGuidance');
      checkSigmas(sigma, x.shape[0], 'classifierFreeGuidance');
      const labels = cond?.labels;
      if (!labels) throw epgError('config', 'classifierFreeGuidance needs cond.labels (int32 class ids, one per image)', 'pass cond: { labels } to the sampler');
      const guided = Array.from(sigma, (v) => guidanceActive(space, v));
      const dCond = denoiser(x, sigma, cond, call);
      if (opts.counter) opts.counter.conditional += 1;
      if (!guided.some(Boolean)) return dCond;
      const dUncond = denoiser(x, sigma, { ...cond, labels: tf.fill([labels.shape[0]], nullLabel, 'int32') as tf.Tensor1D }, call);
      if (opts.counter) opts.counter.unconditional += 1;
      // Per-sample factor: s inside the interval, 1 outside (D_u + 1·(D_c − D_u) = D_c).
      return tf.add(dUncond, scaleRows(tf.sub(dCond, dUncond), guided.map((g) => (g ? scale : 1)))) as tf.Tensor4D;
    });
}
