/**
 * The safetensors format (huggingface/safetensors): an 8-byte little-endian header length N, N bytes
 * of JSON `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__"?: {str: str}}`, then the
 * raw little-endian tensor bytes, offsets relative to the end of the header. Pure bytes in, bytes out.
 */

export type SafetensorsDtype = 'F32' | 'F64' | 'I32' | 'I64' | 'U8' | 'F16' | 'BF16';
export type HostArray = Float32Array | Float64Array | Int32Array | Uint8Array;

export interface NamedHostTensor {
  /**
   * The dtype stored in the file. On read, F16 and BF16 are widened to a Float32Array and I64 (e.g.
   * BatchNorm's num_batches_tracked) to a Float64Array, exact up to 2^53.
   */
  readonly dtype: SafetensorsDtype;
  readonly shape: readonly number[];
  readonly data: HostArray;
}

import { EpgError } from '../errors';

const BYTES: Record<SafetensorsDtype, number> = { F32: 4, F64: 8, I32: 4, I64: 8, U8: 1, F16: 2, BF16: 2 };

/** A safetensors file or buffer whose content breaks the format (an EpgError of kind 'format'). */
export class CheckpointFormatError extends EpgError {
  override readonly name: string = 'CheckpointFormatError';
  constructor(message: string) {
    super('format', message);
  }
}

/** The format's own bound on the JSON header (huggingface/safetensors rejects larger headers). */
export const MAX_HEADER_BYTES = 100_000_000;

function dtypeOf(a: HostArray): SafetensorsDtype {
  if (a instanceof Float32Array) return 'F32';
  if (a instanceof Float64Array) return 'F64';
  if (a instanceof Int32Array) return 'I32';
  return 'U8';
}

/** Serialises tensors (in the given order) with optional string metadata. */
export function encodeSafetensors(
  tensors: Record<string, { shape: readonly number[]; data: HostArray }>,
  metadata?: Record<string, string>,
): Buffer {
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  let offset = 0;
  const names = Object.keys(tensors);
  for (const name of names) {
    const { shape, data } = tensors[name];
    const n = shape.reduce((a, b) => a * b, 1);
    if (n !== data.length) throw new Error(`safetensors: '${name}' has shape [${shape}] but ${data.length} values`);
    const dtype = dtypeOf(data);
    header[name] = { dtype, shape: [...shape], data_offsets: [offset, offset + data.byteLength] };
    offset += data.byteLength;
  }
  let json = JSON.stringify(header);
  // Pad with spaces so the data section starts 8-byte aligned (allowed by the format).
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const headerBytes = Buffer.from(json, 'utf8');
  const out = Buffer.alloc(8 + headerBytes.length + offset);
  out.writeBigUInt64LE(BigInt(headerBytes.length), 0);
  headerBytes.copy(out, 8);
  let pos = 8 + headerBytes.length;
  for (const name of names) {
    const d = tensors[name].data;
    // Host is little-endian on every platform Node supports for us (x86-64, arm64).
    Buffer.from(d.buffer, d.byteOffset, d.byteLength).copy(out, pos);
    pos += d.byteLength;
  }
  return out;
}

export interface DecodedSafetensors {
  readonly tensors: Map<string, NamedHostTensor>;
  readonly metadata: Record<string, string>;
}

/**
 * Parses and validates a safetensors buffer strictly: the header must be UTF-8 JSON with unique
 * names, `__metadata__` (if present) an object of strings, and the tensors must tile the data
 * section exactly (no gaps, no overlaps, no trailing bytes), as huggingface/safetensors requires.
 * `label` names the file in error messages. Throws CheckpointFormatError (one line) on bad input.
 */
export function decodeSafetensors(bytes: Uint8Array | ArrayBuffer, label = 'safetensors data'): DecodedSafetensors {
  // A Buffer is a Uint8Array: Node callers pass file contents, browsers an ArrayBuffer from fetch.
  const buf = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  if (buf.length < 8) throw new CheckpointFormatError(`${label} is truncated: ${buf.length} bytes, no header`);
  const n = new DataView(buf.buffer, buf.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(buf.length - 8)) {
    throw new CheckpointFormatError(`${label} is truncated or corrupt: header claims ${n} bytes but the file has ${buf.length - 8} after the length field`);
  }
  if (n > BigInt(MAX_HEADER_BYTES)) throw new CheckpointFormatError(`${label} is corrupt: its header claims ${n} bytes, over the format's limit of ${MAX_HEADER_BYTES}`);
  const headerLen = Number(n);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(buf.subarray(8, 8 + headerLen));
  } catch {
    throw new CheckpointFormatError(`${label} is corrupt: its header is not valid UTF-8 (tensor names must be UTF-8)`);
  }
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(text);
  } catch {
    throw new CheckpointFormatError(`${label} is corrupt: its JSON header does not parse`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) {
    throw new CheckpointFormatError(`${label} is corrupt: its header is not a JSON object`);
  }
  const dup = firstDuplicateKey(text);
  if (dup !== undefined) throw new CheckpointFormatError(`${label} is corrupt: its header names '${dup}' twice`);
  const dataStart = 8 + headerLen;
  const dataLen = buf.length - dataStart;
  const tensors = new Map<string, NamedHostTensor>();
  let metadata: Record<string, string> = {};
  const spans: Array<[number, number, string]> = [];
  for (const [name, raw] of Object.entries(header)) {
    if (name === '__metadata__') {
      if (raw === null || typeof raw !== 'object' || Array.isArray(raw) || !Object.values(raw).every((v) => typeof v === 'string')) {
        throw new CheckpointFormatError(`${label} is corrupt: __metadata__ must be an object of strings, got ${JSON.stringify(raw)?.slice(0, 60)}`);
      }
      metadata = raw as Record<string, string>;
      continue;
    }
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
      throw new CheckpointFormatError(`${label}: tensor '${name}' has no {dtype, shape, data_offsets} entry`);
    }
    const info = raw as { dtype?: string; shape?: unknown; data_offsets?: unknown };
    const dtype = info.dtype as SafetensorsDtype;
        if (typeof dtype !== 'string' || !Object.prototype.hasOwnProperty.call(BYTES, dtype)) {
      throw new CheckpointFormatError(`${label}: tensor '${name}' has unsupported dtype ${String(info.dtype)}`);
    }
    const shape = info.shape;
    const offs = info.data_offsets;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new CheckpointFormatError(`${label}: tensor '${name}' has an invalid shape`);
    }
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((d) => Number.isSafeInteger(d) && d >= 0) || offs[1] < offs[0]) {
      throw new CheckpointFormatError(`${label}: tensor '${name}' has invalid data_offsets`);
    }
    const [b, e] = offs as [number, number];
    const count = (shape as number[]).reduce((a, x) => a * x, 1);
    if (e - b !== count * BYTES[dtype]) {
      throw new CheckpointFormatError(`${label}: tensor '${name}' has ${e - b} bytes for shape [${shape}] of ${dtype}`);
    }
    if (e > dataLen) {
      throw new CheckpointFormatError(
        `${label} is truncated: tensor '${name}' needs bytes up to ${e} but the data section has ${dataLen}; restore it from the previous checkpoint`,
      );
    }
    spans.push([b, e, name]);
    tensors.set(name, { dtype, shape: shape as number[], data: new Uint8Array(0) });
  }
  spans.sort((x, y) => x[0] - y[0] || x[1] - y[1]);
  let end = 0;
  for (let i = 0; i < spans.length; i++) {
    const [b, e, name] = spans[i];
    if (b < end) throw new CheckpointFormatError(`${label} is corrupt: tensors '${spans[i - 1][2]}' and '${name}' overlap`);
    if (b > end) throw new CheckpointFormatError(`${label} is corrupt: ${b - end} unused bytes before tensor '${name}' (the format allows no gaps)`);
    end = e;
  }
  if (end !== dataLen) {
    throw new CheckpointFormatError(`${label} is corrupt: ${dataLen - end} trailing bytes after the last tensor (the format allows none)`);
  }
  // Copy only once the whole layout is known to be valid.
  for (const [b, e, name] of spans) {
    const t = tensors.get(name)!;
    const ab = new Uint8Array(buf.subarray(dataStart + b, dataStart + e)).buffer; // an aligned copy of exactly the tensor's bytes
    tensors.set(name, { dtype: t.dtype, shape: t.shape, data: viewAs(t.dtype, ab, `${label}: tensor '${name}'`) });
  }
  return { tensors, metadata };
}

/**
 * The first key that occurs twice in the top-level object of a JSON text (JSON.parse keeps the last
 * silently). A small scanner: tracks nesting depth and string tokens; the text already parsed.
 */
function firstDuplicateKey(text: string): string | undefined {
  const seen = new Set<string>();
  let depth = 0;
  let i = 0;
  let expectKey = false;
  while (i < text.length) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      if (depth === 1 && expectKey) {
        const key = JSON.parse(text.slice(i, j + 1)) as string;
        if (seen.has(key)) return key;
        seen.add(key);
        expectKey = false;
      }
      i = j + 1;
      continue;
    }
    if (c === '{' || c === '[') {
      depth++;
      if (depth === 1) expectKey = true;
    } else if (c === '}' || c === ']') depth--;
    else if (c === ',' && depth === 1) expectKey = true;
    i++;
  }
  return undefined;
}

/** Typed view of little-endian bytes; half-precision types are widened to float32 (PyTorch exports). */
function viewAs(dtype: SafetensorsDtype, ab: ArrayBuffer, where: string): HostArray {
  switch (dtype) {
    case 'F32':
      return new Float32Array(ab);
    case 'F64':
      return new Float64Array(ab);
    case 'I32':
      return new Int32Array(ab);
    case 'I64': {
      const src = new BigInt64Array(ab);
      const out = new Float64Array(src.length);
      for (let i = 0; i < src.length; i++) {
        const v = Number(src[i]);
        if (!Number.isSafeInteger(v)) throw new CheckpointFormatError(`${where} holds int64 ${src[i]}, beyond 2^53`);
        out[i] = v;
      }
      return out;
    }
    case 'U8':
      return new Uint8Array(ab);
    case 'BF16': {
      // bfloat16 is the top half of a float32.
      const src = new Uint16Array(ab);
      const out = new Uint32Array(src.length);
      for (let i = 0; i < src.length; i++) out[i] = src[i] << 16;
      return new Float32Array(out.buffer);
    }
    case 'F16': {
      const src = new Uint16Array(ab);
      const out = new Float32Array(src.length);
      for (let i = 0; i < src.length; i++) out[i] = halfToFloat(src[i]);
      return out;
    }
  }
}

/** IEEE 754 binary16 → number (subnormals, infinities and NaN included). */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}
