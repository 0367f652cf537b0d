/**
 * The MoCo v3 / BYOL asymmetric augmentation pair (docs/method.md §4.3; moco-v3 main_moco.py `augmentation1`/`augmentation2`;
 * rRCM dataset.py), on host float32 buffers, seeded per sample. Ops follow torchvision's definitions
 * (transforms.RandomResizedCrop.get_params; functional resized_crop = crop, then Pillow-style
 * antialiased bilinear resize of the crop; adjust_* on [0, 1] images). Differences from the PIL
 * pipeline MoCo v3 runs, by design and measured in docs/data.md: values stay float between ops (PIL
 * rounds to uint8 after each), hue is rotated in float (PIL quantises HSV to 8 bits), and the blur
 * is an exact sampled Gaussian with mirrored edges (PIL's GaussianBlur uses three box blurs).
 */
import type { RandomStream } from '@epg/tensor';
import { DataError } from './types';
import { resizedCropFloat, roundHalfEven, type ResampleBox } from './resample';
import { normalizationAffine, type Normalization } from './transform';

/** Probabilities and ranges of one view (defaults: MoCo v3). */
export interface ViewConfig {
  /** RandomResizedCrop area fraction range. */
  readonly cropScale: readonly [number, number];
  /** RandomResizedCrop aspect-ratio range (w/h). */
  readonly cropRatio: readonly [number, number];
  readonly jitterProb: number;
  readonly brightness: number;
  readonly contrast: number;
  readonly saturation: number;
  readonly hue: number;
  readonly grayscaleProb: number;
  readonly blurProb: number;
  /** Gaussian blur σ range in pixels (PIL radius). */
  readonly blurSigma: readonly [number, number];
  readonly solarizeProb: number;
  readonly flipProb: number;
}

const MOCO_COMMON = {
  cropScale: [0.08, 1] as const,
  cropRatio: [3 / 4, 4 / 3] as const,
  jitterProb: 0.8,
  brightness: 0.4,
  contrast: 0.4,
  saturation: 0.2,
  hue: 0.1,
  grayscaleProb: 0.2,
  blurSigma: [0.1, 2.0] as const,
  flipProb: 0.5,
};
/** View 1 of MoCo v3: blur always, no solarize. */
export const MOCO_V3_VIEW1: ViewConfig = { ...MOCO_COMMON, blurProb: 1.0, solarizeProb: 0 };
/** View 2 of MoCo v3: blur p = 0.1, solarize p = 0.2. */
export const MOCO_V3_VIEW2: ViewConfig = { ...MOCO_COMMON, blurProb: 0.1, solarizeProb: 0.2 };

/**
 * Grey 28-px views (MNIST, Fashion-MNIST; docs/ssl.md, "Small images"). Against MoCo v3 at 224 px:
 * crop scale (0.3, 1) (an 8% crop of a digit is one stroke); saturation, hue and grayscale off (no-ops
 * on one channel); blur σ ∈ [0.1, 1.0] px (2 px is a tenth of the image here); solarize off (it erases
 * white-on-black strokes); no flips (mirrored digits are other symbols or none).
 */
const GREY_28: Omit<ViewConfig, 'blurProb' | 'solarizeProb' | 'flipProb'> = {
  ...MOCO_V3_VIEW1,
  cropScale: [0.3, 1],
  saturation: 0,
  hue: 0,
  grayscaleProb: 0,
  blurSigma: [0.1, 1.0],
};
export const MNIST_VIEW1: ViewConfig = { ...GREY_28, blurProb: MOCO_V3_VIEW1.blurProb, solarizeProb: 0, flipProb: 0 };
export const MNIST_VIEW2: ViewConfig = { ...GREY_28, blurProb: MOCO_V3_VIEW2.blurProb, solarizeProb: 0, flipProb: 0 };
/** MNIST: the grey views, no flip of x₀ either. */
export const MNIST_PAIR: PairConfig = { size: 28, channels: 1, normalization: 'minus-one-one', view1: MNIST_VIEW1, view2: MNIST_VIEW2, x0FlipProb: 0 };
/** Fashion-MNIST: clothes are left–right symmetric, so views and x₀ flip with p 0.5; view 2 keeps MoCo's solarize p 0.2. */
export const FASHION_PAIR: PairConfig = {
  ...MNIST_PAIR,
  view1: { ...MNIST_VIEW1, flipProb: 0.5 },
  view2: { ...MNIST_VIEW2, flipProb: 0.5, solarizeProb: MOCO_V3_VIEW2.solarizeProb },
  x0FlipProb: 0.5,
};

export interface PairConfig {
  /** Output side length; sources must already be size×size (see admCenterCropSet / padImageSet). */
  readonly size: number;
  /** Output channels: 1 or 3 (a 1-channel source is replicated when 3). */
  readonly channels: 1 | 3;
  readonly normalization: Normalization;
  readonly view1: ViewConfig;
  readonly view2: ViewConfig;
  /** Flip probability of the consistency input x0 (ADM centre crop + flip). */
  readonly x0FlipProb: number;
}

export function defaultPairConfig(size: number, channels: 1 | 3 = 3, normalization: Normalization = 'minus-one-one'): PairConfig {
  return { size, channels, normalization, view1: MOCO_V3_VIEW1, view2: MOCO_V3_VIEW2, x0FlipProb: 0.5 };
}

/** The colour-jitter ops, applied in a random order (torchvision ColorJitter). */
export type JitterOp = 'brightness' | 'contrast' | 'saturation' | 'hue';
const JITTER_OPS: readonly JitterOp[] = ['brightness', 'contrast', 'saturation', 'hue'];

/** Every random choice of one view; drawn first, then applied (so tests can check the draws). */
export interface ViewParams {
  readonly crop: ResampleBox;
  readonly jitter: null | { readonly order: readonly JitterOp[]; readonly brightness: number; readonly contrast: number; readonly saturation: number; readonly hue: number };
  readonly grayscale: boolean;
  readonly blurSigma: number | null;
  readonly solarize: boolean;
  readonly flip: boolean;
}

/** torchvision RandomResizedCrop.get_params: 10 tries, then a centre crop clamped to the ratio range. */
export function sampleCrop(rs: RandomStream, height: number, width: number, scale: readonly [number, number], ratio: readonly [number, number]): ResampleBox {
  const area = height * width;
  const logLo = Math.log(ratio[0]);
  const logHi = Math.log(ratio[1]);
  for (let attempt = 0; attempt < 10; attempt++) {
    const target = area * rs.uniformIn(scale[0], scale[1]);
    const aspect = Math.exp(rs.uniformIn(logLo, logHi));
    const w = roundHalfEven(Math.sqrt(target * aspect));
    const h = roundHalfEven(Math.sqrt(target / aspect));
    if (w > 0 && w <= width && h > 0 && h <= height) {
      const top = rs.int(height - h + 1);
      const left = rs.int(width - w + 1);
      return { left, top, right: left + w, bottom: top + h };
    }
  }
  const inRatio = width / height;
  let w = width;
  let h = height;
  if (inRatio < ratio[0]) h = roundHalfEven(w / ratio[0]);
  else if (inRatio > ratio[1]) w = roundHalfEven(h * ratio[1]);
  const top = Math.floor((height - h) / 2);
  const left = Math.floor((width - w) / 2);
  return { left, top, right: left + w, bottom: top + h };
}

export function sampleViewParams(rs: RandomStream, cfg: ViewConfig, height: number, width: number): ViewParams {
  const crop = sampleCrop(rs, height, width, cfg.cropScale, cfg.cropRatio);
  let jitter: ViewParams['jitter'] = null;
  if (rs.bernoulli(cfg.jitterProb)) {
    const perm = rs.permutation(4);
    jitter = {
      order: Array.from(perm, (k) => JITTER_OPS[k]),
      brightness: rs.uniformIn(Math.max(0, 1 - cfg.brightness), 1 + cfg.brightness),
      contrast: rs.uniformIn(Math.max(0, 1 - cfg.contrast), 1 + cfg.contrast),
      saturation: rs.uniformIn(Math.max(0, 1 - cfg.saturation), 1 + cfg.saturation),
      hue: rs.uniformIn(-cfg.hue, cfg.hue),
    };
  }
  const grayscale = rs.bernoulli(cfg.grayscaleProb);
  const blurSigma = rs.bernoulli(cfg.blurProb) ? rs.uniformIn(cfg.blurSigma[0], cfg.blurSigma[1]) : null;
  const solarize = rs.bernoulli(cfg.solarizeProb);
  const flip = rs.bernoulli(cfg.flipProb);
  return { crop, jitter, grayscale, blurSigma, solarize, flip };
}

// ---------------------------------------------------------------------------------------------
// Pixel ops on one H×W×C image in [0, 1], in place (torchvision functional_tensor definitions).

const clamp01 = (v: number) => (v < 0 ? 0 : v > 1 ? 1 : v);
const LUMA = [0.299, 0.587, 0.114] as const; // ITU-R 601

export function adjustBrightness(img: Float32Array, factor: number): void {
  for (let i = 0; i < img.length; i++) img[i] = clamp01(img[i] * factor);
}

/** Blend with the mean luma of the whole image. */
export function adjustContrast(img: Float32Array, channels: number, factor: number): void {
  let mean = 0;
  const pixels = img.length / channels;
  if (channels === 3) for (let p = 0; p < pixels; p++) mean += LUMA[0] * img[3 * p] + LUMA[1] * img[3 * p + 1] + LUMA[2] * img[3 * p + 2];
  else for (let i = 0; i < img.length; i++) mean += img[i];
  mean /= pixels;
  const add = (1 - factor) * mean;
  for (let i = 0; i < img.length; i++) img[i] = clamp01(factor * img[i] + add);
}

/** Blend with the per-pixel luma (no-op on 1 channel). */
export function adjustSaturation(img: Float32Array, channels: number, factor: number): void {
  if (channels !== 3) return;
  for (let i = 0; i < img.length; i += 3) {
    const g = (1 - factor) * (LUMA[0] * img[i] + LUMA[1] * img[i + 1] + LUMA[2] * img[i + 2]);
    img[i] = clamp01(factor * img[i] + g);
    img[i + 1] = clamp01(factor * img[i + 1] + g);
    img[i + 2] = clamp01(factor * img[i + 2] + g);
  }
}

/** Rotates the hue by `shift` turns (RGB→HSV→RGB, as colorsys / torchvision; no-op on 1 channel). */
export function adjustHue(img: Float32Array, channels: number, shift: number): void {
  if (channels !== 3) return;
  for (let i = 0; i < img.length; i += 3) {
    const r = img[i];
    const g = img[i + 1];
    const b = img[i + 2];
    const maxc = Math.max(r, g, b);
    const minc = Math.min(r, g, b);
    const v = maxc;
    if (maxc === minc) continue; // grey: hue undefined, unchanged
    const s = (maxc - minc) / maxc;
    const rc = (maxc - r) / (maxc - minc);
    const gc = (maxc - g) / (maxc - minc);
    const bc = (maxc - b) / (maxc - minc);
    let h = r === maxc ? bc - gc : g === maxc ? 2 + rc - bc : 4 + gc - rc;
    h = (h / 6) % 1;
    h = (((h + shift) % 1) + 1) % 1;
    const k = Math.floor(h * 6);
    const f = h * 6 - k;
    const p = v * (1 - s);
    const q = v * (1 - s * f);
    const t = v * (1 - s * (1 - f));
    switch (k % 6) {
      case 0: img[i] = v; img[i + 1] = t; img[i + 2] = p; break;
      case 1: img[i] = q; img[i + 1] = v; img[i + 2] = p; break;
      case 2: img[i] = p; img[i + 1] = v; img[i + 2] = t; break;
      case 3: img[i] = p; img[i + 1] = q; img[i + 2] = v; break;
      case 4: img[i] = t; img[i + 1] = p; img[i + 2] = v; break;
      default: img[i] = v; img[i + 1] = p; img[i + 2] = q;
    }
  }
}

export function toGrayscaleInPlace(img: Float32Array, channels: number): void {
  if (channels !== 3) return;
  for (let i = 0; i < img.length; i += 3) {
    const y = LUMA[0] * img[i] + LUMA[1] * img[i + 1] + LUMA[2] * img[i + 2];
    img[i] = img[i + 1] = img[i + 2] = y;
  }
}

/** 1-D Gaussian weights with radius int(3σ + 0.5) (scipy.ndimage truncate = 3), summing to 1. */
export function gaussianKernel(sigma: number): Float64Array {
  const radius = Math.floor(3 * sigma + 0.5);
  const k = new Float64Array(2 * radius + 1);
  let sum = 0;
  for (let i = -radius; i <= radius; i++) {
    const v = Math.exp((-0.5 * i * i) / (sigma * sigma));
    k[i + radius] = v;
    sum += v;
  }
  for (let i = 0; i < k.length; i++) k[i] /= sum;
  return k;
}

/** Index `i` folded into 0..n−1 by mirroring about the outer pixel edges (… c b a | a b c … | … x y z | z y x …). */
function reflectIndex(i: number, n: number): number {
  const m = ((i % (2 * n)) + 2 * n) % (2 * n);
  return m < n ? m : 2 * n - 1 - m;
}

/**
 * Separable Gaussian blur, edges mirrored (scipy.ndimage mode 'reflect', which tracks PIL's
 * GaussianBlur at the border far better than replicated edges; docs/data.md has the sizes);
 * `tmp` is scratch of img's size.
 */
export function gaussianBlur(img: Float32Array, height: number, width: number, channels: number, sigma: number, tmp: Float32Array = new Float32Array(img.length)): void {
  const k = gaussianKernel(sigma);
  const r = (k.length - 1) / 2;
  if (r === 0) return;
  const C = channels;
  const rowLen = width * C;
  // Horizontal: each row copied into a buffer padded with its mirrored pixels, then a clamp-free convolution.
  const padded = new Float32Array((width + 2 * r) * C);
  const cols = new Int32Array(width + 2 * r);
  for (let j = 0; j < cols.length; j++) cols[j] = reflectIndex(j - r, width) * C;
  for (let y = 0; y < height; y++) {
    const row = y * rowLen;
    for (let j = 0; j < cols.length; j++) for (let c = 0; c < C; c++) padded[j * C + c] = img[row + cols[j] + c];
    for (let x = 0; x < rowLen; x++) {
      let acc = 0;
      for (let j = 0; j < k.length; j++) acc += k[j] * padded[x + j * C];
      tmp[row + x] = acc;
    }
  }
  // Vertical: the (mirrored) source rows of each output row, accumulated per column.
  const rows = new Int32Array(k.length);
  for (let y = 0; y < height; y++) {
    for (let j = -r; j <= r; j++) rows[j + r] = reflectIndex(y + j, height) * rowLen;
    const out = y * rowLen;
    for (let x = 0; x < rowLen; x++) {
      let acc = 0;
      for (let j = 0; j < k.length; j++) acc += k[j] * tmp[rows[j] + x];
      img[out + x] = acc;
    }
  }
}

/** PIL ImageOps.solarize(threshold=128): pixels at level ≥ 128 (of 255) are inverted. */
export function solarize(img: Float32Array): void {
  const threshold = 127.5 / 255; // between levels 127 and 128: robust to float32 rounding of 128/255
  for (let i = 0; i < img.length; i++) if (img[i] >= threshold) img[i] = 1 - img[i];
}

/** Writes `img` (size×size×c, [0,1]) into `out` at `offset`, optionally mirrored, replicated to `outChannels`, normalised. */
function emit(img: Float32Array, size: number, c: number, flip: boolean, outChannels: number, affine: { scale: Float64Array; shift: Float64Array }, out: Float32Array, offset: number): void {
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const sx = flip ? size - 1 - x : x;
      const s = (y * size + sx) * c;
      const o = offset + (y * size + x) * outChannels;
      for (let ch = 0; ch < outChannels; ch++) out[o + ch] = img[s + (c === 1 ? 0 : ch)] * affine.scale[ch] + affine.shift[ch];
    }
  }
}

/** Scratch buffers reused across the samples of a batch. */
interface Scratch {
  img: Float32Array;
  tmp: Float32Array;
}

/** Applies one view's params to a uint8 source (h×w×c) and writes the normalised result into out at offset. */
export function applyView(
  src: Uint8Array, height: number, width: number, channels: number, params: ViewParams, size: number, outChannels: number,
  normalization: Normalization, out: Float32Array, offset: number, scratch?: Scratch,
): void {
  const n = size * size * channels;
  const s = scratch && scratch.img.length === n ? scratch : { img: new Float32Array(n), tmp: new Float32Array(n) };
  const img = s.img;
  // Crop, then resize the crop (torchvision resized_crop): the filter never reads outside the crop.
  resizedCropFloat(src, height, width, channels, params.crop, size, size, 'bilinear', img, 1 / 255);
  for (let i = 0; i < n; i++) img[i] = clamp01(img[i]);
  if (params.jitter) {
    const j = params.jitter;
    for (const op of j.order) {
      if (op === 'brightness') adjustBrightness(img, j.brightness);
      else if (op === 'contrast') adjustContrast(img, channels, j.contrast);
      else if (op === 'saturation') adjustSaturation(img, channels, j.saturation);
      else adjustHue(img, channels, j.hue);
    }
  }
  if (params.grayscale) toGrayscaleInPlace(img, channels);
  if (params.blurSigma !== null) gaussianBlur(img, size, size, channels, params.blurSigma, s.tmp);
  if (params.solarize) solarize(img);
  emit(img, size, channels, params.flip, outChannels, normalizationAffine(normalization, outChannels), out, offset);
}

/** One batch of (x0, view1, view2), each N×S×S×C float32, normalised. */
export interface AugmentedPair {
  readonly x0: Float32Array;
  readonly view1: Float32Array;
  readonly view2: Float32Array;
  readonly count: number;
  readonly size: number;
  readonly channels: number;
}

/**
 * Augments a batch of uint8 images (count×size×size×c). `streamFor(i)` gives sample i's stream;
 * derive it from (seed, epoch, position) so a sample's views do not depend on the batch it is in.
 * x0 is the (already centre-cropped) source, flipped with x0FlipProb.
 */
export function augmentPairBatch(
  images: Uint8Array, count: number, height: number, width: number, channels: number,
  streamFor: (i: number) => RandomStream, cfg: PairConfig,
): AugmentedPair {
  const S = cfg.size;
  if (height !== S || width !== S) {
    throw new DataError(`augmentPairBatch: images are ${height}×${width} but size is ${S}; centre-crop or pad the set first (admCenterCropSet / padImageSet)`);
  }
  if (channels !== 1 && channels !== 3) throw new DataError(`augmentPairBatch: images have ${channels} channels; 1 or 3 are supported`);
  if (cfg.channels === 1 && channels === 3) throw new DataError('augmentPairBatch: 3-channel images with channels: 1; convert the set with toChannels(set, 1) first');
  if (images.length !== count * S * S * channels) throw new DataError(`augmentPairBatch: ${images.length} bytes is not ${count}×${S}×${S}×${channels}`);
  const C = cfg.channels;
  const per = S * S * C;
  const x0 = new Float32Array(count * per);
  const view1 = new Float32Array(count * per);
  const view2 = new Float32Array(count * per);
  const n = S * S * channels;
  const scratch: Scratch = { img: new Float32Array(n), tmp: new Float32Array(n) };
  const affine = normalizationAffine(cfg.normalization, C);
  const unit = new Float32Array(n);
  for (let i = 0; i < count; i++) {
    const src = images.subarray(i * n, (i + 1) * n);
    const rs = streamFor(i);
    const flip0 = rs.child('x0').bernoulli(cfg.x0FlipProb);
    for (let k = 0; k < n; k++) unit[k] = src[k] / 255;
    emit(unit, S, channels, flip0, C, affine, x0, i * per);
    applyView(src, S, S, channels, sampleViewParams(rs.child('view1'), cfg.view1, S, S), S, C, cfg.normalization, view1, i * per, scratch);
    applyView(src, S, S, channels, sampleViewParams(rs.child('view2'), cfg.view2, S, S), S, C, cfg.normalization, view2, i * per, scratch);
  }
  return { x0, view1, view2, count, size: S, channels: C };
}

/**
 * Classifier-free-guidance label dropout: each label becomes the null class `numClasses` with
 * probability p (one draw per label, in order).
 */
export function dropLabels(labels: Int32Array, p: number, numClasses: number, rs: RandomStream): Int32Array {
  if (!(p >= 0 && p <= 1)) throw new DataError(`label dropout probability must be in [0, 1], got ${p}`);
  const out = new Int32Array(labels.length);
  for (let i = 0; i < labels.length; i++) out[i] = rs.bernoulli(p) ? numClasses : labels[i];
  return out;
}
