/**
 * A minimal ZIP reader (PKWARE APPNOTE 6.3) for the containers the project reads: what `torch.save`
 * writes (since PyTorch 1.6: stored entries, 64-byte aligned, zip64 records for large files) and
 * numpy's .npz (np.savez: stored, zip64 local headers; np.savez_compressed: deflate). Entries may be
 * stored (method 0) or deflated (method 8, inflated with node:zlib); sizes come from the central
 * directory; every entry's CRC-32 is checked when it is read. The archive is read through a
 * `ByteSource`, a buffer in memory or a file read piecewise (a multi-GB .npz need not fit in one
 * Buffer twice). Errors are `EpgError`s of kind 'format' naming the file and the entry.
 */
import { readSync } from 'node:fs';
import { crc32, inflateRawSync } from 'node:zlib';
import { epgError } from '../errors';

/** Random access to the archive's bytes. */
export interface ByteSource {
  readonly size: number;
  /** `length` bytes from `offset` (fewer only past the end). */
  read(offset: number, length: number): Buffer;
}

/** An archive in memory; reads are views, not copies. */
export const bufferSource = (buf: Buffer): ByteSource => ({ size: buf.length, read: (offset, length) => buf.subarray(offset, offset + length) });

/** An open file of `size` bytes, read with readSync where asked (the caller opens and closes `fd`). */
export function fileSource(fd: number, size: number): ByteSource {
  return {
    size,
    read(offset, length) {
      const out = Buffer.allocUnsafe(Math.max(0, Math.min(length, size - offset)));
      let done = 0;
      while (done < out.length) {
        const n = readSync(fd, out, done, out.length - done, offset + done);
        if (n === 0) return out.subarray(0, done);
        done += n;
      }
      return out;
    },
  };
}

const asSource = (src: Buffer | ByteSource): ByteSource => (Buffer.isBuffer(src) ? bufferSource(src) : src);
const TORCH_FIX = 'the file is truncated or was not written by torch.save ≥ 1.6; re-download or re-save it';

export interface ZipEntry {
  readonly name: string;
  readonly method: number;
  readonly crc: number;
  readonly compressedSize: number;
  readonly size: number;
  readonly localHeaderOffset: number;
}

const EOCD = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;

function u64(buf: Buffer, at: number): number {
  const v = buf.readBigUInt64LE(at);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) return Number.POSITIVE_INFINITY;
  return Number(v);
}

/**
 * The central directory of a ZIP archive; throws EpgError('format') when it is not one. `fix` is the
 * advice of the "not a readable zip archive" error (default: torch.save's).
 */
export function zipEntries(source: Buffer | ByteSource, label: string, fix = TORCH_FIX): Map<string, ZipEntry> {
  const src = asSource(source);
  const notZip = (why: string) => epgError('format', `${label} is not a readable zip archive (${why})`, fix);
  if (src.size < 22) throw notZip(`${src.size} bytes`);
  // The end record is in the last 22 + 65535 bytes (its comment is at most 65535 long).
  const tailStart = Math.max(0, src.size - 22 - 0xffff);
  const tail = src.read(tailStart, src.size - tailStart);
  let eocd = -1;
  for (let i = tail.length - 22; i >= 0; i--) {
    if (tail.readUInt32LE(i) === EOCD) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw notZip('no end-of-central-directory record');
  let count = tail.readUInt16LE(eocd + 10);
  let cdSize = tail.readUInt32LE(eocd + 12);
  let cdOffset = tail.readUInt32LE(eocd + 16);
  // zip64: a locator sits just before the end record (numpy writes one whenever it forces zip64)
  const loc = eocd - 20;
  const hasLocator = loc >= 0 && tail.readUInt32LE(loc) === ZIP64_LOCATOR;
  if (hasLocator || count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    if (!hasLocator) throw notZip('zip64 locator missing');
    const at = u64(tail, loc + 8);
    const rec = Number.isFinite(at) ? src.read(at, 56) : Buffer.alloc(0);
    if (rec.length < 56 || rec.readUInt32LE(0) !== ZIP64_EOCD) throw notZip('zip64 end record missing');
    count = u64(rec, 32);
    cdSize = u64(rec, 40);
    cdOffset = u64(rec, 48);
  }
  if (!(cdOffset + cdSize <= src.size)) throw notZip(`central directory at ${cdOffset} + ${cdSize} bytes lies past the end`);
  const cd = src.read(cdOffset, cdSize);
  const entries = new Map<string, ZipEntry>();
  let p = 0;
  for (let k = 0; k < count; k++) {
    if (p + 46 > cd.length || cd.readUInt32LE(p) !== CENTRAL) throw notZip(`central directory entry ${k} is corrupt`);
    const method = cd.readUInt16LE(p + 10);
    const crc = cd.readUInt32LE(p + 16);
    let compressedSize = cd.readUInt32LE(p + 20);
    let size = cd.readUInt32LE(p + 24);
    const nameLen = cd.readUInt16LE(p + 28);
    const extraLen = cd.readUInt16LE(p + 30);
    const commentLen = cd.readUInt16LE(p + 32);
    let localHeaderOffset = cd.readUInt32LE(p + 42);
    const name = cd.toString('utf8', p + 46, p + 46 + nameLen);
    // zip64 extended information: the 64-bit values present are those whose 32-bit field is 0xFFFFFFFF
    let e = p + 46 + nameLen;
    const extraEnd = e + extraLen;
    while (e + 4 <= extraEnd) {
      const id = cd.readUInt16LE(e);
      const len = cd.readUInt16LE(e + 2);
      if (id === 0x0001) {
        let q = e + 4;
        if (size === 0xffffffff) {
          size = u64(cd, q);
          q += 8;
        }
        if (compressedSize === 0xffffffff) {
          compressedSize = u64(cd, q);
          q += 8;
        }
        if (localHeaderOffset === 0xffffffff) localHeaderOffset = u64(cd, q);
      }
      e += 4 + len;
    }
    entries.set(name, { name, method, crc, compressedSize, size, localHeaderOffset });
    p = extraEnd + commentLen;
  }
  return entries;
}

/** The bytes of one entry (a view into a buffer source for stored entries), CRC-checked. */
export function readZipEntry(source: Buffer | ByteSource, entry: ZipEntry, label: string): Buffer {
  const src = asSource(source);
  const where = `${label}: zip entry '${entry.name}'`;
  const h = entry.localHeaderOffset;
  const header = h + 30 <= src.size ? src.read(h, 30) : Buffer.alloc(0);
  if (header.length < 30 || header.readUInt32LE(0) !== LOCAL) {
    throw epgError('format', `${where} has no local header at byte ${h}`, 'the file is truncated or corrupt; re-download or re-save it');
  }
  const start = h + 30 + header.readUInt16LE(26) + header.readUInt16LE(28);
  const end = start + entry.compressedSize;
  if (!(end <= src.size)) {
    throw epgError('format', `${where} needs bytes up to ${end} but the file has ${src.size}`, 'the file is truncated; re-download or re-save it');
  }
  let data = src.read(start, entry.compressedSize);
  if (entry.method === 8) {
    try {
      data = inflateRawSync(data);
    } catch {
      throw epgError('format', `${where} does not inflate`, 'the file is corrupt; re-download or re-save it');
    }
  } else if (entry.method !== 0) {
    throw epgError('format', `${where} uses zip compression method ${entry.method}`, 'only stored (0) and deflate (8) entries are read; re-save it with torch.save');
  }
  if (data.length !== entry.size) {
    throw epgError('format', `${where} has ${data.length} bytes, the directory says ${entry.size}`, 'the file is corrupt; re-download or re-save it');
  }
  if ((crc32(data) >>> 0) !== entry.crc) {
    throw epgError('format', `${where} fails its CRC-32 check`, 'the file is corrupt; re-download or re-save it');
  }
  return data;
}
