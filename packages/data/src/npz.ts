/**
 * numpy .npy / .npz files (numpy/lib/format.py; PKWARE APPNOTE 6.3 for the ZIP container).
 * Reading goes through @epg/tensor's ZIP reader (the one that reads torch.save files), piecewise from
 * the file: stored or deflated entries (np.savez / np.savez_compressed) and ZIP64 records, sizes from
 * the central directory (numpy forces ZIP64 local headers, whose size fields are then 0xFFFFFFFF). Writing produces stored .npy entries, the ADM
 * evaluator's format (`arr_0`, uint8 N×H×W×3), to a temp file renamed into place.
 */
import { closeSync, existsSync, fstatSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import { fileSource, isEpgError, readZipEntry, zipEntries } from '@epg/tensor';
import { DataError, type NpyArray, type NpyDtype } from './types';

const DESCR: Record<NpyDtype, string> = { uint8: '|u1', int32: '<i4', int64: '<i8', float32: '<f4', float64: '<f8' };
const ITEMSIZE: Record<NpyDtype, number> = { uint8: 1, int32: 4, int64: 8, float32: 4, float64: 8 };
const FROM_DESCR: Record<string, NpyDtype> = {
  '|u1': 'uint8', '<u1': 'uint8', '=u1': 'uint8',
  '<i4': 'int32', '<i8': 'int64', '<f4': 'float32', '<f8': 'float64',
};
const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

const U32_MAX = 0xffffffff;
const U16_MAX = 0xffff;

function product(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function typedFor(dtype: NpyDtype, bytes: Uint8Array): NpyArray['data'] {
  // Copy first: file offsets need not be aligned to the element size.
  const own = new Uint8Array(bytes).buffer;
  switch (dtype) {
    case 'uint8': return new Uint8Array(own);
    case 'int32': return new Int32Array(own);
    case 'int64': return new BigInt64Array(own);
    case 'float32': return new Float32Array(own);
    case 'float64': return new Float64Array(own);
  }
}

function dtypeOfData(data: NpyArray['data']): NpyDtype {
  if (data instanceof Uint8Array) return 'uint8';
  if (data instanceof Int32Array) return 'int32';
  if (data instanceof BigInt64Array) return 'int64';
  if (data instanceof Float32Array) return 'float32';
  return 'float64';
}

/** Checks dtype/shape/data agreement of an array about to be written. */
function checkArray(name: string, a: NpyArray): void {
  if (!(a.dtype in DESCR)) throw new DataError(`array '${name}': dtype ${String(a.dtype)} is not one of ${Object.keys(DESCR).join(', ')}`);
  if (dtypeOfData(a.data) !== a.dtype) throw new DataError(`array '${name}': dtype is ${a.dtype} but data is a ${a.data.constructor.name}`);
  if (!a.shape.every((d) => Number.isInteger(d) && d >= 0)) throw new DataError(`array '${name}': shape [${a.shape}] must hold non-negative integers`);
  if (product(a.shape) !== a.data.length) throw new DataError(`array '${name}': shape [${a.shape}] holds ${product(a.shape)} elements but data has ${a.data.length}`);
}

/** The .npy header (magic, version, length, dict padded to a multiple of 64 bytes). */
export function npyHeader(dtype: NpyDtype, shape: readonly number[]): Uint8Array {
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  const dict = `{'descr': '${DESCR[dtype]}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  let version = 1;
  let prefix = 10;
  let total = Math.ceil((prefix + dict.length + 1) / 64) * 64;
  if (total - prefix > U16_MAX) {
    version = 2;
    prefix = 12;
    total = Math.ceil((prefix + dict.length + 1) / 64) * 64;
  }
  const out = new Uint8Array(total);
  out.set(MAGIC, 0);
  out[6] = version;
  out[7] = 0;
  const view = new DataView(out.buffer);
  if (version === 1) view.setUint16(8, total - prefix, true);
  else view.setUint32(8, total - prefix, true);
  const text = dict.padEnd(total - prefix - 1, ' ') + '\n';
  out.set(Buffer.from(text, 'latin1'), prefix);
  return out;
}

function bytesOf(data: NpyArray['data']): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** A whole .npy file in memory. */
export function encodeNpy(array: NpyArray): Uint8Array {
  checkArray('array', array);
  const header = npyHeader(array.dtype, array.shape);
  const out = new Uint8Array(header.length + array.data.byteLength);
  out.set(header, 0);
  out.set(bytesOf(array.data), header.length);
  return out;
}

/** Parses a .npy file's bytes; `where` names it in errors. */
export function parseNpy(bytes: Uint8Array, where = '.npy data'): NpyArray {
  if (bytes.length < 10 || MAGIC.some((m, i) => bytes[i] !== m)) throw new DataError(`${where} is not a .npy array (bad magic)`, 'format');
  const major = bytes[6];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerLen: number;
  let start: number;
  if (major === 1) {
    headerLen = view.getUint16(8, true);
    start = 10;
  } else if (major === 2 || major === 3) {
    headerLen = view.getUint32(8, true);
    start = 12;
  } else throw new DataError(`${where}: .npy format version ${major} is not supported (1–3 are)`, 'format');
  const header = Buffer.from(bytes.buffer, bytes.byteOffset + start, headerLen).toString(major === 3 ? 'utf8' : 'latin1');
  const descr = /'descr'\s*:\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) throw new DataError(`${where}: malformed .npy header ${JSON.stringify(header.trim())}`, 'format');
  const dtype = FROM_DESCR[descr];
  if (!dtype) throw new DataError(`${where}: dtype '${descr}' is not supported; convert with arr.astype('<f4') (or uint8, <i4, <i8, <f8)`, 'format');
  if (fortran === 'True') throw new DataError(`${where}: Fortran-order arrays are not supported; save np.ascontiguousarray(arr)`, 'format');
  const shape = shapeText.split(',').map((s) => s.trim()).filter((s) => s.length > 0).map(Number);
  if (shape.some((d) => !Number.isInteger(d) || d < 0)) throw new DataError(`${where}: bad shape (${shapeText})`, 'format');
  const dataStart = start + headerLen;
  const nbytes = product(shape) * ITEMSIZE[dtype];
  if (bytes.length - dataStart !== nbytes) {
    throw new DataError(`${where}: shape (${shape.join(', ')}) of ${dtype} needs ${nbytes} bytes but ${bytes.length - dataStart} follow the header (truncated?)`, 'format');
  }
  return { dtype, shape, data: typedFor(dtype, bytes.subarray(dataStart)) };
}

// ---------------------------------------------------------------------------------------------
// ZIP reading

/**
 * Reads every array of an .npz file, keyed by name without `.npy` (`arr_0`, ...).
 * Throws a DataError naming the file.
 */
export function readNpz(path: string): Map<string, NpyArray> {
  if (!existsSync(path)) throw new DataError(`npz file ${path} does not exist: check the path`, 'io');
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw new DataError(`cannot open npz file ${path}: ${(e as Error).message}`, 'io');
  }
  try {
    const src = fileSource(fd, fstatSync(fd).size);
    const entries = zipEntries(src, path, 'the file is truncated or is not an .npz; re-create it (np.savez or writeNpz)');
    const out = new Map<string, NpyArray>();
    for (const entry of entries.values()) {
      if (entry.name.endsWith('/')) continue;
      const key = entry.name.endsWith('.npy') ? entry.name.slice(0, -4) : entry.name;
      out.set(key, parseNpy(readZipEntry(src, entry, path), `${path} entry '${entry.name}'`));
    }
    return out;
  } catch (e) {
    if (e instanceof DataError) throw e;
    if (isEpgError(e)) throw new DataError(e.message, 'format'); // names the file, the entry and the fix
    throw new DataError(`cannot read npz file ${path}: ${(e as Error).message}`, 'io');
  } finally {
    closeSync(fd);
  }
}

// ---------------------------------------------------------------------------------------------
// ZIP writing

export interface WriteNpzOptions {
  /** Write ZIP64 records even when sizes fit 32 bits (what numpy does); needed above 4 GiB anyway. */
  readonly forceZip64?: boolean;
}

const DOS_DATE_1980 = (0 << 9) | (1 << 5) | 1; // 1980-01-01: fixed, so the same arrays give the same bytes

/**
 * Writes arrays as an .npz of stored (uncompressed) .npy entries, atomically: a temp file beside
 * `path` is renamed over it only when complete. ZIP64 records are used when a size or offset needs them.
 */
export function writeNpz(path: string, arrays: Record<string, NpyArray>, opts: WriteNpzOptions = {}): void {
  const names = Object.keys(arrays);
  for (const n of names) {
    if (n.length === 0 || n.includes('/')) throw new DataError(`writeNpz(${path}): array name ${JSON.stringify(n)} must be non-empty without '/'`);
    checkArray(n, arrays[n]);
  }
  const tmp = `${path}.tmp-${process.pid}`;
  let fd: number;
  try {
    fd = openSync(tmp, 'w');
  } catch (e) {
    throw new DataError(`cannot write npz file ${path}: ${(e as Error).message} (does the folder exist?)`, 'io');
  }
  let position = 0;
  const put = (b: Uint8Array) => {
    let done = 0;
    while (done < b.length) done += writeSync(fd, b, done, b.length - done, position + done);
    position += b.length;
  };
  try {
    const central: Buffer[] = [];
    for (const n of names) {
      const a = arrays[n];
      const header = npyHeader(a.dtype, a.shape);
      const body = bytesOf(a.data);
      const size = header.length + body.length;
      const crc = crc32(body, crc32(header)) >>> 0;
      const fileName = Buffer.from(`${n}.npy`, 'utf8');
      const offset = position;
      const zip64 = opts.forceZip64 === true || size >= U32_MAX || offset >= U32_MAX;
      // Local header: with ZIP64 both sizes live in the extra field.
      const localExtra = zip64 ? Buffer.alloc(20) : Buffer.alloc(0);
      if (zip64) {
        localExtra.writeUInt16LE(0x0001, 0);
        localExtra.writeUInt16LE(16, 2);
        localExtra.writeBigUInt64LE(BigInt(size), 4);
        localExtra.writeBigUInt64LE(BigInt(size), 12);
      }
      const local = Buffer.alloc(30);
      local.writeUInt32LE(0x04034b50, 0);
      local.writeUInt16LE(zip64 ? 45 : 20, 4);
      local.writeUInt16LE(0, 6);
      local.writeUInt16LE(0, 8); // stored
      local.writeUInt16LE(0, 10);
      local.writeUInt16LE(DOS_DATE_1980, 12);
      local.writeUInt32LE(crc, 14);
      local.writeUInt32LE(zip64 ? U32_MAX : size, 18);
      local.writeUInt32LE(zip64 ? U32_MAX : size, 22);
      local.writeUInt16LE(fileName.length, 26);
      local.writeUInt16LE(localExtra.length, 28);
      put(local);
      put(fileName);
      put(localExtra);
      put(header);
      put(body);
      const cdExtra = zip64 ? Buffer.alloc(28) : Buffer.alloc(0);
      if (zip64) {
        cdExtra.writeUInt16LE(0x0001, 0);
        cdExtra.writeUInt16LE(24, 2);
        cdExtra.writeBigUInt64LE(BigInt(size), 4);
        cdExtra.writeBigUInt64LE(BigInt(size), 12);
        cdExtra.writeBigUInt64LE(BigInt(offset), 20);
      }
      const cd = Buffer.alloc(46);
      cd.writeUInt32LE(0x02014b50, 0);
      cd.writeUInt16LE(zip64 ? 45 : 20, 4);
      cd.writeUInt16LE(zip64 ? 45 : 20, 6);
      cd.writeUInt16LE(0, 8);
      cd.writeUInt16LE(0, 10);
      cd.writeUInt16LE(0, 12);
      cd.writeUInt16LE(DOS_DATE_1980, 14);
      cd.writeUInt32LE(crc, 16);
      cd.writeUInt32LE(zip64 ? U32_MAX : size, 20);
      cd.writeUInt32LE(zip64 ? U32_MAX : size, 24);
      cd.writeUInt16LE(fileName.length, 28);
      cd.writeUInt16LE(cdExtra.length, 30);
      cd.writeUInt32LE(0o100644 * 0x10000, 38); // unix mode rw-r--r--
      cd.writeUInt32LE(zip64 ? U32_MAX : offset, 42);
      central.push(cd, fileName, cdExtra);
    }
    const cdOffset = position;
    for (const b of central) put(b);
    const cdSize = position - cdOffset;
    const zip64End = opts.forceZip64 === true || names.length >= U16_MAX || cdOffset >= U32_MAX || cdSize >= U32_MAX;
    if (zip64End) {
      const recOffset = position;
      const rec = Buffer.alloc(56);
      rec.writeUInt32LE(0x06064b50, 0);
      rec.writeBigUInt64LE(44n, 4);
      rec.writeUInt16LE(45, 12);
      rec.writeUInt16LE(45, 14);
      rec.writeBigUInt64LE(BigInt(names.length), 24);
      rec.writeBigUInt64LE(BigInt(names.length), 32);
      rec.writeBigUInt64LE(BigInt(cdSize), 40);
      rec.writeBigUInt64LE(BigInt(cdOffset), 48);
      put(rec);
      const loc = Buffer.alloc(20);
      loc.writeUInt32LE(0x07064b50, 0);
      loc.writeBigUInt64LE(BigInt(recOffset), 8);
      loc.writeUInt32LE(1, 16);
      put(loc);
    }
    const end = Buffer.alloc(22);
    end.writeUInt32LE(0x06054b50, 0);
    end.writeUInt16LE(zip64End ? U16_MAX : names.length, 8);
    end.writeUInt16LE(zip64End ? U16_MAX : names.length, 10);
    end.writeUInt32LE(zip64End ? U32_MAX : cdSize, 12);
    end.writeUInt32LE(zip64End ? U32_MAX : cdOffset, 16);
    put(end);
    closeSync(fd);
    renameSync(tmp, path);
  } catch (e) {
    try { closeSync(fd); } catch { /* already closed */ }
    if (existsSync(tmp)) unlinkSync(tmp);
    throw new DataError(`cannot write npz file ${path}: ${(e as Error).message}`, 'io');
  }
}

/** Writes images as the ADM evaluator's batch file: `arr_0`, uint8 N×H×W×3. */
export function writeAdmNpz(path: string, images: Uint8Array, count: number, height: number, width: number): void {
  if (images.length !== count * height * width * 3) {
    throw new DataError(`writeAdmNpz(${path}): ${images.length} bytes is not ${count}×${height}×${width}×3 (the ADM evaluator needs RGB; use toRgb first)`);
  }
  writeNpz(path, { arr_0: { dtype: 'uint8', shape: [count, height, width, 3], data: images } });
}
