/**
 * The ViT building blocks as plain tfjs ops on NHWC / [B, T, D] tensors. Only ops that have gradients
 * on both the cpu and the wasm backend are used (docs/toolchain.md §12): patchify + matMul instead of conv2d,
 * one-hot × matMul instead of gather, BatchNorm from moments/rsqrt. Matrix products are 2-D where
 * natural (tokens flattened into rows). Linear, LayerNorm, GELU and the attention core go through
 * @epg/tensor's fused ops: one native pass each (with its own gradient) on the cpu backend when native
 * kernels are active, the plain composition otherwise. Callers run these inside tf.tidy (the model's
 * forward does), so intermediates are freed there.
 */
import * as tf from '@tensorflow/tfjs-core';
import { fusedAttention, fusedBatchNorm, fusedGatedResidual, fusedGelu, fusedLayerNorm, fusedLayerNormModulate, fusedLinear, stopGradient } from '@epg/tensor';

/** PyTorch's LayerNorm/BatchNorm default ε (TF.js layers default to 1e-3: do not use those). */
export const NORM_EPS = 1e-5;
/** PyTorch BatchNorm momentum: running ← (1 − m)·running + m·batch. */
export const BN_MOMENTUM = 0.1;

/** y = x·W (+ b) over the last axis, W stored (in, out). Any leading shape; computed as one 2-D matMul. */
export function linear(x: tf.Tensor, weight: tf.Tensor, bias?: tf.Tensor): tf.Tensor {
  const inDim = x.shape[x.rank - 1];
  if (weight.shape[0] !== inDim) throw new Error(`linear: input width ${inDim} does not match weight [${weight.shape}]`);
  return fusedLinear(x, weight, bias ?? null);
}

/** LayerNorm over the last axis with biased variance, ε = 1e-5, affine [torch.nn.LayerNorm]. */
export function layerNorm(x: tf.Tensor, weight: tf.Tensor, bias: tf.Tensor, eps = NORM_EPS): tf.Tensor {
  return fusedLayerNorm(x, weight, bias, eps);
}

/**
 * adaLN modulation of a LayerNorm [EPG:rcm/vit.py `modulate(norm(x), shift, scale)`]:
 * LN(x)·(1 + scale) + shift, x [B, T, D], shift and scale [B, D] (one row per sample). One native
 * pass each way on the cpu backend with native kernels; the composition elsewhere.
 */
export function layerNormModulate(x: tf.Tensor3D, weight: tf.Tensor, bias: tf.Tensor, shift: tf.Tensor2D, scale: tf.Tensor2D, eps = NORM_EPS): tf.Tensor3D {
  return fusedLayerNormModulate(x, weight, bias, scale, shift, eps) as tf.Tensor3D;
}

/** The adaLN-Zero gated residual x + gate·a, x and a [B, T, D], gate [B, D] (one row per sample). */
export function gatedResidual(x: tf.Tensor3D, gate: tf.Tensor2D, a: tf.Tensor3D): tf.Tensor3D {
  return fusedGatedResidual(x, gate, a) as tf.Tensor3D;
}

/** Exact GELU: x·Φ(x) = ½x(1 + erf(x/√2)) [torch.nn.GELU(approximate='none')]. */
export function gelu(x: tf.Tensor): tf.Tensor {
  return fusedGelu(x);
}

/** SiLU: x·sigmoid(x). */
export function silu(x: tf.Tensor): tf.Tensor {
  return tf.mul(x, tf.sigmoid(x));
}

export interface AttentionWeights {
  /** (D, 3D), no bias; output columns ordered (q|k|v, head, head_dim) as PyTorch's rows. */
  readonly qkv: tf.Tensor;
  readonly proj: tf.Tensor;
  readonly projBias: tf.Tensor;
}

/**
 * Multi-head self-attention [EPG:rcm/vit.py `Attention`, math mode]: qkv = x·W (no bias), per head
 * softmax(q·kᵀ/√d_h)·v, heads concatenated, output projection with bias. `projMask`, when given, is a
 * dropout mask (already scaled by 1/(1−p)) applied to the projection output.
 */
export function attention(x: tf.Tensor3D, w: AttentionWeights, heads: number, projMask?: tf.Tensor): tf.Tensor3D {
  const [B, T, D] = x.shape;
  const hd = D / heads;
  if (!Number.isInteger(hd)) throw new Error(`attention: width ${D} is not divisible by ${heads} heads`);
  const qkv = linear(x.reshape([B * T, D]), w.qkv, undefined).reshape([B, T, 3 * D]);
  const out = fusedAttention(qkv, heads).reshape([B * T, D]);
  let y = linear(out, w.proj, w.projBias);
  if (projMask) y = tf.mul(y, projMask.reshape([B * T, D]));
  return y.reshape([B, T, D]);
}

/** Two-layer MLP with exact GELU [EPG:rcm/vit.py `Mlp`]. */
export function mlp(x: tf.Tensor, fc1: tf.Tensor, fc1Bias: tf.Tensor, fc2: tf.Tensor, fc2Bias: tf.Tensor): tf.Tensor {
  return linear(gelu(linear(x, fc1, fc1Bias)), fc2, fc2Bias);
}

export interface BatchNormState {
  readonly weight: tf.Tensor;
  readonly bias: tf.Tensor;
  readonly runningMean: tf.Variable;
  readonly runningVar: tf.Variable;
}

/**
 * BatchNorm1d over the batch axis of [N, F] with PyTorch semantics [torch.nn.BatchNorm1d]:
 * training normalises with the biased batch variance and updates the running statistics with
 * momentum 0.1 and the UNBIASED variance N/(N−1) (docs/method.md §10.6); evaluation uses the running
 * statistics. The running-statistic update is a side effect on the buffers, outside the gradient.
 * `relu` applies a ReLU in the same op (the projector's BatchNorm → ReLU; one native kernel each way
 * with @epg/tensor-native, the plain composition elsewhere).
 */
export function batchNorm1d(x: tf.Tensor2D, s: BatchNormState, training: boolean, opts: { eps?: number; momentum?: number; relu?: boolean } = {}): tf.Tensor2D {
  const { eps = NORM_EPS, momentum = BN_MOMENTUM, relu = false } = opts;
  if (!training) return fusedBatchNorm(x, s.weight, s.bias, { eps, relu, mean: s.runningMean, variance: s.runningVar }).y as tf.Tensor2D;
  const n = x.shape[0];
  if (n < 2) throw new Error(`batchNorm1d: training mode needs a batch of at least 2 (got ${n}), as in PyTorch; use eval mode for single samples`);
  const { y, mean, variance } = fusedBatchNorm(x, s.weight, s.bias, { eps, relu }); // y [N, F]; biased batch mean, variance [F]
  const newMean = tf.tidy(() => tf.add(tf.mul(s.runningMean, 1 - momentum), tf.mul(stopGradient(mean!), momentum)));
  const newVar = tf.tidy(() =>
    tf.add(tf.mul(s.runningVar, 1 - momentum), tf.mul(stopGradient(variance!), (momentum * n) / (n - 1))),
  );
  s.runningMean.assign(newMean);
  s.runningVar.assign(newVar);
  tf.dispose([newMean, newVar]);
  return y as tf.Tensor2D;
}

/**
 * Sinusoidal time embedding [EPG:rcm/vit.py `timestep_embedding`]: half = dim/2,
 * freq_i = exp(−ln(10000)·i/half), emb = [cos(τ·freq), sin(τ·freq)] (cos first). The arguments are
 * formed in float64 on the host (|τ| reaches ~1.4e3 rad; docs/method.md §10.8), then rounded to float32.
 */
export function timestepEmbedding(timeValues: ArrayLike<number>, dim: number, maxPeriod = 10000): Float32Array {
  const half = Math.floor(dim / 2);
  const out = new Float32Array(timeValues.length * dim);
  // PyTorch builds the frequencies in float32 (exponent and exp): round the same way, then form
  // the arguments τ·freq in float64 instead of float32.
  const negLog = Math.fround(-Math.log(maxPeriod));
  const freqs = new Float64Array(half);
  for (let i = 0; i < half; i++) freqs[i] = Math.fround(Math.exp(Math.fround(Math.fround(negLog * i) / half)));
  for (let b = 0; b < timeValues.length; b++) {
    const t = timeValues[b];
    for (let i = 0; i < half; i++) {
      const arg = t * freqs[i];
      out[b * dim + i] = Math.cos(arg);
      out[b * dim + half + i] = Math.sin(arg);
    }
  }
  return out;
}

/**
 * Patchify an NHWC batch into rows of patch vectors: [B, H, W, C] → [B·L, p·p·C], patches row-major
 * over the (H/p)×(W/p) grid, each vector laid out (p_row, p_col, channel), channel fastest. Row
 * ordering matches a conv kernel stored (kh, kw, C, D), so patchify·W ≡ Conv2d(kernel = stride = p).
 * Uses only 4-D transposes.
 */
export function patchify(x: tf.Tensor4D, p: number): tf.Tensor2D {
  const [B, H, W, C] = x.shape;
  const gh = H / p;
  const gw = W / p;
  return x
    .reshape([B * gh, p, gw, p * C])
    .transpose([0, 2, 1, 3])
    .reshape([B * gh * gw, p * p * C]) as tf.Tensor2D;
}

/** Inverse of `patchify`: [B, L, p·p·C] (or [B·L, p·p·C]) → [B, H, W, C] for a square grid. */
export function unpatchify(tokens: tf.Tensor, batch: number, imageSize: number, p: number, channels: number): tf.Tensor4D {
  const g = imageSize / p;
  return tokens
    .reshape([batch * g, g, p, p * channels])
    .transpose([0, 2, 1, 3])
    .reshape([batch, imageSize, imageSize, channels]) as tf.Tensor4D;
}

/**
 * Rows of an embedding table for integer ids, as one-hot × matMul so that the table learns on wasm
 * (the gradient of gather, UnsortedSegmentSum, is missing there). Ids outside [0, rows) throw.
 */
export function embed(ids: tf.Tensor1D, table: tf.Tensor2D): tf.Tensor2D {
  const rows = table.shape[0];
  const host = ids.dataSync();
  for (let i = 0; i < host.length; i++) {
    const v = host[i];
    if (!Number.isInteger(v) || v < 0 || v >= rows) {
      throw new RangeError(`label ${v} at position ${i} is outside [0, ${rows - 1}]: class ids are 0..numClasses-1 and numClasses is the null label`);
    }
  }
  const oneHot = tf.oneHot(tf.cast(ids, 'int32') as tf.Tensor1D, rows).toFloat();
  return tf.matMul(oneHot, table);
}
