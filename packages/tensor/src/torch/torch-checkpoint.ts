/**
 * Reads PyTorch checkpoint files without Python and without running anything from the file: the
 * zip format of `torch.save` since PyTorch 1.6 (`<name>/data.pkl` + one `<name>/data/<key>` entry
 * per storage) and the older stream format (pickles then raw storages, `decodeLegacy`). The pickles
 * are read by the strict unpickler of ./pickle with the allow-list below. The tar format of
 * PyTorch < 1.0 is refused.
 *
 * Allowed globals (nothing else is accepted):
 *  - torch._utils._rebuild_tensor_v2 / _rebuild_tensor / _rebuild_parameter(_with_state): tensors
 *    (parameters become plain tensors), with any storage offset and strides, storages shared;
 *  - torch.{Float,Double,Half,BFloat16,Long,Int,Byte,Bool}Storage: storage types;
 *  - collections.OrderedDict (state_dicts; their `_metadata` attribute is dropped);
 *  - argparse.Namespace (the `args` of training scripts): a PyObject with its attributes;
 *  - builtins.set / frozenset, _codecs.encode (bytes under protocol 2), torch.device, torch dtypes.
 */
import { readFileSync } from 'node:fs';
import * as E from 'fp-ts/Either';
import { epgError, toEpgError, type EpgError } from '../errors';
import { halfToFloat, type NamedHostTensor, type SafetensorsDtype } from '../checkpoint/safetensors';
import { PyGlobal, PyObject, pyTypeName, unpickle, unpickleAt, type AllowedGlobal, type UnpickleHooks } from './pickle';
import { readZipEntry, zipEntries } from './zip';

export { PyObject } from './pickle';

export type TorchDtype = 'float32' | 'float64' | 'float16' | 'bfloat16' | 'int64' | 'int32' | 'uint8' | 'bool';

const STORAGE_DTYPES: Record<string, TorchDtype> = {
  FloatStorage: 'float32',
  DoubleStorage: 'float64',
  HalfStorage: 'float16',
  BFloat16Storage: 'bfloat16',
  LongStorage: 'int64',
  IntStorage: 'int32',
  ByteStorage: 'uint8',
  BoolStorage: 'bool',
};
const ELEMENT_BYTES: Record<TorchDtype, number> = { float32: 4, float64: 8, float16: 2, bfloat16: 2, int64: 8, int32: 4, uint8: 1, bool: 1 };
const HOST_DTYPE: Record<TorchDtype, SafetensorsDtype> = { float32: 'F32', float64: 'F64', float16: 'F16', bfloat16: 'BF16', int64: 'I64', int32: 'I32', uint8: 'U8', bool: 'U8' };
const TORCH_DTYPE_VALUES = new Set(['float32', 'float', 'float64', 'double', 'float16', 'half', 'bfloat16', 'int64', 'long', 'int32', 'int', 'uint8', 'bool', 'int8', 'int16']);

/** One storage of the file: `data/<key>`, its element type and (after loading) its bytes. */
export class TorchStorage {
  /** The bytes of `data/<key>` (a view into the file's buffer), set when the file is read. */
  bytes: Uint8Array = new Uint8Array(0);
  /** The largest element count any tensor needs, and that tensor's description, for the length check. */
  neededElements = 0;
  neededBy = '';
  constructor(
    readonly key: string,
    readonly dtype: TorchDtype,
    readonly location: string,
    readonly numel: number,
  ) {}
}

/** A tensor as torch.save describes it: a strided view of a storage. Read its values with `tensorBytes` / `toHostTensor`. */
export class TorchTensor {
  constructor(
    readonly storage: TorchStorage,
    readonly storageOffset: number,
    readonly shape: readonly number[],
    readonly stride: readonly number[],
    readonly requiresGrad: boolean,
  ) {}
  get dtype(): TorchDtype {
    return this.storage.dtype;
  }
  get numel(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }
}

/** What a checkpoint holds once read: a tree of Maps, arrays, PyObjects, TorchTensors and plain values. */
export interface TorchCheckpoint {
  readonly label: string;
  readonly root: unknown;
  /** Every storage of the file by key. */
  readonly storages: ReadonlyMap<string, TorchStorage>;
}

function isSizeList(v: unknown): v is readonly number[] {
  return Array.isArray(v) && v.every((d) => typeof d === 'number' && Number.isSafeInteger(d) && d >= 0);
}

function torchAllowList(label: string, storages: Map<string, TorchStorage>): UnpickleHooks {
  const bad = (what: string) => epgError('format', `${label}: ${what}`, 'the file is corrupt or was not written by torch.save');
  const rebuildTensor = (args: readonly unknown[]): TorchTensor => {
    const [storage, offset, size, stride] = args;
    if (!(storage instanceof TorchStorage)) throw bad(`a tensor is rebuilt from a ${pyTypeName(storage)}, not a storage`);
    if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0) throw bad(`a tensor has storage offset ${String(offset)}`);
    if (!isSizeList(size) || !isSizeList(stride) || size.length !== stride.length) {
      throw bad(`a tensor has size ${JSON.stringify(size)} and stride ${JSON.stringify(stride)}`);
    }
    const t = new TorchTensor(storage, offset, [...size], [...stride], args[4] === true);
    if (t.numel > 0) {
      const last = offset + size.reduce((acc, d, i) => acc + (d - 1) * stride[i], 0);
      if (last >= storage.numel) {
        throw bad(`a ${t.dtype} tensor of shape [${size}] reaches element ${last} of storage '${storage.key}', which declares ${storage.numel}`);
      }
      if (last + 1 > storage.neededElements) {
        storage.neededElements = last + 1;
        storage.neededBy = `a ${t.dtype} tensor of shape [${size}] at offset ${offset}`;
      }
    }
    return t;
  };
  const tensorArg = (args: readonly unknown[], what: string) => {
    if (!(args[0] instanceof TorchTensor)) throw bad(`${what} of a ${pyTypeName(args[0])}`);
    return args[0];
  };
  const globals: Record<string, AllowedGlobal> = {
    'torch._utils._rebuild_tensor_v2': { call: rebuildTensor },
    'torch._utils._rebuild_tensor': { call: rebuildTensor },
    'torch._utils._rebuild_parameter': { call: (a) => tensorArg(a, 'a Parameter') },
    'torch._utils._rebuild_parameter_with_state': { call: (a) => tensorArg(a, 'a Parameter') },
    'collections.OrderedDict': {
      call: (a) => {
        const m = new Map<unknown, unknown>();
        if (a.length > 0) {
          if (!Array.isArray(a[0])) throw bad(`OrderedDict of a ${pyTypeName(a[0])}`);
          for (const pair of a[0]) {
            if (!Array.isArray(pair) || pair.length !== 2) throw bad('OrderedDict item that is not a pair');
            m.set(pair[0], pair[1]);
          }
        }
        return m;
      },
    },
    'argparse.Namespace': { construct: () => new PyObject('argparse.Namespace') },
    'builtins.set': { call: (a) => (Array.isArray(a[0]) ? [...a[0]] : []) },
    'builtins.frozenset': { call: (a) => Object.freeze(Array.isArray(a[0]) ? [...a[0]] : []) },
    '_codecs.encode': {
      call: (a) => {
        if (typeof a[0] !== 'string' || a[1] !== 'latin1') throw bad('_codecs.encode other than latin1 bytes');
        return Uint8Array.from(a[0], (c) => c.charCodeAt(0));
      },
    },
    'torch.device': { call: (a) => a.filter((x) => x !== null && x !== undefined).join(':') },
  };
  return {
    global(module, name) {
      const q = `${module}.${name}`;
      if (globals[q]) return globals[q];
      if (module === 'torch' && STORAGE_DTYPES[name]) return { value: name };
      if (module === 'torch' && TORCH_DTYPE_VALUES.has(name)) return { value: `torch.${name}` };
      if (module === 'torch' && name.endsWith('Storage')) {
        throw epgError('format', `${label}: storage type torch.${name} is not supported`, `supported element types: ${Object.values(STORAGE_DTYPES).join(', ')}; convert the tensor with .float() before saving`);
      }
      return undefined;
    },
    persistentLoad(pid) {
      // zip format: ('storage', type, key, location, numel); legacy format: the same + view_metadata (None)
      if (!Array.isArray(pid) || pid[0] !== 'storage' || !(pid.length === 5 || (pid.length === 6 && pid[5] === null))) {
        throw bad(`persistent id ${pyTypeName(pid)}${Array.isArray(pid) ? ` ('${String(pid[0])}', ${pid.length} items)` : ''} is not a storage reference`);
      }
      const [, type, key, location, numel] = pid;
      const typeName = type instanceof PyGlobal ? (type.allowed.value as string) : undefined;
      if (!typeName || !STORAGE_DTYPES[typeName]) throw bad(`storage of type ${pyTypeName(type)}`);
      if (typeof key !== 'string' || !/^[0-9A-Za-z_]+$/.test(key)) throw bad(`storage key ${JSON.stringify(key)}`);
      if (typeof numel !== 'number' || !Number.isSafeInteger(numel) || numel < 0) throw bad(`storage '${key}' has ${String(numel)} elements`);
      const dtype = STORAGE_DTYPES[typeName];
      const seen = storages.get(key);
      if (seen) {
        if (seen.dtype !== dtype) throw bad(`storage '${key}' is used as ${seen.dtype} and as ${dtype}`);
        return seen;
      }
      const s = new TorchStorage(key, dtype, String(location), numel);
      storages.set(key, s);
      return s;
    },
    build(target, state) {
      if (target instanceof PyObject) {
        if (!(state instanceof Map)) return false;
        for (const [k, v] of state) if (typeof k === 'string') target.attributes.set(k, v);
        return true;
      }
      // OrderedDict's instance attributes (a state_dict's `_metadata`: versions per module) are not kept.
      if (target instanceof Map) return state === null || state instanceof Map;
      // a Parameter's Python attributes (_rebuild_parameter_with_state) arrive through the call, not here
      return false;
    },
  };
}

/** Parses the bytes of a `torch.save` file. Never throws: a problem is a Left EpgError. */
export function decodeTorchCheckpoint(buf: Buffer, label = 'PyTorch checkpoint'): E.Either<EpgError, TorchCheckpoint> {
  return E.tryCatch(() => {
    if (buf.length >= 2 && buf[0] === 0x80 && buf[1] <= 5) return decodeLegacy(buf, label);
    if (buf.length >= 262 && buf.toString('latin1', 257, 262) === 'ustar') {
      throw epgError('format', `${label} is a tar archive (torch.save's format before PyTorch 1.0), which is not read`, 're-save it with a current PyTorch: torch.save(torch.load(path), path)');
    }
    const entries = zipEntries(buf, label);
    const pkl = [...entries.keys()].filter((n) => n === 'data.pkl' || /^[^/]+\/data\.pkl$/.test(n));
    if (pkl.length !== 1) {
      throw epgError('format', `${label} is a zip archive but holds ${pkl.length} '<name>/data.pkl' entries`, 'it is not a torch.save file (is it a .npz?)');
    }
    const prefix = pkl[0].slice(0, -'data.pkl'.length);
    const storages = new Map<string, TorchStorage>();
    const root = unpickle(readZipEntry(buf, entries.get(pkl[0])!, label), torchAllowList(label, storages), label);
    for (const s of storages.values()) {
      const entry = entries.get(`${prefix}data/${s.key}`);
      if (!entry) throw epgError('format', `${label}: storage '${s.key}' (zip entry ${prefix}data/${s.key}) is missing`, 'the file is incomplete; re-download or re-save it');
      const b = readZipEntry(buf, entry, label);
      s.bytes = new Uint8Array(b.buffer, b.byteOffset, b.length); // a plain view: its slice() copies, a Buffer's would not
      const needed = s.neededElements * ELEMENT_BYTES[s.dtype];
      if (s.bytes.length < needed) {
        throw epgError('format', `${label}: storage '${s.key}' holds ${s.bytes.length} bytes but ${s.neededBy} needs ${needed}`, 'the file is corrupt; re-download or re-save it');
      }
    }
    return { label, root, storages };
  }, toEpgError);
}

const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;
const LEGACY_PROTOCOL = 1001;

/**
 * torch.save's format before PyTorch 1.6 (and with `_use_new_zipfile_serialization=False`), in which
 * files such as pytorch-fid's Inception weights were written: pickles one after another (magic
 * number, protocol version 1001, system info, the object, the sorted storage keys), then each
 * storage as an int64 element count and its raw little-endian bytes.
 */
function decodeLegacy(buf: Buffer, label: string): TorchCheckpoint {
  const data = new Uint8Array(buf.buffer, buf.byteOffset, buf.length);
  const plain: UnpickleHooks = { global: () => undefined, persistentLoad: () => undefined };
  const legacy = (what: string) => epgError('format', `${label}: not a torch.save file in the legacy format (${what})`, 'the file is corrupt or was not written by torch.save');
  const magic = unpickleAt(data, 0, plain, label);
  if (magic.value !== LEGACY_MAGIC) throw legacy('wrong magic number');
  const proto = unpickleAt(data, magic.end, plain, label);
  if (proto.value !== LEGACY_PROTOCOL) throw legacy(`protocol version ${String(proto.value)}, expected ${LEGACY_PROTOCOL}`);
  const sys = unpickleAt(data, proto.end, plain, label);
  if (!(sys.value instanceof Map) || sys.value.get('little_endian') !== true) throw legacy('written on a big-endian machine or without system info');
  const storages = new Map<string, TorchStorage>();
  const main = unpickleAt(data, sys.end, torchAllowList(label, storages), label);
  const keys = unpickleAt(data, main.end, plain, label);
  if (!Array.isArray(keys.value) || !keys.value.every((k) => typeof k === 'string')) throw legacy('the storage key list is not a list of strings');
  let pos = keys.end;
  for (const key of keys.value as string[]) {
    const s = storages.get(key);
    if (!s) throw legacy(`storage '${key}' is listed but no tensor uses it`);
    if (pos + 8 > buf.length) throw epgError('format', `${label}: storage '${key}' starts past the end of the file (${buf.length} bytes)`, 'the file is truncated; re-download or re-save it');
    const numel = Number(buf.readBigInt64LE(pos));
    const n = numel * ELEMENT_BYTES[s.dtype];
    if (numel !== s.numel || pos + 8 + n > buf.length) {
      throw epgError('format', `${label}: storage '${key}' holds ${Math.max(0, Math.min(n, buf.length - pos - 8))} bytes of ${s.numel} ${s.dtype} elements declared, ${s.neededBy || 'its tensors'} needs ${s.neededElements * ELEMENT_BYTES[s.dtype]}`, 'the file is truncated or corrupt; re-download or re-save it');
    }
    s.bytes = data.subarray(pos + 8, pos + 8 + n);
    pos += 8 + n;
  }
  for (const s of storages.values()) if (s.bytes.length === 0 && s.numel > 0) throw legacy(`storage '${s.key}' is used but not stored`);
  return { label, root: main.value, storages };
}

/** Reads and parses a `torch.save` file (.pth / .pt / .bin). Never throws. */
export function readTorchCheckpoint(path: string): E.Either<EpgError, TorchCheckpoint> {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (e) {
    return E.left(epgError('io', `cannot read PyTorch checkpoint ${path} (${(e as NodeJS.ErrnoException).code ?? String(e)})`, 'check the path'));
  }
  return decodeTorchCheckpoint(buf, path);
}

function isContiguous(t: TorchTensor): boolean {
  let expected = 1;
  for (let i = t.shape.length - 1; i >= 0; i--) {
    if (t.shape[i] !== 1 && t.stride[i] !== expected) return false;
    expected *= t.shape[i];
  }
  return true;
}

type ElementArray = Uint8Array | Uint16Array | Uint32Array | BigUint64Array;

/** The storage's bytes as unsigned words of the element size (copied once when the bytes are not aligned to it). */
function elementView(bytes: Uint8Array, size: number): ElementArray {
  const aligned = bytes.byteOffset % size === 0 ? bytes : bytes.slice();
  const n = Math.floor(aligned.length / size);
  if (size === 1) return aligned;
  if (size === 2) return new Uint16Array(aligned.buffer, aligned.byteOffset, n);
  if (size === 4) return new Uint32Array(aligned.buffer, aligned.byteOffset, n);
  return new BigUint64Array(aligned.buffer, aligned.byteOffset, n);
}

/** The tensor's elements in row-major order, as little-endian bytes of its own dtype (a fresh, aligned copy). */
export function tensorBytes(t: TorchTensor): Uint8Array {
  const size = ELEMENT_BYTES[t.dtype];
  const n = t.numel;
  const src = t.storage.bytes;
  if (n === 0) return new Uint8Array(0);
  if (isContiguous(t)) return src.slice(t.storageOffset * size, (t.storageOffset + n) * size);
  // bit patterns are copied as unsigned words: no float conversion touches a NaN payload
  const from = elementView(src, size);
  const out = new Uint8Array(n * size);
  const to = elementView(out, size);
  const rank = t.shape.length;
  const inner = t.shape[rank - 1];
  const innerStride = t.stride[rank - 1];
  const index = new Array<number>(rank).fill(0);
  let at = t.storageOffset;
  for (let k = 0; k < n; k += inner) {
    for (let j = 0, p = at; j < inner; j++, p += innerStride) to[k + j] = from[p];
    for (let d = rank - 2; d >= 0; d--) {
      index[d]++;
      at += t.stride[d];
      if (index[d] < t.shape[d]) break;
      at -= t.stride[d] * t.shape[d];
      index[d] = 0;
    }
  }
  return out;
}

/**
 * The tensor as the host arrays the rest of epg-ts uses (the same as `decodeSafetensors` gives):
 * float32 → Float32Array, float64 → Float64Array, float16 / bfloat16 widened exactly to
 * Float32Array, int64 → Float64Array (an EpgError 'numeric' past ±2^53), int32 → Int32Array,
 * uint8 / bool → Uint8Array. `name` is for messages.
 */
export function toHostTensor(t: TorchTensor, name: string): NamedHostTensor {
  const b = tensorBytes(t);
  const dtype = HOST_DTYPE[t.dtype];
  const shape = [...t.shape];
  switch (t.dtype) {
    case 'float32':
      return { dtype, shape, data: new Float32Array(b.buffer, b.byteOffset, b.length / 4) };
    case 'float64':
      return { dtype, shape, data: new Float64Array(b.buffer, b.byteOffset, b.length / 8) };
    case 'int32':
      return { dtype, shape, data: new Int32Array(b.buffer, b.byteOffset, b.length / 4) };
    case 'uint8':
    case 'bool':
      return { dtype, shape, data: b };
    case 'float16':
    case 'bfloat16': {
      const h = new Uint16Array(b.buffer, b.byteOffset, b.length / 2);
      const out = new Float32Array(h.length);
      if (t.dtype === 'float16') for (let i = 0; i < h.length; i++) out[i] = halfToFloat(h[i]);
      else {
        const bits = new Uint32Array(out.buffer);
        for (let i = 0; i < h.length; i++) bits[i] = h[i] << 16;
      }
      return { dtype, shape, data: out };
    }
    case 'int64': {
      const v = new BigInt64Array(b.buffer, b.byteOffset, b.length / 8);
      const out = new Float64Array(v.length);
      const limit = BigInt(Number.MAX_SAFE_INTEGER) + 1n;
      for (let i = 0; i < v.length; i++) {
        if (v[i] > limit || v[i] < -limit) {
          throw epgError('numeric', `tensor '${name}' holds the int64 ${v[i]}, beyond ±2^53 where a float64 is no longer exact`, 'read its raw bytes with tensorBytes instead');
        }
        out[i] = Number(v[i]);
      }
      return { dtype, shape, data: out };
    }
  }
}

/** Splits 'model.ema' or ['optimizer', 'state', 0] into keys. */
function pathKeys(path: string | readonly (string | number)[]): (string | number)[] {
  if (typeof path !== 'string') return [...path];
  return path === '' ? [] : path.split('.');
}

function child(v: unknown, key: string | number): unknown {
  if (v instanceof Map) {
    if (v.has(key)) return v.get(key);
    // dict keys that are ints (optimizer state) given as text
    if (typeof key === 'string' && /^-?\d+$/.test(key) && v.has(Number(key))) return v.get(Number(key));
    return undefined;
  }
  if (v instanceof PyObject) return typeof key === 'string' ? v.attributes.get(key) : undefined;
  if (Array.isArray(v)) {
    const i = Number(key);
    return Number.isInteger(i) && i >= 0 && i < v.length ? v[i] : undefined;
  }
  return undefined;
}

function childKeys(v: unknown): (string | number)[] {
  if (v instanceof Map) return [...v.keys()].map((k) => (typeof k === 'number' || typeof k === 'string' ? k : String(k)));
  if (v instanceof PyObject) return [...v.attributes.keys()];
  if (Array.isArray(v)) return v.map((_, i) => i);
  return [];
}

/**
 * The value at a dotted path ('ema', 'optimizer.state.0', 'args.lr'); an EpgError 'config' naming
 * the keys that exist where the path fails.
 */
export function selectPath(ck: TorchCheckpoint, path: string | readonly (string | number)[]): E.Either<EpgError, unknown> {
  let v = ck.root;
  const keys = pathKeys(path);
  for (let i = 0; i < keys.length; i++) {
    const next = child(v, keys[i]);
    if (next === undefined) {
      const here = keys.slice(0, i).join('.') || '(top)';
      const have = childKeys(v).slice(0, 12).map(String);
      return E.left(
        epgError('config', `${ck.label}: no '${keys[i]}' under ${here} (a ${pyTypeName(v)})`, have.length ? `keys there: ${have.join(', ')}${childKeys(v).length > 12 ? ', …' : ''}` : 'it has no keys'),
      );
    }
    v = next;
  }
  return E.right(v);
}

/** A dict whose values are all tensors, i.e. a state_dict. */
export function isStateDict(v: unknown): v is Map<string, TorchTensor> {
  if (!(v instanceof Map) || v.size === 0) return false;
  for (const [k, x] of v) if (typeof k !== 'string' || !(x instanceof TorchTensor)) return false;
  return true;
}

export interface CheckpointEntry {
  /** Dotted path, usable with `selectPath` / `{ select }`. */
  readonly path: string;
  /** 'state_dict (152 tensors)', 'dict (3 keys)', 'tensor float32 [2, 3]', 'number 41', 'argparse.Namespace (7 attributes)', ... */
  readonly what: string;
}

function describe(v: unknown): string {
  if (v instanceof TorchTensor) return `tensor ${v.dtype} [${v.shape.join(', ')}]`;
  if (isStateDict(v)) return `state_dict (${v.size} tensors)`;
  if (v instanceof Map) return `dict (${v.size} keys)`;
  if (v instanceof PyObject) return `${v.className} (${v.attributes.size} attributes)`;
  if (Array.isArray(v)) return `${pyTypeName(v)} (${v.length} items)`;
  if (typeof v === 'string') return `str ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
  if (v === null || v === undefined) return 'None';
  if (typeof v === 'object') return pyTypeName(v);
  return `${pyTypeName(v)} ${String(v)}`;
}

/**
 * The checkpoint's layout down to `depth` levels (default 2), state_dicts and tensors not opened:
 * what a user looks at to choose `select` (e.g. `model`, `ema`, `state_dict`).
 */
export function listCheckpoint(ck: TorchCheckpoint, depth = 2): CheckpointEntry[] {
  const out: CheckpointEntry[] = [{ path: '', what: describe(ck.root) }];
  const seen = new Set<unknown>();
  const walk = (v: unknown, prefix: string, level: number) => {
    if (level >= depth || isStateDict(v) || seen.has(v)) return;
    if (typeof v === 'object' && v !== null) seen.add(v);
    for (const k of childKeys(v)) {
      const c = child(v, k);
      const p = prefix ? `${prefix}.${k}` : String(k);
      out.push({ path: p, what: describe(c) });
      walk(c, p, level + 1);
    }
  };
  walk(ck.root, '', 0);
  return out;
}

export interface StateDictOptions {
  /** Dotted path of the state_dict inside a nested checkpoint ('model', 'ema', 'state_dict'). */
  readonly select?: string;
}

/**
 * The state_dict of a checkpoint as host tensors by name. Without `select`, the top-level object
 * when it is a state_dict, else the only state_dict among its top-level keys; when there are
 * several (model, ema, ...) the EpgError lists them and asks for `select`.
 */
export function torchStateDict(ck: TorchCheckpoint, opts: StateDictOptions = {}): E.Either<EpgError, Map<string, NamedHostTensor>> {
  return E.tryCatch(() => {
    let v: unknown;
    let where = opts.select ?? '';
    if (opts.select !== undefined) {
      const r = selectPath(ck, opts.select);
      if (E.isLeft(r)) throw r.left;
      v = r.right;
    } else if (isStateDict(ck.root)) {
      v = ck.root;
    } else {
      const candidates = childKeys(ck.root).filter((k) => isStateDict(child(ck.root, k)));
      if (candidates.length !== 1) {
        const list = listCheckpoint(ck, 2).filter((e) => e.what.startsWith('state_dict'));
        throw epgError(
          'config',
          `${ck.label} holds ${list.length === 0 ? 'no' : 'several'} state_dicts below its top level (a ${pyTypeName(ck.root)})`,
          list.length ? `choose one with select: ${list.map((e) => `'${e.path}' ${e.what.replace('state_dict ', '')}`).join(', ')}` : 'it holds no dict of tensors; list it with listCheckpoint',
        );
      }
      where = String(candidates[0]);
      v = child(ck.root, candidates[0]);
    }
    if (!isStateDict(v)) {
      const bad = v instanceof Map ? [...v].find(([k, x]) => typeof k !== 'string' || !(x instanceof TorchTensor)) : undefined;
      throw epgError(
        'config',
        `${ck.label}: '${where || '(top)'}' is a ${pyTypeName(v)}, not a state_dict${bad ? ` (key '${String(bad[0])}' holds a ${pyTypeName(bad[1])})` : ''}`,
        'choose a dict of tensors with select; listCheckpoint shows the layout',
      );
    }
    const out = new Map<string, NamedHostTensor>();
    for (const [k, t] of v) out.set(k, toHostTensor(t, k));
    return out;
  }, toEpgError);
}
