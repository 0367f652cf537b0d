import { join } from 'node:path';
import { readNpz } from './npz';
import { admCenterCrop, resampleFloat, resizedCropFloat, resizedCropUint8, resizeUint8, roundHalfEven, type ResampleFilter } from './resample';

// References: Pillow 9.4 Image.resize and guided-diffusion center_crop_arr (scripts/make_fixtures.py).
const pil = readNpz(join(__dirname, '__fixtures__', 'pil_resize.npz'));
const arr = (k: string) => pil.get(k)!.data as Uint8Array;

describe('Pillow-exact resampling', () => {
  const src = arr('src'); // 37×23×3
  const cases: [string, ResampleFilter, number, number, [number, number, number, number] | null][] = [
    ['bilinear_16x20', 'bilinear', 16, 20, null],
    ['bicubic_50x40', 'bicubic', 50, 40, null],
    ['box_18x11', 'box', 18, 11, null],
    ['bilinear_box_32x32', 'bilinear', 32, 32, [3, 4, 20, 30]],
    ['bicubic_box_9x9', 'bicubic', 9, 9, [2, 10, 22, 35]],
  ];
  it.each(cases)('%s matches Image.resize exactly', (key, filter, oh, ow, box) => {
    const b = box ? { left: box[0], top: box[1], right: box[2], bottom: box[3] } : undefined;
    const out = resizeUint8(src, 37, 23, 3, oh, ow, filter, b);
    expect(Array.from(out)).toEqual(Array.from(arr(key)));
    // The float path agrees to within Pillow's two 8-bit roundings. (Bicubic overshoots, and
    // Pillow clips between its passes, so that float path is only checked without overshoot.)
    if (filter === 'bicubic') return;
    const f = resampleFloat(src, 37, 23, 3, oh, ow, filter, b);
    let worst = 0;
    for (let i = 0; i < f.length; i++) worst = Math.max(worst, Math.abs(Math.min(255, Math.max(0, f[i])) - out[i]));
    expect(worst).toBeLessThanOrEqual(1.5);
  });

  it('grayscale (1 channel) bicubic upscale 28→32 matches', () => {
    expect(Array.from(resizeUint8(arr('src_gray'), 28, 28, 1, 32, 32, 'bicubic'))).toEqual(Array.from(arr('gray_bicubic_32x32')));
  });

  it('ADM centre crop (BOX halving, bicubic, crop) matches center_crop_arr', () => {
    const big = arr('src_big'); // 97×140×3
    expect(Array.from(admCenterCrop(big, 97, 140, 3, 32))).toEqual(Array.from(arr('adm_crop_32')));
    expect(Array.from(admCenterCrop(big, 97, 140, 3, 64))).toEqual(Array.from(arr('adm_crop_64')));
  });

  it('identity resize is a copy; Python rounding sends halves to even', () => {
    const img = new Uint8Array(4 * 5 * 3).map((_, i) => i * 3);
    expect(resizeUint8(img, 4, 5, 3, 4, 5, 'bicubic')).toEqual(img);
    expect([0.5, 1.5, 2.5, 2.4, 2.6, 47.5].map(roundHalfEven)).toEqual([0, 2, 2, 2, 3, 48]);
    expect(() => resizeUint8(img, 4, 4, 3, 2, 2, 'box')).toThrow(/source has 60 values, expected 4×4×3/);
  });
});

// References: torchvision 0.14 transforms.functional.resized_crop (scripts/make_torchvision_fixtures.py),
// on PIL images (uint8) and on float tensors x/255 with antialias=True.
describe('crop, then resize (torchvision resized_crop)', () => {
  const tv = readNpz(join(__dirname, '__fixtures__', 'tv_resized_crop.npz'));
  const get = (k: string) => tv.get(k)!;
  const sets = ['mnist', 'rgb32', 'rgb64', 'tiny'] as const;

  function* cases(name: string) {
    const src = get(`${name}_src`);
    const [n, h, w, c] = src.shape;
    const boxes = get(`${name}_boxes`).data as Int32Array;
    const u8 = get(`${name}_u8`);
    const S = u8.shape[2];
    const k = get(`${name}_boxes`).shape[1];
    const per = S * S * c;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < k; j++) {
        const b = boxes.subarray((i * k + j) * 4, (i * k + j + 1) * 4);
        yield {
          src: (src.data as Uint8Array).subarray(i * h * w * c, (i + 1) * h * w * c), h, w, c, S,
          box: { left: b[0], top: b[1], right: b[2], bottom: b[3] },
          u8: (u8.data as Uint8Array).subarray((i * k + j) * per, (i * k + j + 1) * per),
          f32: (get(`${name}_f32`).data as Float32Array).subarray((i * k + j) * per, (i * k + j + 1) * per),
        };
      }
    }
  }

  it.each(sets)('%s: resizedCropUint8 equals the PIL path bit for bit', (name) => {
    let count = 0;
    for (const t of cases(name)) {
      expect(Array.from(resizedCropUint8(t.src, t.h, t.w, t.c, t.box, t.S, t.S, 'bilinear'))).toEqual(Array.from(t.u8));
      count++;
    }
    expect(count).toBeGreaterThan(0);
  });

  it.each(sets)('%s: resizedCropFloat equals the float tensor path to 1e-5', (name) => {
    let worst = 0;
    for (const t of cases(name)) {
      const f = resizedCropFloat(t.src, t.h, t.w, t.c, t.box, t.S, t.S, 'bilinear', undefined, 1 / 255);
      for (let q = 0; q < f.length; q++) worst = Math.max(worst, Math.abs(f[q] - t.f32[q]));
    }
    expect(worst).toBeLessThan(1e-5);
  });

  it("issue 19's 4×4 case: the crop's border does not read the column outside it (Pillow's resize box does)", () => {
    const src = new Uint8Array(16);
    for (let y = 0; y < 4; y++) src[y * 4] = 255;
    const box = { left: 1, top: 0, right: 3, bottom: 4 };
    expect(Array.from(resizedCropFloat(src, 4, 4, 1, box, 4, 4, 'bilinear'))).toEqual(new Array(16).fill(0));
    expect(Array.from(resizedCropUint8(src, 4, 4, 1, box, 4, 4, 'bilinear'))).toEqual(new Array(16).fill(0));
    // resize(box=...) on the whole source: output column 0 takes a quarter of source column 0.
    const boxed = resampleFloat(src, 4, 4, 1, 4, 4, 'bilinear', box, undefined, 1 / 255);
    for (let y = 0; y < 4; y++) expect(boxed[y * 4]).toBeCloseTo(0.25, 6);
  });

  it('rejects boxes that are empty, fractional or outside the image', () => {
    const src = new Uint8Array(16);
    for (const box of [{ left: 2, top: 0, right: 2, bottom: 4 }, { left: 0, top: 0, right: 5, bottom: 4 }, { left: 0.5, top: 0, right: 3, bottom: 4 }]) {
      expect(() => resizedCropFloat(src, 4, 4, 1, box, 4, 4, 'bilinear')).toThrow(/crop box .* must be integer pixels, non-empty and inside the 4×4 image/);
      expect(() => resizedCropUint8(src, 4, 4, 1, box, 4, 4, 'bilinear')).toThrow(/resizedCropUint8: crop box/);
    }
  });
});
