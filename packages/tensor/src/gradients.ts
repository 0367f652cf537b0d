/** Gradient utilities that tfjs lacks: stop-gradient, global-norm clipping, finiteness checks. */
import * as tf from '@tensorflow/tfjs-core';
import { sumSquaresEach } from '@epg/tensor-native';

/**
 * Identity in the forward pass, zero gradient in the backward pass (PyTorch `.detach()`,
 * JAX `stop_gradient`). tfjs has no such op; a custom gradient returning zeros gives it.
 */
export function stopGradient<T extends tf.Tensor>(x: T): T {
  // customGrad's typing passes the save function in the same rest list as the inputs.
  const f = tf.customGrad(((input: tf.Tensor) => ({
    value: tf.clone(input),
    gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy),
  })) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(x) as T;
}

export type NamedTensors = Record<string, tf.Tensor>;

/** sqrt(Σ‖g‖²) over all tensors, as a host number (NaN/Infinity propagate). */
export function globalNorm(grads: NamedTensors): number {
  return tf.tidy(() => {
    const parts = Object.values(grads);
    if (parts.length === 0) return 0;
    return Math.sqrt(tf.sum(sumSquaresEach(parts)).dataSync()[0]);
  });
}

/**
 * Scales gradients so their global norm is at most `maxNorm` (PyTorch `clip_grad_norm_`:
 * factor min(1, maxNorm / (norm + 1e-6))). Returns new tensors; the caller disposes inputs and outputs.
 */
export function clipByGlobalNorm(grads: NamedTensors, maxNorm: number, norm = globalNorm(grads)): NamedTensors {
  const factor = Math.min(1, maxNorm / (norm + 1e-6));
  const out: NamedTensors = {};
  for (const [k, g] of Object.entries(grads)) out[k] = tf.tidy(() => tf.mul(g, factor));
  return out;
}

export function disposeAll(ts: NamedTensors): void {
  for (const t of Object.values(ts)) t.dispose();
}
