import { join } from 'node:path';
import { readNpz } from './npz';
import { admCenterCrop, resampleFloat, resizeUint8, roundHalfEven, type ResampleFilter } from './resample';

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
