import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { loadImageFolder, readImage, scanImageFolder, tileGrid, writePng, writePngGrid } from './image-io';
import { admCenterCrop } from './resample';
import { syntheticImageSet } from './synthetic';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'epg-img-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('PNG sample grids', () => {
  it('tiles row-major with padding (hand-checked layout)', () => {
    const imgs = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]); // 3 images of 2×2×1
    const g = tileGrid(imgs, 3, 2, 2, 1, { columns: 2, padding: 1, padValue: 0 });
    expect([g.height, g.width]).toEqual([2 * 2 + 3, 2 * 2 + 3]);
    const at = (y: number, x: number) => g.data[y * g.width + x];
    expect([at(1, 1), at(1, 2), at(2, 1), at(2, 2)]).toEqual([1, 2, 3, 4]);
    expect([at(1, 4), at(1, 5), at(2, 4), at(2, 5)]).toEqual([5, 6, 7, 8]);
    expect([at(4, 1), at(5, 2)]).toEqual([9, 12]);
    expect([at(0, 0), at(4, 4), at(3, 3)]).toEqual([0, 0, 0]);
  });

  it.each([3, 1] as const)('a %i-channel grid PNG decodes back to the same pixels', async (channels) => {
    const s = syntheticImageSet({ count: 10, size: 12, channels, seed: 9 });
    const path = join(dir, `grid-${channels}.png`);
    const grid = await writePngGrid(path, s.images, s.count, 12, 12, channels, { columns: 4 });
    const back = await readImage(path, channels);
    expect([back.height, back.width, back.channels]).toEqual([grid.height, grid.width, channels]);
    expect(Buffer.from(back.data).equals(Buffer.from(grid.data))).toBe(true);
    const meta = await sharp(path).metadata();
    expect(meta.format).toBe('png');
    expect(meta.channels).toBe(channels);
  });
});

describe('ImageFolder', () => {
  const S = 16;
  let root: string;
  const pngA = syntheticImageSet({ count: 3, size: S, channels: 3, seed: 1 });
  beforeAll(async () => {
    root = join(dir, 'tree');
    for (const c of ['cat', 'dog', 'emu']) mkdirSync(join(root, c), { recursive: true });
    for (let i = 0; i < 3; i++) {
      await writePng(join(root, 'cat', `img${i}.png`), { data: pngA.images.subarray(i * S * S * 3, (i + 1) * S * S * 3), height: S, width: S, channels: 3 });
    }
    // Non-square JPEGs (decoded, then ADM centre-cropped to S).
    const big = syntheticImageSet({ count: 2, size: 40, channels: 3, seed: 2 });
    for (let i = 0; i < 2; i++) {
      await sharp(Buffer.from(big.images.subarray(i * 4800, (i + 1) * 4800)), { raw: { width: 40, height: 40, channels: 3 } })
        .extract({ left: 0, top: 5, width: 40, height: 30 })
        .jpeg({ quality: 95 })
        .toFile(join(root, 'dog', `d${i}.jpg`));
    }
    await writePng(join(root, 'emu', 'e0.png'), { data: pngA.images.subarray(0, S * S * 3), height: S, width: S, channels: 3 });
    writeFileSync(join(root, 'dog', 'broken.jpg'), Buffer.from('\xff\xd8\xff\xe0 this is not really a jpeg'));
    writeFileSync(join(root, 'dog', 'notes.txt'), 'ignored: not an image extension');
  });

  it('lists classes and files sorted by name', () => {
    const idx = scanImageFolder(root);
    expect(idx.classNames).toEqual(['cat', 'dog', 'emu']);
    expect(idx.files.map((f) => f.slice(root.length + 1))).toEqual(['cat/img0.png', 'cat/img1.png', 'cat/img2.png', 'dog/broken.jpg', 'dog/d0.jpg', 'dog/d1.jpg', 'emu/e0.png']);
    expect(Array.from(idx.labels)).toEqual([0, 0, 0, 1, 1, 1, 2]);
  });

  it('fails on the corrupt file, naming it', async () => {
    await expect(loadImageFolder(root, { size: S })).rejects.toThrow(/cannot decode image .*dog\/broken\.jpg: .*; fix or delete the file, or load with skipBad: true/);
  });

  it('skip mode loads the rest and reports the one skipped file', async () => {
    const { set, skipped } = await loadImageFolder(root, { size: S, skipBad: true });
    expect(skipped.length).toBe(1);
    expect(skipped[0].file).toBe(join(root, 'dog', 'broken.jpg'));
    expect(set.count).toBe(6);
    expect(Array.from(set.labels)).toEqual([0, 0, 0, 1, 1, 2]);
    expect([set.height, set.width, set.channels]).toEqual([S, S, 3]);
    // PNGs already S×S pass through the centre crop unchanged.
    expect(Buffer.from(set.images.subarray(0, 3 * S * S * 3)).equals(Buffer.from(pngA.images))).toBe(true);
    // A JPEG equals the ADM crop of its own decode (what readImage gives), exactly.
    const d0 = await readImage(join(root, 'dog', 'd0.jpg'));
    expect([d0.height, d0.width]).toEqual([30, 40]);
    expect(Buffer.from(set.images.subarray(3 * S * S * 3, 4 * S * S * 3)).equals(Buffer.from(admCenterCrop(d0.data, 30, 40, 3, S)))).toBe(true);
    const gray = await loadImageFolder(root, { size: S, skipBad: true, channels: 1 });
    expect(gray.set.channels).toBe(1);
    expect(gray.skipped.length).toBe(1);
  });

  it('names a missing root and an empty class folder', async () => {
    await expect(loadImageFolder(join(dir, 'nope'), { size: S })).rejects.toThrow(/image folder .*nope does not exist/);
    const empty = join(dir, 'tree-empty');
    mkdirSync(join(empty, 'a'), { recursive: true });
    mkdirSync(join(empty, 'b'), { recursive: true });
    writeFileSync(join(empty, 'a', 'x.png'), '');
    expect(() => scanImageFolder(empty)).toThrow(/class folder .*tree-empty\/b has no images/);
    const flat = join(dir, 'flat');
    mkdirSync(flat);
    expect(() => scanImageFolder(flat)).toThrow(/has no class subfolders/);
    await expect(readImage(join(dir, 'missing.png'))).rejects.toThrow(/image file .*missing\.png does not exist/);
  });

  it('rejects a truncated JPEG, naming it', async () => {
    const jpg = await sharp(Buffer.from(pngA.images.subarray(0, S * S * 3)), { raw: { width: S, height: S, channels: 3 } }).jpeg().toBuffer();
    const path = join(dir, 'truncated.jpg');
    writeFileSync(path, jpg.subarray(0, Math.floor(jpg.length * 0.6)));
    await expect(readImage(path)).rejects.toThrow(/cannot decode image .*truncated\.jpg: .*premature end of JPEG image/);
  });
});
