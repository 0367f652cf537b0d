/**
 * BatchNorm over every axis but the last (the channel axis of NHWC activations; Ioffe & Szegedy
 * 2015), optionally followed by ReLU, as one op with its gradient. On the cpu backend with native
 * kernels it is one native pass forward (two for the batch statistics) and two backward, instead of
 * ≈ 12 elementwise passes and ReLU's Step kernel; elsewhere (wasm, no addon, non-float32) it is the
 * plain tfjs composition below, which is also the reference the tests compare the native path with.
 * Imports no Node module (the browser entry re-exports it).
 */
import * as tf from '@tensorflow/tfjs-core';
import { nativeKernelsActive } from './active';

/** inputs {x, gamma, beta}, attrs {eps, relu}: outputs [y, batch mean, batch variance (biased)]. */
export const EPG_BATCH_NORM_ACT = 'EpgBatchNormAct';
/** inputs {x, gamma, mean, variance, y, dy}, attrs {eps, relu}: outputs [dx, dgamma, dbeta]. */
export const EPG_BATCH_NORM_ACT_GRAD = 'EpgBatchNormActGrad';
/** inputs {x, scale, shift}, attrs {relu}: output y = act(x · scale + shift), scale/shift per channel. */
export const EPG_SCALE_SHIFT_ACT = 'EpgScaleShiftAct';

export interface BatchNormOptions {
  /** Added to the variance before the square root. */
  readonly eps: number;
  /** Apply ReLU to the result (default false). */
  readonly relu?: boolean;
  /**
   * Inference mode: normalise with these statistics (e.g. running averages, shape [C]) instead of
   * the batch's. Give both or neither.
   */
  readonly mean?: tf.Tensor;
  readonly variance?: tf.Tensor;
}

export interface BatchNormResult {
  /** act((x − mean) · rsqrt(var + eps) · gamma + beta), shape of x. */
  readonly y: tf.Tensor;
  /**
   * Training mode only: the batch's mean and biased variance per channel ([C]), for running
   * averages. They carry no gradient (use them as constants, as a running-average update does).
   */
  readonly mean?: tf.Tensor;
  readonly variance?: tf.Tensor;
}

function useNative(...xs: Array<tf.Tensor | undefined>): boolean {
  return nativeKernelsActive() && xs.every((x) => x === undefined || x.dtype === 'float32');
}

function check(x: tf.Tensor, named: Array<[string, tf.Tensor | undefined]>): number {
  if (x.rank < 2) throw new Error(`batchNorm: x has shape [${x.shape}]: give at least [rows, channels].`);
  const c = x.shape[x.rank - 1];
  for (const [name, p] of named) {
    if (p && (p.rank !== 1 || p.shape[0] !== c)) {
      throw new Error(`batchNorm: ${name} has shape [${p.shape}] but x has ${c} channels (last axis): give a 1-D tensor of length ${c}.`);
    }
  }
  return c;
}

/**
 * BatchNorm (+ ReLU) of x [..., C] with per-channel gamma and beta. Without `mean`/`variance` it
 * uses the batch's statistics over all axes but the last and returns them (training mode); with
 * them it normalises by those (inference mode). Returns new tensors the caller owns.
 */
export function batchNorm(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, opts: BatchNormOptions): BatchNormResult {
  if ((opts.mean === undefined) !== (opts.variance === undefined)) {
    throw new Error('batchNorm: pass both mean and variance (inference mode) or neither (batch statistics).');
  }
  if (!(opts.eps >= 0)) throw new Error(`batchNorm: eps = ${opts.eps}; give a number >= 0 (e.g. 1e-3).`);
  check(x, [['gamma', gamma], ['beta', beta], ['mean', opts.mean], ['variance', opts.variance]]);
  const relu = opts.relu ?? false;
  if (opts.mean && opts.variance) {
    const mean = opts.mean;
    const variance = opts.variance;
    if (!useNative(x, gamma, beta, mean, variance)) return { y: batchNormInferenceReference(x, gamma, beta, mean, variance, opts.eps, relu) };
    return {
      y: tf.tidy(() => {
        const scale = tf.mul(gamma, tf.rsqrt(tf.add(variance, opts.eps)));
        const shift = tf.sub(beta, tf.mul(mean, scale));
        return tf.engine().runKernel(EPG_SCALE_SHIFT_ACT, { x, scale, shift }, { relu }) as tf.Tensor;
      }),
    };
  }
  if (!useNative(x, gamma, beta)) return batchNormTrainReference(x, gamma, beta, opts.eps, relu);
  const [y, mean, variance] = tf.engine().runKernel(EPG_BATCH_NORM_ACT, { x, gamma, beta }, { eps: opts.eps, relu }) as tf.Tensor[];
  return { y, mean, variance };
}

/** Training-mode composition (tf.moments, rsqrt, mul, add, relu): the fallback and the test reference. */
export function batchNormTrainReference(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, eps: number, relu: boolean): Required<BatchNormResult> {
  const axes = [...Array(x.rank - 1).keys()];
  const { mean, variance } = tf.moments(x, axes);
  const y = tf.tidy(() => {
    const z = tf.add(tf.mul(tf.sub(x, mean), tf.mul(tf.rsqrt(tf.add(variance, eps)), gamma)), beta);
    return relu ? tf.relu(z) : z;
  });
  return { y, mean, variance };
}

/** Inference-mode composition: the fallback and the test reference. */
export function batchNormInferenceReference(
  x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, mean: tf.Tensor, variance: tf.Tensor, eps: number, relu: boolean,
): tf.Tensor {
  return tf.tidy(() => {
    const z = tf.add(tf.mul(tf.sub(x, mean), tf.mul(tf.rsqrt(tf.add(variance, eps)), gamma)), beta);
    return relu ? tf.relu(z) : z;
  });
}

/** Sum over all axes but the last. */
function channelSum(t: tf.Tensor): tf.Tensor {
  return tf.sum(tf.reshape(t, [-1, t.shape[t.rank - 1]]), 0);
}

// Gradients (used only on the cpu backend, where the kernels above are registered natively).
tf.registerGradient({
  kernelName: EPG_BATCH_NORM_ACT,
  inputsToSave: ['x', 'gamma'],
  outputsToSave: [true, true, true],
  gradFunc: (dy, saved, attrs) => {
    const [x, gamma, y, mean, variance] = saved;
    const dyY = Array.isArray(dy) ? dy[0] : dy;
    const [dx, dgamma, dbeta] = tf.engine().runKernel(
      EPG_BATCH_NORM_ACT_GRAD, { x, gamma, mean, variance, y, dy: dyY }, attrs as unknown as tf.NamedAttrMap,
    ) as tf.Tensor[];
    return { x: () => dx, gamma: () => dgamma, beta: () => dbeta };
  },
});

// Inference mode is not a training path: its gradient is a plain composition.
tf.registerGradient({
  kernelName: EPG_SCALE_SHIFT_ACT,
  inputsToSave: ['x', 'scale'],
  outputsToSave: [true],
  gradFunc: (dy, saved, attrs) => {
    const [x, scale, y] = saved;
    const g = (attrs as { relu?: boolean }).relu ? tf.mul(dy as tf.Tensor, tf.step(y)) : (dy as tf.Tensor);
    return { x: () => tf.mul(g, scale), scale: () => channelSum(tf.mul(g, x)), shift: () => channelSum(g) };
  },
});
