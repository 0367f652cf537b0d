/**
 * Ready-made `prepare` functions for ImageLoader: the pre-training triple (x0, view1, view2) with
 * CFG label dropout, and the conversion of a prepared batch to tfjs tensors.
 */
import { checkPrepareOptions } from './options';
import * as tf from '@tensorflow/tfjs-core';
import { augmentPairBatch, dropLabels, type PairConfig } from './augment';
import type { RawBatch } from './loader';
import { normalizeImages, type Normalization } from './transform';

export interface PairBatch {
  readonly x0: Float32Array;
  readonly view1: Float32Array;
  readonly view2: Float32Array;
  /** Class ids after label dropout (null label = numClasses). */
  readonly labels: Int32Array;
  /** Class ids before dropout. */
  readonly trueLabels: Int32Array;
  readonly count: number;
  readonly size: number;
  readonly channels: number;
}

export interface PairPrepareOptions {
  /** CFG label-dropout probability (0 = keep every label). */
  readonly labelDropout?: number;
  /** Number of real classes; the null label is this value. */
  readonly numClasses: number;
}

/** `prepare` for pre-training: MoCo v3 pair + centre-crop/flip x0 + label dropout. */
export function pairPrepare(cfg: PairConfig, opts: PairPrepareOptions): (raw: RawBatch) => PairBatch {
  checkPrepareOptions('pairPrepare', opts);
  return (raw) => {
    const pair = augmentPairBatch(raw.images, raw.count, raw.height, raw.width, raw.channels, raw.streamFor, cfg);
    const labels = dropLabels(raw.labels, opts.labelDropout ?? 0, opts.numClasses, raw.batchStream.child('label-dropout'));
    return { ...pair, labels, trueLabels: raw.labels };
  };
}

export interface PlainBatch {
  readonly x: Float32Array;
  readonly labels: Int32Array;
  readonly trueLabels: Int32Array;
  readonly count: number;
  readonly size: number;
  readonly channels: number;
}

/** `prepare` for fine-tuning on a square set: normalise, flip with p = flipProb, label dropout. */
export function plainPrepare(normalization: Normalization, opts: PairPrepareOptions & { flipProb?: number }): (raw: RawBatch) => PlainBatch {
  checkPrepareOptions('plainPrepare', opts);
  return (raw) => {
    const { count, height: S, channels: C } = raw;
    const x = normalizeImages(raw.images, C, normalization);
    const p = opts.flipProb ?? 0.5;
    const row = new Float32Array(S * C);
    for (let i = 0; i < count; i++) {
      if (!raw.streamFor(i).child('x0').bernoulli(p)) continue;
      for (let y = 0; y < S; y++) {
        const o = ((i * S + y) * S) * C;
        row.set(x.subarray(o, o + S * C));
        for (let xx = 0; xx < S; xx++) for (let c = 0; c < C; c++) x[o + xx * C + c] = row[(S - 1 - xx) * C + c];
      }
    }
    const labels = dropLabels(raw.labels, opts.labelDropout ?? 0, opts.numClasses, raw.batchStream.child('label-dropout'));
    return { x, labels, trueLabels: raw.labels, count, size: S, channels: C };
  };
}

/** The tensors of a pair batch. Returns new tensors: the caller disposes them (e.g. tf.dispose(Object.values(t))). */
export function pairToTensors(b: PairBatch): { x0: tf.Tensor4D; view1: tf.Tensor4D; view2: tf.Tensor4D; labels: tf.Tensor1D } {
  const shape: [number, number, number, number] = [b.count, b.size, b.size, b.channels];
  return {
    x0: tf.tensor4d(b.x0, shape),
    view1: tf.tensor4d(b.view1, shape),
    view2: tf.tensor4d(b.view2, shape),
    labels: tf.tensor1d(b.labels, 'int32'),
  };
}

/** The tensors of a plain batch; the caller disposes them. */
export function plainToTensors(b: PlainBatch): { x: tf.Tensor4D; labels: tf.Tensor1D } {
  return { x: tf.tensor4d(b.x, [b.count, b.size, b.size, b.channels]), labels: tf.tensor1d(b.labels, 'int32') };
}
