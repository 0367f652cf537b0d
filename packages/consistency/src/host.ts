/** Small helpers between per-sample host numbers (float64) and NHWC tensors. */
import * as tf from '@tensorflow/tfjs-core';

/**
 * x[i]·values[i] for a batch-first x. A shared value is a scalar multiply; otherwise the factors are
 * expanded on the host to x's full shape, because tfjs-cpu's broadcasting binary ops are much slower
 * than its same-shape ones. Returns a new tensor (differentiable in x).
 */
export function scaleRows<T extends tf.Tensor>(x: T, values: ArrayLike<number>): T {
  const b = x.shape[0];
  if (values.length !== b) throw new RangeError(`scaleRows: ${values.length} factors for a batch of ${b}`);
  let same = true;
  for (let i = 1; i < b; i++) if (values[i] !== values[0]) same = false;
  if (same) return tf.mul(x, values[0]);
  const per = x.size / b;
  const full = new Float32Array(x.size);
  for (let i = 0; i < b; i++) full.fill(values[i], i * per, (i + 1) * per);
  return tf.mul(x, tf.tensor(full, x.shape));
}

/** σ repeated for a batch, on the host (what a Denoiser takes). */
export function filledSigmas(batch: number, sigma: number): Float64Array {
  return new Float64Array(batch).fill(sigma);
}
