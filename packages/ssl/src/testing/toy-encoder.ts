/**
 * A small encoder that implements the `Encoder` contract directly, for unit tests of the step: the
 * input is c_in(σ)·x flattened, plus a host-computed time feature ¼·ln σ; z = tanh(linear), proj = z·W.
 * The first layer is named like a ViT patch embedding so the rRCM/MoCo freezing applies to it.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Encoder } from '@epg/contracts';
import { uniformTensor, type ParameterStore, type RandomStream } from '@epg/tensor';

export interface ToySizes {
  readonly inputs: number; // H·W·C
  readonly width: number; // D
  readonly proj: number; // O
}

export function addToyEncoder(store: ParameterStore, rng: RandomStream, s: ToySizes): void {
  const u = (name: string, shape: number[], bound: number) => store.add(name, uniformTensor(rng.child(name), shape, -bound, bound));
  u('patch_embed.proj.weight', [s.inputs, s.width], Math.sqrt(6 / (s.inputs + s.width)));
  store.add('patch_embed.proj.bias', tf.zeros([s.width]));
  u('time.weight', [1, s.width], 1);
  u('head.weight', [s.width, s.proj], Math.sqrt(6 / (s.width + s.proj)));
}

/** The σ-level encoder over any store holding `addToyEncoder`'s names. */
export function toyEncoder(store: ParameterStore): Encoder {
  return (x, sigma) =>
    tf.tidy(() => {
      const B = x.shape[0];
      const cIn = tf.tensor2d(Float32Array.from(sigma, (s) => 1 / Math.sqrt(s * s + 0.25)), [B, 1]);
      const time = tf.tensor2d(Float32Array.from(sigma, (s) => Math.log(s) / 4), [B, 1]);
      const flat = tf.mul(tf.reshape(x, [B, -1]), cIn); // [B, P]
      const pre = tf.add(tf.add(tf.matMul(flat, store.get('patch_embed.proj.weight')), store.get('patch_embed.proj.bias')), tf.matMul(time, store.get('time.weight'))); // [B, D]
      const cls = tf.tanh(pre) as tf.Tensor2D; // [B, D]
      return { cls, proj: tf.matMul(cls, store.get('head.weight')) as tf.Tensor2D }; // [B, O]
    });
}
