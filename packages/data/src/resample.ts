/**
 * Separable image resampling as Pillow does it (Pillow src/libImaging/Resample.c, 9.x):
 * the filter support widens by the downscale factor (antialiasing), horizontal pass first, then
 * vertical. `resizeUint8` reproduces Pillow's 8-bit fixed-point arithmetic (22 precision bits,
 * rounding and clipping after each pass), so it matches `Image.resize` pixel for pixel;
 * `resampleFloat` runs the same weights in float32. `resizedCropFloat` / `resizedCropUint8` crop
 * first and resize the crop (torchvision `resized_crop`), as the augmentation pipeline needs.
 * Also the ADM centre crop (guided-diffusion image_datasets.py `center_crop_arr`).
 */

export type ResampleFilter = 'box' | 'bilinear' | 'bicubic';

/** Filter kernels and supports (Resample.c `box_filter`, `bilinear_filter`, `bicubic_filter` a = −0.5). */
const FILTERS: Record<ResampleFilter, { support: number; fn: (x: number) => number }> = {
  box: { support: 0.5, fn: (x) => (x > -0.5 && x <= 0.5 ? 1 : 0) },
  bilinear: {
    support: 1,
    fn: (x) => {
      const a = Math.abs(x);
      return a < 1 ? 1 - a : 0;
    },
  },
  bicubic: {
    support: 2,
    fn: (x) => {
      const a = -0.5;
      const t = Math.abs(x);
      if (t < 1) return ((a + 2) * t - (a + 3)) * t * t + 1;
      if (t < 2) return (((t - 5) * t + 8) * t - 4) * a;
      return 0;
    },
  },
};

/** Per output index: first input index, tap count, and normalised weights (Resample.c `precompute_coeffs`). */
export interface Coefficients {
  readonly start: Int32Array;
  readonly taps: Int32Array;
  readonly maxTaps: number;
  readonly weights: Float64Array; // outSize × maxTaps
}

export function precomputeCoefficients(inSize: number, in0: number, in1: number, outSize: number, filter: ResampleFilter): Coefficients {
  const f = FILTERS[filter];
  const scale = (in1 - in0) / outSize;
  const filterScale = Math.max(scale, 1);
  const support = f.support * filterScale;
  const maxTaps = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(outSize);
  const taps = new Int32Array(outSize);
  const weights = new Float64Array(outSize * maxTaps);
  const ss = 1 / filterScale;
  for (let xx = 0; xx < outSize; xx++) {
    const center = in0 + (xx + 0.5) * scale;
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const xmax = Math.min(Math.trunc(center + support + 0.5), inSize) - xmin;
    let total = 0;
    const base = xx * maxTaps;
    let x = 0;
    for (; x < xmax; x++) {
      const w = f.fn((x + xmin - center + 0.5) * ss);
      weights[base + x] = w;
      total += w;
    }
    for (x = 0; x < xmax; x++) if (total !== 0) weights[base + x] /= total;
    start[xx] = xmin;
    taps[xx] = xmax;
  }
  return { start, taps, maxTaps, weights };
}

const PRECISION_BITS = 32 - 8 - 2;
const ONE = 2 ** PRECISION_BITS;

/** Pillow's fixed-point weights for 8-bit images (`normalize_coeffs_8bpc`). */
function fixedWeights(c: Coefficients): Float64Array {
  const out = new Float64Array(c.weights.length);
  for (let i = 0; i < out.length; i++) {
    const w = c.weights[i];
    out[i] = w < 0 ? Math.trunc(-0.5 + w * ONE) : Math.trunc(0.5 + w * ONE);
  }
  return out;
}

function clip8(ss: number): number {
  const v = Math.floor(ss / ONE);
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

/** Box inside the source image, Pillow's `box=(left, top, right, bottom)` in pixels. */
export interface ResampleBox {
  readonly left: number;
  readonly top: number;
  readonly right: number;
  readonly bottom: number;
}

function checkSizes(fn: string, src: ArrayLike<number>, h: number, w: number, c: number, outH: number, outW: number): void {
  if (src.length !== h * w * c) throw new RangeError(`${fn}: source has ${src.length} values, expected ${h}×${w}×${c}`);
  if (!(outH > 0 && outW > 0 && Number.isInteger(outH) && Number.isInteger(outW))) throw new RangeError(`${fn}: output size ${outH}×${outW} must be positive integers`);
}

/** Pillow-exact `Image.resize((outW, outH), filter, box)` of an 8-bit H×W×C image. */
export function resizeUint8(
  src: Uint8Array, h: number, w: number, c: number, outH: number, outW: number, filter: ResampleFilter, box?: ResampleBox,
): Uint8Array {
  checkSizes('resizeUint8', src, h, w, c, outH, outW);
  const b = box ?? { left: 0, top: 0, right: w, bottom: h };
  const needH = outW !== w || b.left !== 0 || b.right !== outW;
  const needV = outH !== h || b.top !== 0 || b.bottom !== outH;
  const cv = precomputeCoefficients(h, b.top, b.bottom, outH, filter);
  // Rows of the source the vertical pass reads (Resample.c ybox_first/ybox_last).
  const yFirst = needV ? cv.start[0] : b.top;
  const yLast = needV ? cv.start[outH - 1] + cv.taps[outH - 1] : b.top + outH;
  const rows = yLast - yFirst;
  let mid: Uint8Array;
  let midW: number;
  if (needH) {
    const ch = precomputeCoefficients(w, b.left, b.right, outW, filter);
    const k = fixedWeights(ch);
    mid = new Uint8Array(rows * outW * c);
    midW = outW;
    for (let y = 0; y < rows; y++) {
      const srow = (y + yFirst) * w * c;
      for (let xx = 0; xx < outW; xx++) {
        const x0 = ch.start[xx];
        const n = ch.taps[xx];
        const kb = xx * ch.maxTaps;
        for (let ci = 0; ci < c; ci++) {
          let ss = ONE / 2;
          for (let x = 0; x < n; x++) ss += src[srow + (x0 + x) * c + ci] * k[kb + x];
          mid[(y * outW + xx) * c + ci] = clip8(ss);
        }
      }
    }
  } else {
    midW = w;
    mid = src.subarray(yFirst * w * c, yLast * w * c);
  }
  if (!needV) {
    // Horizontal only: take the box's rows (yFirst = top).
    return needH ? mid : new Uint8Array(mid.subarray(0, outH * w * c));
  }
  const k = fixedWeights(cv);
  const out = new Uint8Array(outH * outW * c);
  if (midW !== outW) throw new Error('resizeUint8: internal width mismatch');
  for (let yy = 0; yy < outH; yy++) {
    const y0 = cv.start[yy] - yFirst;
    const n = cv.taps[yy];
    const kb = yy * cv.maxTaps;
    for (let xx = 0; xx < outW; xx++) {
      for (let ci = 0; ci < c; ci++) {
        let ss = ONE / 2;
        for (let y = 0; y < n; y++) ss += mid[((y0 + y) * midW + xx) * c + ci] * k[kb + y];
        out[(yy * outW + xx) * c + ci] = clip8(ss);
      }
    }
  }
  return out;
}

/**
 * The same resampling in float (no rounding between passes) from any numeric H×W×C source into
 * `out` (outH×outW×C); `scale` multiplies every output value (e.g. 1/255). With a `box` this is
 * Pillow's `resize(size, box=box)`: the filter may read pixels outside the box (see
 * `resizedCropFloat` for crop-then-resize).
 */
export function resampleFloat(
  src: ArrayLike<number>, h: number, w: number, c: number, outH: number, outW: number, filter: ResampleFilter,
  box?: ResampleBox, out: Float32Array = new Float32Array(outH * outW * c), scale = 1,
): Float32Array {
  checkSizes('resampleFloat', src, h, w, c, outH, outW);
  const b = box ?? { left: 0, top: 0, right: w, bottom: h };
  const ch = precomputeCoefficients(w, b.left, b.right, outW, filter);
  const cv = precomputeCoefficients(h, b.top, b.bottom, outH, filter);
  return separableFloat(src, w, c, ch, cv, outH, outW, out, scale);
}

/** Coefficients over the box's own pixels only (the box's `in0..in1` as a whole image), indices shifted to the source. */
function cropCoefficients(in0: number, in1: number, outSize: number, filter: ResampleFilter): Coefficients {
  const k = precomputeCoefficients(in1 - in0, 0, in1 - in0, outSize, filter);
  return { ...k, start: k.start.map((s) => s + in0) };
}

function checkBox(fn: string, h: number, w: number, box: ResampleBox): void {
  const { left, top, right, bottom } = box;
  const ints = [left, top, right, bottom].every(Number.isInteger);
  if (!ints || left < 0 || top < 0 || right > w || bottom > h || right <= left || bottom <= top) {
    throw new RangeError(`${fn}: crop box ${JSON.stringify(box)} must be integer pixels, non-empty and inside the ${h}×${w} image`);
  }
}

/**
 * PIL `img.crop(box).resize((outW, outH), filter)` in float, as torchvision's `resized_crop`
 * does on PIL images and tensors alike: the filter reads only pixels inside the box (at the box
 * border the weights are renormalised over the pixels inside). Same arguments as `resampleFloat`.
 */
export function resizedCropFloat(
  src: ArrayLike<number>, h: number, w: number, c: number, box: ResampleBox, outH: number, outW: number, filter: ResampleFilter,
  out: Float32Array = new Float32Array(outH * outW * c), scale = 1,
): Float32Array {
  checkSizes('resizedCropFloat', src, h, w, c, outH, outW);
  checkBox('resizedCropFloat', h, w, box);
  const ch = cropCoefficients(box.left, box.right, outW, filter);
  const cv = cropCoefficients(box.top, box.bottom, outH, filter);
  return separableFloat(src, w, c, ch, cv, outH, outW, out, scale);
}

/** Pillow-exact `img.crop(box).resize((outW, outH), filter)` of an 8-bit H×W×C image. */
export function resizedCropUint8(
  src: Uint8Array, h: number, w: number, c: number, box: ResampleBox, outH: number, outW: number, filter: ResampleFilter,
): Uint8Array {
  checkSizes('resizedCropUint8', src, h, w, c, outH, outW);
  checkBox('resizedCropUint8', h, w, box);
  const cw = box.right - box.left;
  const chh = box.bottom - box.top;
  const crop = new Uint8Array(chh * cw * c);
  for (let y = 0; y < chh; y++) {
    const from = ((box.top + y) * w + box.left) * c;
    crop.set(src.subarray(from, from + cw * c), y * cw * c);
  }
  return resizeUint8(crop, chh, cw, c, outH, outW, filter);
}

/** Horizontal pass over the rows the vertical pass reads, then the vertical pass; float32 in between. */
function separableFloat(
  src: ArrayLike<number>, w: number, c: number, ch: Coefficients, cv: Coefficients, outH: number, outW: number, out: Float32Array, scale: number,
): Float32Array {
  const yFirst = cv.start[0];
  const yLast = cv.start[outH - 1] + cv.taps[outH - 1];
  const rows = yLast - yFirst;
  const mid = new Float32Array(rows * outW * c);
  for (let y = 0; y < rows; y++) {
    const srow = (y + yFirst) * w * c;
    for (let xx = 0; xx < outW; xx++) {
      const x0 = ch.start[xx];
      const n = ch.taps[xx];
      const kb = xx * ch.maxTaps;
      const o = (y * outW + xx) * c;
      for (let ci = 0; ci < c; ci++) {
        let s = 0;
        for (let x = 0; x < n; x++) s += src[srow + (x0 + x) * c + ci] * ch.weights[kb + x];
        mid[o + ci] = s;
      }
    }
  }
  for (let yy = 0; yy < outH; yy++) {
    const y0 = cv.start[yy] - yFirst;
    const n = cv.taps[yy];
    const kb = yy * cv.maxTaps;
    for (let xx = 0; xx < outW; xx++) {
      const o = (yy * outW + xx) * c;
      for (let ci = 0; ci < c; ci++) {
        let s = 0;
        for (let y = 0; y < n; y++) s += mid[((y0 + y) * outW + xx) * c + ci] * cv.weights[kb + y];
        out[o + ci] = s * scale;
      }
    }
  }
  return out;
}

/** Python's round(): halves go to the even neighbour. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * ADM centre crop (guided-diffusion `center_crop_arr`): BOX-halve while the short side is at least
 * 2·size, bicubic-resize so the short side is `size`, then crop the centre size×size.
 */
export function admCenterCrop(src: Uint8Array, h: number, w: number, c: number, size: number): Uint8Array {
  if (!Number.isInteger(size) || size <= 0) throw new RangeError(`admCenterCrop: size must be a positive integer, got ${size}`);
  let img = src;
  let ih = h;
  let iw = w;
  while (Math.min(ih, iw) >= 2 * size) {
    const nh = Math.floor(ih / 2);
    const nw = Math.floor(iw / 2);
    img = resizeUint8(img, ih, iw, c, nh, nw, 'box');
    ih = nh;
    iw = nw;
  }
  const scale = size / Math.min(ih, iw);
  const nh = roundHalfEven(ih * scale);
  const nw = roundHalfEven(iw * scale);
  img = resizeUint8(img, ih, iw, c, nh, nw, 'bicubic');
  const top = Math.floor((nh - size) / 2);
  const left = Math.floor((nw - size) / 2);
  const out = new Uint8Array(size * size * c);
  for (let y = 0; y < size; y++) {
    out.set(img.subarray(((top + y) * nw + left) * c, ((top + y) * nw + left + size) * c), y * size * c);
  }
  return out;
}
