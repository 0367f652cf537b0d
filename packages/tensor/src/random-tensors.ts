/**
 * Tensors filled from a seeded `RandomStream`. Numbers are drawn on the host, so the same stream gives
 * bit-identical tensors on every backend. The caller owns (and disposes) the returned tensor.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { RandomStream } from './random';

const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

export function normalTensor(rs: RandomStream, shape: readonly number[], mean = 0, std = 1): tf.Tensor {
  return tf.tensor(rs.fillNormal(new Float32Array(size(shape)), mean, std), [...shape], 'float32');
}

export function uniformTensor(rs: RandomStream, shape: readonly number[], lo = 0, hi = 1): tf.Tensor {
  return tf.tensor(rs.fillUniform(new Float32Array(size(shape)), lo, hi), [...shape], 'float32');
}

/**
 * Normal(mean, std²) truncated to [a, b] by rejection, with absolute bounds as PyTorch's
 * `trunc_normal_` (so std 0.02 with the default [-2, 2] is in effect untruncated, as in timm/EPG).
 */
export function truncatedNormalTensor(
  rs: RandomStream,
  shape: readonly number[],
  std: number,
  mean = 0,
  a = -2,
  b = 2,
): tf.Tensor {
  if (!(a < b)) throw new RangeError(`truncated normal needs a < b, got [${a}, ${b}]`);
  const out = new Float32Array(size(shape));
  for (let i = 0; i < out.length; i++) {
    let v: number;
    let tries = 0;
    do {
      v = mean + std * rs.normal();
      if (++tries > 1000) throw new RangeError(`truncated normal: [${a}, ${b}] is too far from N(${mean}, ${std}²)`);
    } while (v < a || v > b);
    out[i] = v;
  }
  return tf.tensor(out, [...shape], 'float32');
}
