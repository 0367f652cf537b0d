/**
 * Native kernel functions for the tfjs cpu backend. Each returns `undefined` for inputs it does not
 * handle (dtype other than float32, empty tensors, ranks beyond 8, ...), and the registration
 * wrapper then runs the stock kernel instead.
 */
import * as tf from '@tensorflow/tfjs-core';
import { attachPool, poolAlloc } from './pool';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import type { NativeAddon } from './addon';

type TensorInfo = tf.TensorInfo;
type Attrs = tf.NamedAttrMap;
type Inputs = Record<string, TensorInfo>;

/** A native kernel body: the result, or undefined to fall back to the stock kernel. */
export type NativeKernel = (
  addon: NativeAddon,
  inputs: Inputs,
  backend: MathBackendCPU,
  attrs: Attrs,
) => TensorInfo | TensorInfo[] | undefined;

const MAX_RANK = 8;
const MAX_I32 = 2 ** 31 - 1;

/** The Float32Array behind a float32 tensor on the cpu backend, or undefined. */
export function f32(backend: MathBackendCPU, t: TensorInfo | undefined): Float32Array | undefined {
  if (!t || t.dtype !== 'float32') return undefined;
  const v = backend.data.get(t.dataId).values;
  return v instanceof Float32Array ? v : undefined;
}

function size(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/**
 * An output array without zero-filling: every native kernel writes each element it returns.
 * Recycled from tensors tfjs has released when the pool has one of this size (see pool.ts: the
 * allocation is what made V8 run ~20 full GCs per training step). (A pool of N-API external buffers
 * was tried first and dropped: N-API frees them only from a later event-loop turn, so a synchronous
 * training loop grew without bound.)
 */
export function alloc(n: number): Float32Array {
  return poolAlloc(n);
}

export function out(backend: MathBackendCPU, shape: number[], values: Float32Array): TensorInfo {
  attachPool(backend);
  return backend.makeTensorInfo(shape, 'float32', values);
}

function contiguousStrides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    s[d] = acc;
    acc *= shape[d];
  }
  return s;
}

// ---------------------------------------------------------------------------------------------
// Elementwise binary ops with numpy/tfjs broadcasting.

export const BINARY_OPS = {
  Add: 0,
  Sub: 1,
  Multiply: 2,
  RealDiv: 3,
  Maximum: 4,
  Minimum: 5,
  SquaredDifference: 6,
} as const;

/**
 * Output shape plus per-operand strides (0 on broadcast axes), with size-1 axes dropped and
 * adjacent axes merged wherever both operands stay contiguous across them.
 */
export function broadcastPlan(aShape: readonly number[], bShape: readonly number[]) {
  const outShape = tf.backend_util.assertAndGetBroadcastShape(aShape as number[], bShape as number[]);
  const r = outShape.length;
  const pad = (s: readonly number[]) => [...new Array<number>(r - s.length).fill(1), ...s];
  const ap = pad(aShape);
  const bp = pad(bShape);
  const as = contiguousStrides(ap).map((s, d) => (ap[d] === 1 ? 0 : s));
  const bs = contiguousStrides(bp).map((s, d) => (bp[d] === 1 ? 0 : s));
  const shape: number[] = [];
  const sa: number[] = [];
  const sb: number[] = [];
  for (let d = 0; d < r; d++) {
    if (outShape[d] === 1) continue;
    const k = shape.length - 1;
    if (k >= 0 && sa[k] === as[d] * outShape[d] && sb[k] === bs[d] * outShape[d]) {
      shape[k] *= outShape[d];
      sa[k] = as[d];
      sb[k] = bs[d];
    } else {
      shape.push(outShape[d]);
      sa.push(as[d]);
      sb.push(bs[d]);
    }
  }
  if (shape.length === 0) {
    shape.push(1);
    sa.push(0);
    sb.push(0);
  }
  return { outShape, shape, sa, sb };
}

export function binaryKernel(op: number): NativeKernel {
  return (addon, inputs, backend) => {
    const { a, b } = inputs;
    const av = f32(backend, a);
    const bv = f32(backend, b);
    if (!av || !bv) return undefined;
    const plan = broadcastPlan(a.shape, b.shape);
    const n = size(plan.outShape);
    if (n === 0 || plan.shape.length > MAX_RANK || n > MAX_I32) return undefined;
    const o = alloc(n);
    addon.binary(op, av, bv, o, Int32Array.from(plan.shape), Int32Array.from(plan.sa), Int32Array.from(plan.sb));
    return out(backend, plan.outShape, o);
  };
}

// ---------------------------------------------------------------------------------------------
// Unary ops.

export const UNARY_OPS = {
  Neg: 0,
  Square: 1,
  Rsqrt: 2,
  Sqrt: 3,
  Exp: 4,
  Log: 5,
  Erf: 6,
  Reciprocal: 7,
  Abs: 8,
  Relu: 9,
  Sigmoid: 10,
  Tanh: 11,
} as const;
export const UNARY_GELU = 12;

export function unaryKernel(op: number): NativeKernel {
  return (addon, inputs, backend) => {
    const { x } = inputs;
    const xv = f32(backend, x);
    if (!xv || xv.length === 0) return undefined;
    const o = alloc(xv.length);
    addon.unary(op, xv, o);
    return out(backend, x.shape.slice(), o);
  };
}

// ---------------------------------------------------------------------------------------------
// Reductions over any set of axes.

export const REDUCE_OPS = { Sum: 0, Mean: 1, Max: 2, Min: 3, Prod: 4 } as const;

export function reduceKernel(op: number, axisAttr: 'axis' | 'reductionIndices'): NativeKernel {
  return (addon, inputs, backend, attrs) => {
    const { x } = inputs;
    const xv = f32(backend, x);
    if (!xv || xv.length === 0 || x.shape.length > MAX_RANK) return undefined;
    const keepDims = attrs.keepDims as boolean;
    const origAxes = tf.util.parseAxisParam(attrs[axisAttr] as number | number[], x.shape);
    const axes = [...new Set(origAxes)].sort((p, q) => p - q);
    const [outShape] = tf.backend_util.computeOutAndReduceShapes(x.shape, axes);
    const finalShape = keepDims ? tf.backend_util.expandShapeToKeepDim(outShape, origAxes) : outShape;
    if (axes.length === 0) return out(backend, finalShape, xv.slice());
    let src = xv;
    let shape = x.shape.slice();
    let lo = axes[0];
    let hi = axes[axes.length - 1];
    if (hi - lo + 1 !== axes.length) {
      // Reduced axes not adjacent: move them last (as the stock kernel does), then reduce rows.
      const perm = tf.backend_util.getAxesPermutation(axes, shape.length) ?? [];
      const t = transposeValues(addon, xv, shape, perm);
      shape = perm.map((p) => shape[p]);
      src = t;
      lo = shape.length - axes.length;
      hi = shape.length - 1;
    }
    const outer = size(shape.slice(0, lo));
    const red = size(shape.slice(lo, hi + 1));
    const inner = size(shape.slice(hi + 1));
    const o = alloc(outer * inner);
    addon.reduce(op, src, o, outer, red, inner);
    return out(backend, finalShape, o);
  };
}

// ---------------------------------------------------------------------------------------------
// Transpose.

/** Drops size-1 axes and merges runs of axes that stay adjacent under the permutation. */
export function collapseTranspose(shape: readonly number[], perm: readonly number[]) {
  const keep = shape.map((d) => d !== 1);
  const oldToNew = new Map<number, number>();
  const kept: number[] = [];
  shape.forEach((_, d) => {
    if (keep[d]) {
      oldToNew.set(d, kept.length);
      kept.push(d);
    }
  });
  const p1 = perm.filter((d) => keep[d]).map((d) => oldToNew.get(d) as number);
  const s1 = kept.map((d) => shape[d]);
  // Merge: output positions i, i+1 with p1[i+1] === p1[i] + 1 form one input axis.
  const groups: number[][] = [];
  for (const ax of p1) {
    const g = groups[groups.length - 1];
    if (g && g[g.length - 1] + 1 === ax) g.push(ax);
    else groups.push([ax]);
  }
  // The groups, ordered by their first input axis, give the collapsed input shape.
  const byInput = [...groups].sort((g, h) => g[0] - h[0]);
  const cShape = byInput.map((g) => g.reduce((acc, ax) => acc * s1[ax], 1));
  const cPerm = groups.map((g) => byInput.indexOf(g));
  return { shape: cShape, perm: cPerm };
}

export function transposeValues(addon: NativeAddon, xv: Float32Array, shape: readonly number[], perm: readonly number[]): Float32Array {
  const { shape: cs, perm: cp } = collapseTranspose(shape, perm);
  const n = size(shape);
  if (cp.length <= 1 || cp.every((p, i) => p === i)) return xv.slice(0, n);
  const o = alloc(n);
  addon.transpose(xv, o, Int32Array.from(cs), Int32Array.from(cp));
  return o;
}

export const transposeKernel: NativeKernel = (addon, inputs, backend, attrs) => {
  const { x } = inputs;
  const xv = f32(backend, x);
  const perm = attrs.perm as number[];
  if (!xv || xv.length === 0 || x.shape.length > MAX_RANK) return undefined;
  const o = transposeValues(addon, xv, x.shape, perm);
  return out(backend, perm.map((p) => x.shape[p]), o);
};

// ---------------------------------------------------------------------------------------------
// BatchMatMul through cblas_sgemm.

/** Per-batch element offsets into a and b, with the batch dims broadcast (numpy rules). */
export function batchOffsets(aOuter: readonly number[], bOuter: readonly number[], aMat: number, bMat: number) {
  const outOuter = tf.backend_util.assertAndGetBroadcastShape(aOuter as number[], bOuter as number[]);
  const r = outOuter.length;
  const pad = (s: readonly number[]) => [...new Array<number>(r - s.length).fill(1), ...s];
  const ap = pad(aOuter);
  const bp = pad(bOuter);
  const as = contiguousStrides(ap).map((s, d) => (ap[d] === 1 ? 0 : s * aMat));
  const bs = contiguousStrides(bp).map((s, d) => (bp[d] === 1 ? 0 : s * bMat));
  const batch = size(outOuter);
  const ao = new Int32Array(batch);
  const bo = new Int32Array(batch);
  const idx = new Array<number>(r).fill(0);
  let oa = 0;
  let ob = 0;
  for (let i = 0; i < batch; i++) {
    ao[i] = oa;
    bo[i] = ob;
    for (let d = r - 1; d >= 0; d--) {
      idx[d]++;
      oa += as[d];
      ob += bs[d];
      if (idx[d] < outOuter[d]) break;
      oa -= as[d] * outOuter[d];
      ob -= bs[d] * outOuter[d];
      idx[d] = 0;
    }
  }
  return { outOuter, ao, bo };
}

export const batchMatMulKernel: NativeKernel = (addon, inputs, backend, attrs) => {
  const { a, b } = inputs;
  const av = f32(backend, a);
  const bv = f32(backend, b);
  if (!av || !bv || a.shape.length < 2 || b.shape.length < 2) return undefined;
  if (av.length > MAX_I32 || bv.length > MAX_I32) return undefined;
  const ta = attrs.transposeA as boolean;
  const tb = attrs.transposeB as boolean;
  const ra = a.shape.length;
  const rb = b.shape.length;
  const m = ta ? a.shape[ra - 1] : a.shape[ra - 2];
  const ka = ta ? a.shape[ra - 2] : a.shape[ra - 1];
  const kb = tb ? b.shape[rb - 1] : b.shape[rb - 2];
  const n = tb ? b.shape[rb - 2] : b.shape[rb - 1];
  if (ka !== kb) return undefined; // the stock kernel throws tfjs's own message
  const aOuter = a.shape.slice(0, -2);
  const bOuter = b.shape.slice(0, -2);
  const { outOuter, ao, bo } = batchOffsets(aOuter, bOuter, m * ka, ka * n);
  const outShape = [...outOuter, m, n];
  const total = size(outShape);
  if (total === 0 || total > MAX_I32) return undefined;
  const c = alloc(total);
  const batch = ao.length;
  // A batch of a (not transposed) against one shared b is one tall GEMM: fold the batch into M.
  const bShared = batch > 1 && bo.every((v) => v === bo[0]);
  const aDense = !ta && ao.every((v, i) => v === i * m * ka);
  if (bShared && aDense) {
    addon.gemm(false, tb, batch * m, n, ka, av, bv, c, Int32Array.of(0), Int32Array.of(bo[0]), null, 0);
  } else {
    addon.gemm(ta, tb, m, n, ka, av, bv, c, ao, bo, null, 0);
  }
  return out(backend, outShape, c);
};

// ---------------------------------------------------------------------------------------------
// Softmax, slicing and concatenation.

export const softmaxKernel: NativeKernel = (addon, inputs, backend, attrs) => {
  const { logits } = inputs;
  const xv = f32(backend, logits);
  const rank = logits.shape.length;
  const dim = attrs.dim as number;
  if (!xv || xv.length === 0 || rank === 0 || (dim !== -1 && dim !== rank - 1)) return undefined;
  const cols = logits.shape[rank - 1];
  const o = alloc(xv.length);
  addon.softmax(xv, o, xv.length / cols, cols);
  return out(backend, logits.shape.slice(), o);
};

/** Slice along exactly one axis (all others whole): strided block copies. */
export const sliceKernel: NativeKernel = (addon, inputs, backend, attrs) => {
  const { x } = inputs;
  const xv = f32(backend, x);
  if (!xv || xv.length === 0) return undefined;
  const [begin, sizes] = tf.slice_util.parseSliceParams(x as tf.Tensor, attrs.begin as number[], attrs.size as number[]);
  const partial = x.shape.map((d, i) => begin[i] !== 0 || sizes[i] !== d);
  const axes = partial.map((p, i) => (p ? i : -1)).filter((i) => i >= 0);
  if (axes.length > 1) return undefined;
  const total = size(sizes);
  if (total === 0) return undefined;
  if (axes.length === 0) return out(backend, sizes, xv.slice(0, total));
  const ax = axes[0];
  const inner = size(x.shape.slice(ax + 1));
  const rows = size(x.shape.slice(0, ax));
  const o = alloc(total);
  addon.copyBlocks(xv, o, rows, x.shape[ax] * inner, begin[ax] * inner, sizes[ax] * inner, 0, sizes[ax] * inner);
  return out(backend, sizes, o);
};

export const splitVKernel: NativeKernel = (addon, inputs, backend, attrs) => {
  const { x } = inputs;
  const xv = f32(backend, x);
  if (!xv || xv.length === 0) return undefined;
  const axis = tf.util.parseAxisParam(attrs.axis as number, x.shape)[0];
  const splits = tf.backend_util.prepareSplitSize(x as tf.Tensor, attrs.numOrSizeSplits as number[] | number, axis);
  const inner = size(x.shape.slice(axis + 1));
  const rows = size(x.shape.slice(0, axis));
  const stride = x.shape[axis] * inner;
  let start = 0;
  return splits.map((s) => {
    const shape = x.shape.slice();
    shape[axis] = s;
    const o = alloc(rows * s * inner);
    if (o.length > 0) addon.copyBlocks(xv, o, rows, stride, start * inner, s * inner, 0, s * inner);
    start += s;
    return out(backend, shape, o);
  });
};

export const concatKernel: NativeKernel = (addon, inputs, backend, attrs) => {
  const xs = Object.keys(inputs)
    .sort((p, q) => Number(p) - Number(q))
    .map((k) => inputs[k]);
  if (xs.length === 0) return undefined;
  const vals = xs.map((t) => f32(backend, t));
  if (vals.some((v) => v === undefined)) return undefined;
  const rank = xs[0].shape.length;
  if (rank === 0 || xs.some((t) => t.shape.length !== rank)) return undefined;
  const axis = tf.util.parseAxisParam(attrs.axis as number, xs[0].shape)[0];
  const outShape = tf.backend_util.computeOutShape(xs.map((t) => t.shape), axis);
  const total = size(outShape);
  if (total === 0) return undefined;
  const inner = size(outShape.slice(axis + 1));
  const rows = size(outShape.slice(0, axis));
  const stride = outShape[axis] * inner;
  const o = alloc(total);
  let start = 0;
  xs.forEach((t, i) => {
    const w = t.shape[axis] * inner;
    if (w > 0) addon.copyBlocks(vals[i] as Float32Array, o, rows, w, 0, stride, start, w);
    start += w;
  });
  return out(backend, outShape, o);
};

// ---------------------------------------------------------------------------------------------
// Kernels with no stock counterpart: the fused gradients and fused ops (see fused.ts / register.ts).

export const EPG_ERF_GRAD = 'EpgErfGrad';
export const EPG_SOFTMAX_GRAD = 'EpgSoftmaxGrad';
export const EPG_GELU = 'EpgGelu';
export const EPG_GELU_GRAD = 'EpgGeluGrad';
export const EPG_LAYER_NORM = 'EpgLayerNorm';
export const EPG_LAYER_NORM_GRAD = 'EpgLayerNormGrad';
export const EPG_LINEAR = 'EpgLinear';
export const EPG_ATTENTION = 'EpgAttention';
export const EPG_ATTENTION_GRAD = 'EpgAttentionGrad';
export const EPG_ADAMW = 'EpgAdamW';

function need(v: Float32Array | undefined, what: string): Float32Array {
  if (!v) throw new Error(`@epg/tensor-native: ${what} must be a float32 tensor on the cpu backend`);
  return v;
}

/** inputs {x, dy}: erf'(x)·dy. */
export const erfGradKernel: NativeKernel = (addon, inputs, backend) => {
  const xv = need(f32(backend, inputs.x), 'x');
  const dv = need(f32(backend, inputs.dy), 'dy');
  const o = alloc(xv.length);
  addon.unaryGrad(0, xv, dv, o);
  return out(backend, inputs.x.shape.slice(), o);
};

/** inputs {y, dy}, attrs {dim}: softmax gradient along the last axis. */
export const softmaxGradKernel: NativeKernel = (addon, inputs, backend) => {
  const yv = need(f32(backend, inputs.y), 'y');
  const dv = need(f32(backend, inputs.dy), 'dy');
  const cols = inputs.y.shape[inputs.y.shape.length - 1];
  const o = alloc(yv.length);
  addon.softmaxGrad(yv, dv, o, yv.length / cols, cols);
  return out(backend, inputs.y.shape.slice(), o);
};

export const geluKernel: NativeKernel = (addon, inputs, backend) => {
  const xv = need(f32(backend, inputs.x), 'x');
  const o = alloc(xv.length);
  addon.unary(UNARY_GELU, xv, o);
  return out(backend, inputs.x.shape.slice(), o);
};

export const geluGradKernel: NativeKernel = (addon, inputs, backend) => {
  const xv = need(f32(backend, inputs.x), 'x');
  const dv = need(f32(backend, inputs.dy), 'dy');
  const o = alloc(xv.length);
  addon.unaryGrad(1, xv, dv, o);
  return out(backend, inputs.x.shape.slice(), o);
};

/** inputs {x, gamma?, beta?}, attrs {eps}: outputs [y, mean, rstd] (mean/rstd one per row). */
export const layerNormKernel: NativeKernel = (addon, inputs, backend, attrs) => {
  const x = inputs.x;
  const xv = need(f32(backend, x), 'x');
  const gv = inputs.gamma ? need(f32(backend, inputs.gamma), 'gamma') : null;
  const bv = inputs.beta ? need(f32(backend, inputs.beta), 'beta') : null;
  const cols = x.shape[x.shape.length - 1];
  const rows = xv.length / cols;
  const y = alloc(xv.length);
  const mean = alloc(rows);
  const rstd = alloc(rows);
  addon.layerNorm(xv, gv, bv, y, mean, rstd, rows, cols, attrs.eps as number);
  const rowShape = [...x.shape.slice(0, -1), 1];
  return [out(backend, x.shape.slice(), y), out(backend, rowShape, mean), out(backend, rowShape.slice(), rstd)];
};

/** inputs {x, gamma?, mean, rstd, dy}: outputs [dx, dgamma, dbeta] (the last two only with gamma). */
export const layerNormGradKernel: NativeKernel = (addon, inputs, backend) => {
  const x = inputs.x;
  const xv = need(f32(backend, x), 'x');
  const gv = inputs.gamma ? need(f32(backend, inputs.gamma), 'gamma') : null;
  const cols = x.shape[x.shape.length - 1];
  const rows = xv.length / cols;
  const dx = alloc(xv.length);
  const dg = gv ? alloc(cols) : null;
  const db = gv ? alloc(cols) : null;
  addon.layerNormGrad(
    xv, gv, need(f32(backend, inputs.mean), 'mean'), need(f32(backend, inputs.rstd), 'rstd'),
    need(f32(backend, inputs.dy), 'dy'), dx, dg, db, rows, cols,
  );
  const res = [out(backend, x.shape.slice(), dx)];
  if (dg && db) res.push(out(backend, [cols], dg), out(backend, [cols], db));
  return res;
};

/** inputs {x [rows, in], w [in, out], b [out]}: x·w + b in one GEMM (bias preloaded into C). */
export const linearKernel: NativeKernel = (addon, inputs, backend) => {
  const xv = need(f32(backend, inputs.x), 'x');
  const wv = need(f32(backend, inputs.w), 'w');
  const bv = need(f32(backend, inputs.b), 'b');
  const [rows, k] = inputs.x.shape;
  const n = inputs.w.shape[1];
  const c = alloc(rows * n);
  addon.gemm(false, false, rows, n, k, xv, wv, c, Int32Array.of(0), Int32Array.of(0), bv, 0);
  return out(backend, [rows, n], c);
};

/** inputs {qkv [B, T, 3D]}, attrs {heads}: outputs [out [B, T, D], probabilities [B, H, T, T]]. */
export const attentionKernel: NativeKernel = (addon, inputs, backend, attrs) => {
  const qv = need(f32(backend, inputs.qkv), 'qkv');
  const [b, t, d3] = inputs.qkv.shape;
  const h = attrs.heads as number;
  const dh = d3 / 3 / h;
  const o = alloc(b * t * h * dh);
  const p = alloc(b * h * t * t);
  addon.attention(qv, o, p, b, t, h, dh, 1 / Math.sqrt(dh));
  return [out(backend, [b, t, h * dh], o), out(backend, [b, h, t, t], p)];
};

/** inputs {qkv, p, dy}, attrs {heads}: dqkv. */
export const attentionGradKernel: NativeKernel = (addon, inputs, backend, attrs) => {
  const qv = need(f32(backend, inputs.qkv), 'qkv');
  const [b, t, d3] = inputs.qkv.shape;
  const h = attrs.heads as number;
  const dh = d3 / 3 / h;
  const dq = alloc(qv.length);
  addon.attentionGrad(qv, need(f32(backend, inputs.p), 'p'), need(f32(backend, inputs.dy), 'dy'), dq, b, t, h, dh, 1 / Math.sqrt(dh));
  return out(backend, [b, t, d3], dq);
};

// ---------------------------------------------------------------------------------------------
// Convolution (im2col + GEMM) and pooling, NHWC only (NCHW falls back to the stock kernels).

/** The geometry array the addon takes, from tfjs's own conv/pool info (so padding matches exactly). */
export function convGeometry(info: tf.backend_util.Conv2DInfo): Int32Array | undefined {
  if (info.dataFormat !== 'channelsLast') return undefined;
  const g = Int32Array.of(
    info.batchSize, info.inHeight, info.inWidth, info.inChannels, info.outChannels,
    info.filterHeight, info.filterWidth, info.strideHeight, info.strideWidth,
    info.dilationHeight, info.dilationWidth, info.padInfo.top, info.padInfo.left,
    info.outHeight, info.outWidth,
  );
  const inSize = info.batchSize * info.inHeight * info.inWidth * info.inChannels;
  const outSize = info.batchSize * info.outHeight * info.outWidth * info.outChannels;
  const cols = info.filterHeight * info.filterWidth * info.inChannels;
  if (inSize === 0 || outSize === 0 || inSize > MAX_I32 || outSize > MAX_I32 || cols * info.outChannels > MAX_I32) return undefined;
  if (info.batchSize * info.outHeight * info.outWidth * cols > 2 ** 53) return undefined;
  return g;
}

type ConvAttrs = {
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat?: 'NHWC' | 'NCHW';
  dilations?: number | [number, number];
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
};

function convInfo(
  xShape: readonly number[], filterShape: readonly number[], attrs: Attrs, withDilations: boolean,
): tf.backend_util.Conv2DInfo | undefined {
  const a = attrs as unknown as ConvAttrs;
  if ((a.dataFormat ?? 'NHWC') !== 'NHWC' || xShape.length !== 4 || filterShape.length !== 4) return undefined;
  return tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number], filterShape as [number, number, number, number],
    a.strides, withDilations ? (a.dilations ?? 1) : 1, a.pad, a.dimRoundingMode, false, 'channelsLast',
  );
}

function convForward(
  addon: NativeAddon, backend: MathBackendCPU, x: TensorInfo, filter: TensorInfo, attrs: Attrs,
  bias: Float32Array | null, relu: boolean,
): TensorInfo | undefined {
  const xv = f32(backend, x);
  const wv = f32(backend, filter);
  if (!xv || !wv) return undefined;
  const info = convInfo(x.shape, filter.shape, attrs, true);
  const g = info && convGeometry(info);
  if (!info || !g) return undefined;
  const y = alloc(size(info.outShape));
  addon.conv2d(xv, wv, bias, y, g, relu);
  return out(backend, info.outShape.slice(), y);
}

/** Conv2D: inputs {x [B, H, W, C], filter [KH, KW, C, O]}. */
export const conv2dKernel: NativeKernel = (addon, inputs, backend, attrs) =>
  convForward(addon, backend, inputs.x, inputs.filter, attrs, null, false);

/**
 * FusedConv2D (tf.fused.conv2d): conv + bias [O] + linear/ReLU in one pass; other activations,
 * PReLU weights and other bias shapes go to the stock kernel.
 */
export const fusedConv2dKernel: NativeKernel = (addon, inputs, backend, attrs) => {
  const act = (attrs.activation as string | undefined) ?? 'linear';
  if ((act !== 'linear' && act !== 'relu') || inputs.preluActivationWeights) return undefined;
  let bias: Float32Array | null = null;
  if (inputs.bias) {
    const bv = f32(backend, inputs.bias);
    const o = inputs.filter.shape[3];
    if (!bv || bv.length !== o || inputs.bias.shape.slice(0, -1).some((d) => d !== 1)) return undefined;
    bias = bv;
  }
  return convForward(addon, backend, inputs.x, inputs.filter, attrs, bias, act === 'relu');
};

/** Conv2DBackpropInput: inputs {dy, filter}, attrs.inputShape: dx = col2im(dy · Wᵀ). */
export const conv2dBackpropInputKernel: NativeKernel = (addon, inputs, backend, attrs) => {
  const dv = f32(backend, inputs.dy);
  const wv = f32(backend, inputs.filter);
  if (!dv || !wv) return undefined;
  const inputShape = attrs.inputShape as number[];
  const info = convInfo(inputShape, inputs.filter.shape, attrs, false);
  const g = info && convGeometry(info);
  if (!info || !g || inputs.dy.shape.join() !== info.outShape.join()) return undefined;
  const dx = alloc(size(inputShape));
  addon.conv2dBackpropInput(dv, wv, dx, g);
  return out(backend, inputShape.slice(), dx);
};

/** Conv2DBackpropFilter: inputs {x, dy}, attrs.filterShape: dW = im2col(x)ᵀ · dy. */
export const conv2dBackpropFilterKernel: NativeKernel = (addon, inputs, backend, attrs) => {
  const xv = f32(backend, inputs.x);
  const dv = f32(backend, inputs.dy);
  if (!xv || !dv) return undefined;
  const filterShape = attrs.filterShape as number[];
  const info = convInfo(inputs.x.shape, filterShape, attrs, false);
  const g = info && convGeometry(info);
  if (!info || !g || inputs.dy.shape.join() !== info.outShape.join()) return undefined;
  const dw = alloc(size(filterShape));
  addon.conv2dBackpropFilter(xv, dv, dw, g);
  return out(backend, filterShape.slice(), dw);
};

function poolInfo(xShape: readonly number[], attrs: Attrs): tf.backend_util.Conv2DInfo | undefined {
  if (xShape.length !== 4) return undefined;
  return tf.backend_util.computePool2DInfo(
    xShape as [number, number, number, number],
    attrs.filterSize as number | [number, number],
    attrs.strides as number | [number, number],
    1,
    attrs.pad as 'valid' | 'same' | number,
    attrs.dimRoundingMode as 'floor' | 'round' | 'ceil' | undefined,
  );
}

/** MaxPool (kind 0) / AvgPool (kind 1): inputs {x}. */
export function poolKernel(kind: 0 | 1): NativeKernel {
  return (addon, inputs, backend, attrs) => {
    const xv = f32(backend, inputs.x);
    if (!xv) return undefined;
    const info = poolInfo(inputs.x.shape, attrs);
    const g = info && convGeometry(info);
    if (!info || !g) return undefined;
    const y = alloc(size(info.outShape));
    addon.pool(kind, xv, y, g);
    return out(backend, info.outShape.slice(), y);
  };
}

/** MaxPoolGrad (kind 0): inputs {dy, input, output}; AvgPoolGrad (kind 1): inputs {dy, input}. */
export function poolGradKernel(kind: 0 | 1): NativeKernel {
  return (addon, inputs, backend, attrs) => {
    const dv = f32(backend, inputs.dy);
    const xv = f32(backend, inputs.input);
    const yv = kind === 0 ? f32(backend, inputs.output) : null;
    if (!dv || !xv || yv === undefined) return undefined;
    const info = poolInfo(inputs.input.shape, attrs);
    const g = info && convGeometry(info);
    if (!info || !g || inputs.dy.shape.join() !== info.outShape.join()) return undefined;
    if (yv && yv.length !== dv.length) return undefined;
    const dx = alloc(xv.length);
    addon.poolGrad(kind, kind === 0 ? xv : null, yv, dv, dx, g);
    return out(backend, inputs.input.shape.slice(), dx);
  };
}

// ---------------------------------------------------------------------------------------------
// PadV2 (the gradient of Slice): padding on at most one axis, as a fill and strided block copies.

/** PadV2: inputs {x}, attrs {paddings, constantValue}. More than one padded axis goes to the stock kernel. */
export const padKernel: NativeKernel = (addon, inputs, backend, attrs) => {
  const { x } = inputs;
  const xv = f32(backend, x);
  if (!xv || xv.length === 0) return undefined;
  const paddings = attrs.paddings as Array<[number, number]>;
  const value = attrs.constantValue as number;
  const padded = paddings.map((p, i) => (p[0] !== 0 || p[1] !== 0 ? i : -1)).filter((i) => i >= 0);
  if (padded.length > 1 || paddings.length !== x.shape.length) return undefined;
  const outShape = x.shape.map((d, i) => d + paddings[i][0] + paddings[i][1]);
  const total = size(outShape);
  if (total > MAX_I32) return undefined;
  if (padded.length === 0) return out(backend, outShape, xv.slice(0, total));
  const ax = padded[0];
  const inner = size(x.shape.slice(ax + 1));
  const rows = size(x.shape.slice(0, ax));
  const o = alloc(total);
  o.fill(value);
  addon.copyBlocks(xv, o, rows, x.shape[ax] * inner, 0, outShape[ax] * inner, paddings[ax][0] * inner, x.shape[ax] * inner);
  return out(backend, outShape, o);
};

/** inputs {p, g, m, v}, attrs {lr, beta1, beta2, eps, weightDecay, bc1, bc2}: outputs [p', m', v']. */
export const adamwKernel: NativeKernel = (addon, inputs, backend, attrs) => {
  const pv = need(f32(backend, inputs.p), 'p');
  const o = [alloc(pv.length), alloc(pv.length), alloc(pv.length)];
  const a = attrs as Record<string, number>;
  addon.adamw(
    pv, need(f32(backend, inputs.g), 'g'), need(f32(backend, inputs.m), 'm'), need(f32(backend, inputs.v), 'v'),
    o[0], o[1], o[2], a.lr, a.beta1, a.beta2, a.eps, a.weightDecay, a.bc1, a.bc2,
  );
  return o.map((values) => out(backend, inputs.p.shape.slice(), values));
};

/** Tile: one axis at a time, innermost first, each repeat a strided block copy. */
export const tileKernel: NativeKernel = (addon, inputs, backend, attrs) => {
  const { x } = inputs;
  const xv = f32(backend, x);
  const reps = attrs.reps as number[];
  if (!xv || xv.length === 0 || reps.length !== x.shape.length || reps.some((r) => !(r >= 1))) return undefined;
  const outShape = x.shape.map((d, i) => d * reps[i]);
  if (size(outShape) > MAX_I32) return undefined;
  let cur = xv;
  const shape = x.shape.slice();
  for (let a = shape.length - 1; a >= 0; a--) {
    if (reps[a] === 1) continue;
    const width = size(shape.slice(a)); // one row of the current tensor from axis a inwards
    const rows = size(shape.slice(0, a));
    const next = alloc(rows * width * reps[a]);
    for (let r = 0; r < reps[a]; r++) addon.copyBlocks(cur, next, rows, width, 0, width * reps[a], r * width, width);
    cur = next;
    shape[a] *= reps[a];
  }
  return out(backend, outShape, cur === xv ? xv.slice() : cur);
};
