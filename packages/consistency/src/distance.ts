/**
 * Per-sample distances between the online output f_θ(x_t, t) and the target f_θ⁻(x_r, r)
 * (docs/consistency.md, "Distance"). All three sum over every pixel and channel of a sample.
 *
 *  - 'ect' (EPG's default): D / sg(√(D + c²)) with D = ‖a − b‖², c = 0.06 [EPG:denoiser-train
 *    `ConsisTuneStep`]. Its value is D/√(D + c²); its gradient is 2(a − b)/√(D + c²), twice the
 *    pseudo-Huber gradient.
 *  - 'pseudo-huber': √(D + c²) − c [iCT].
 *  - 'l2': D, the squared L2 distance.
 *  - 'custom': a code variant's function (docs/variants.md, kind 'cm-distance'), given c.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { CmDistanceFn } from '@epg/contracts';
import { epgError, stopGradient } from '@epg/tensor';

export type DistanceKind = 'ect' | 'pseudo-huber' | 'l2';

export type DistanceOptions =
  | {
      readonly kind: DistanceKind;
      /** c of 'ect' and 'pseudo-huber' (EPG: 0.06, not scaled by the dimension). Ignored by 'l2'. */
      readonly c: number;
    }
  | {
      readonly kind: 'custom';
      /** Passed to `fn` (the config's huberC). */
      readonly c: number;
      /** For error messages: the variant's package. */
      readonly name: string;
      readonly fn: CmDistanceFn;
    };

/** EPG's distance: D / sg(√(D + c²)), c = 0.06. */
export const EPG_CM_DISTANCE: DistanceOptions = Object.freeze({ kind: 'ect', c: 0.06 });

export function checkDistanceOptions(opts: DistanceOptions, fn: string): void {
  if (opts.kind === 'custom') {
    if (typeof opts.fn !== 'function') throw new RangeError(`distance.fn passed to ${fn} must be a function for kind 'custom'`);
  } else if (opts.kind !== 'ect' && opts.kind !== 'pseudo-huber' && opts.kind !== 'l2') {
    throw new RangeError(`distance.kind passed to ${fn} must be 'ect', 'pseudo-huber', 'l2' or 'custom', got '${String((opts as { kind: unknown }).kind)}'`);
  }
  if (opts.kind !== 'l2' && !(opts.c > 0 && Number.isFinite(opts.c))) {
    throw new RangeError(`distance.c passed to ${fn} must be a finite number > 0 (EPG: 0.06), got ${opts.c}`);
  }
}

/**
 * d(a_i, b_i) per sample → [B]. Differentiable in both inputs (the CM step passes a target computed
 * outside the gradient tape as `b`). Runs in tf.tidy; inputs are not disposed.
 */
export function consistencyDistance(a: tf.Tensor4D, b: tf.Tensor4D, opts: DistanceOptions = EPG_CM_DISTANCE): tf.Tensor1D {
  checkDistanceOptions(opts, 'consistencyDistance');
  if (a.shape.some((d, i) => d !== b.shape[i])) {
    throw new RangeError(`consistencyDistance: the two inputs must have the same shape, got [${a.shape}] and [${b.shape}]`);
  }
  if (opts.kind === 'custom') {
    const B = a.shape[0];
    return tf.tidy(() => {
      const d = opts.fn(a, b, { c: opts.c });
      if (!d || d.rank !== 1 || d.shape[0] !== B) {
        throw epgError('shape', `the 'cm-distance' variant ${opts.name} returned shape [${d?.shape}], expected one value per sample [${B}]`, 'return a [B] tensor');
      }
      return d;
    });
  }
  return tf.tidy(() => {
    const sq = tf.sum(tf.square(tf.sub(a, b)), [1, 2, 3]) as tf.Tensor1D; // [B] D = ‖a − b‖²
    if (opts.kind === 'l2') return sq;
    const root = tf.sqrt(tf.add(sq, opts.c * opts.c)) as tf.Tensor1D; // [B] √(D + c²)
    if (opts.kind === 'pseudo-huber') return tf.sub(root, opts.c) as tf.Tensor1D;
    return tf.div(sq, stopGradient(root)) as tf.Tensor1D;
  });
}
