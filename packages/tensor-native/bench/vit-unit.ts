/**
 * The training unit of docs/toolchain.md §13 written with plain tfjs ops (so it runs before @epg/vit exists):
 * a pre-norm ViT encoder on 32×32×3 images, patch 4 (64 patches + [CLS] + time token = 66 tokens),
 * width 192, depth 6, 3 heads, MLP ×4 with exact (erf) GELU; one forward + backward of a scalar loss.
 * `fused: true` swaps LayerNorm, GELU and the dense layers for this package's fused ops; the maths
 * is the same.
 */
import * as tf from '@tensorflow/tfjs-core';
import { attention, attentionReference, gelu, geluReference, layerNorm, layerNormReference, linear, linearReference } from '../src';

export interface UnitConfig {
  readonly batch: number;
  readonly image: number;
  readonly channels: number;
  readonly patch: number;
  readonly width: number;
  readonly depth: number;
  readonly heads: number;
  readonly mlpRatio: number;
}

export const TINY_UNIT: UnitConfig = { batch: 64, image: 32, channels: 3, patch: 4, width: 192, depth: 6, heads: 3, mlpRatio: 4 };

const TIME_FEATURES = 64;
const LN_EPS = 1e-6;

export function tokenCount(c: UnitConfig): number {
  return (c.image / c.patch) ** 2 + 2;
}

/** FLOPs of one forward + backward: 3× the forward's matrix products (elementwise work not counted). */
export function unitFlops(c: UnitConfig): number {
  const t = tokenCount(c);
  const rows = c.batch * t;
  const w = c.width;
  const hidden = w * c.mlpRatio;
  const perBlock = 2 * rows * w * (3 * w) + 2 * rows * w * w + 2 * 2 * rows * w * hidden + 2 * 2 * c.batch * t * t * w;
  const patchIn = c.patch * c.patch * c.channels;
  const embed = 2 * c.batch * (t - 2) * patchIn * w + 2 * c.batch * TIME_FEATURES * w;
  return 3 * (embed + c.depth * perBlock);
}

export type Params = Record<string, tf.Variable>;

/** Parameters with fixed seeds (tfjs's seeded normal), so every variant trains the same network. */
export function makeParams(c: UnitConfig): Params {
  const w = c.width;
  const hidden = w * c.mlpRatio;
  const patchIn = c.patch * c.patch * c.channels;
  const t = tokenCount(c);
  let seed = 1;
  const normal = (shape: number[], std: number) => tf.variable(tf.randomNormal(shape, 0, std, 'float32', seed++));
  const zeros = (shape: number[]) => tf.variable(tf.zeros(shape));
  const ones = (shape: number[]) => tf.variable(tf.ones(shape));
  const p: Params = {
    patchW: normal([patchIn, w], 0.02),
    patchB: zeros([w]),
    timeW: normal([TIME_FEATURES, w], 0.02),
    timeB: zeros([w]),
    cls: normal([1, 1, w], 0.02),
    pos: normal([1, t, w], 0.02),
    normG: ones([w]),
    normB: zeros([w]),
  };
  for (let i = 0; i < c.depth; i++) {
    Object.assign(p, {
      [`b${i}.ln1g`]: ones([w]),
      [`b${i}.ln1b`]: zeros([w]),
      [`b${i}.qkvW`]: normal([w, 3 * w], 0.02),
      [`b${i}.qkvB`]: zeros([3 * w]),
      [`b${i}.projW`]: normal([w, w], 0.02),
      [`b${i}.projB`]: zeros([w]),
      [`b${i}.ln2g`]: ones([w]),
      [`b${i}.ln2b`]: zeros([w]),
      [`b${i}.fc1W`]: normal([w, hidden], 0.02),
      [`b${i}.fc1B`]: zeros([hidden]),
      [`b${i}.fc2W`]: normal([hidden, w], 0.02),
      [`b${i}.fc2B`]: zeros([w]),
    });
  }
  return p;
}

export interface UnitInputs {
  readonly images: tf.Tensor4D;
  readonly timeFeatures: tf.Tensor2D;
  /** Regression target for the final tokens (a LayerNorm'd output has a constant mean square). */
  readonly target: tf.Tensor3D;
}

export function makeInputs(c: UnitConfig): UnitInputs {
  return {
    images: tf.randomNormal([c.batch, c.image, c.image, c.channels], 0, 1, 'float32', 101) as tf.Tensor4D,
    timeFeatures: tf.randomNormal([c.batch, TIME_FEATURES], 0, 1, 'float32', 102) as tf.Tensor2D,
    target: tf.randomNormal([c.batch, tokenCount(c), c.width], 0, 1, 'float32', 103) as tf.Tensor3D,
  };
}

/** The encoder's scalar loss: mean squared error of the final LayerNorm'd tokens against a target. */
export function encoderLoss(c: UnitConfig, p: Params, inputs: UnitInputs, fused: boolean): tf.Scalar {
  const { images, timeFeatures, target } = inputs;
  const ln = fused ? layerNorm : layerNormReference;
  const act = fused ? gelu : geluReference;
  const dense = fused ? linear : linearReference;
  const { batch: b, patch: ps, width: w, heads: h } = c;
  const g = c.image / ps;
  const P = (name: string) => p[name];
  // Patchify: [B, H, W, C] -> [B, g*g, ps*ps*C], then one dense layer.
  const patches = tf.reshape(
    tf.transpose(tf.reshape(images, [b, g, ps, g, ps, c.channels]), [0, 1, 3, 2, 4, 5]),
    [b, g * g, ps * ps * c.channels],
  );
  const patchTok = dense(patches, P('patchW') as tf.Tensor2D, P('patchB') as tf.Tensor1D);
  const timeTok = tf.reshape(dense(timeFeatures, P('timeW') as tf.Tensor2D, P('timeB') as tf.Tensor1D), [b, 1, w]);
  const cls = tf.tile(P('cls'), [b, 1, 1]);
  let x = tf.add(tf.concat([cls, timeTok, patchTok], 1), P('pos'));
  for (let i = 0; i < c.depth; i++) {
    const k = (s: string) => P(`b${i}.${s}`);
    const y = ln(x, k('ln1g') as tf.Tensor1D, k('ln1b') as tf.Tensor1D, LN_EPS);
    const qkv = dense(y, k('qkvW') as tf.Tensor2D, k('qkvB') as tf.Tensor1D);
    const merged = (fused ? attention : attentionReference)(qkv, h);
    x = tf.add(x, dense(merged, k('projW') as tf.Tensor2D, k('projB') as tf.Tensor1D));
    const z = ln(x, k('ln2g') as tf.Tensor1D, k('ln2b') as tf.Tensor1D, LN_EPS);
    const hid = act(dense(z, k('fc1W') as tf.Tensor2D, k('fc1B') as tf.Tensor1D));
    x = tf.add(x, dense(hid, k('fc2W') as tf.Tensor2D, k('fc2B') as tf.Tensor1D));
  }
  const out = ln(x, P('normG') as tf.Tensor1D, P('normB') as tf.Tensor1D, LN_EPS);
  return tf.mean(tf.square(tf.sub(out, target)));
}

/** One forward + backward; returns the loss and disposes the gradients. */
export function trainingUnit(c: UnitConfig, p: Params, inputs: UnitInputs, fused: boolean): number {
  const vars = Object.values(p);
  const { value, grads } = tf.variableGrads(() => encoderLoss(c, p, inputs, fused), vars);
  const loss = value.dataSync()[0];
  // Touch every gradient so lazy backends finish the work inside the timed call.
  for (const gr of Object.values(grads)) gr.dataSync();
  value.dispose();
  tf.dispose(grads);
  return loss;
}
