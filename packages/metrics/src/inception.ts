/**
 * Inception-v3 as used for FID: the "FID Inception" of pytorch-fid (`inception.py`,
 * `fid_inception_v3`), a port of TF's 2015-12-05 graph: 1008 classes, BatchNorm ε = 1e−3,
 * average pools that exclude padding (FIDInceptionA/C/E_1), a max pool in the last block
 * (FIDInceptionE_2). Output: pool3, the 2048-d global average of Mixed_7c; the bias-free logits
 * pool3·Wᵀ for the Inception Score (docs/metrics-reference.md §3.15).
 *
 * Preprocessing (docs/metrics-reference.md §1, §5: the TTUR / ADM / torch-fidelity pipeline, "legacy TF"):
 *   pixels [B, H, W, C] float in [0, 255]; 1 channel is repeated to 3;
 *   resize to 299×299 with tf.image.resizeBilinear (alignCorners = false, halfPixelCenters = false:
 *   TF1's ResizeBilinear, no antialiasing) — skipped when the input is already 299×299;
 *   x ← (x − 128) / 128.
 * pytorch-fid itself resizes with PyTorch's half-pixel bilinear and scales by 2x/255 − 1; clean-fid
 * uses PIL bicubic. Numbers from those pipelines differ slightly from ours (docs/metrics-reference.md trap 1).
 *
 * Weights: pytorch-fid's pt_inception-2015-12-05-6726825d.pth as it is (read by @epg/tensor's
 * torch.save reader), or a safetensors file with the same state-dict names and shapes
 * (scripts/convert_fid_inception.py, kept as a cross-check). Nothing is downloaded.
 * BatchNorm is folded into the convolutions at load time.
 */
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { decodeStateDict, type NamedHostTensor, type RandomStream } from '@epg/tensor';
import type { FeatureExtractor } from './features';

export const INCEPTION_FID_NAME = 'inception-v3-fid/pool3';
export const INCEPTION_FEATURE_DIM = 2048;
export const INCEPTION_NUM_CLASSES = 1008;
export const INCEPTION_INPUT_SIZE = 299;
const BN_EPS = 1e-3;

/** One BasicConv2d (conv without bias + BatchNorm + ReLU) of the network. */
export interface ConvSpec {
  readonly name: string;
  readonly inC: number;
  readonly outC: number;
  readonly kh: number;
  readonly kw: number;
  readonly stride: 1 | 2;
  /** 'same' for PyTorch padding (k−1)/2 at stride 1, 'valid' for padding 0. */
  readonly pad: 'same' | 'valid';
}

function bc(name: string, inC: number, outC: number, kh: number, kw = kh, stride: 1 | 2 = 1, pad: 'same' | 'valid' = 'same'): ConvSpec {
  return { name, inC, outC, kh, kw, stride, pad };
}

/** Every BasicConv2d in pytorch-fid's FID Inception, in state-dict order. */
export function inceptionConvSpecs(): ConvSpec[] {
  const s: ConvSpec[] = [
    bc('Conv2d_1a_3x3', 3, 32, 3, 3, 2, 'valid'),
    bc('Conv2d_2a_3x3', 32, 32, 3, 3, 1, 'valid'),
    bc('Conv2d_2b_3x3', 32, 64, 3),
    bc('Conv2d_3b_1x1', 64, 80, 1),
    bc('Conv2d_4a_3x3', 80, 192, 3, 3, 1, 'valid'),
  ];
  const a = (p: string, inC: number, pf: number) =>
    s.push(
      bc(`${p}.branch1x1`, inC, 64, 1),
      bc(`${p}.branch5x5_1`, inC, 48, 1),
      bc(`${p}.branch5x5_2`, 48, 64, 5),
      bc(`${p}.branch3x3dbl_1`, inC, 64, 1),
      bc(`${p}.branch3x3dbl_2`, 64, 96, 3),
      bc(`${p}.branch3x3dbl_3`, 96, 96, 3),
      bc(`${p}.branch_pool`, inC, pf, 1),
    );
  a('Mixed_5b', 192, 32);
  a('Mixed_5c', 256, 64);
  a('Mixed_5d', 288, 64);
  s.push(
    bc('Mixed_6a.branch3x3', 288, 384, 3, 3, 2, 'valid'),
    bc('Mixed_6a.branch3x3dbl_1', 288, 64, 1),
    bc('Mixed_6a.branch3x3dbl_2', 64, 96, 3),
    bc('Mixed_6a.branch3x3dbl_3', 96, 96, 3, 3, 2, 'valid'),
  );
  const c = (p: string, c7: number) =>
    s.push(
      bc(`${p}.branch1x1`, 768, 192, 1),
      bc(`${p}.branch7x7_1`, 768, c7, 1),
      bc(`${p}.branch7x7_2`, c7, c7, 1, 7),
      bc(`${p}.branch7x7_3`, c7, 192, 7, 1),
      bc(`${p}.branch7x7dbl_1`, 768, c7, 1),
      bc(`${p}.branch7x7dbl_2`, c7, c7, 7, 1),
      bc(`${p}.branch7x7dbl_3`, c7, c7, 1, 7),
      bc(`${p}.branch7x7dbl_4`, c7, c7, 7, 1),
      bc(`${p}.branch7x7dbl_5`, c7, 192, 1, 7),
      bc(`${p}.branch_pool`, 768, 192, 1),
    );
  c('Mixed_6b', 128);
  c('Mixed_6c', 160);
  c('Mixed_6d', 160);
  c('Mixed_6e', 192);
  s.push(
    bc('Mixed_7a.branch3x3_1', 768, 192, 1),
    bc('Mixed_7a.branch3x3_2', 192, 320, 3, 3, 2, 'valid'),
    bc('Mixed_7a.branch7x7x3_1', 768, 192, 1),
    bc('Mixed_7a.branch7x7x3_2', 192, 192, 1, 7),
    bc('Mixed_7a.branch7x7x3_3', 192, 192, 7, 1),
    bc('Mixed_7a.branch7x7x3_4', 192, 192, 3, 3, 2, 'valid'),
  );
  const e = (p: string, inC: number) =>
    s.push(
      bc(`${p}.branch1x1`, inC, 320, 1),
      bc(`${p}.branch3x3_1`, inC, 384, 1),
      bc(`${p}.branch3x3_2a`, 384, 384, 1, 3),
      bc(`${p}.branch3x3_2b`, 384, 384, 3, 1),
      bc(`${p}.branch3x3dbl_1`, inC, 448, 1),
      bc(`${p}.branch3x3dbl_2`, 448, 384, 3),
      bc(`${p}.branch3x3dbl_3a`, 384, 384, 1, 3),
      bc(`${p}.branch3x3dbl_3b`, 384, 384, 3, 1),
      bc(`${p}.branch_pool`, inC, 192, 1),
    );
  e('Mixed_7b', 1280);
  e('Mixed_7c', 2048);
  return s;
}

/** The tensors a weights file must hold: name → shape (PyTorch layouts: conv OIHW, fc [out, in]). */
export function inceptionWeightShapes(): Map<string, readonly number[]> {
  const m = new Map<string, readonly number[]>();
  for (const c of inceptionConvSpecs()) {
    m.set(`${c.name}.conv.weight`, [c.outC, c.inC, c.kh, c.kw]);
    for (const k of ['weight', 'bias', 'running_mean', 'running_var']) m.set(`${c.name}.bn.${k}`, [c.outC]);
  }
  m.set('fc.weight', [INCEPTION_NUM_CLASSES, INCEPTION_FEATURE_DIM]);
  m.set('fc.bias', [INCEPTION_NUM_CLASSES]);
  return m;
}

export type InceptionWeights = ReadonlyMap<string, NamedHostTensor>;

const CONVERT_HINT = "pass pytorch-fid's pt_inception-2015-12-05-6726825d.pth as it is, or a safetensors made by packages/metrics/scripts/convert_fid_inception.py";

/**
 * Reads and checks a weights file, pytorch-fid's `.pth` (torch.save, either format) or safetensors
 * (told apart by content): every tensor present with its shape.
 */
export function loadInceptionWeights(path: string): InceptionWeights {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch {
    throw new Error(`Inception weights file not found: ${path} (${CONVERT_HINT})`);
  }
  const read = decodeStateDict(buf, path);
  if (read._tag === 'Left') throw read.left;
  checkInceptionWeights(read.right, path);
  return read.right;
}

/** Throws, naming the first missing or misshapen tensor, unless `w` holds the whole network. */
export function checkInceptionWeights(w: InceptionWeights, label: string): void {
  for (const [name, shape] of inceptionWeightShapes()) {
    if (name === 'fc.bias') continue; // unused: IS logits are bias-free
    const t = w.get(name);
    if (!t) throw new RangeError(`${label}: tensor '${name}' is missing (${CONVERT_HINT})`);
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      throw new RangeError(`${label}: tensor '${name}' has shape [${t.shape}], expected [${shape}]`);
    }
  }
}

/** Random weights with the right shapes (He-normal convs, identity BatchNorm): for shape tests only. */
export function randomInceptionWeights(rs: RandomStream): InceptionWeights {
  const m = new Map<string, NamedHostTensor>();
  for (const [name, shape] of inceptionWeightShapes()) {
    const n = shape.reduce((p, q) => p * q, 1);
    const data = new Float32Array(n);
    if (name.endsWith('conv.weight') || name === 'fc.weight') {
      const fanIn = shape.slice(1).reduce((p, q) => p * q, 1);
      rs.child(name).fillNormal(data, 0, Math.sqrt(2 / fanIn));
    } else if (name.endsWith('bn.weight') || name.endsWith('running_var')) {
      data.fill(1);
    }
    m.set(name, { dtype: 'F32', shape, data });
  }
  return m;
}

export interface FoldedConv {
  readonly kernel: tf.Tensor4D; // HWIO
  readonly bias: tf.Tensor1D;
  readonly spec: ConvSpec;
}

/** Conv OIHW + BatchNorm (γ, β, mean, var, ε = 1e−3) → HWIO kernel·γ/√(var+ε) and bias β − mean·γ/√(var+ε). */
export function foldConv(w: InceptionWeights, spec: ConvSpec): FoldedConv {
  const get = (k: string) => Float64Array.from(w.get(`${spec.name}.${k}`)!.data as ArrayLike<number>);
  const wt = w.get(`${spec.name}.conv.weight`)!.data;
  const [gamma, beta, mean, vr] = ['bn.weight', 'bn.bias', 'bn.running_mean', 'bn.running_var'].map(get);
  const { inC, outC, kh, kw } = spec;
  const kernel = new Float32Array(kh * kw * inC * outC);
  const bias = new Float32Array(outC);
  for (let o = 0; o < outC; o++) {
    const scale = gamma[o] / Math.sqrt(vr[o] + BN_EPS);
    bias[o] = beta[o] - mean[o] * scale;
    for (let i = 0; i < inC; i++) {
      for (let y = 0; y < kh; y++) {
        for (let x = 0; x < kw; x++) {
          kernel[((y * kw + x) * inC + i) * outC + o] = wt[((o * inC + i) * kh + y) * kw + x] * scale;
        }
      }
    }
  }
  return { kernel: tf.tensor4d(kernel, [kh, kw, inC, outC]), bias: tf.tensor1d(bias), spec };
}

export interface InceptionExtractor extends FeatureExtractor {
  /** Bias-free 1008-way logits pool3·Wᵀ (requires fc.weight in the weights). */
  logits(pixels: tf.Tensor4D): tf.Tensor2D;
  /** Frees the network's tensors. */
  dispose(): void;
}

export interface InceptionOptions {
  /**
   * Side the images are resized to (default 299, the FID pipeline). The network is fully
   * convolutional down to 75×75; other sizes exist for fast shape tests and change the name.
   */
  readonly inputSize?: number;
}

/** Builds the extractor; it owns its tensors until `dispose()`. */
export function createInceptionExtractor(weights: InceptionWeights, opts: InceptionOptions = {}): InceptionExtractor {
  checkInceptionWeights(weights, 'Inception weights');
  const size = opts.inputSize ?? INCEPTION_INPUT_SIZE;
  if (!Number.isInteger(size) || size < 75) throw new RangeError(`Inception inputSize must be an integer ≥ 75, got ${size}`);
  const convs = new Map<string, FoldedConv>();
  for (const spec of inceptionConvSpecs()) convs.set(spec.name, foldConv(weights, spec));
  const fcT = tf.tidy(() => tf.transpose(tf.tensor2d(Float32Array.from(weights.get('fc.weight')!.data as ArrayLike<number>), [INCEPTION_NUM_CLASSES, INCEPTION_FEATURE_DIM])) as tf.Tensor2D);

  const conv = (name: string, x: tf.Tensor4D): tf.Tensor4D => {
    const c = convs.get(name);
    if (!c) throw new Error(`inception: no convolution '${name}'`);
    // one fused kernel (conv + bias + ReLU) where the backend has it: native cpu, wasm
    return tf.fused.conv2d({ x, filter: c.kernel, strides: c.spec.stride, pad: c.spec.pad, bias: c.bias, activation: 'relu' });
  };
  const chain = (x: tf.Tensor4D, names: string[]) => names.reduce((y, n) => conv(n, y), x);
  // 3×3 stride-1 average pool excluding padding (count_include_pad=False = TF 'SAME' average)
  const avg3 = (x: tf.Tensor4D) => tf.avgPool(x, 3, 1, 'same');
  const max3s2 = (x: tf.Tensor4D) => tf.maxPool(x, 3, 2, 'valid');
  const cat = (xs: tf.Tensor4D[]) => tf.concat(xs, 3);

  const blockA = (p: string, x: tf.Tensor4D) =>
    cat([
      conv(`${p}.branch1x1`, x),
      chain(x, [`${p}.branch5x5_1`, `${p}.branch5x5_2`]),
      chain(x, [`${p}.branch3x3dbl_1`, `${p}.branch3x3dbl_2`, `${p}.branch3x3dbl_3`]),
      conv(`${p}.branch_pool`, avg3(x)),
    ]);
  const blockB = (p: string, x: tf.Tensor4D) =>
    cat([conv(`${p}.branch3x3`, x), chain(x, [`${p}.branch3x3dbl_1`, `${p}.branch3x3dbl_2`, `${p}.branch3x3dbl_3`]), max3s2(x)]);
  const blockC = (p: string, x: tf.Tensor4D) =>
    cat([
      conv(`${p}.branch1x1`, x),
      chain(x, [`${p}.branch7x7_1`, `${p}.branch7x7_2`, `${p}.branch7x7_3`]),
      chain(x, [`${p}.branch7x7dbl_1`, `${p}.branch7x7dbl_2`, `${p}.branch7x7dbl_3`, `${p}.branch7x7dbl_4`, `${p}.branch7x7dbl_5`]),
      conv(`${p}.branch_pool`, avg3(x)),
    ]);
  const blockD = (p: string, x: tf.Tensor4D) =>
    cat([
      chain(x, [`${p}.branch3x3_1`, `${p}.branch3x3_2`]),
      chain(x, [`${p}.branch7x7x3_1`, `${p}.branch7x7x3_2`, `${p}.branch7x7x3_3`, `${p}.branch7x7x3_4`]),
      max3s2(x),
    ]);
  const blockE = (p: string, x: tf.Tensor4D, pool: 'avg' | 'max') => {
    const b3 = conv(`${p}.branch3x3_1`, x);
    const d3 = chain(x, [`${p}.branch3x3dbl_1`, `${p}.branch3x3dbl_2`]);
    return cat([
      conv(`${p}.branch1x1`, x),
      conv(`${p}.branch3x3_2a`, b3),
      conv(`${p}.branch3x3_2b`, b3),
      conv(`${p}.branch3x3dbl_3a`, d3),
      conv(`${p}.branch3x3dbl_3b`, d3),
      conv(`${p}.branch_pool`, pool === 'avg' ? avg3(x) : tf.maxPool(x, 3, 1, 'same')),
    ]);
  };

  /** pool3 features of preprocessed input x ∈ [−1, 1], [B, 299, 299, 3]. */
  const pool3 = (x: tf.Tensor4D): tf.Tensor2D => {
    let y = chain(x, ['Conv2d_1a_3x3', 'Conv2d_2a_3x3', 'Conv2d_2b_3x3']);
    y = max3s2(y);
    y = chain(y, ['Conv2d_3b_1x1', 'Conv2d_4a_3x3']);
    y = max3s2(y);
    y = blockA('Mixed_5b', y);
    y = blockA('Mixed_5c', y);
    y = blockA('Mixed_5d', y);
    y = blockB('Mixed_6a', y);
    for (const p of ['Mixed_6b', 'Mixed_6c', 'Mixed_6d', 'Mixed_6e']) y = blockC(p, y);
    y = blockD('Mixed_7a', y);
    y = blockE('Mixed_7b', y, 'avg');
    y = blockE('Mixed_7c', y, 'max');
    return tf.mean(y, [1, 2]) as tf.Tensor2D;
  };

  const preprocess = (pixels: tf.Tensor4D): tf.Tensor4D => {
    const c = pixels.shape[3];
    if (c !== 1 && c !== 3) throw new RangeError(`Inception extractor takes 1- or 3-channel images, got ${c} channels`);
    let x = c === 1 ? tf.tile(pixels, [1, 1, 1, 3]) : pixels;
    if (x.shape[1] !== size || x.shape[2] !== size) x = tf.image.resizeBilinear(x, [size, size], false, false);
    return tf.div(tf.sub(x, 128), 128);
  };

  return {
    name: size === INCEPTION_INPUT_SIZE ? INCEPTION_FID_NAME : `${INCEPTION_FID_NAME}@${size}px`,
    dim: INCEPTION_FEATURE_DIM,
    accepts: `[B, H, W, 1 or 3] pixels in [0, 255], any size (resized to ${size}×${size}, TF1 bilinear)`,
    extract: (pixels) => tf.tidy(() => pool3(preprocess(pixels))),
    logits: (pixels) => tf.tidy(() => tf.matMul(pool3(preprocess(pixels)), fcT)),
    dispose: () => {
      for (const c of convs.values()) {
        c.kernel.dispose();
        c.bias.dispose();
      }
      fcT.dispose();
    },
  };
}
