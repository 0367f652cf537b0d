/**
 * MoCo v3's predictor head [MoCo3 `_build_predictor_mlp`, ViT: 2 layers]: Linear(o→h, no bias) → BN →
 * ReLU → Linear(h→o, no bias) → BN without affine parameters. It sits on the online projector output
 * only. Its BatchNorms always use batch statistics: the predictor exists only during pre-training and is
 * never evaluated, so it keeps no running statistics.
 */
import * as tf from '@tensorflow/tfjs-core';
import { uniformTensor, type ParameterStore, type RandomStream } from '@epg/tensor';

const BN_EPS = 1e-5;

/** Registers `predictor.*` in `store` (Xavier-uniform Linears, BN weight 1 / bias 0). */
export function addPredictor(store: ParameterStore, rng: RandomStream, dim: number, hidden: number): void {
  const xavier = (name: string, fanIn: number, fanOut: number) =>
    store.add(name, uniformTensor(rng.child(name), [fanIn, fanOut], -Math.sqrt(6 / (fanIn + fanOut)), Math.sqrt(6 / (fanIn + fanOut))));
  xavier('predictor.0.weight', dim, hidden);
  store.add('predictor.1.weight', tf.ones([hidden]));
  store.add('predictor.1.bias', tf.zeros([hidden]));
  xavier('predictor.3.weight', hidden, dim);
}

function batchNorm(x: tf.Tensor2D): tf.Tensor2D {
  const { mean, variance } = tf.moments(x, 0);
  return tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, BN_EPS))) as tf.Tensor2D;
}

/** The predictor applied to projector outputs p [B, o] → [B, o]. Runs in tf.tidy. */
export function predictorForward(store: ParameterStore, p: tf.Tensor2D): tf.Tensor2D {
  if (p.shape[0] < 2) throw new Error(`predictor: BatchNorm needs a batch of at least 2, got ${p.shape[0]}`);
  return tf.tidy(() => {
    const h = batchNorm(tf.matMul(p, store.get('predictor.0.weight'))); // [B, h]
    const a = tf.relu(tf.add(tf.mul(h, store.get('predictor.1.weight')), store.get('predictor.1.bias'))); // [B, h]
    return batchNorm(tf.matMul(a, store.get('predictor.3.weight')) as tf.Tensor2D); // [B, o]
  });
}
