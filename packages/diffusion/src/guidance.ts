/**
 * Classifier-free guidance as a Denoiser → Denoiser wrapper, with EPG's σ-interval (METHOD_SPEC §6)
 * [Ho & Salimans 2022; interval: Kynkäänniemi et al. 2024; EPG:rcm/rcm_denoiser.py@91b7383].
 */
import * as tf from '@tensorflow/tfjs-core';
import { inGuidanceInterval } from '@epg/schedules';
import { checkBatch, scaleRows, sigmaValues } from './host';
import type { Cond, Denoiser } from './types';

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
   * Guide only where the shifted σ ∈ (low·shift, high·shift]; elsewhere only the conditional pass runs.
   * null = guide at every σ (plain CFG). Default: EPG's (0.19, 1.61] with shift 1 — pass
   * { shift: noiseShift(H) } at resolution H.
   */
  readonly interval?: { readonly low?: number; readonly high?: number; readonly shift?: number } | null;
  /** Counts the passes (optional). */
  readonly counter?: EvaluationCounter;
}

/**
 * CFG on x̂₀ predictions with an optional σ-interval [EPG §6]. The conditional and unconditional passes
 * are two calls of the inner denoiser on the same batch (not one concatenated batch), so a pass is
 * counted once per call. Needs cond.labels.
 */
export function classifierFreeGuidance(denoiser: Denoiser, opts: GuidanceOptions): Denoiser {
  const { scale, nullLabel } = opts;
  if (!Number.isFinite(scale)) throw new RangeError(`classifierFreeGuidance needs a finite scale, got ${scale}`);
  if (!Number.isInteger(nullLabel) || nullLabel < 0) {
    throw new RangeError(`classifierFreeGuidance needs nullLabel = numClasses (a non-negative integer), got ${nullLabel}`);
  }
  const interval = opts.interval === undefined ? {} : opts.interval;
  return (x: tf.Tensor4D, sigma: tf.Tensor1D, cond?: Cond) =>
    tf.tidy(() => {
      checkBatch(x, sigma, 'classifierFreeGuidance');
      const labels = cond?.labels;
      if (!labels) throw new RangeError('classifierFreeGuidance needs cond.labels (int32 class ids, one per image)');
      const s = sigmaValues(sigma, 'classifierFreeGuidance');
      const guided = Array.from(s, (v) => (interval === null ? true : inGuidanceInterval(v, interval)));
      const dCond = denoiser(x, sigma, cond);
      if (opts.counter) opts.counter.conditional += 1;
      if (!guided.some(Boolean)) return dCond;
      const dUncond = denoiser(x, sigma, { ...cond, labels: tf.fill([labels.shape[0]], nullLabel, 'int32') as tf.Tensor1D });
      if (opts.counter) opts.counter.unconditional += 1;
      // Per-sample factor: s inside the interval, 1 outside (D_u + 1·(D_c − D_u) = D_c).
      return tf.add(dUncond, scaleRows(tf.sub(dCond, dUncond), guided.map((g) => (g ? scale : 1)))) as tf.Tensor4D;
    });
}
