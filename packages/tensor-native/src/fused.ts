/**
 * Fused ops with their own gradients. On the cpu backend with native kernels registered, each is one
 * native pass forward and one backward; elsewhere (wasm, or no addon) each is the plain tfjs
 * composition below, which is also the reference the tests compare the fused path with.
 * All are pure w.r.t. tidy: they return one new tensor the caller owns and leak nothing else.
 */
import * as tf from '@tensorflow/tfjs-core';
import { nativeKernelsActive } from './active';
import { EPG_EMA_EACH, EPG_GATED_RESIDUAL, EPG_GATED_RESIDUAL_GRAD, EPG_LN_MODULATE, EPG_LN_MODULATE_GRAD, EPG_PER_TENSOR } from './transformer';
import { EPG_ADAMW, EPG_ATTENTION, EPG_ATTENTION_GRAD, EPG_GELU, EPG_GELU_GRAD, EPG_LAYER_NORM, EPG_LAYER_NORM_GRAD, EPG_LINEAR } from './kernels';

function useNative(...xs: Array<tf.Tensor | null | undefined>): boolean {
  return nativeKernelsActive() && xs.every((x) => x == null || x.dtype === 'float32');
}

type GradResult = { value: tf.Tensor; gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor | tf.Tensor[] };

/** tf.customGrad over `n` tensor inputs, with the save function passed separately. */
function customOp(n: number, body: (inputs: tf.Tensor[], save: tf.GradSaveFunc) => GradResult): (...xs: tf.Tensor[]) => tf.Tensor {
  return tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) =>
    body(args.slice(0, n) as tf.Tensor[], args[n] as tf.GradSaveFunc),
  );
}

function runKernel(name: string, inputs: tf.NamedTensorMap, attrs: tf.NamedAttrMap = {}): tf.Tensor[] {
  const r = tf.engine().runKernel(name, inputs, attrs);
  return Array.isArray(r) ? (r as tf.Tensor[]) : [r as tf.Tensor];
}

const firstDy = (dy: tf.Tensor | tf.Tensor[]): tf.Tensor => (Array.isArray(dy) ? dy[0] : dy);

/*
 * Gradients of the fused kernels, registered with the engine like tfjs's own (not tf.customGrad):
 * the engine calls one thunk per input that is on the path to the differentiated variables, so a
 * gradient nobody needs is never computed (a frozen encoder's weight GEMMs, the input gradient of
 * the first layer), and no customGrad scope is opened per op. A kernel that yields several gradients
 * in one pass runs in the gradient function itself (outside the per-input tidy that wraps each
 * thunk); the outputs nobody takes are freed with the backward pass's scope.
 */
tf.registerGradient({
  kernelName: EPG_LINEAR,
  inputsToSave: ['x', 'w'],
  gradFunc: (dy, saved) => {
    const d = firstDy(dy);
    const [x, w] = saved;
    return { x: () => tf.matMul(d, w, false, true), w: () => tf.matMul(x, d, true, false), b: () => tf.sum(d, 0) };
  },
});
tf.registerGradient({
  kernelName: EPG_GELU,
  inputsToSave: ['x'],
  gradFunc: (dy, saved) => ({ x: () => runKernel(EPG_GELU_GRAD, { x: saved[0], dy: firstDy(dy) })[0] }),
});
tf.registerGradient({
  kernelName: EPG_LAYER_NORM,
  inputsToSave: ['x', 'gamma'],
  outputsToSave: [false, true, true],
  gradFunc: (dy, saved) => {
    const [x, gamma, mean, rstd] = saved;
    const [dx, dgamma, dbeta] = runKernel(EPG_LAYER_NORM_GRAD, { x, gamma, mean, rstd, dy: firstDy(dy) });
    return { x: () => dx, gamma: () => dgamma, beta: () => dbeta };
  },
});
tf.registerGradient({
  kernelName: EPG_ATTENTION,
  inputsToSave: ['qkv'],
  outputsToSave: [false, true],
  gradFunc: (dy, saved, attrs) => ({
    qkv: () => runKernel(EPG_ATTENTION_GRAD, { qkv: saved[0], p: saved[1], dy: firstDy(dy) }, { heads: attrs.heads as number })[0],
  }),
});

tf.registerGradient({
  kernelName: EPG_LN_MODULATE,
  inputsToSave: ['x', 'gamma', 'beta', 'scale'],
  outputsToSave: [false, true, true],
  gradFunc: (dy, saved) => {
    const [x, gamma, beta, scale, mean, rstd] = saved;
    const [dx, dgamma, dbeta, dscale, dshift] = runKernel(EPG_LN_MODULATE_GRAD, { x, gamma, beta, scale, mean, rstd, dy: firstDy(dy) });
    return { x: () => dx, gamma: () => dgamma, beta: () => dbeta, scale: () => dscale, shift: () => dshift };
  },
});
tf.registerGradient({
  kernelName: EPG_GATED_RESIDUAL,
  inputsToSave: ['gate', 'a'],
  gradFunc: (dy, saved) => {
    const d = firstDy(dy);
    const [gate, a] = saved;
    const [da, dgate] = runKernel(EPG_GATED_RESIDUAL_GRAD, { gate, a, dy: d });
    return { x: () => tf.clone(d), a: () => da, gate: () => dgate };
  },
});

/** Runs a fused kernel and returns its first output; the others (saved statistics) are freed here or kept by the tape. */
function runFirst(name: string, inputs: tf.NamedTensorMap, attrs: tf.NamedAttrMap = {}): tf.Tensor {
  return tf.tidy(() => runKernel(name, inputs, attrs)[0]);
}

/**
 * LayerNorm over the last axis (Ba et al. 2016): (x - mean) / sqrt(var + eps) · gamma + beta, with
 * the biased variance. gamma and beta are both given or both null (no affine part, as adaLN uses).
 */
export function layerNorm(x: tf.Tensor, gamma: tf.Tensor | null, beta: tf.Tensor | null, eps: number): tf.Tensor {
  if ((gamma === null) !== (beta === null)) {
    throw new Error('layerNorm: pass both gamma and beta, or neither (null, null) for a LayerNorm without affine part.');
  }
  const c = x.shape[x.rank - 1];
  for (const [name, p] of [['gamma', gamma], ['beta', beta]] as const) {
    if (p && (p.rank !== 1 || p.shape[0] !== c)) {
      throw new Error(`layerNorm: ${name} has shape [${p.shape}] but x's last axis is ${c}: give a 1-D tensor of length ${c}.`);
    }
  }
  if (!useNative(x, gamma, beta)) return layerNormReference(x, gamma, beta, eps);
  if (gamma && beta) return runFirst(EPG_LAYER_NORM, { x, gamma, beta }, { eps });
  const f = customOp(1, ([xi], save) => {
    const [y, mean, rstd] = runKernel(EPG_LAYER_NORM, { x: xi }, { eps });
    save([xi, mean, rstd]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, ms, rs] = saved;
        return runKernel(EPG_LAYER_NORM_GRAD, { x: xs, mean: ms, rstd: rs, dy })[0];
      },
    };
  });
  return f(x);
}

/** The unfused LayerNorm (tf.moments, sub, rsqrt, mul, add): the fallback and the test reference. */
export function layerNormReference(x: tf.Tensor, gamma: tf.Tensor | null, beta: tf.Tensor | null, eps: number): tf.Tensor {
  return tf.tidy(() => {
    const { mean, variance } = tf.moments(x, -1, true);
    const y = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps)));
    return gamma && beta ? tf.add(tf.mul(y, gamma), beta) : y;
  });
}

/** Exact GELU, x · Φ(x) = 0.5 x (1 + erf(x / √2)) (Hendrycks & Gimpel 2016). */
export function gelu(x: tf.Tensor): tf.Tensor {
  if (!useNative(x)) return geluReference(x);
  return runFirst(EPG_GELU, { x });
}

/** The unfused exact GELU: the fallback and the test reference. */
export function geluReference(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1)));
}

/**
 * A dense layer x · w + b over the last axis of x (any rank >= 2), computed as one 2-D product so
 * that the weight gradient is a single GEMM over all rows (a 3-D x · 2-D w in tfjs would instead
 * run one product per batch row and sum them). With native kernels the bias is folded into the GEMM.
 */
export function linear(x: tf.Tensor, w: tf.Tensor, b?: tf.Tensor | null): tf.Tensor {
  const xs0 = x.shape as number[];
  const ws0 = w.shape as number[];
  const k = xs0[xs0.length - 1];
  if (x.rank < 2 || w.rank !== 2 || ws0[0] !== k) {
    throw new Error(`linear: x [${x.shape}] and w [${w.shape}] do not fit: x needs rank >= 2 and w must be [${k}, out].`);
  }
  const n = ws0[1];
  if (b && (b.rank !== 1 || b.shape[0] !== n)) {
    throw new Error(`linear: b has shape [${b.shape}] but w gives ${n} outputs: b must be [${n}].`);
  }
  const outShape = [...xs0.slice(0, -1), n];
  return tf.tidy(() => {
    const x2 = tf.reshape(x, [-1, k]);
    if (!b) return tf.reshape(tf.matMul(x2, w as tf.Tensor2D), outShape);
    if (!useNative(x, w, b)) return tf.reshape(tf.add(tf.matMul(x2, w as tf.Tensor2D), b), outShape);
    return tf.reshape(runKernel(EPG_LINEAR, { x: x2, w, b })[0], outShape);
  });
}

/**
 * The unfused dense layer: reshape to 2-D, tf.matMul, add b, reshape back. (tfjs 4.22 cannot
 * differentiate a 3-D · 2-D tf.matMul: its BatchMatMul gradient does not reduce a broadcast b.)
 */
export function linearReference(x: tf.Tensor, w: tf.Tensor, b?: tf.Tensor | null): tf.Tensor {
  return tf.tidy(() => {
    const xs0 = x.shape as number[];
    const y = tf.matMul(tf.reshape(x, [-1, xs0[xs0.length - 1]]), w as tf.Tensor2D);
    return tf.reshape(b ? tf.add(y, b) : y, [...xs0.slice(0, -1), (w.shape as number[])[1]]);
  });
}

function checkAttention(qkv: tf.Tensor, heads: number): [number, number, number] {
  const shape = qkv.shape as number[];
  if (qkv.rank !== 3 || !Number.isInteger(heads) || heads < 1 || shape[2] % (3 * heads) !== 0) {
    throw new Error(
      `attention: qkv has shape [${shape}] with heads=${heads}: give qkv as [batch, tokens, 3·heads·headDim] (columns q|k|v, head, headDim).`,
    );
  }
  return [shape[0], shape[1], shape[2] / 3];
}

/**
 * Multi-head self-attention softmax(q·kᵀ/√d_h)·v from the packed projection qkv [B, T, 3D]
 * (columns ordered q|k|v, then head, then head dim, as timm/PyTorch's fused qkv Linear), returning
 * the heads concatenated, [B, T, D], before the output projection (Vaswani et al. 2017). Natively,
 * the heads are strided GEMMs on qkv as it lies: no split, no head transposes, one pass each way.
 */
export function attention(qkv: tf.Tensor, heads: number): tf.Tensor {
  checkAttention(qkv, heads);
  if (!useNative(qkv)) return attentionReference(qkv, heads);
  return runFirst(EPG_ATTENTION, { qkv }, { heads });
}

/** The unfused attention (split, head transposes, matMul, softmax, matMul): fallback and test reference. */
export function attentionReference(qkv: tf.Tensor, heads: number): tf.Tensor {
  const [b, t, d] = checkAttention(qkv, heads);
  const dh = d / heads;
  return tf.tidy(() => {
    const toHeads = (z: tf.Tensor) => tf.reshape(tf.transpose(tf.reshape(z, [b, t, heads, dh]), [0, 2, 1, 3]), [b * heads, t, dh]);
    const [q, k, v] = tf.split(qkv, 3, 2).map(toHeads);
    const scores = tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(dh));
    const o = tf.matMul(tf.softmax(scores, -1), v);
    return tf.reshape(tf.transpose(tf.reshape(o, [b, heads, t, dh]), [0, 2, 1, 3]), [b, t, d]);
  });
}

function checkPerSample(x: tf.Tensor, t: tf.Tensor, name: string, op: string): void {
  const [b, , d] = x.shape as number[];
  if (t.rank !== 2 || t.shape[0] !== b || t.shape[1] !== d) {
    throw new Error(`${op}: ${name} has shape [${t.shape}] but x is [${x.shape}]: give one row per sample, [${b}, ${d}].`);
  }
}

/**
 * adaLN modulation of a LayerNorm (DiT, Peebles & Xie 2023): (LN(x)·γ + β) ⊙ (1 + scale) + shift,
 * x [B, T, D], γ, β [D], scale and shift [B, D] (one row per sample, broadcast over the tokens).
 * One native pass each way; elsewhere the composition `layerNormModulateReference`.
 */
export function layerNormModulate(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, scale: tf.Tensor, shift: tf.Tensor, eps: number): tf.Tensor {
  if (x.rank !== 3) throw new Error(`layerNormModulate: x has shape [${x.shape}]: give [batch, tokens, width].`);
  const d = x.shape[2];
  for (const [name, p] of [['gamma', gamma], ['beta', beta]] as const) {
    if (p.rank !== 1 || p.shape[0] !== d) throw new Error(`layerNormModulate: ${name} has shape [${p.shape}] but x's last axis is ${d}: give a 1-D tensor of length ${d}.`);
  }
  checkPerSample(x, scale, 'scale', 'layerNormModulate');
  checkPerSample(x, shift, 'shift', 'layerNormModulate');
  if (!useNative(x, gamma, beta, scale, shift) || x.size === 0) return layerNormModulateReference(x, gamma, beta, scale, shift, eps);
  return runFirst(EPG_LN_MODULATE, { x, gamma, beta, scale, shift }, { eps });
}

/** The unfused adaLN modulation (LayerNorm, then mul by 1 + scale and add shift over the token axis). */
export function layerNormModulateReference(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, scale: tf.Tensor, shift: tf.Tensor, eps: number): tf.Tensor {
  return tf.tidy(() => {
    const [b, , d] = x.shape as number[];
    const n = layerNormReference(x, gamma, beta, eps);
    return tf.add(tf.mul(n, tf.add(tf.reshape(scale, [b, 1, d]), 1)), tf.reshape(shift, [b, 1, d]));
  });
}

/**
 * The gated residual of adaLN-Zero blocks: x + gate ⊙ a, x and a [B, T, D], gate [B, D] (one row
 * per sample, broadcast over the tokens). One native pass each way; elsewhere the composition.
 */
export function gatedResidual(x: tf.Tensor, gate: tf.Tensor, a: tf.Tensor): tf.Tensor {
  if (x.rank !== 3 || a.shape.join() !== x.shape.join()) throw new Error(`gatedResidual: x [${x.shape}] and a [${a.shape}] must both be [batch, tokens, width].`);
  checkPerSample(x, gate, 'gate', 'gatedResidual');
  if (!useNative(x, gate, a) || x.size === 0) return gatedResidualReference(x, gate, a);
  return runFirst(EPG_GATED_RESIDUAL, { x, gate, a });
}

/** The unfused gated residual. */
export function gatedResidualReference(x: tf.Tensor, gate: tf.Tensor, a: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.add(x, tf.mul(tf.reshape(gate, [x.shape[0], 1, x.shape[x.rank - 1]]), a)));
}

function perTensorInputs(ts: readonly tf.Tensor[]): tf.NamedTensorMap {
  const inputs: tf.NamedTensorMap = {};
  ts.forEach((t, i) => (inputs[`t${i}`] = t));
  return inputs;
}

/**
 * Σx² of each tensor, [n] (a training step's squared gradient norm is their sum). Natively one kernel
 * call for the whole list (double accumulation); elsewhere tf.sum(tf.square(t)) per tensor. Not
 * differentiable; returns a new tensor.
 */
export function sumSquaresEach(ts: readonly tf.Tensor[]): tf.Tensor1D {
  if (ts.length === 0) return tf.zeros([0]) as tf.Tensor1D;
  if (useNative(...ts)) return tf.engine().runKernel(EPG_PER_TENSOR, perTensorInputs(ts), { kind: 0 }) as tf.Tensor1D;
  return tf.tidy(() => tf.stack(ts.map((t) => tf.sum(tf.square(t)))) as tf.Tensor1D);
}

/**
 * One value per tensor that is 0 exactly when all its elements are finite: natively the count of
 * NaN/±∞ elements (one kernel call for the list), elsewhere Σ x·0 (0, or NaN). Not differentiable.
 */
export function nonFiniteEach(ts: readonly tf.Tensor[]): tf.Tensor1D {
  if (ts.length === 0) return tf.zeros([0]) as tf.Tensor1D;
  if (useNative(...ts)) return tf.engine().runKernel(EPG_PER_TENSOR, perTensorInputs(ts), { kind: 1 }) as tf.Tensor1D;
  return tf.tidy(() => tf.stack(ts.map((t) => tf.sum(tf.mul(t, 0)))) as tf.Tensor1D);
}

/**
 * targets[i]·decay + sources[i]·(1 − decay) for each pair (an exponential moving average of a
 * parameter list): natively one kernel call and one pass per tensor, elsewhere the tfjs composition
 * (`emaEachReference`). Returns new tensors, which the caller assigns and disposes. Not differentiable.
 */
export function emaEach(targets: readonly tf.Tensor[], sources: readonly tf.Tensor[], decay: number): tf.Tensor[] {
  if (targets.length !== sources.length) throw new Error(`emaEach: ${targets.length} targets but ${sources.length} sources`);
  targets.forEach((t, i) => {
    if (t.shape.join() !== sources[i].shape.join()) throw new Error(`emaEach: target ${i} has shape [${t.shape}], its source [${sources[i].shape}]`);
  });
  if (!(decay >= 0 && decay <= 1)) throw new RangeError(`emaEach: decay must be in [0, 1], got ${decay}`);
  if (targets.length === 0) return [];
  if (!useNative(...targets, ...sources)) return emaEachReference(targets, sources, decay);
  const inputs: tf.NamedTensorMap = {};
  targets.forEach((t, i) => (inputs[`t${i}`] = t));
  sources.forEach((s, i) => (inputs[`s${i}`] = s));
  const outs = tf.engine().runKernel(EPG_EMA_EACH, inputs, { n: targets.length, decay }) as unknown as tf.Tensor | tf.Tensor[];
  return Array.isArray(outs) ? outs : [outs];
}

/** The EMA as tfjs ops: t·decay + s·(1 − decay) per pair. */
export function emaEachReference(targets: readonly tf.Tensor[], sources: readonly tf.Tensor[], decay: number): tf.Tensor[] {
  return targets.map((t, i) => tf.tidy(() => tf.add(tf.mul(t, decay), tf.mul(sources[i], 1 - decay))));
}

/** Hyper-parameters of one AdamW update; bc1 = 1 − β1ᵗ and bc2 = 1 − β2ᵗ are the bias corrections. */
export interface AdamWUpdateParams {
  readonly lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  readonly bc1: number;
  readonly bc2: number;
}

/**
 * One AdamW update of parameter p with gradient g and moments m, v: returns new [p', m', v'] (the
 * caller assigns them and disposes them). One native pass on the cpu backend with native kernels;
 * the tfjs composition (`adamwUpdateReference`, the same formula) elsewhere. Not differentiable.
 */
export function adamwUpdate(p: tf.Tensor, g: tf.Tensor, m: tf.Tensor, v: tf.Tensor, h: AdamWUpdateParams): [tf.Tensor, tf.Tensor, tf.Tensor] {
  if (useNative(p, g, m, v)) {
    return tf.engine().runKernel(EPG_ADAMW, { p, g, m, v }, { ...h } as unknown as tf.NamedAttrMap) as unknown as [tf.Tensor, tf.Tensor, tf.Tensor];
  }
  return adamwUpdateReference(p, g, m, v, h);
}

/** AdamW as tfjs ops: m' = β1 m + (1−β1) g, v' = β2 v + (1−β2) g², p' = p(1 − lr·wd) − m'/(√v'/√bc2 + ε) · lr/bc1. */
export function adamwUpdateReference(p: tf.Tensor, g: tf.Tensor, m: tf.Tensor, v: tf.Tensor, h: AdamWUpdateParams): [tf.Tensor, tf.Tensor, tf.Tensor] {
  return tf.tidy(() => {
    const m1 = tf.add(tf.mul(m, h.beta1), tf.mul(g, 1 - h.beta1));
    const v1 = tf.add(tf.mul(v, h.beta2), tf.mul(tf.square(g), 1 - h.beta2));
    const decayed = h.weightDecay !== 0 ? tf.mul(p, 1 - h.lr * h.weightDecay) : p;
    const denom = tf.add(tf.div(tf.sqrt(v1), Math.sqrt(h.bc2)), h.eps);
    const p1 = tf.sub(decayed, tf.mul(tf.div(m1, denom), h.lr / h.bc1));
    return [p1, m1, v1];
  });
}
