/** Small helpers moving per-sample scalars between the host (float64) and tensors. */
import * as tf from '@tensorflow/tfjs-core';

/** The values of a [B] σ tensor on the host, checked to be finite and > 0. */
export function sigmaValues(sigma: tf.Tensor1D, fn: string): Float64Array {
  if (sigma.rank !== 1) throw new RangeError(`sigma passed to ${fn} must be a 1-D tensor [B], got shape [${sigma.shape}]`);
  const out = Float64Array.from(sigma.dataSync());
  for (const s of out) {
    if (!(s > 0) || !Number.isFinite(s)) throw new RangeError(`sigma passed to ${fn} must be finite and > 0, got ${s}`);
  }
  return out;
}

/**
 * x[i]·values[i] for NHWC x. A shared value becomes a scalar multiply; otherwise the factors are expanded
 * on the host to x's full shape, because tfjs-cpu's broadcasting binary ops are ~50× slower than its
 * same-shape ones. Returns a new tensor (differentiable in x).
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

/** Asserts x is [B, H, W, C] and σ is [B]. */
export function checkBatch(x: tf.Tensor, sigma: tf.Tensor, fn: string): void {
  if (x.rank !== 4) throw new RangeError(`x passed to ${fn} must be NHWC [B, H, W, C], got shape [${x.shape}]`);
  if (sigma.rank !== 1 || sigma.shape[0] !== x.shape[0]) {
    throw new RangeError(`sigma passed to ${fn} must have shape [${x.shape[0]}] (one σ per image), got [${sigma.shape}]`);
  }
}
