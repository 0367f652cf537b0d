/**
 * Registers the native kernels into tfjs-core's kernel registry for backend 'cpu'. Every stock
 * kernel is kept: the native one hands back to it for dtypes and shapes it does not handle, and
 * `unregisterNativeKernels()` restores it. Also overrides the Erf and Softmax gradients with fused
 * one-pass kernels while the cpu backend is active (other backends keep the stock gradient).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { loadAddon, type NativeAddon } from './addon';
import { nativeKernelsActive, setNativeKernelsRegistered } from './active';
import {
  BINARY_OPS,
  EPG_ERF_GRAD,
  EPG_GELU,
  EPG_GELU_GRAD,
  EPG_LAYER_NORM,
  EPG_LAYER_NORM_GRAD,
  EPG_LINEAR,
  EPG_ATTENTION,
  EPG_ATTENTION_GRAD,
  EPG_ADAMW,
  adamwKernel,
  attentionKernel,
  attentionGradKernel,
  EPG_SOFTMAX_GRAD,
  REDUCE_OPS,
  UNARY_OPS,
  batchMatMulKernel,
  conv2dKernel,
  fusedConv2dKernel,
  conv2dBackpropInputKernel,
  conv2dBackpropFilterKernel,
  poolKernel,
  poolGradKernel,
  padKernel,
  tileKernel,
  binaryKernel,
  concatKernel,
  erfGradKernel,
  geluGradKernel,
  geluKernel,
  layerNormGradKernel,
  layerNormKernel,
  linearKernel,
  reduceKernel,
  sliceKernel,
  softmaxGradKernel,
  softmaxKernel,
  splitVKernel,
  transposeKernel,
  unaryKernel,
  type NativeKernel,
} from './kernels';
import {
  EPG_GATED_RESIDUAL,
  EPG_GATED_RESIDUAL_GRAD,
  EPG_PER_TENSOR,
  perTensorKernel,
  EPG_EMA_EACH,
  emaEachKernel,
  EPG_LN_MODULATE,
  EPG_LN_MODULATE_GRAD,
  gatedResidualGradKernel,
  gatedResidualKernel,
  layerNormModulateGradKernel,
  layerNormModulateKernel,
} from './transformer';
import { CONV_EXTRA_FUSED, CONV_EXTRA_OVERRIDES } from './conv-extra';
import { checkPoolLimit } from './pool';

export interface NativeKernelsReport {
  /** True when the addon loaded and its kernels are registered for 'cpu'. */
  readonly active: boolean;
  /** One line: what is active (BLAS build, threads), or why not. */
  readonly why: string;
  /** Stock kernel names now served natively (fused-op kernels not included). */
  readonly kernels: string[];
}

export interface RegisterOptions {
  /** OpenBLAS threads. Default: EPG_NATIVE_THREADS, else 1 (best for whole training steps here). */
  readonly threads?: number;
  /** Serve only these stock kernels natively (default: all); for measuring one step at a time. */
  readonly only?: readonly string[];
  /** Also replace the Erf and Softmax gradients with one-pass kernels (default true). */
  readonly fusedGradients?: boolean;
  /**
   * 'winograd' (default; EPG_NATIVE_CONV): 3×3 stride-1 convolutions and their input gradients use
   * Winograd F(4×4, 3×3), ≈ 2× faster, equal to im2col to ≈ 1e-5 of the output scale;
   * 'im2col': every convolution is im2col + GEMM (the rounding of earlier releases).
   */
  readonly conv?: ConvAlgorithm;
}

export type ConvAlgorithm = 'winograd' | 'im2col';
const CONV_ALGORITHMS: readonly ConvAlgorithm[] = ['winograd', 'im2col'];

function convFromEnv(): ConvAlgorithm {
  const env = process.env.EPG_NATIVE_CONV;
  if (env === undefined || env === '') return 'winograd';
  if (!(CONV_ALGORITHMS as readonly string[]).includes(env)) {
    throw new Error(`EPG_NATIVE_CONV=${env} is not a convolution algorithm: use ${CONV_ALGORITHMS.join(' or ')}, or unset it for winograd.`);
  }
  return env as ConvAlgorithm;
}

/**
 * Sets (when given) and returns the native convolution algorithm ('winograd' or 'im2col'); undefined
 * while the native kernels are not registered.
 */
export function nativeConvAlgorithm(set?: ConvAlgorithm): ConvAlgorithm | undefined {
  if (!state) return undefined;
  if (set !== undefined && !CONV_ALGORITHMS.includes(set)) throw new Error(`nativeConvAlgorithm: '${String(set)}' is not ${CONV_ALGORITHMS.join(' or ')}`);
  const k = state.addon.convAlgorithm(set === undefined ? undefined : set === 'winograd' ? 1 : 0);
  return k === 1 ? 'winograd' : 'im2col';
}

/** Stock kernel names this package can serve natively. */
export function nativeKernelNames(): string[] {
  return Object.keys(overrides());
}

/** Stock kernels replaced by native ones, by name. */
function overrides(): Record<string, NativeKernel> {
  const table: Record<string, NativeKernel> = {
    BatchMatMul: batchMatMulKernel,
    Transpose: transposeKernel,
    Softmax: softmaxKernel,
    Slice: sliceKernel,
    SplitV: splitVKernel,
    Concat: concatKernel,
    Sum: reduceKernel(REDUCE_OPS.Sum, 'axis'),
    Mean: reduceKernel(REDUCE_OPS.Mean, 'axis'),
    Max: reduceKernel(REDUCE_OPS.Max, 'reductionIndices'),
    Min: reduceKernel(REDUCE_OPS.Min, 'axis'),
    Prod: reduceKernel(REDUCE_OPS.Prod, 'axis'),
    Conv2D: conv2dKernel,
    FusedConv2D: fusedConv2dKernel,
    Conv2DBackpropInput: conv2dBackpropInputKernel,
    Conv2DBackpropFilter: conv2dBackpropFilterKernel,
    MaxPool: poolKernel(0),
    AvgPool: poolKernel(1),
    MaxPoolGrad: poolGradKernel(0),
    AvgPoolGrad: poolGradKernel(1),
    PadV2: padKernel,
    Tile: tileKernel,
  };
  for (const [name, op] of Object.entries(BINARY_OPS)) table[name] = binaryKernel(op);
  for (const [name, op] of Object.entries(UNARY_OPS)) table[name] = unaryKernel(op);
  Object.assign(table, CONV_EXTRA_OVERRIDES);
  return table;
}

/** Kernels that exist only here (the fused ops and fused gradients). */
const FUSED: Record<string, NativeKernel> = {
  [EPG_ERF_GRAD]: erfGradKernel,
  [EPG_SOFTMAX_GRAD]: softmaxGradKernel,
  [EPG_GELU]: geluKernel,
  [EPG_GELU_GRAD]: geluGradKernel,
  [EPG_LAYER_NORM]: layerNormKernel,
  [EPG_LAYER_NORM_GRAD]: layerNormGradKernel,
  [EPG_LINEAR]: linearKernel,
  [EPG_ATTENTION]: attentionKernel,
  [EPG_ATTENTION_GRAD]: attentionGradKernel,
  [EPG_ADAMW]: adamwKernel,
  [EPG_LN_MODULATE]: layerNormModulateKernel,
  [EPG_LN_MODULATE_GRAD]: layerNormModulateGradKernel,
  [EPG_GATED_RESIDUAL]: gatedResidualKernel,
  [EPG_GATED_RESIDUAL_GRAD]: gatedResidualGradKernel,
  [EPG_PER_TENSOR]: perTensorKernel,
  [EPG_EMA_EACH]: emaEachKernel,
  ...CONV_EXTRA_FUSED,
};

interface State {
  readonly addon: NativeAddon;
  readonly stock: Map<string, tf.KernelConfig>;
  readonly stockGrads: Map<string, tf.GradConfig>;
  readonly report: NativeKernelsReport;
}

let state: State | undefined;

export { nativeKernelsActive };

/** The loaded addon while native kernels are registered. */
export function activeAddon(): NativeAddon | undefined {
  return state?.addon;
}

function wrap(name: string, fn: NativeKernel, addon: NativeAddon, stock: tf.KernelConfig | undefined): tf.KernelConfig {
  const kernelFunc: tf.KernelFunc = (args) => {
    const r = fn(addon, args.inputs as Record<string, tf.TensorInfo>, args.backend as MathBackendCPU, args.attrs ?? {});
    if (r !== undefined) return r;
    if (!stock) throw new Error(`@epg/tensor-native: kernel '${name}' got inputs it does not handle`);
    return stock.kernelFunc(args);
  };
  return { kernelName: name, backendName: 'cpu', kernelFunc, setupFunc: stock?.setupFunc, disposeFunc: stock?.disposeFunc };
}

function envInt(name: string, fallback: number, min: number, what: string): number {
  const env = process.env[name];
  if (env === undefined || env === '') return fallback;
  const n = Number(env);
  if (!Number.isInteger(n) || n < min) {
    throw new Error(`${name}=${env} is not ${what}: use a whole number >= ${min}, or unset it for ${fallback}.`);
  }
  return n;
}

function threadCount(opts: RegisterOptions): number {
  return opts.threads ?? envInt('EPG_NATIVE_THREADS', 1, 1, 'a thread count');
}

/**
 * Loads the addon and registers its kernels for backend 'cpu'. Idempotent; never throws for a
 * missing or broken addon (the report says why and the stock kernels stay).
 */
export function registerNativeKernels(opts: RegisterOptions = {}): NativeKernelsReport {
  if (state) return state.report;
  const threads = threadCount(opts);
  const conv = opts.conv ?? convFromEnv();
  checkPoolLimit();
  if (!CONV_ALGORITHMS.includes(conv)) throw new Error(`registerNativeKernels: conv '${String(conv)}' is not ${CONV_ALGORITHMS.join(' or ')}`);
  const load = loadAddon();
  if (!load.addon) return { active: false, why: load.why, kernels: [] };
  const addon = load.addon;
  // The stock cpu kernels register when the backend module is first required.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  require('@tensorflow/tfjs-backend-cpu');
  addon.setThreads(threads);
  addon.convAlgorithm(conv === 'winograd' ? 1 : 0);
  const stock = new Map<string, tf.KernelConfig>();
  const kernels: string[] = [];
  for (const [name, fn] of Object.entries(overrides())) {
    if (opts.only && !opts.only.includes(name)) continue;
    const s = tf.getKernel(name, 'cpu');
    if (!s) continue;
    stock.set(name, s);
    tf.unregisterKernel(name, 'cpu');
    tf.registerKernel(wrap(name, fn, addon, s));
    kernels.push(name);
  }
  for (const [name, fn] of Object.entries(FUSED)) {
    if (tf.getKernel(name, 'cpu')) tf.unregisterKernel(name, 'cpu');
    tf.registerKernel(wrap(name, fn, addon, undefined));
  }
  const stockGrads = new Map<string, tf.GradConfig>();
  if (opts.fusedGradients ?? true) {
    overrideGradient('Erf', stockGrads, (dy, saved) => ({
      x: () => tf.engine().runKernel(EPG_ERF_GRAD, { x: saved[0], dy }) as tf.Tensor,
    }));
    overrideGradient('Softmax', stockGrads, (dy, saved) => ({
      logits: () => tf.engine().runKernel(EPG_SOFTMAX_GRAD, { y: saved[0], dy }) as tf.Tensor,
    }));
  }
  const why = `native kernels active (${kernels.length} kernels; ${addon.blasConfig()}${conv === 'im2col' ? '; convolutions im2col only' : ''})`;
  state = { addon, stock, stockGrads, report: { active: true, why, kernels } };
  setNativeKernelsRegistered(true);
  return state.report;
}

/** Replaces a gradient with a fused native one, used only when the cpu backend runs and dy is float32. */
function overrideGradient(
  name: string,
  saved: Map<string, tf.GradConfig>,
  fused: (dy: tf.Tensor, savedTensors: tf.Tensor[]) => Record<string, () => tf.Tensor>,
): void {
  const stock = tf.getGradient(name);
  if (!stock) return;
  saved.set(name, stock);
  tf.registerGradient({
    ...stock,
    gradFunc: (dy, savedTensors, attrs) => {
      const d = dy as tf.Tensor;
      const lastAxis = name !== 'Softmax' || isLastAxis(attrs, savedTensors[0]);
      if (nativeKernelsActive() && d.dtype === 'float32' && savedTensors[0]?.dtype === 'float32' && lastAxis) {
        return fused(d, savedTensors);
      }
      return stock.gradFunc(dy, savedTensors, attrs);
    },
  });
}

function isLastAxis(attrs: tf.NamedAttrMap, y: tf.Tensor | undefined): boolean {
  const dim = attrs.dim as number;
  return y !== undefined && (dim === -1 || dim === y.rank - 1);
}

/** Restores every stock kernel and gradient (for benchmarks and tests comparing both paths). */
export function unregisterNativeKernels(): void {
  if (!state) return;
  for (const [name, cfg] of state.stock) {
    tf.unregisterKernel(name, 'cpu');
    tf.registerKernel(cfg);
  }
  for (const name of Object.keys(FUSED)) {
    if (tf.getKernel(name, 'cpu')) tf.unregisterKernel(name, 'cpu');
  }
  for (const cfg of state.stockGrads.values()) tf.registerGradient(cfg);
  state = undefined;
  setNativeKernelsRegistered(false);
}
