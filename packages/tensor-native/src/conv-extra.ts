/**
 * Native kernels of native/conv_extra.c (issue 15, round 2): the fused BatchNorm (+ ReLU) op's
 * forward and gradient, and faster paths for three stock kernels, each handing back to the
 * general native kernel (kernels.ts) for what it does not cover:
 * - Conv2D / FusedConv2D / Conv2DBackpropFilter with a short reduction (KH·KW·C ≤ DIRECT_MAX_K,
 *   e.g. a 1-channel first layer): a direct loop, vectorised over output channels, instead of
 *   im2col + a GEMM whose K of 9 runs at a few GFLOP/s;
 * - MaxPoolGrad with non-overlapping windows (stride = window, no padding): every dx element
 *   written once, no zero-fill and read-modify-write;
 * - ResizeBilinear (a stock-only kernel until now): the same double-precision arithmetic in C;
 * - Slice over several axes (image crops): one strided copy per axis.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import type { NativeAddon } from './addon';
import { EPG_BATCH_NORM_ACT, EPG_BATCH_NORM_ACT_GRAD, EPG_SCALE_SHIFT_ACT } from './batchnorm';
import {
  alloc,
  conv2dBackpropFilterKernel,
  conv2dKernel,
  convGeometry,
  f32,
  fusedConv2dKernel,
  poolGradKernel,
  sliceKernel,
  type NativeKernel,
} from './kernels';

/** The functions conv_extra.c adds to the addon (all arrays caller-allocated). */
export interface ConvExtraAddon {
  batchNormAct(
    x: Float32Array, gamma: Float32Array | null, beta: Float32Array | null, y: Float32Array, mean: Float32Array, variance: Float32Array,
    rows: number, channels: number, eps: number, relu: boolean,
  ): void;
  batchNormActGrad(
    x: Float32Array, gamma: Float32Array | null, mean: Float32Array, variance: Float32Array, y: Float32Array, dy: Float32Array,
    dx: Float32Array, dgamma: Float32Array | null, dbeta: Float32Array | null, rows: number, channels: number, eps: number, relu: boolean,
  ): void;
  scaleShiftAct(x: Float32Array, scale: Float32Array, shift: Float32Array, y: Float32Array, rows: number, channels: number, relu: boolean): void;
  /** Geometry as kernels.ts's convGeometry. */
  convDirect(x: Float32Array, w: Float32Array, bias: Float32Array | null, y: Float32Array, geom: Int32Array, relu: boolean): void;
  convDirectBackpropFilter(x: Float32Array, dy: Float32Array, dw: Float32Array, geom: Int32Array): void;
  maxPoolGradTiled(x: Float32Array, y: Float32Array, dy: Float32Array, dx: Float32Array, geom: Int32Array): void;
  resizeBilinear(x: Float32Array, y: Float32Array, b: number, h: number, w: number, c: number, newH: number, newW: number, alignCorners: boolean, halfPixelCenters: boolean): void;
}

/**
 * Largest reduction length KH·KW·C served by the direct convolution. Measured (docs/performance.md,
 * round 2): [128, 28, 28, 1] ⊛ [3, 3, 1, 32] (K = 9) runs ≈ 5× faster direct than im2col + GEMM.
 */
export const DIRECT_MAX_K = 16;

type TensorInfo = tf.TensorInfo;

function extra(addon: NativeAddon): ConvExtraAddon {
  return addon as unknown as ConvExtraAddon;
}

function need(v: Float32Array | undefined, what: string): Float32Array {
  if (!v) throw new Error(`@epg/tensor-native: ${what} must be a float32 tensor on the cpu backend`);
  return v;
}

function out(backend: MathBackendCPU, shape: number[], values: Float32Array): TensorInfo {
  return backend.makeTensorInfo(shape, 'float32', values);
}

function channelsOf(x: TensorInfo): { rows: number; channels: number } {
  const channels = x.shape[x.shape.length - 1];
  const total = x.shape.reduce((p, q) => p * q, 1);
  return { rows: channels > 0 ? total / channels : 0, channels };
}

/** EpgBatchNormAct: inputs {x, gamma, beta}, attrs {eps, relu}: [y, mean, variance]. */
export const batchNormActKernel: NativeKernel = (addon, inputs, backend, attrs) => {
  const xv = need(f32(backend, inputs.x), 'x');
  const { rows, channels } = channelsOf(inputs.x);
  const y = alloc(xv.length);
  const mean = alloc(channels);
  const variance = alloc(channels);
  extra(addon).batchNormAct(
    xv, need(f32(backend, inputs.gamma), 'gamma'), need(f32(backend, inputs.beta), 'beta'), y, mean, variance,
    rows, channels, attrs.eps as number, attrs.relu as boolean,
  );
  return [out(backend, inputs.x.shape.slice(), y), out(backend, [channels], mean), out(backend, [channels], variance)];
};

/** EpgBatchNormActGrad: inputs {x, gamma, mean, variance, y, dy}, attrs {eps, relu}: [dx, dgamma, dbeta]. */
export const batchNormActGradKernel: NativeKernel = (addon, inputs, backend, attrs) => {
  const xv = need(f32(backend, inputs.x), 'x');
  const { rows, channels } = channelsOf(inputs.x);
  const dx = alloc(xv.length);
  const dgamma = alloc(channels);
  const dbeta = alloc(channels);
  extra(addon).batchNormActGrad(
    xv, need(f32(backend, inputs.gamma), 'gamma'), need(f32(backend, inputs.mean), 'mean'), need(f32(backend, inputs.variance), 'variance'),
    need(f32(backend, inputs.y), 'y'), need(f32(backend, inputs.dy), 'dy'), dx, dgamma, dbeta, rows, channels,
    attrs.eps as number, attrs.relu as boolean,
  );
  return [out(backend, inputs.x.shape.slice(), dx), out(backend, [channels], dgamma), out(backend, [channels], dbeta)];
};

/** EpgScaleShiftAct: inputs {x, scale, shift}, attrs {relu}: y. */
export const scaleShiftActKernel: NativeKernel = (addon, inputs, backend, attrs) => {
  const xv = need(f32(backend, inputs.x), 'x');
  const { rows, channels } = channelsOf(inputs.x);
  const y = alloc(xv.length);
  extra(addon).scaleShiftAct(xv, need(f32(backend, inputs.scale), 'scale'), need(f32(backend, inputs.shift), 'shift'), y, rows, channels, attrs.relu as boolean);
  return out(backend, inputs.x.shape.slice(), y);
};

type ConvAttrs = {
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat?: 'NHWC' | 'NCHW';
  dilations?: number | [number, number];
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
};

/** Geometry for the direct path, or undefined when the reduction is long (im2col + GEMM is faster). */
function directGeometry(xShape: readonly number[], filterShape: readonly number[], attrs: tf.NamedAttrMap, dilations: boolean): { g: Int32Array; outShape: number[] } | undefined {
  const a = attrs as unknown as ConvAttrs;
  if ((a.dataFormat ?? 'NHWC') !== 'NHWC' || xShape.length !== 4 || filterShape.length !== 4) return undefined;
  if (filterShape[0] * filterShape[1] * filterShape[2] > DIRECT_MAX_K) return undefined;
  const info = tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number], filterShape as [number, number, number, number],
    a.strides, dilations ? (a.dilations ?? 1) : 1, a.pad, a.dimRoundingMode, false, 'channelsLast',
  );
  const g = convGeometry(info);
  return g && { g, outShape: info.outShape.slice() };
}

function directForward(addon: NativeAddon, inputs: Record<string, TensorInfo>, backend: MathBackendCPU, attrs: tf.NamedAttrMap, bias: Float32Array | null, relu: boolean): TensorInfo | undefined {
  const xv = f32(backend, inputs.x);
  const wv = f32(backend, inputs.filter);
  if (!xv || !wv) return undefined;
  const geo = directGeometry(inputs.x.shape, inputs.filter.shape, attrs, true);
  if (!geo) return undefined;
  const y = alloc(geo.outShape.reduce((p, q) => p * q, 1));
  extra(addon).convDirect(xv, wv, bias, y, geo.g, relu);
  return out(backend, geo.outShape, y);
}

/** Conv2D: direct for short reductions, else kernels.ts's im2col + GEMM. */
export const conv2dExtraKernel: NativeKernel = (addon, inputs, backend, attrs) =>
  directForward(addon, inputs, backend, attrs, null, false) ?? conv2dKernel(addon, inputs, backend, attrs);

/** FusedConv2D (bias [O], linear/ReLU): direct for short reductions, else kernels.ts's kernel. */
export const fusedConv2dExtraKernel: NativeKernel = (addon, inputs, backend, attrs) => {
  const act = (attrs.activation as string | undefined) ?? 'linear';
  if ((act === 'linear' || act === 'relu') && !inputs.preluActivationWeights) {
    const o = inputs.filter.shape[3];
    const bv = inputs.bias ? f32(backend, inputs.bias) : null;
    const biasOk = !inputs.bias || (bv && bv.length === o && inputs.bias.shape.slice(0, -1).every((d) => d === 1));
    if (biasOk) {
      const r = directForward(addon, inputs, backend, attrs, bv ?? null, act === 'relu');
      if (r) return r;
    }
  }
  return fusedConv2dKernel(addon, inputs, backend, attrs);
};

/** Conv2DBackpropFilter: direct for short reductions, else kernels.ts's im2col + GEMM. */
export const conv2dBackpropFilterExtraKernel: NativeKernel = (addon, inputs, backend, attrs) => {
  const xv = f32(backend, inputs.x);
  const dv = f32(backend, inputs.dy);
  const filterShape = attrs.filterShape as number[];
  const geo = xv && dv ? directGeometry(inputs.x.shape, filterShape, attrs, false) : undefined;
  if (!xv || !dv || !geo || inputs.dy.shape.join() !== geo.outShape.join()) return conv2dBackpropFilterKernel(addon, inputs, backend, attrs);
  const dw = alloc(filterShape.reduce((p, q) => p * q, 1));
  extra(addon).convDirectBackpropFilter(xv, dv, dw, geo.g);
  return out(backend, filterShape.slice(), dw);
};

const generalMaxPoolGrad = poolGradKernel(0);

/** MaxPoolGrad: non-overlapping windows (stride = window, no padding) in one write pass, else the general kernel. */
export const maxPoolGradExtraKernel: NativeKernel = (addon, inputs, backend, attrs) => {
  const dv = f32(backend, inputs.dy);
  const xv = f32(backend, inputs.input);
  const yv = f32(backend, inputs.output);
  if (dv && xv && yv && inputs.input.shape.length === 4 && yv.length === dv.length) {
    const info = tf.backend_util.computePool2DInfo(
      inputs.input.shape as [number, number, number, number],
      attrs.filterSize as number | [number, number], attrs.strides as number | [number, number], 1,
      attrs.pad as 'valid' | 'same' | number, attrs.dimRoundingMode as 'floor' | 'round' | 'ceil' | undefined,
    );
    const g = convGeometry(info);
    const tiled = g && info.strideHeight === info.filterHeight && info.strideWidth === info.filterWidth &&
      info.padInfo.top === 0 && info.padInfo.left === 0 &&
      info.outHeight * info.filterHeight <= info.inHeight && info.outWidth * info.filterWidth <= info.inWidth;
    if (g && tiled && inputs.dy.shape.join() === info.outShape.join()) {
      const dx = alloc(xv.length);
      extra(addon).maxPoolGradTiled(xv, yv, dv, dx, g);
      return out(backend, inputs.input.shape.slice(), dx);
    }
  }
  return generalMaxPoolGrad(addon, inputs, backend, attrs);
};

/** ResizeBilinear (NHWC, float32): tfjs's arithmetic in C; its gradient stays the stock kernel. */
export const resizeBilinearKernel: NativeKernel = (addon, inputs, backend, attrs) => {
  const x = inputs.images;
  const xv = f32(backend, x);
  if (!xv || x.shape.length !== 4 || xv.length === 0) return undefined;
  const [newH, newW] = attrs.size as [number, number];
  const [b, h, w, c] = x.shape;
  const y = alloc(b * newH * newW * c);
  extra(addon).resizeBilinear(xv, y, b, h, w, c, newH, newW, !!attrs.alignCorners, !!attrs.halfPixelCenters);
  return out(backend, [b, newH, newW, c], y);
};

/**
 * Slice over several axes (a centre crop of images: H and W) as one strided block copy per sliced
 * axis, outermost first; kernels.ts's kernel does one axis and handed the rest to the stock kernel,
 * which copies element by element (≈ 8 µs per element: 1.6 s to crop 250 images of 32² to 28²).
 */
export const sliceMultiAxisKernel: NativeKernel = (addon, inputs, backend, attrs) => {
  const { x } = inputs;
  const xv = f32(backend, x);
  if (!xv || xv.length === 0) return undefined;
  const [begin, sizes] = tf.slice_util.parseSliceParams(x as tf.Tensor, attrs.begin as number[], attrs.size as number[]);
  const axes = x.shape.map((d, i) => (begin[i] !== 0 || sizes[i] !== d ? i : -1)).filter((i) => i >= 0);
  if (axes.length <= 1 || sizes.some((d) => d === 0)) return sliceKernel(addon, inputs, backend, attrs);
  let cur = xv;
  const shape = x.shape.slice();
  for (const ax of axes) {
    const inner = shape.slice(ax + 1).reduce((p, q) => p * q, 1);
    const rows = shape.slice(0, ax).reduce((p, q) => p * q, 1);
    const next = alloc(rows * sizes[ax] * inner);
    addon.copyBlocks(cur, next, rows, shape[ax] * inner, begin[ax] * inner, sizes[ax] * inner, 0, sizes[ax] * inner);
    cur = next;
    shape[ax] = sizes[ax];
  }
  return out(backend, sizes.slice(), cur);
};

/** Stock kernels this file serves (each falling back to kernels.ts's native kernel). */
export const CONV_EXTRA_OVERRIDES: Record<string, NativeKernel> = {
  Conv2D: conv2dExtraKernel,
  FusedConv2D: fusedConv2dExtraKernel,
  Conv2DBackpropFilter: conv2dBackpropFilterExtraKernel,
  MaxPoolGrad: maxPoolGradExtraKernel,
  ResizeBilinear: resizeBilinearKernel,
  Slice: sliceMultiAxisKernel,
};

/** Kernels that exist only here. */
export const CONV_EXTRA_FUSED: Record<string, NativeKernel> = {
  [EPG_BATCH_NORM_ACT]: batchNormActKernel,
  [EPG_BATCH_NORM_ACT_GRAD]: batchNormActGradKernel,
  [EPG_SCALE_SHIFT_ACT]: scaleShiftActKernel,
};
