/**
 * Finds and loads the optional native addon (built by scripts/build-native.js). Loading never throws:
 * it reports why the addon is unavailable, and callers keep tfjs's stock kernels.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** The addon's functions; every array is caller-allocated, nothing is returned but side effects. */
export interface NativeAddon {
  gemm(
    transA: boolean, transB: boolean, m: number, n: number, k: number,
    a: Float32Array, b: Float32Array, c: Float32Array,
    aOffsets: Int32Array, bOffsets: Int32Array, bias: Float32Array | null, beta: number,
  ): void;
  binary(op: number, a: Float32Array, b: Float32Array, out: Float32Array, shape: Int32Array, stridesA: Int32Array, stridesB: Int32Array): void;
  unary(op: number, x: Float32Array, out: Float32Array): void;
  /** kind 0: erf'(x)·dy; kind 1: gelu'(x)·dy. */
  unaryGrad(kind: number, x: Float32Array, dy: Float32Array, out: Float32Array): void;
  reduce(op: number, x: Float32Array, out: Float32Array, outer: number, red: number, inner: number): void;
  softmax(x: Float32Array, out: Float32Array, rows: number, cols: number): void;
  softmaxGrad(y: Float32Array, dy: Float32Array, out: Float32Array, rows: number, cols: number): void;
  layerNorm(
    x: Float32Array, gamma: Float32Array | null, beta: Float32Array | null, y: Float32Array,
    mean: Float32Array, rstd: Float32Array, rows: number, cols: number, eps: number,
  ): void;
  layerNormGrad(
    x: Float32Array, gamma: Float32Array | null, mean: Float32Array, rstd: Float32Array, dy: Float32Array,
    dx: Float32Array, dgamma: Float32Array | null, dbeta: Float32Array | null, rows: number, cols: number,
  ): void;
  transpose(x: Float32Array, out: Float32Array, shape: Int32Array, perm: Int32Array): void;
  copyBlocks(src: Float32Array, dst: Float32Array, rows: number, srcStride: number, srcOffset: number, dstStride: number, dstOffset: number, width: number): void;
  /** Multi-head attention from packed qkv [B*T, 3*H*dh]: writes out [B*T, H*dh] and probabilities P [B, H, T, T]. */
  attention(qkv: Float32Array, out: Float32Array, p: Float32Array, b: number, t: number, h: number, dh: number, scale: number): void;
  attentionGrad(qkv: Float32Array, p: Float32Array, dout: Float32Array, dqkv: Float32Array, b: number, t: number, h: number, dh: number, scale: number): void;
  /**
   * Convolution geometry: Int32Array [B, H, W, C, O, KH, KW, strideH, strideW, dilationH, dilationW,
   * padTop, padLeft, OH, OW] (NHWC activations, HWIO filters; pooling uses O = C).
   */
  conv2d(x: Float32Array, w: Float32Array, bias: Float32Array | null, y: Float32Array, geom: Int32Array, relu: boolean): void;
  conv2dBackpropInput(dy: Float32Array, w: Float32Array, dx: Float32Array, geom: Int32Array): void;
  conv2dBackpropFilter(x: Float32Array, dy: Float32Array, dw: Float32Array, geom: Int32Array): void;
  /** kind 0: max, 1: average (over in-bounds positions). */
  pool(kind: number, x: Float32Array, y: Float32Array, geom: Int32Array): void;
  /**
   * kind 0: max (needs x and the forward output y; dy goes to the first maximum of each window),
   * 1: average (dy / (KH·KW) spread over in-bounds positions, as tfjs's AvgPoolGrad).
   */
  poolGrad(kind: number, x: Float32Array | null, y: Float32Array | null, dy: Float32Array, dx: Float32Array, geom: Int32Array): void;
  /** Row-major float64 GEMM (cblas_dgemm): C = alpha·op(A)·op(B) + beta·C. */
  dgemm(
    transA: boolean, transB: boolean, m: number, n: number, k: number, alpha: number,
    a: Float64Array, lda: number, b: Float64Array, ldb: number, beta: number, c: Float64Array, ldc: number,
  ): void;
  /** Upper triangle of C = alpha·A·Aᵀ + beta·C (cblas_dsyrk), A row-major n×k; the lower triangle is untouched. */
  dsyrkUpper(n: number, k: number, alpha: number, a: Float64Array, lda: number, beta: number, c: Float64Array, ldc: number): void;
  /** One fused AdamW update: writes pOut, mOut, vOut (same length as p). */
  adamw(
    p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, pOut: Float32Array, mOut: Float32Array, vOut: Float32Array,
    lr: number, beta1: number, beta2: number, eps: number, weightDecay: number, bc1: number, bc2: number,
  ): void;
  /**
   * y = (LN(x)·γ + β) ⊙ (1 + scale_g) + shift_g over rows grouped by `groupRows` (native/fused_transformer.c);
   * writes y, mean and rstd per row. scale/shift are [rows / groupRows, cols].
   */
  layerNormModulate(
    x: Float32Array, gamma: Float32Array, beta: Float32Array, scale: Float32Array, shift: Float32Array,
    y: Float32Array, mean: Float32Array, rstd: Float32Array, rows: number, cols: number, groupRows: number, eps: number,
  ): void;
  layerNormModulateGrad(
    x: Float32Array, gamma: Float32Array, beta: Float32Array, scale: Float32Array, mean: Float32Array, rstd: Float32Array,
    dy: Float32Array, dx: Float32Array, dgamma: Float32Array, dbeta: Float32Array, dscale: Float32Array, dshift: Float32Array,
    rows: number, cols: number, groupRows: number,
  ): void;
  /** y = x + gate_g ⊙ a over rows grouped by `groupRows`; gate is [rows / groupRows, cols]. */
  gatedResidual(x: Float32Array, gate: Float32Array, a: Float32Array, y: Float32Array, rows: number, cols: number, groupRows: number): void;
  gatedResidualGrad(gate: Float32Array, a: Float32Array, dy: Float32Array, da: Float32Array, dgate: Float32Array, rows: number, cols: number, groupRows: number): void;
  /** Per input array: kind 0 = Σx² (double accumulation), 1 = count of NaN/±∞; written to out[i]. */
  perTensor(kind: number, list: Float32Array[], out: Float64Array): void;
  /** outs[i] = targets[i]·decay + sources[i]·(1 − decay) for every i (an EMA of a parameter list). */
  emaEach(targets: Float32Array[], sources: Float32Array[], outs: Float32Array[], decay: number): void;
  /** Sets OpenBLAS's thread count; returns the count now in force. */
  setThreads(n: number): number;
  /** 0: every convolution through im2col; 1: 3×3 stride-1 ones (and their input gradients) through Winograd F(4×4, 3×3). Undefined reads it. */
  convAlgorithm(kind: number | undefined): number;
  blasConfig(): string;
}

export const ADDON_FILE = 'epg_tensor_native.node';

export type AddonLoad = { readonly addon: NativeAddon; readonly path: string } | { readonly addon: undefined; readonly why: string };

let cached: AddonLoad | undefined;

/** Where the addon may live: dist/native (built package), or node-gyp's build/Release (development). */
export function addonCandidates(): string[] {
  return [
    join(__dirname, 'native', ADDON_FILE),
    join(__dirname, '..', 'dist', 'native', ADDON_FILE),
    join(__dirname, '..', 'native', 'build', 'Release', ADDON_FILE),
  ];
}

/** Loads the addon once per process. EPG_NATIVE=0 disables it. */
export function loadAddon(): AddonLoad {
  if (cached) return cached;
  if (process.env.EPG_NATIVE === '0') {
    cached = { addon: undefined, why: 'disabled by EPG_NATIVE=0' };
    return cached;
  }
  const path = addonCandidates().find((p) => existsSync(p));
  if (!path) {
    cached = {
      addon: undefined,
      why: 'the native addon is not built (needs a C compiler and OpenBLAS: apt-get install -y libopenblas-dev, then `pnpm --filter @epg/tensor-native build` in the epg-ts repo, or `npm explore @epg/tensor-native -- npm run build:native` from npm)',
    };
    return cached;
  }
  try {
    // A plain copy of the exports (N-API's are read-only, not enumerable), so tests can count calls.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const exports = require(path) as Record<string, unknown>;
    const addon = Object.fromEntries(Object.getOwnPropertyNames(exports).map((k) => [k, exports[k]])) as unknown as NativeAddon;
    cached = { addon, path };
  } catch (e) {
    const msg = (e instanceof Error ? e.message : String(e)).split('\n')[0];
    cached = { addon: undefined, why: `the native addon failed to load: ${msg}` };
  }
  return cached;
}
