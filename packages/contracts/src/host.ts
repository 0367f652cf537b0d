/**
 * Host-side helpers for per-sample scalars (σ, scalings, weights): they stay in float64 on the host
 * and reach tensors only as factors of a multiply, so nothing here reads a tensor back
 * (docs/method.md, "σ on the host").
 */
import * as tf from '@tensorflow/tfjs-core';
import { epgError } from '@epg/tensor';
import { timeValue, type TimeEncoding } from '@epg/schedules';
import type { Sigmas, TimeValues } from './types';

/**
 * Checks that σ holds one finite value > 0 per image of a batch of `batch`. Throws an EpgError
 * ('shape' for a wrong length or type, 'numeric' for a bad value) naming `fn`.
 */
export function checkSigmas(sigma: Sigmas, batch: number, fn: string): void {
  if (!(sigma instanceof Float64Array)) {
    throw epgError('shape', `sigma passed to ${fn} must be a host Float64Array [B] of shifted σ`, 'convert a tensor with Float64Array.from(t.dataSync()) once, where it is made');
  }
  if (sigma.length !== batch) {
    throw epgError('shape', `sigma passed to ${fn} must have shape [${batch}] (one σ per image), got [${sigma.length}]`, 'pass one shifted σ per image');
  }
  for (const s of sigma) {
    if (!(s > 0) || !Number.isFinite(s)) throw epgError('numeric', `sigma passed to ${fn} must be finite and > 0, got ${s}`, 'draw σ from the noise space of the resolution');
  }
}

/** The σ of every image equal to `value`: [batch]. */
export function fillSigmas(batch: number, value: number): Sigmas {
  return new Float64Array(batch).fill(value);
}

/** Time values per sample for the network's time embedding: 250·ln σ ('cm') or ¼·ln σ ('edm'), float64. */
export function timeValues(sigma: Sigmas, encoding: TimeEncoding): TimeValues {
  return Float64Array.from(sigma, (s) => timeValue(s, encoding));
}

/**
 * x[i]·values[i] along the batch axis. A shared value becomes a scalar multiply; otherwise the factors
 * are expanded on the host to x's full shape, because tfjs-cpu's broadcasting binary ops are ~50×
 * slower than its same-shape ones. Returns a new tensor (differentiable in x); uploads, never reads.
 */
export function scaleRows<T extends tf.Tensor>(x: T, values: ArrayLike<number>): T {
  const b = x.shape[0];
  if (values.length !== b) throw new RangeError(`scaleRows: ${values.length} factors for a batch of ${b}`);
  if (allEqual(values)) return tf.mul(x, values[0]);
  const per = x.size / b;
  const full = new Float32Array(x.size);
  for (let i = 0; i < b; i++) full.fill(values[i], i * per, (i + 1) * per);
  return tf.tidy(() => tf.mul(x, tf.tensor(full, x.shape)));
}

/** A [B] float32 tensor of host values (e.g. per-sample loss weights). The caller disposes it. */
export function rowTensor(values: ArrayLike<number>): tf.Tensor1D {
  return tf.tensor1d(Float32Array.from(values));
}

export function allEqual(values: ArrayLike<number>): boolean {
  for (let i = 1; i < values.length; i++) if (values[i] !== values[0]) return false;
  return true;
}

/** Asserts x is NHWC [B, H, W, C] (EpgError 'shape'). */
export function checkImages(x: tf.Tensor, fn: string): asserts x is tf.Tensor4D {
  if (x.rank !== 4) throw epgError('shape', `x passed to ${fn} must be NHWC [B, H, W, C], got shape [${x.shape}]`, 'pass a batch of images');
}
