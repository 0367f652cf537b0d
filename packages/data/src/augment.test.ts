import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RandomStream } from '@epg/tensor';
import {
  MOCO_V3_VIEW1,
  MOCO_V3_VIEW2,
  adjustBrightness,
  adjustContrast,
  adjustHue,
  adjustSaturation,
  applyView,
  augmentPairBatch,
  defaultPairConfig,
  dropLabels,
  gaussianBlur,
  sampleViewParams,
  solarize,
  toGrayscaleInPlace,
  type ViewParams,
} from './augment';
import { readNpz } from './npz';
import { syntheticImageSet } from './synthetic';

const FIX = join(__dirname, '__fixtures__');
const cropStats = JSON.parse(readFileSync(join(FIX, 'crop_stats.json'), 'utf8')) as Record<string, Record<string, number>>;

function drawViews(n: number, size: number, cfg = MOCO_V3_VIEW1, seed = 1): ViewParams[] {
  return Array.from({ length: n }, (_, i) => sampleViewParams(RandomStream.derive(seed, i, 'test'), cfg, size, size));
}

const rate = (xs: boolean[]) => xs.filter(Boolean).length / xs.length;

describe('MoCo v3 view parameters (20000 draws each)', () => {
  const N = 20000;
  // Binomial std at p = 0.5, N = 20000 is 0.0035: a tolerance of 0.015 is > 4 std.
  const tol = 0.015;

  it.each([32, 256])('RandomResizedCrop at %i px: area in [0.08, 1], ratio in [3/4, 4/3], stats match torchvision', (size) => {
    const views = drawViews(N, size);
    const areas = views.map((v) => ((v.crop.right - v.crop.left) * (v.crop.bottom - v.crop.top)) / (size * size));
    // Integer rounding of w and h widens the ratio range slightly at 32 px.
    const slack = size === 32 ? 1.25 : 1.03;
    const bad = views.filter((v) => {
      const w = v.crop.right - v.crop.left;
      const h = v.crop.bottom - v.crop.top;
      const inside = v.crop.left >= 0 && v.crop.top >= 0 && v.crop.right <= size && v.crop.bottom <= size;
      return !inside || w / h < 3 / 4 / slack || w / h > (4 / 3) * slack;
    });
    expect(bad).toEqual([]);
    const sorted = [...areas].sort((a, b) => a - b);
    const ref = cropStats[String(size)];
    expect(sorted[0]).toBeGreaterThanOrEqual(ref.area_min - 0.005);
    expect(sorted[N - 1]).toBeLessThanOrEqual(1);
    const mean = areas.reduce((a, b) => a + b, 0) / N;
    expect(Math.abs(mean - ref.area_mean)).toBeLessThan(0.01); // std of the mean ≈ 0.002
    expect(Math.abs(sorted[Math.floor(0.05 * N)] - ref.area_q05)).toBeLessThan(0.01);
    expect(Math.abs(sorted[Math.floor(0.95 * N)] - ref.area_q95)).toBeLessThan(0.01);
  });

  it('flip, jitter, grayscale, blur and solarize rates match §4.3 for each view', () => {
    const v1 = drawViews(N, 32, MOCO_V3_VIEW1, 2);
    const v2 = drawViews(N, 32, MOCO_V3_VIEW2, 3);
    expect(Math.abs(rate(v1.map((v) => v.flip)) - 0.5)).toBeLessThan(tol);
    expect(Math.abs(rate(v2.map((v) => v.flip)) - 0.5)).toBeLessThan(tol);
    expect(Math.abs(rate(v1.map((v) => v.jitter !== null)) - 0.8)).toBeLessThan(tol);
    expect(Math.abs(rate(v1.map((v) => v.grayscale)) - 0.2)).toBeLessThan(tol);
    expect(rate(v1.map((v) => v.blurSigma !== null))).toBe(1);
    expect(Math.abs(rate(v2.map((v) => v.blurSigma !== null)) - 0.1)).toBeLessThan(tol);
    expect(rate(v1.map((v) => v.solarize))).toBe(0);
    expect(Math.abs(rate(v2.map((v) => v.solarize)) - 0.2)).toBeLessThan(tol);
    const sigmas = v1.map((v) => v.blurSigma!);
    expect(Math.min(...sigmas)).toBeGreaterThanOrEqual(0.1);
    expect(Math.max(...sigmas)).toBeLessThan(2.0);
    const jit = v1.flatMap((v) => (v.jitter ? [v.jitter] : []));
    const range = (xs: number[]) => [Math.min(...xs), Math.max(...xs)];
    const [bLo, bHi] = range(jit.map((j) => j.brightness));
    const [cLo, cHi] = range(jit.map((j) => j.contrast));
    const [sLo, sHi] = range(jit.map((j) => j.saturation));
    const [hLo, hHi] = range(jit.map((j) => j.hue));
    expect([bLo >= 0.6, bHi < 1.4, cLo >= 0.6, cHi < 1.4, sLo >= 0.8, sHi < 1.2, hLo >= -0.1, hHi <= 0.1]).toEqual(new Array(8).fill(true));
    // The ranges are used to their ends (not a narrower draw by mistake).
    expect([bLo < 0.62, bHi > 1.38, sLo < 0.81, sHi > 1.19, hLo < -0.098, hHi > 0.098]).toEqual(new Array(6).fill(true));
    expect(jit.every((j) => [...j.order].sort().join() === 'brightness,contrast,hue,saturation')).toBe(true);
    // All 24 jitter orders occur.
    expect(new Set(v1.filter((v) => v.jitter).map((v) => v.jitter!.order.join())).size).toBe(24);
  });
});

describe('pixel ops against hand-computed and library references', () => {
  it('brightness, contrast, saturation, grayscale and solarize (hand-computed)', () => {
    const img = new Float32Array([0.2, 0.4, 0.6, 0.9, 0.1, 0.5]);
    const b = img.slice();
    adjustBrightness(b, 1.5);
    [0.3, 0.6, 0.9, 1, 0.15, 0.75].forEach((v, i) => expect(b[i]).toBeCloseTo(v, 6));
    // Contrast blends with the mean luma: L1 = 0.299·0.2+0.587·0.4+0.114·0.6 = 0.363, L2 = 0.299·0.9+0.587·0.1+0.114·0.5 = 0.3848.
    const c = img.slice();
    adjustContrast(c, 3, 0.5);
    const m = (0.363 + 0.3848) / 2;
    expect(c[0]).toBeCloseTo(0.5 * 0.2 + 0.5 * m, 6);
    expect(c[3]).toBeCloseTo(0.5 * 0.9 + 0.5 * m, 6);
    const s = img.slice();
    adjustSaturation(s, 3, 0); // saturation 0 = grayscale
    expect(s[0]).toBeCloseTo(0.363, 6);
    expect(s[2]).toBeCloseTo(0.363, 6);
    const g = img.slice();
    toGrayscaleInPlace(g, 3);
    expect(Array.from(g.subarray(3))).toEqual([g[3], g[3], g[3]]);
    expect(g[3]).toBeCloseTo(0.3848, 6);
    const z = new Float32Array([0.1, 127 / 255, 128 / 255, 0.9]);
    solarize(z);
    [0.1, 127 / 255, 127 / 255, 1 - 0.9].forEach((v, i) => expect(z[i]).toBeCloseTo(v, 6));
  });

  it('hue rotation matches Python colorsys', () => {
    const cases = JSON.parse(readFileSync(join(FIX, 'hue_colorsys.json'), 'utf8')) as { rgb: number[]; shift: number; out: number[] }[];
    for (const c of cases) {
      const px = new Float32Array(c.rgb);
      adjustHue(px, 3, c.shift);
      for (let k = 0; k < 3; k++) expect(px[k]).toBeCloseTo(c.out[k], 5);
    }
  });

  it('Gaussian blur matches scipy.ndimage.gaussian_filter (mirrored edges, truncate 3)', () => {
    const z = readNpz(join(FIX, 'scipy_blur.npz'));
    const src = z.get('src')!.data as Float32Array;
    for (let i = 0; i < 3; i++) {
      const img = src.slice();
      gaussianBlur(img, 9, 11, 3, (z.get(`sigma_${i}`)!.data as Float64Array)[0]);
      const ref = z.get(`out_${i}`)!.data as Float32Array;
      for (let k = 0; k < img.length; k++) expect(Math.abs(img[k] - ref[k])).toBeLessThan(1e-5);
    }
    // A 3×2 image under a radius-6 kernel: the mirror has to repeat.
    const small = (z.get('small_src')!.data as Float32Array).slice();
    gaussianBlur(small, 3, 2, 1, 2.0);
    const smallRef = z.get('small_out')!.data as Float32Array;
    for (let k = 0; k < small.length; k++) expect(Math.abs(small[k] - smallRef[k])).toBeLessThan(1e-5);
  });

  it('an identity view reproduces the image; flip mirrors it', () => {
    const S = 8;
    const src = new Uint8Array(S * S * 3).map((_, i) => (i * 13) % 256);
    const ident: ViewParams = { crop: { left: 0, top: 0, right: S, bottom: S }, jitter: null, grayscale: false, blurSigma: null, solarize: false, flip: false };
    const out = new Float32Array(S * S * 3);
    applyView(src, S, S, 3, ident, S, 3, 'unit', out, 0);
    for (let i = 0; i < out.length; i++) expect(out[i]).toBeCloseTo(src[i] / 255, 6);
    const flipped = new Float32Array(S * S * 3);
    applyView(src, S, S, 3, { ...ident, flip: true }, S, 3, 'unit', flipped, 0);
    for (let y = 0; y < S; y++) for (let x = 0; x < S; x++) for (let c = 0; c < 3; c++) {
      expect(flipped[(y * S + x) * 3 + c]).toBe(out[(y * S + (S - 1 - x)) * 3 + c]);
    }
  });
});

describe('augmentPairBatch', () => {
  const set = syntheticImageSet({ count: 64, size: 32, channels: 3, seed: 4 });
  const streams = (seed: number) => (i: number) => RandomStream.derive(seed, i, 'sample');

  it('keeps values in range for [-1, 1] and ImageNet normalisation over many samples', () => {
    for (const norm of ['minus-one-one', 'imagenet'] as const) {
      const b = augmentPairBatch(set.images, set.count, 32, 32, 3, streams(7), defaultPairConfig(32, 3, norm));
      const [lo, hi] = norm === 'minus-one-one' ? [-1, 1] : [-0.485 / (2 * 0.229) - 1e-6, (1 - 0.406) / (2 * 0.225) + 1e-6];
      for (const x of [b.x0, b.view1, b.view2]) {
        expect(x.length).toBe(64 * 32 * 32 * 3);
        let mn = Infinity;
        let mx = -Infinity;
        for (const v of x) {
          mn = Math.min(mn, v);
          mx = Math.max(mx, v);
        }
        expect(mn).toBeGreaterThanOrEqual(lo - 1e-6);
        expect(mx).toBeLessThanOrEqual(hi + 1e-6);
      }
    }
  });

  it('same seed gives the same batch, different seeds differ, views differ from each other', () => {
    const cfg = defaultPairConfig(32);
    const first16 = set.images.subarray(0, 16 * 32 * 32 * 3);
    const a = augmentPairBatch(first16, 16, 32, 32, 3, streams(1), cfg);
    const b = augmentPairBatch(first16, 16, 32, 32, 3, streams(1), cfg);
    const c = augmentPairBatch(first16, 16, 32, 32, 3, streams(2), cfg);
    expect(a.view1).toEqual(b.view1);
    expect(a.view2).toEqual(b.view2);
    expect(a.x0).toEqual(b.x0);
    expect(a.view1).not.toEqual(c.view1);
    expect(a.view1).not.toEqual(a.view2);
  });

  it('x0 is the normalised source, mirrored for about half the samples', () => {
    const b = augmentPairBatch(set.images, 64, 32, 32, 3, streams(3), defaultPairConfig(32, 3, 'unit'));
    let flipped = 0;
    const per = 32 * 32 * 3;
    for (let n = 0; n < 64; n++) {
      const same = b.x0.subarray(n * per, (n + 1) * per).every((v, k) => Math.abs(v - set.images[n * per + k] / 255) < 1e-6);
      if (!same) flipped++;
    }
    expect(flipped).toBeGreaterThan(16);
    expect(flipped).toBeLessThan(48);
  });

  it('replicates a 1-channel source to 3 channels and rejects wrong sizes', () => {
    const gray = syntheticImageSet({ count: 4, size: 16, channels: 1 });
    const b = augmentPairBatch(gray.images, 4, 16, 16, 1, streams(1), defaultPairConfig(16, 3));
    for (let p = 0; p < 16 * 16 * 4; p++) expect(b.view1[3 * p]).toBe(b.view1[3 * p + 2]);
    expect(() => augmentPairBatch(gray.images, 4, 16, 16, 1, streams(1), defaultPairConfig(32))).toThrow(/images are 16×16 but size is 32/);
    expect(() => augmentPairBatch(gray.images, 4, 16, 16, 1, streams(1), defaultPairConfig(16, 1, 'imagenet'))).toThrow(/'imagenet' needs 3 channels/);
  });
});

describe('label dropout', () => {
  it('replaces labels by the null class numClasses with probability p', () => {
    const labels = new Int32Array(20000).map((_, i) => i % 10);
    const out = dropLabels(labels, 0.1, 10, RandomStream.fromSeed(5));
    const dropped = out.filter((l, i) => l !== labels[i]);
    expect(dropped.every((l) => l === 10)).toBe(true);
    expect(Math.abs(dropped.length / 20000 - 0.1)).toBeLessThan(0.01);
    expect(dropLabels(labels, 0, 10, RandomStream.fromSeed(5))).toEqual(labels);
    expect(dropLabels(labels, 1, 10, RandomStream.fromSeed(5)).every((l) => l === 10)).toBe(true);
    expect(() => dropLabels(labels, 1.5, 10, RandomStream.fromSeed(5))).toThrow(/must be in \[0, 1\], got 1.5/);
  });
});
