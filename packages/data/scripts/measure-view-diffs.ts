/**
 * Measures how far our MoCo v3 views are from torchvision's, op by op and whole views, on the
 * references of scripts/make_torchvision_fixtures.py (torchvision 0.14, Pillow 9.4). Prints the
 * tables of docs/data.md ("Differences from the reference pipeline").
 *
 *   cd packages/data && npx tsx scripts/measure-view-diffs.ts
 *
 * Sizes are in 8-bit levels (1 level = 1/255). "PIL path" outputs are uint8, so ours is rounded
 * before comparing there; "tensor path" outputs are float and compared as they are.
 */
import { join } from 'node:path';
import {
  adjustBrightness, adjustContrast, adjustHue, adjustSaturation, applyView, gaussianBlur, solarize, toGrayscaleInPlace,
  type JitterOp, type ViewParams,
} from '../src/augment';
import { readNpz } from '../src/npz';
import type { NpyArray } from '../src/types';
import { resampleFloat, resizedCropFloat } from '../src/resample';

const FIX = join(__dirname, '..', 'src', '__fixtures__');
const crops = readNpz(join(FIX, 'tv_resized_crop.npz'));
const ops = readNpz(join(FIX, 'tv_ops.npz'));
const arr = (z: Map<string, NpyArray>, k: string) => {
  const a = z.get(k);
  if (!a) throw new Error(`fixture entry ${k} missing: rerun scripts/make_torchvision_fixtures.py`);
  return a;
};
const f3 = (x: number) => x.toFixed(3);

interface Stats { max: number; mean: number; over1: number; n: number }
/** Level differences between ours (float in [0, 1]) and a reference (uint8 levels or float [0, 1]). */
function compare(ours: Float32Array, ref: ArrayLike<number>, refIsUint8: boolean): Stats {
  let max = 0;
  let sum = 0;
  let over1 = 0;
  for (let i = 0; i < ours.length; i++) {
    const d = refIsUint8 ? Math.abs(Math.round(ours[i] * 255) - ref[i]) : Math.abs(ours[i] - ref[i]) * 255;
    max = Math.max(max, d);
    sum += d;
    if (d > 1) over1++;
  }
  return { max, mean: sum / ours.length, over1, n: ours.length };
}

// ---- 1. crop then resize vs Pillow's resize(box=crop) on the whole source ----
console.log('## Crop + resize against torchvision resized_crop (float tensor path, antialias=True)\n');
console.log('| sources | views | before: values off by > 1e-5 per view | before: views off > 1 level | before: max | after: max |');
console.log('|---|---|---|---|---|---|');
for (const name of ['mnist', 'rgb32', 'rgb64']) {
  const src = arr(crops, `${name}_src`);
  const [n, h, w, c] = src.shape;
  const boxes = arr(crops, `${name}_boxes`);
  const k = boxes.shape[1];
  const S = 32;
  const per = S * S * c;
  const ref = arr(crops, `${name}_f32`).data as Float32Array;
  let offValues = 0;
  let offViews = 0;
  let beforeMax = 0;
  let afterMax = 0;
  for (let i = 0; i < n; i++) {
    const img = (src.data as Uint8Array).subarray(i * h * w * c, (i + 1) * h * w * c);
    for (let j = 0; j < k; j++) {
      const b = (boxes.data as Int32Array).subarray((i * k + j) * 4, (i * k + j + 1) * 4);
      const box = { left: b[0], top: b[1], right: b[2], bottom: b[3] };
      const r = ref.subarray((i * k + j) * per, (i * k + j + 1) * per);
      const before = resampleFloat(img, h, w, c, S, S, 'bilinear', box, undefined, 1 / 255);
      const id: ViewParams = { crop: box, jitter: null, grayscale: false, blurSigma: null, solarize: false, flip: false };
      const after = new Float32Array(per);
      applyView(img, h, w, c, id, S, c, 'unit', after, 0);
      const sb = compare(before, r, false);
      for (let q = 0; q < per; q++) if (Math.abs(before[q] - r[q]) > 1e-5) offValues++;
      if (sb.max > 1) offViews++;
      beforeMax = Math.max(beforeMax, sb.max);
      afterMax = Math.max(afterMax, compare(after, r, false).max);
      // resizedCropFloat is what applyView runs; check they agree.
      const direct = resizedCropFloat(img, h, w, c, box, S, S, 'bilinear', undefined, 1 / 255);
      if (compare(direct, after, false).max > 1e-6) throw new Error('applyView and resizedCropFloat disagree');
    }
  }
  console.log(`| ${name} (${h}×${w}×${c}) | ${n * k} | ${(offValues / (n * k)).toFixed(0)} of ${per} | ${offViews} | ${f3(beforeMax)} | ${afterMax.toExponential(1)} |`);
}

// ---- 2. single ops ----
type Op = (img: Float32Array, c: number) => void;
const factors = arr(ops, 'factors').data as Float64Array; // 4 ops × 2 factors
const sigmas = arr(ops, 'sigmas').data as Float64Array;
const JITTER: { key: string; op: JitterOp }[] = [
  { key: 'brightness', op: 'brightness' }, { key: 'contrast', op: 'contrast' }, { key: 'saturation', op: 'saturation' }, { key: 'hue', op: 'hue' },
];
function jitterOp(op: JitterOp, f: number): Op {
  return (img, c) => {
    if (op === 'brightness') adjustBrightness(img, f);
    else if (op === 'contrast') adjustContrast(img, c, f);
    else if (op === 'saturation') adjustSaturation(img, c, f);
    else adjustHue(img, c, f);
  };
}
function runOp(name: string, op: Op): Float32Array {
  const src = arr(ops, `${name}_src`);
  const c = src.shape[3];
  const out = Float32Array.from(src.data as Uint8Array, (v) => v / 255);
  const per = src.shape[1] * src.shape[2] * c;
  for (let i = 0; i < src.shape[0]; i++) op(out.subarray(i * per, (i + 1) * per), c);
  return out;
}
const row = (label: string, t: Stats | null, p: Stats) =>
  console.log(`| ${label} | ${t ? f3(t.max) : '—'} | ${f3(p.max)} | ${f3(p.mean)} | ${((100 * p.over1) / p.n).toFixed(2)} % |`);

for (const name of ['rgb32', 'mnist']) {
  console.log(`\n## Single ops on ${name} sources (levels)\n`);
  console.log('| op | tensor path: max | PIL path: max | PIL path: mean | PIL path: values off > 1 level |');
  console.log('|---|---|---|---|---|');
  JITTER.forEach(({ key, op }, o) => {
    for (let k = 0; k < 2; k++) {
      const f = factors[o * 2 + k];
      const ours = runOp(name, jitterOp(op, f));
      row(`${key} ${f}`, compare(ours, arr(ops, `${name}_${key}${k}_t`).data as Float32Array, false), compare(ours, arr(ops, `${name}_${key}${k}_pil`).data as Uint8Array, true));
    }
  });
  const gray = runOp(name, (img, c) => toGrayscaleInPlace(img, c));
  row('grayscale', compare(gray, arr(ops, `${name}_gray_t`).data as Float32Array, false), compare(gray, arr(ops, `${name}_gray_pil`).data as Uint8Array, true));
  const src = arr(ops, `${name}_src`);
  const [, H, W] = src.shape;
  sigmas.forEach((sigma, k) => {
    const ours = runOp(name, (img, c) => gaussianBlur(img, H, W, c, sigma));
    const ref = arr(ops, `${name}_blur${k}_pil`).data as Uint8Array;
    // Border band: pixels within the Gaussian's radius of an edge (where edge handling matters).
    const r = Math.floor(3 * sigma + 0.5);
    const c = src.shape[3];
    const inner: number[] = [];
    const border: number[] = [];
    for (let q = 0; q < ours.length; q++) {
      const p = Math.floor(q / c) % (H * W);
      const y = Math.floor(p / W);
      const x = p % W;
      const d = Math.abs(Math.round(ours[q] * 255) - ref[q]);
      (y < r || x < r || y >= H - r || x >= W - r ? border : inner).push(d);
    }
    const mx = (xs: number[]) => xs.reduce((a, b) => Math.max(a, b), 0);
    row(`blur σ ${sigma} (interior max ${mx(inner)}, border max ${mx(border)})`, null, compare(ours, ref, true));
  });
  row('solarize (uint8 source)', null, compare(runOp(name, (img) => solarize(img)), arr(ops, `${name}_solarize_pil`).data as Uint8Array, true));
}

// ---- 3. solarize threshold on float inputs ----
// Our threshold is 0.5 = 127.5/255 (PIL: level ≥ 128 after rounding). A float pipeline using
// 128/255 instead would disagree with us on values in [127.5, 128)/255 only.
{
  let inBand = 0;
  let total = 0;
  for (const name of ['mnist', 'rgb32', 'rgb64']) {
    const f = arr(crops, `${name}_f32`).data as Float32Array;
    total += f.length;
    for (const v of f) if (v >= 0.5 && v < 128 / 255) inBand++;
  }
  console.log(`\nSolarize: float crop values in [127.5, 128)/255 (where thresholds 0.5 and 128/255 disagree, by < 1 level): ${inBand} of ${total}`);
}

// ---- 4. whole views vs MoCo v3's PIL pipeline with the same parameters ----
console.log('\n## Whole views (scripted parameters) against the PIL path (levels)\n');
console.log('| sources | views | max | mean | values off > 1 level | views with blur: max | views without blur: max |');
console.log('|---|---|---|---|---|---|---|');
const views = arr(ops, 'views');
const cols = views.shape[1];
const ORDER: JitterOp[] = ['brightness', 'contrast', 'saturation', 'hue'];
for (const [setIdx, name] of [[0, 'mnist'], [1, 'rgb32']] as const) {
  const src = arr(ops, `${name}_src`);
  const [, H, W, c] = src.shape;
  const per = H * W * c;
  const ref = arr(ops, `views_${name}_pil`).data as Uint8Array;
  const all: Stats[] = [];
  let blurMax = 0;
  let plainMax = 0;
  let v = 0;
  for (let r = 0; r < views.shape[0]; r++) {
    const p = (views.data as Float64Array).subarray(r * cols, (r + 1) * cols);
    if (p[0] !== setIdx) continue;
    const order = [p[7], p[8], p[9], p[10]].map((k) => ORDER[k]);
    const params: ViewParams = {
      crop: { left: p[2], top: p[3], right: p[4], bottom: p[5] },
      jitter: p[6] ? { order, brightness: p[11], contrast: p[12], saturation: p[13], hue: p[14] } : null,
      grayscale: p[15] === 1,
      blurSigma: p[16] > 0 ? p[16] : null,
      solarize: p[17] === 1,
      flip: p[18] === 1,
    };
    const out = new Float32Array(per);
    applyView((src.data as Uint8Array).subarray(p[1] * per, (p[1] + 1) * per), H, W, c, params, 32, c, 'unit', out, 0);
    const s = compare(out, ref.subarray(v * per, (v + 1) * per), true);
    all.push(s);
    if (params.blurSigma !== null) blurMax = Math.max(blurMax, s.max);
    else plainMax = Math.max(plainMax, s.max);
    v++;
  }
  const n = all.reduce((a, s) => a + s.n, 0);
  console.log(`| ${name} | ${all.length} | ${Math.max(...all.map((s) => s.max))} | ${f3(all.reduce((a, s) => a + s.mean * s.n, 0) / n)} | ${((100 * all.reduce((a, s) => a + s.over1, 0)) / n).toFixed(2)} % | ${blurMax} | ${plainMax} |`);
}
