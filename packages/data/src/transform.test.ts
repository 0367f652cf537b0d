import { join } from 'node:path';
import { readNpz } from './npz';
import { syntheticImageSet } from './synthetic';
import {
  admCenterCropSet,
  denormalizeImages,
  lumaUint8,
  normalizeImages,
  padImageSet,
  resizeImageSet,
  subset,
  takePerClass,
  toChannels,
} from './transform';
import { validateImageSet, type ImageSet } from './types';

const tiny: ImageSet = {
  images: new Uint8Array([10, 20, 30, 40]), // 1 image 2×2×1
  labels: new Int32Array([1]),
  count: 1, height: 2, width: 2, channels: 1,
  classNames: ['a', 'b'],
};

describe('set transforms', () => {
  it('pads 28→32 style: centred, 2 px black border, pixels unchanged', () => {
    const p = padImageSet(tiny, 6);
    expect([p.height, p.width]).toEqual([6, 6]);
    expect(p.images[2 * 6 + 2]).toBe(10);
    expect(p.images[3 * 6 + 3]).toBe(40);
    expect(p.images.reduce((a, b) => a + b, 0)).toBe(100);
    expect(() => padImageSet(tiny, 1)).toThrow(/smaller than the images/);
  });

  it('normalises to [-1, 1] and ImageNet mean/(2·std), and inverts exactly on uint8', () => {
    const px = new Uint8Array([0, 255, 128, 255, 0, 255]);
    const m = normalizeImages(px, 3, 'minus-one-one');
    expect(Array.from(m.subarray(0, 3))).toEqual([-1, 1, Math.fround((128 / 255) * 2 - 1)]);
    const im = normalizeImages(px, 3, 'imagenet');
    expect(im[0]).toBeCloseTo(-0.485 / (2 * 0.229), 6);
    expect(im[1]).toBeCloseTo((1 - 0.456) / (2 * 0.224), 6);
    expect(im[3]).toBeCloseTo((1 - 0.485) / (2 * 0.229), 6); // 1.1245: the top of the ≈ [−1.06, 1.32] range
    const all = new Uint8Array(256 * 3).map((_, i) => i % 256);
    for (const mode of ['minus-one-one', 'imagenet', 'unit'] as const) {
      expect(denormalizeImages(normalizeImages(all, 3, mode), 3, mode)).toEqual(all);
    }
    expect(() => normalizeImages(px, 1, 'imagenet')).toThrow(/'imagenet' needs 3 channels/);
  });

  it('converts channels with Pillow luma and replication', () => {
    const rgb = toChannels(tiny, 3);
    expect(Array.from(rgb.images.subarray(0, 6))).toEqual([10, 10, 10, 20, 20, 20]);
    expect(toChannels(rgb, 1).images).toEqual(tiny.images);
    expect(lumaUint8(255, 0, 0)).toBe(76); // Pillow: L = R·299/1000 + … → 76
    expect(lumaUint8(0, 255, 0)).toBe(150);
    expect(lumaUint8(0, 0, 255)).toBe(29);
  });

  it('resizes and centre-crops whole sets (Pillow references)', () => {
    const pil = readNpz(join(__dirname, '__fixtures__', 'pil_resize.npz'));
    const gray: ImageSet = { images: pil.get('src_gray')!.data as Uint8Array, labels: new Int32Array([0]), count: 1, height: 28, width: 28, channels: 1, classNames: ['x'] };
    expect(resizeImageSet(gray, 32).images).toEqual(pil.get('gray_bicubic_32x32')!.data);
    const big: ImageSet = { images: pil.get('src_big')!.data as Uint8Array, labels: new Int32Array([0]), count: 1, height: 97, width: 140, channels: 3, classNames: ['x'] };
    expect(admCenterCropSet(big, 32).images).toEqual(pil.get('adm_crop_32')!.data);
  });

  it('takes class-balanced subsets', () => {
    const s = syntheticImageSet({ count: 50, size: 4, numClasses: 5 });
    const t = takePerClass(s, 3);
    expect(t.count).toBe(15);
    validateImageSet(t);
    expect(subset(s, [7, 2]).labels).toEqual(new Int32Array([2, 2]));
  });
});

describe('syntheticImageSet', () => {
  it('is deterministic per seed and valid', () => {
    const a = syntheticImageSet({ count: 12, size: 8, seed: 1 });
    expect(syntheticImageSet({ count: 12, size: 8, seed: 1 }).images).toEqual(a.images);
    expect(syntheticImageSet({ count: 12, size: 8, seed: 2 }).images).not.toEqual(a.images);
    validateImageSet(a);
    expect(Array.from(a.labels.subarray(0, 11))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0]);
    expect(() => syntheticImageSet({ count: 1, size: 2 })).toThrow(/size must be an integer ≥ 4/);
  });
});
