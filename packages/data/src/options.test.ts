// Every data option is validated where it enters, each with its own one-line message (issue 11).
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadImageFolder, readImage, scanImageFolder, writePng } from './image-io';
import { ImageLoader } from './loader';
import { readNpz, writeNpz } from './npz';
import { plainPrepare } from './pipeline';
import { syntheticImageSet } from './synthetic';

let dir: string;
let root: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'epg-opts-'));
  root = join(dir, 'tree');
  for (const c of ['a', 'b']) {
    mkdirSync(join(root, c), { recursive: true });
    await writePng(join(root, c, '0.png'), { data: new Uint8Array(4 * 4 * 3).fill(c === 'a' ? 10 : 200), height: 4, width: 4, channels: 3 });
  }
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('loadImageFolder options', () => {
  it.each([
    [{ size: 4, concurrency: NaN }, /^loadImageFolder concurrency must be an integer >= 1, got NaN: use e\.g\. 4/],
    [{ size: 4, concurrency: 0 }, /concurrency must be an integer >= 1, got 0/],
    [{ size: 4, channels: 2 }, /^loadImageFolder channels must be 1 \(grey\) or 3 \(RGB\), got 2/],
    [{ size: 0 }, /^loadImageFolder size must be an integer >= 1, got 0/],
    [{ size: 4, extensions: ['png'] }, /extensions must be a non-empty list like \['\.png', '\.jpg'\]/],
    [{ size: 4, skipBad: 'yes' }, /skipBad must be true or false, got "yes"/],
  ])('%p is refused with its own message, not a silent empty set', async (opts, re) => {
    await expect(loadImageFolder(root, opts as never)).rejects.toThrow(re);
  });

  it('readImage with channels 2 blames the option, not the image file', async () => {
    await expect(readImage(join(root, 'a', '0.png'), 2 as never)).rejects.toThrow(/^readImage channels must be 1 \(grey\) or 3 \(RGB\), got 2/);
  });

  it.each([20, 40, 0.5])('a PNG cut short by %p bytes (or that fraction) says it is truncated, not "Unknown error"', async (cut) => {
    const bad = join(dir, `trunc-${cut}.png`);
    const full = readFileSync(join(root, 'a', '0.png'));
    writeFileSync(bad, full.subarray(0, full.length - (cut < 1 ? Math.floor(full.length * cut) : cut)));
    await expect(readImage(bad)).rejects.toThrow(/^cannot decode image .*trunc-[0-9.]+\.png: the file is truncated or corrupt \(decoder: [^)]+\)$/);
  });
});

describe('symbolic links in an ImageFolder', () => {
  it('follows linked class folders and images; reports dangling links and loops instead of dropping them silently', async () => {
    const tree = join(dir, 'links');
    mkdirSync(join(tree, 'real'), { recursive: true });
    await writePng(join(tree, 'real', 'x.png'), { data: new Uint8Array(4 * 4 * 3).fill(5), height: 4, width: 4, channels: 3 });
    symlinkSync(join(root, 'a'), join(tree, 'linked')); // a class folder elsewhere
    symlinkSync(join(root, 'b', '0.png'), join(tree, 'real', 'y.png')); // one linked image
    symlinkSync(join(tree, 'nowhere.png'), join(tree, 'real', 'z.png')); // dangling
    symlinkSync(tree, join(tree, 'loop')); // the root itself
    symlinkSync(join(tree, 'real'), join(tree, 'twin')); // the same class twice
    const idx = scanImageFolder(tree);
    expect(idx.classNames).toEqual(['linked', 'real']);
    expect(idx.files.map((f) => f.slice(tree.length + 1))).toEqual(['linked/0.png', 'real/x.png', 'real/y.png']);
    expect(idx.skipped.map((s) => [s.path.slice(tree.length + 1), s.reason])).toEqual([
      ['loop', 'links back to the image folder itself (a loop)'],
      ['real/z.png', 'symbolic link that cannot be followed (ENOENT)'],
      ['twin', `resolves to the same folder as ${join(tree, 'real')}`],
    ]);
    const loaded = await loadImageFolder(tree, { size: 4 });
    expect(loaded.set.count).toBe(3);
    expect(loaded.skipped.map((s) => s.file.slice(tree.length + 1))).toEqual(['loop', 'real/z.png', 'twin']);
  });
});

describe('loader and prepare options', () => {
  const set = syntheticImageSet({ count: 8, size: 4, channels: 1, seed: 1 });
  it.each([
    [{ prefetch: -1 }, /^ImageLoader prefetch must be an integer >= 0, got -1: use e\.g\. 2/],
    [{ prefetch: 1.5 }, /prefetch must be an integer >= 0, got 1\.5/],
    [{ prepare: 'x' }, /^ImageLoader prepare must be a function/],
  ])('ImageLoader %p is refused at construction', (bad, re) => {
    expect(() => new ImageLoader(set, { batchSize: 2, seed: 0, prepare: (b: unknown) => b, ...bad } as never)).toThrow(re);
  });

  it.each([
    [{ numClasses: -1 }, /^plainPrepare numClasses must be an integer >= 1, got -1/],
    [{ numClasses: 10, labelDropout: 1.5 }, /^plainPrepare labelDropout must be a probability in \[0, 1\], got 1\.5/],
    [{ numClasses: 10, flipProb: NaN }, /^plainPrepare flipProb must be a probability in \[0, 1\], got NaN/],
  ])('plainPrepare %p is refused when the prepare function is made (no label -1 ever emitted)', (opts, re) => {
    expect(() => plainPrepare('minus-one-one', opts as never)).toThrow(re);
  });
});

describe('npz', () => {
  it('a directory that claims more entries than it holds is a clear error, not a RangeError from Node', () => {
    const p = join(dir, 'a.npz');
    writeNpz(p, { x: { dtype: 'uint8', shape: [2], data: new Uint8Array([1, 2]) } });
    const buf = readFileSync(p);
    const eocd = buf.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
    const claim = (count: number) => {
      buf.writeUInt16LE(count, eocd + 8);
      buf.writeUInt16LE(count, eocd + 10);
      writeFileSync(p, buf);
    };
    claim(3);
    expect(() => readNpz(p)).toThrow(/^\S*a\.npz is not a readable zip archive \(central directory entry 1 is corrupt\): the file is truncated or is not an \.npz/);
    // 65535 is the zip64 marker (APPNOTE 4.4.22): without a zip64 record that is the error
    claim(65535);
    expect(() => readNpz(p)).toThrow(/^\S*a\.npz is not a readable zip archive \(zip64 locator missing\)/);
  });
});
