/**
 * The NT-Xent / InfoNCE loss of both pre-training terms (docs/ssl.md, "NT-Xent"; rRCM/EPG
 * `contrastive_loss`, MoCo v3 `contrastive_loss`):
 *
 *   ℓ_r = logsumexp_j(q̂_r·k̂_j / τ_r) − q̂_r·k̂_r / τ_r,   q̂ = q/‖q‖, k̂ = k/‖k‖,
 *
 * one direction (queries → keys, no query–query negatives), the keys of the local batch first so the
 * positive of query r is key r and the other keys are its negatives. No 2τ factor unless asked for
 * (MoCo v3 multiplies by 2τ; rRCM and EPG do not). tfjs computes in float32, logsumexp included, with
 * the max subtracted first. Exported for @epg/consistency's auxiliary loss.
 */
import * as tf from '@tensorflow/tfjs-core';
import { epgError } from '@epg/tensor';

/** τ for every query (one number) or one τ per query ([Bq], host). */
export type Temperatures = number | Float64Array | readonly number[];

export interface NtXentOptions {
  /** Multiply ℓ_r by 2τ_r, as MoCo v3 does (default false: rRCM/EPG). */
  readonly twoTauFactor?: boolean;
}

/**
 * x / max(‖x‖₂, 1e-12) over the feature axis (PyTorch F.normalize). ‖x‖₂ as √Σx² (tf.norm computes
 * |x|^2 through the Pow kernel, which has no native cpu version: ≈ 0.5 % of a pre-training step).
 */
export function l2Normalize(x: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => tf.div(x, tf.maximum(tf.sqrt(tf.sum(tf.square(x), 1, true)), 1e-12)) as tf.Tensor2D);
}

/** The per-query τ as a host array, checked (finite, > 0, one per query). */
export function temperaturesFor(tau: Temperatures, queries: number): Float64Array {
  const out = typeof tau === 'number' ? new Float64Array(queries).fill(tau) : Float64Array.from(tau);
  if (out.length !== queries) {
    throw epgError('shape', `ntXent: ${out.length} temperatures for ${queries} queries`, 'pass one τ or one per query');
  }
  for (const t of out) {
    if (!(t > 0) || !Number.isFinite(t)) throw epgError('config', `ntXent: temperature ${t} is not a finite number > 0`, 'use e.g. 0.1 or 0.2');
  }
  return out;
}

/**
 * Per-sample NT-Xent ℓ [Bq] of queries q [Bq, C] against keys k [Bk, C] (Bk >= Bq; rows 0..Bq−1 of k
 * are the positives, any further rows are extra negatives, e.g. keys gathered from other devices).
 * Gradients flow into both q and k: stop them at the caller (compute k outside the tape) when k is a
 * target. Returns a new tensor the caller disposes; inputs are not disposed.
 */
export function ntXent(q: tf.Tensor2D, k: tf.Tensor2D, tau: Temperatures, opts: NtXentOptions = {}): tf.Tensor1D {
  if (q.rank !== 2 || k.rank !== 2) throw epgError('shape', `ntXent: queries and keys must be [B, C], got [${q.shape}] and [${k.shape}]`);
  const [bq, c] = q.shape;
  const [bk, ck] = k.shape;
  if (c !== ck) throw epgError('shape', `ntXent: queries have ${c} features but keys have ${ck}`, 'project both to the same width');
  if (bk < bq) throw epgError('shape', `ntXent: ${bk} keys for ${bq} queries`, 'pass at least one key (the positive) per query, local keys first');
  const taus = temperaturesFor(tau, bq);
  const invTau = Float32Array.from(taus, (t) => 1 / t);
  return tf.tidy(() => {
    const qn = l2Normalize(q); // [Bq, C]
    const kn = l2Normalize(k); // [Bk, C]
    const logits = tf.mul(tf.matMul(qn, kn, false, true), tf.tensor2d(invTau, [bq, 1])); // [Bq, Bk]
    const lse = tf.logSumExp(logits, 1); // [Bq]
    const positive = tf.sum(tf.mul(tf.slice(logits, [0, 0], [bq, bq]), tf.eye(bq)), 1); // [Bq], s_rr/τ_r
    const loss = tf.sub(lse, positive) as tf.Tensor1D;
    return opts.twoTauFactor ? (tf.mul(loss, tf.tensor1d(Float32Array.from(taus, (t) => 2 * t))) as tf.Tensor1D) : loss;
  });
}
