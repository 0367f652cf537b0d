/**
 * A minimal ZIP reader for the container `torch.save` writes (since PyTorch 1.6): entries stored
 * uncompressed (method 0) and 64-byte aligned, zip64 records for large files. Deflated entries
 * (method 8, e.g. a checkpoint re-zipped by hand) are inflated with node:zlib. Every entry's CRC-32
 * is checked when it is read. Errors are `EpgError`s of kind 'format' naming the file and the entry.
 */
import { crc32, inflateRawSync } from 'node:zlib';
import { epgError } from '../errors';

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

/** The central directory of a ZIP archive held in `buf`; throws EpgError('format') when it is not one. */
export function zipEntries(buf: Buffer, label: string): Map<string, ZipEntry> {
  const notZip = (why: string) => epgError('format', `${label} is not a readable zip archive (${why})`, 'the file is truncated or was not written by torch.save ≥ 1.6; re-download or re-save it');
  if (buf.length < 22) throw notZip(`${buf.length} bytes`);
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 22 - 0xffff); i--) {
    if (buf.readUInt32LE(i) === EOCD) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw notZip('no end-of-central-directory record');
  let count = buf.readUInt16LE(eocd + 10);
  let cdSize = buf.readUInt32LE(eocd + 12);
  let cdOffset = buf.readUInt32LE(eocd + 16);
  if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    const loc = eocd - 20;
    if (loc < 0 || buf.readUInt32LE(loc) !== ZIP64_LOCATOR) throw notZip('zip64 locator missing');
    const rec = u64(buf, loc + 8);
    if (!(rec + 56 <= buf.length) || buf.readUInt32LE(rec) !== ZIP64_EOCD) throw notZip('zip64 end record missing');
    count = u64(buf, rec + 32);
    cdSize = u64(buf, rec + 40);
    cdOffset = u64(buf, rec + 48);
  }
  if (!(cdOffset + cdSize <= buf.length)) throw notZip(`central directory at ${cdOffset} + ${cdSize} bytes lies past the end`);
  const entries = new Map<string, ZipEntry>();
  let p = cdOffset;
  for (let k = 0; k < count; k++) {
    if (p + 46 > buf.length || buf.readUInt32LE(p) !== CENTRAL) throw notZip(`central directory entry ${k} is corrupt`);
    const method = buf.readUInt16LE(p + 10);
    const crc = buf.readUInt32LE(p + 16);
    let compressedSize = buf.readUInt32LE(p + 20);
    let size = buf.readUInt32LE(p + 24);
    const nameLen = buf.readUInt16LE(p + 28);
    const extraLen = buf.readUInt16LE(p + 30);
    const commentLen = buf.readUInt16LE(p + 32);
    let localHeaderOffset = buf.readUInt32LE(p + 42);
    const name = buf.toString('utf8', p + 46, p + 46 + nameLen);
    // zip64 extended information: the 64-bit values present are those whose 32-bit field is 0xFFFFFFFF
    let e = p + 46 + nameLen;
    const extraEnd = e + extraLen;
    while (e + 4 <= extraEnd) {
      const id = buf.readUInt16LE(e);
      const len = buf.readUInt16LE(e + 2);
      if (id === 0x0001) {
        let q = e + 4;
        if (size === 0xffffffff) {
          size = u64(buf, q);
          q += 8;
        }
        if (compressedSize === 0xffffffff) {
          compressedSize = u64(buf, q);
          q += 8;
        }
        if (localHeaderOffset === 0xffffffff) localHeaderOffset = u64(buf, q);
      }
      e += 4 + len;
    }
    entries.set(name, { name, method, crc, compressedSize, size, localHeaderOffset });
    p = extraEnd + commentLen;
  }
  return entries;
}

/** The bytes of one entry (a view into `buf` for stored entries), CRC-checked. */
export function readZipEntry(buf: Buffer, entry: ZipEntry, label: string): Buffer {
  const where = `${label}: zip entry '${entry.name}'`;
  const h = entry.localHeaderOffset;
  if (!(h + 30 <= buf.length) || buf.readUInt32LE(h) !== LOCAL) {
    throw epgError('format', `${where} has no local header at byte ${h}`, 'the file is truncated or corrupt; re-download or re-save it');
  }
  const start = h + 30 + buf.readUInt16LE(h + 26) + buf.readUInt16LE(h + 28);
  const end = start + entry.compressedSize;
  if (!(end <= buf.length)) {
    throw epgError('format', `${where} needs bytes up to ${end} but the file has ${buf.length}`, 'the file is truncated; re-download or re-save it');
  }
  let data = buf.subarray(start, end);
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
