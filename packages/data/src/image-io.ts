/**
 * Image files through sharp (libvips): PNG sample grids, decoding one image to raw bytes, and
 * ImageFolder trees (root/<class>/<image>, classes and files sorted by name as torchvision's
 * ImageFolder does). Decoded images are converted to sRGB without alpha (like PIL
 * `convert('RGB')`), EXIF orientation is not applied (PIL does not either), and each image is
 * brought to size×size with the ADM centre crop.
 */
import { existsSync, readdirSync, realpathSync, renameSync, statSync, unlinkSync, type Dirent } from 'node:fs';
import { extname, join } from 'node:path';
import sharp from 'sharp';
import { admCenterCrop } from './resample';
import { denormalizeImages, lumaUint8, type Normalization } from './transform';
import { DataError, type ImageSet } from './types';
import { checkChannels, checkExtensions, checkImageFolderOptions } from './options';

export interface RawImage {
  readonly data: Uint8Array; // H×W×C
  readonly height: number;
  readonly width: number;
  readonly channels: number;
}

export interface GridOptions {
  /** Images per row (default ceil(sqrt(N))). */
  readonly columns?: number;
  /** Pixels between tiles and around the border (default 2). */
  readonly padding?: number;
  /** Grey level of the padding (default 0). */
  readonly padValue?: number;
}

/** Tiles N×H×W×C images into one grid image (row-major order). */
export function tileGrid(images: Uint8Array, count: number, height: number, width: number, channels: number, opts: GridOptions = {}): RawImage {
  if (images.length !== count * height * width * channels) throw new DataError(`tileGrid: ${images.length} bytes is not ${count}×${height}×${width}×${channels}`);
  if (count === 0) throw new DataError('tileGrid: no images to tile');
  const cols = opts.columns ?? Math.ceil(Math.sqrt(count));
  const rows = Math.ceil(count / cols);
  const pad = opts.padding ?? 2;
  const gw = cols * width + (cols + 1) * pad;
  const gh = rows * height + (rows + 1) * pad;
  const out = new Uint8Array(gh * gw * channels).fill(opts.padValue ?? 0);
  for (let n = 0; n < count; n++) {
    const top = pad + Math.floor(n / cols) * (height + pad);
    const left = pad + (n % cols) * (width + pad);
    for (let y = 0; y < height; y++) {
      const src = ((n * height + y) * width) * channels;
      out.set(images.subarray(src, src + width * channels), ((top + y) * gw + left) * channels);
    }
  }
  return { data: out, height: gh, width: gw, channels };
}

/** Writes raw H×W×C bytes (C = 1 or 3) as a PNG, atomically (temp file, then rename). */
export async function writePng(path: string, image: RawImage): Promise<void> {
  const { data, height, width, channels } = image;
  if (channels !== 1 && channels !== 3 && channels !== 4) throw new DataError(`writePng(${path}): ${channels} channels; 1, 3 or 4 are supported`);
  let img = sharp(Buffer.from(data.buffer, data.byteOffset, data.byteLength), { raw: { width, height, channels } });
  if (channels === 1) img = img.toColourspace('b-w'); // keep a 1-channel PNG (sharp would write sRGB)
  const tmp = `${path}.tmp-${process.pid}.png`;
  try {
    await img.png().toFile(tmp);
    renameSync(tmp, path);
  } catch (e) {
    if (existsSync(tmp)) unlinkSync(tmp);
    throw new DataError(`cannot write image ${path}: ${(e as Error).message} (does the folder exist?)`, 'io');
  }
}

/** Writes a sample grid of N×H×W×C uint8 images as PNG. */
export async function writePngGrid(path: string, images: Uint8Array, count: number, height: number, width: number, channels: number, opts: GridOptions = {}): Promise<RawImage> {
  const grid = tileGrid(images, count, height, width, channels, opts);
  await writePng(path, grid);
  return grid;
}

/**
 * Decodes an image file to raw bytes with 1 or 3 channels (sRGB, alpha dropped; 1 channel =
 * Pillow's luma). Throws a DataError naming the file when it cannot be read or decoded.
 */
export async function readImage(path: string, channels: 1 | 3 = 3): Promise<RawImage> {
  checkChannels('readImage', channels);
  if (!existsSync(path)) throw new DataError(`image file ${path} does not exist`, 'io');
  let decoded: { data: Buffer; info: sharp.OutputInfo };
  try {
    const meta = await sharp(path).metadata();
    const gray = meta.channels !== undefined && meta.channels <= 2 && meta.space === 'b-w';
    let img = sharp(path, { failOn: 'error' }).removeAlpha();
    img = gray && channels === 1 ? img.toColourspace('b-w') : img.toColourspace('srgb');
    decoded = await img.raw().toBuffer({ resolveWithObject: true });
  } catch (e) {
    const detail = (e as Error).message.split('\n')[0].trim().replace(/:$/, '');
    // libvips reports a cut-off PNG or JPEG as "Unknown error", "libpng read error" or "corrupt header".
    const cryptic = !detail || /unknown error|read error|corrupt header|premature end|truncated/i.test(detail);
    const why = cryptic ? `the file is truncated or corrupt (decoder: ${detail || 'no detail'})` : detail;
    throw new DataError(`cannot decode image ${path}: ${why}`, 'format');
  }
  const { width, height } = decoded.info;
  const have = decoded.info.channels;
  const src = new Uint8Array(decoded.data.buffer, decoded.data.byteOffset, decoded.data.byteLength);
  if (have === channels) return { data: new Uint8Array(src), height, width, channels };
  const pixels = width * height;
  const out = new Uint8Array(pixels * channels);
  if (have === 3 && channels === 1) for (let p = 0; p < pixels; p++) out[p] = lumaUint8(src[3 * p], src[3 * p + 1], src[3 * p + 2]);
  else if (have === 1 && channels === 3) for (let p = 0; p < pixels; p++) out[3 * p] = out[3 * p + 1] = out[3 * p + 2] = src[p];
  else throw new DataError(`cannot decode image ${path}: ${have} channels after conversion, expected ${channels}`, 'format');
  return { data: out, height, width, channels };
}

// ---------------------------------------------------------------------------------------------
// ImageFolder

export const IMAGE_EXTENSIONS: readonly string[] = ['.jpg', '.jpeg', '.png'];

export interface ImageFolderIndex {
  readonly root: string;
  readonly classNames: readonly string[];
  readonly files: readonly string[];
  readonly labels: Int32Array;
  /** Links that were not followed (dangling, a loop, a duplicate class folder), with the reason. */
  readonly skipped: readonly { readonly path: string; readonly reason: string }[];
}

/**
 * What a directory entry is, following symbolic links (as torchvision's ImageFolder does); a link
 * that dangles or cannot be read is reported in `skipped`, never dropped silently.
 */
function entryKind(dir: string, d: Dirent, skipped: Array<{ path: string; reason: string }>): 'dir' | 'file' | 'other' {
  if (d.isDirectory()) return 'dir';
  if (d.isFile()) return 'file';
  if (!d.isSymbolicLink()) return 'other';
  const path = join(dir, d.name);
  try {
    const st = statSync(path);
    return st.isDirectory() ? 'dir' : st.isFile() ? 'file' : 'other';
  } catch (e) {
    skipped.push({ path, reason: `symbolic link that cannot be followed (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})` });
    return 'other';
  }
}

/**
 * Lists root/<class>/<image> files (sorted), following symbolic links to class folders and images.
 * A class folder that resolves to the root or to a class folder already listed (a link loop or a
 * duplicate) is skipped and reported in `skipped`, as are dangling links. Errors name the missing
 * root or the empty class folder.
 */
export function scanImageFolder(root: string, extensions: readonly string[] = IMAGE_EXTENSIONS): ImageFolderIndex {
  checkExtensions('scanImageFolder', extensions);
  if (!existsSync(root)) throw new DataError(`image folder ${root} does not exist: check the path`, 'io');
  if (!statSync(root).isDirectory()) throw new DataError(`image folder ${root} is not a directory (expected root/<class>/<image>)`, 'io');
  const skipped: Array<{ path: string; reason: string }> = [];
  const seen = new Map<string, string>([[realpathSync(root), root]]);
  const classNames = readdirSync(root, { withFileTypes: true })
    .filter((d) => !d.name.startsWith('.') && entryKind(root, d, skipped) === 'dir')
    .map((d) => d.name)
    .sort()
    .filter((name) => {
      const path = join(root, name);
      const real = realpathSync(path);
      const first = seen.get(real);
      if (first !== undefined) {
        skipped.push({ path, reason: first === root ? 'links back to the image folder itself (a loop)' : `resolves to the same folder as ${first}` });
        return false;
      }
      seen.set(real, path);
      return true;
    });
  if (classNames.length === 0) throw new DataError(`image folder ${root} has no class subfolders (expected root/<class>/<image>)`);
  const exts = new Set(extensions.map((e) => e.toLowerCase()));
  const files: string[] = [];
  const labels: number[] = [];
  classNames.forEach((name, k) => {
    const dir = join(root, name);
    const images = readdirSync(dir, { withFileTypes: true })
      .filter((d) => exts.has(extname(d.name).toLowerCase()) && entryKind(dir, d, skipped) === 'file')
      .map((d) => d.name)
      .sort();
    if (images.length === 0) throw new DataError(`class folder ${dir} has no images (${[...exts].join(', ')}): add images or remove the folder`);
    for (const f of images) {
      files.push(join(dir, f));
      labels.push(k);
    }
  });
  skipped.sort((a, b) => (a.path < b.path ? -1 : 1));
  return { root, classNames, files, labels: Int32Array.from(labels), skipped };
}

export interface ImageFolderOptions {
  /** Output side length (ADM centre crop). */
  readonly size: number;
  readonly channels?: 1 | 3;
  /** Skip files that cannot be decoded (reported in `skipped`) instead of failing on the first. */
  readonly skipBad?: boolean;
  /** Files decoded at once (default 4). */
  readonly concurrency?: number;
  readonly extensions?: readonly string[];
}

export interface LoadedImageFolder {
  readonly set: ImageSet;
  readonly skipped: readonly { readonly file: string; readonly reason: string }[];
}

/** Decodes a whole ImageFolder tree into memory at size×size. */
export async function loadImageFolder(root: string, opts: ImageFolderOptions): Promise<LoadedImageFolder> {
  checkImageFolderOptions(opts);
  const { size } = opts;
  const channels = opts.channels ?? 3;
  if (!Number.isInteger(size) || size <= 0) throw new DataError(`loadImageFolder: size must be a positive integer, got ${size}`);
  const index = scanImageFolder(root, opts.extensions);
  const per = size * size * channels;
  const decoded: (Uint8Array | null)[] = new Array(index.files.length).fill(null);
  const skipped: { file: string; reason: string }[] = [];
  let nextFile = 0;
  const worker = async () => {
    while (nextFile < index.files.length) {
      const k = nextFile++;
      const file = index.files[k];
      try {
        const img = await readImage(file, channels);
        decoded[k] = admCenterCrop(img.data, img.height, img.width, channels, size);
      } catch (e) {
        if (!opts.skipBad) {
          throw new DataError(`${(e as Error).message}; fix or delete the file, or load with skipBad: true`);
        }
        skipped.push({ file, reason: (e as Error).message });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, opts.concurrency ?? 4) }, worker));
  const kept = decoded.flatMap((d, k) => (d ? [k] : []));
  const images = new Uint8Array(kept.length * per);
  const labels = new Int32Array(kept.length);
  kept.forEach((k, n) => {
    images.set(decoded[k]!, n * per);
    labels[n] = index.labels[k];
  });
  for (const link of index.skipped) skipped.push({ file: link.path, reason: link.reason });
  skipped.sort((a, b) => (a.file < b.file ? -1 : 1));
  return { set: { images, labels, count: kept.length, height: size, width: size, channels, classNames: index.classNames }, skipped };
}

/**
 * Writes model samples (N×H×W×C float32 in the given normalisation) as a PNG grid: values are
 * mapped back to [0, 255], rounded and clipped.
 */
export async function writeSampleGrid(
  path: string, samples: Float32Array, count: number, size: number, channels: number, normalization: Normalization, opts: GridOptions = {},
): Promise<RawImage> {
  return writePngGrid(path, denormalizeImages(samples, channels, normalization), count, size, size, channels, opts);
}
