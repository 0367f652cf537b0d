/**
 * Test-only tiny networks (not part of the package build): an MLP over the flattened image with a
 * scalar time feature and an optional one-hot label embedding, weights in a ParameterStore.
 * Uses matMul and one-hot products only, so it trains on cpu and wasm (no gather, no conv).
 */
import * as tf from '@tensorflow/tfjs-core';
import { normalTensor, type ParameterStore, type RandomStream } from '@epg/tensor';
import type { NetworkFn } from '@epg/contracts';

export interface TinyNetOptions {
  /** H·W·C of the images. */
  readonly pixels: number;
  readonly hidden: number;
  /** Classes including the null label (labels are ids in [0, numClasses)); 0 = unconditional. */
  readonly numClasses?: number;
  /** Multiplies the time value before it enters the net (1 for ¼ ln σ; 1/250 for 250 ln σ). */
  readonly timeScale?: number;
}

export function tinyNet(store: ParameterStore, rs: RandomStream, o: TinyNetOptions): NetworkFn {
  const { pixels: P, hidden: Hd } = o;
  const K = o.numClasses ?? 0;
  const timeScale = o.timeScale ?? 1;
  const lin = (name: string, fanIn: number, fanOut: number) => {
    store.add(`${name}.w`, normalTensor(rs.child(name), [fanIn, fanOut], 0, 1 / Math.sqrt(fanIn)));
    store.add(`${name}.b`, tf.zeros([fanOut]));
  };
  lin('inp', P + 1, Hd);
  lin('mid', Hd + 1, Hd);
  lin('out', Hd, P);
  if (K > 0) store.add('emb', normalTensor(rs.child('emb'), [K, Hd], 0, 0.5));
  const dense = (name: string, x: tf.Tensor2D) => tf.add(tf.matMul(x, store.get(`${name}.w`) as tf.Tensor2D), store.get(`${name}.b`)) as tf.Tensor2D;
  return (xIn, time, labels) =>
    tf.tidy(() => {
      const b = xIn.shape[0];
      const t = tf.tensor2d(Float32Array.from(time, (v) => v * timeScale), [b, 1]); // host time values, uploaded
      let h = tf.relu(dense('inp', tf.concat([tf.reshape(xIn, [b, P]) as tf.Tensor2D, t], 1)));
      if (K > 0 && labels) h = tf.add(h, tf.matMul(tf.oneHot(labels, K) as tf.Tensor2D, store.get('emb') as tf.Tensor2D));
      h = tf.relu(dense('mid', tf.concat([h, t], 1)));
      return tf.reshape(dense('out', h), xIn.shape) as tf.Tensor4D;
    });
}
