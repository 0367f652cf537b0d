/**
 * Whole-set preprocessing on host bytes: padding or resizing to a target size, channel count,
 * and the normalisations of docs/method.md §4.3. MNIST-like sets are 28×28; the ViT patch grids
 * want 32×32, and we pad 2 black pixels on each side by default (every digit pixel is kept
 * exactly; resizing would blur strokes). `resizeImageSet` is the alternative.
 */
import { DataError, type ImageSet } from './types';
import { admCenterCrop, resizeUint8, type ResampleFilter } from './resample';

/** `[-1, 1]`: x·2 − 1 (rRCM "0.5,0.5"); `imagenet`: (x − mean)/(2·std) (EPG std="imagenet"); `unit`: [0, 1]. */
export type Normalization = 'minus-one-one' | 'imagenet' | 'unit';

/** ImageNet channel statistics (torchvision), for x in [0, 1]. */
export const IMAGENET_MEAN = [0.485, 0.456, 0.406] as const;
export const IMAGENET_STD = [0.229, 0.224, 0.225] as const;

/** Per-channel affine (scale, shift) so that normalised = x01·scale + shift. */
export function normalizationAffine(mode: Normalization, channels: number): { scale: Float64Array; shift: Float64Array } {
  const scale = new Float64Array(channels);
  const shift = new Float64Array(channels);
  for (let ch = 0; ch < channels; ch++) {
    switch (mode) {
      case 'minus-one-one':
        scale[ch] = 2;
        shift[ch] = -1;
        break;
      case 'unit':
        scale[ch] = 1;
        shift[ch] = 0;
        break;
      case 'imagenet': {
        if (channels !== 3) throw new DataError(`normalization 'imagenet' needs 3 channels, got ${channels}: use 'minus-one-one' or convert with toChannels(set, 3)`);
        scale[ch] = 1 / (2 * IMAGENET_STD[ch]);
        shift[ch] = -IMAGENET_MEAN[ch] / (2 * IMAGENET_STD[ch]);
        break;
      }
      default:
        throw new DataError(`unknown normalization ${JSON.stringify(mode)}: use 'minus-one-one', 'imagenet' or 'unit'`);
    }
  }
  return { scale, shift };
}

/** uint8 N×H×W×C → normalised float32 (same layout). */
export function normalizeImages(images: Uint8Array, channels: number, mode: Normalization): Float32Array {
  const { scale, shift } = normalizationAffine(mode, channels);
  const out = new Float32Array(images.length);
  for (let i = 0; i < images.length; i++) {
    const ch = i % channels;
    out[i] = (images[i] / 255) * scale[ch] + shift[ch];
  }
  return out;
}

/** Inverse of `normalizeImages`, rounded and clipped to uint8 (for sample grids and npz files). */
export function denormalizeImages(x: Float32Array, channels: number, mode: Normalization): Uint8Array {
  const { scale, shift } = normalizationAffine(mode, channels);
  const out = new Uint8Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const ch = i % channels;
    const v = Math.round(((x[i] - shift[ch]) / scale[ch]) * 255);
    out[i] = v < 0 ? 0 : v > 255 ? 255 : v;
  }
  return out;
}

function withImages(set: ImageSet, images: Uint8Array, height: number, width: number, channels: number): ImageSet {
  return { images, labels: set.labels, count: set.count, height, width, channels, classNames: set.classNames };
}

/** Pads every image with `value` to size×size, centred (extra pixel on the bottom/right if odd). */
export function padImageSet(set: ImageSet, size: number, value = 0): ImageSet {
  const { height: h, width: w, channels: c } = set;
  if (size < h || size < w) throw new DataError(`padImageSet: target ${size} is smaller than the images (${h}×${w}); use resizeImageSet`);
  const top = Math.floor((size - h) / 2);
  const left = Math.floor((size - w) / 2);
  const out = new Uint8Array(set.count * size * size * c).fill(value);
  for (let n = 0; n < set.count; n++) {
    for (let y = 0; y < h; y++) {
      const src = ((n * h + y) * w) * c;
      out.set(set.images.subarray(src, src + w * c), ((n * size + top + y) * size + left) * c);
    }
  }
  return withImages(set, out, size, size, c);
}

/** Resizes every image to size×size with Pillow's resampling (aspect ratio not kept; see admCenterCropSet). */
export function resizeImageSet(set: ImageSet, size: number, filter: ResampleFilter = 'bicubic'): ImageSet {
  const { height: h, width: w, channels: c } = set;
  const per = h * w * c;
  const out = new Uint8Array(set.count * size * size * c);
  for (let n = 0; n < set.count; n++) {
    out.set(resizeUint8(set.images.subarray(n * per, (n + 1) * per), h, w, c, size, size, filter), n * size * size * c);
  }
  return withImages(set, out, size, size, c);
}

/** ADM centre crop of every image to size×size. */
export function admCenterCropSet(set: ImageSet, size: number): ImageSet {
  const { height: h, width: w, channels: c } = set;
  const per = h * w * c;
  const out = new Uint8Array(set.count * size * size * c);
  for (let n = 0; n < set.count; n++) out.set(admCenterCrop(set.images.subarray(n * per, (n + 1) * per), h, w, c, size), n * size * size * c);
  return withImages(set, out, size, size, c);
}

/** ITU-R 601 luma as Pillow's `convert('L')` computes it (fixed point, rounded). */
export function lumaUint8(r: number, g: number, b: number): number {
  return (r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16;
}

/** 1 → 3 channels (replicate) or 3 → 1 (luma); same count is returned as is. */
export function toChannels(set: ImageSet, channels: 1 | 3): ImageSet {
  const c = set.channels;
  if (c === channels) return set;
  const pixels = set.count * set.height * set.width;
  const out = new Uint8Array(pixels * channels);
  if (c === 1 && channels === 3) {
    for (let p = 0; p < pixels; p++) out[3 * p] = out[3 * p + 1] = out[3 * p + 2] = set.images[p];
  } else if (c === 3 && channels === 1) {
    for (let p = 0; p < pixels; p++) out[p] = lumaUint8(set.images[3 * p], set.images[3 * p + 1], set.images[3 * p + 2]);
  } else throw new DataError(`toChannels: cannot convert ${c} channels to ${channels} (only 1 ↔ 3)`);
  return withImages(set, out, set.height, set.width, channels);
}

/** A class-balanced subset: the first `perClass` images of each class, in set order. */
export function takePerClass(set: ImageSet, perClass: number): ImageSet {
  const taken = new Array(set.classNames.length).fill(0);
  const idx: number[] = [];
  for (let i = 0; i < set.count; i++) if (taken[set.labels[i]]++ < perClass) idx.push(i);
  return subset(set, idx);
}

/** The images at `indices`, in that order. */
export function subset(set: ImageSet, indices: ArrayLike<number>): ImageSet {
  const per = set.height * set.width * set.channels;
  const images = new Uint8Array(indices.length * per);
  const labels = new Int32Array(indices.length);
  for (let k = 0; k < indices.length; k++) {
    const i = indices[k];
    if (i < 0 || i >= set.count) throw new RangeError(`subset: index ${i} outside 0..${set.count - 1}`);
    images.set(set.images.subarray(i * per, (i + 1) * per), k * per);
    labels[k] = set.labels[i];
  }
  return { images, labels, count: indices.length, height: set.height, width: set.width, channels: set.channels, classNames: set.classNames };
}
