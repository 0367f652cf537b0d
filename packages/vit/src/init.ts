/**
 * Initial values [docs/method.md §2.4]. Each tensor is drawn from its own child stream named after the
 * parameter, so a value does not depend on the order in which parameters are created. The caller
 * owns the returned tensors (ParameterStore.add takes ownership).
 */
import * as tf from '@tensorflow/tfjs-core';
import { normalTensor, truncatedNormalTensor, uniformTensor, type RandomStream } from '@epg/tensor';

/** Uniform(−b, b). */
export function uniformSym(rs: RandomStream, shape: readonly number[], bound: number): tf.Tensor {
  return uniformTensor(rs, shape, -bound, bound);
}

/** Xavier/Glorot uniform for a Linear stored (in, out): bound √(6/(in + out)) [torch.nn.init.xavier_uniform_]. */
export function xavierUniform(rs: RandomStream, fanIn: number, fanOut: number): tf.Tensor {
  return uniformSym(rs, [fanIn, fanOut], Math.sqrt(6 / (fanIn + fanOut)));
}

/**
 * MoCo v3's qkv init: Xavier bound computed as if q, k, v were three separate D×D matrices,
 * √(6/(D + D)) [rRCM:rrcm/vit.py `moco_init_weights`].
 */
export function qkvMocoUniform(rs: RandomStream, width: number): tf.Tensor {
  return uniformSym(rs, [width, 3 * width], Math.sqrt(6 / (width + width)));
}

/** PyTorch's default Conv2d/Linear init: weight and bias U(±1/√fan_in) (kaiming_uniform with a = √5). */
export function torchDefaultUniform(rs: RandomStream, shape: readonly number[], fanIn: number): tf.Tensor {
  return uniformSym(rs, shape, 1 / Math.sqrt(fanIn));
}

export { normalTensor, truncatedNormalTensor };
