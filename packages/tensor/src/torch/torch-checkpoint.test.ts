import { existsSync, readFileSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import { join } from 'node:path';
import * as E from 'fp-ts/Either';
import { isEpgError, orThrow, type EpgError } from '../errors';
import {
  decodeTorchCheckpoint,
  listCheckpoint,
  readTorchCheckpoint,
  selectPath,
  tensorBytes,
  toHostTensor,
  torchStateDict,
  PyObject,
  TorchStorage,
  TorchTensor,
  type TorchCheckpoint,
} from './torch-checkpoint';
import { readStateDict } from './state-dict-file';

// Every .pth here was written by torch.save itself: scripts/make_torch_fixtures.py (torch 1.13).
const FIX = join(__dirname, '..', '__fixtures__', 'torch');
interface Expected {
  dtype: string;
  shape: number[];
  hex: string;
  float32_hex?: string;
  values?: string[];
}
const expected = JSON.parse(readFileSync(join(FIX, 'expected.json'), 'utf8')) as {
  dtypes: Record<string, Expected>;
  nested: Record<string, Expected>;
  strides: Record<string, number[]>;
  storage_offsets: Record<string, number>;
  nested_values: {
    epoch: number;
    args: Record<string, unknown>;
    scaler: Record<string, number>;
    param_groups: Array<Record<string, unknown>>;
    optimizer_state_keys: number[];
  };
};

const read = (name: string): TorchCheckpoint => orThrow(readTorchCheckpoint(join(FIX, name)));
const hex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
const leftOf = <A>(r: E.Either<EpgError, A>): EpgError => {
  if (E.isRight(r)) throw new Error('expected a Left');
  expect(isEpgError(r.left)).toBe(true);
  expect(r.left.message).not.toContain('\n');
  return r.left;
};

/** Every tensor leaf under `v`, by dotted path (the naming of the fixture script's tensor_entries). */
function tensorLeaves(v: unknown, prefix = '', out = new Map<string, TorchTensor>()): Map<string, TorchTensor> {
  if (v instanceof TorchTensor) out.set(prefix, v);
  else if (v instanceof Map) for (const [k, x] of v) tensorLeaves(x, prefix ? `${prefix}.${String(k)}` : String(k), out);
  else if (Array.isArray(v)) v.forEach((x, i) => tensorLeaves(x, `${prefix}.${i}`, out));
  return out;
}

describe('torch.save state_dict of every supported dtype (dtypes.pth)', () => {
  const ck = read('dtypes.pth');
  const leaves = tensorLeaves(ck.root);

  it('holds the same names, in state_dict order, with the dtypes, shapes, strides and offsets torch reports', () => {
    // insertion order is the state_dict's (dtypes_state_dict() of the script starts f32, f64, f16, bf16)
    expect([...leaves.keys()].slice(0, 4)).toEqual(['f32', 'f64', 'f16', 'bf16']);
    expect(new Set(leaves.keys())).toEqual(new Set(Object.keys(expected.dtypes)));
    for (const [name, t] of leaves) {
      expect([name, t.dtype, t.shape]).toEqual([name, expected.dtypes[name].dtype, expected.dtypes[name].shape]);
      expect([name, t.stride, t.storageOffset]).toEqual([name, expected.strides[name], expected.storage_offsets[name]]);
    }
  });

  it('reads every tensor back bit for bit (contiguous bytes equal torch’s own), strided and shared ones included', () => {
    for (const [name, t] of leaves) expect([name, hex(tensorBytes(t))]).toEqual([name, expected.dtypes[name].hex]);
    // non-contiguous views really are views: transposed and sliced share the storage of `base`
    expect(leaves.get('transposed')!.storage).toBe(leaves.get('sliced')!.storage);
    expect(leaves.get('shared_a')!.storage).toBe(leaves.get('shared_b')!.storage);
    expect(leaves.get('expanded')!.stride).toEqual([1, 0]);
  });

  it('widens to host arrays exactly as torch’s .to(float32) does; integers keep their values', () => {
    const sd = orThrow(torchStateDict(ck));
    for (const [name, e] of Object.entries(expected.dtypes)) {
      const h = sd.get(name)!;
      expect(h.shape).toEqual(e.shape);
      if (e.float32_hex && e.dtype !== 'float64') {
        expect(h.data).toBeInstanceOf(Float32Array);
        expect([name, hex(new Uint8Array(h.data.buffer, h.data.byteOffset, h.data.byteLength))]).toEqual([name, e.float32_hex]);
      } else if (e.values) {
        expect([name, Array.from(h.data, (x) => String(x === 0 ? 0 : x))]).toEqual([name, e.values.map((s) => (s === 'True' ? '1' : s === 'False' ? '0' : s))]);
      }
    }
    expect(sd.get('f64')!.data).toBeInstanceOf(Float64Array);
    expect(sd.get('i64')!.data).toBeInstanceOf(Float64Array);
    expect(sd.get('i32')!.data).toBeInstanceOf(Int32Array);
    expect(sd.get('f16')!.dtype).toBe('F16');
    expect(sd.get('bf16')!.dtype).toBe('BF16');
  });

  it('an int64 beyond ±2^53 is a numeric error, not a silently rounded float', () => {
    const s = new TorchStorage('0', 'int64', 'cpu', 1);
    s.bytes = new Uint8Array(new BigInt64Array([2n ** 53n + 1n]).buffer);
    expect(() => toHostTensor(new TorchTensor(s, 0, [1], [1], false), 'big')).toThrow(/tensor 'big' holds the int64 9007199254740993, beyond ±2\^53/);
    s.bytes = new Uint8Array(new BigInt64Array([-(2n ** 53n)]).buffer);
    expect(Array.from(toHostTensor(new TorchTensor(s, 0, [1], [1], false), 'ok').data)).toEqual([-(2 ** 53)]);
  });

  it('the pre-1.6 stream format (pytorch-fid’s weights are in it) reads to the same bytes', () => {
    const legacy = tensorLeaves(read('dtypes-legacy.pth').root);
    expect(new Set(legacy.keys())).toEqual(new Set(Object.keys(expected.dtypes)));
    for (const [name, t] of legacy) expect([name, t.shape, t.stride, hex(tensorBytes(t))]).toEqual([name, expected.dtypes[name].shape, expected.strides[name], expected.dtypes[name].hex]);
    expect(legacy.get('shared_a')!.storage).toBe(legacy.get('shared_b')!.storage);
  });

  it('readStateDict takes the file as it is', () => {
    const sd = orThrow(readStateDict(join(FIX, 'dtypes.pth')));
    expect(sd.get('transposed')!.shape).toEqual([6, 4]);
    // transposed = (arange(24).reshape(4, 6) + 0.5).t(): element [i][j] = 6·j + i + 0.5
    expect(Array.from(sd.get('transposed')!.data.subarray(0, 5))).toEqual([0.5, 6.5, 12.5, 18.5, 1.5]);
  });
});

describe.each(['nested.pth', 'nested-proto4.pth'])('a nested training checkpoint (%s)', (file) => {
  const ck = read(file);

  it('reads every tensor bit for bit, wherever it sits (model, ema, head, optimizer.state.N)', () => {
    const leaves = tensorLeaves(ck.root);
    expect(new Set(leaves.keys())).toEqual(new Set(Object.keys(expected.nested)));
    for (const [name, t] of leaves) expect([name, t.dtype, t.shape, hex(tensorBytes(t))]).toEqual([name, expected.nested[name].dtype, expected.nested[name].shape, expected.nested[name].hex]);
    // torch.save stored the storage ema and model share once
    expect(leaves.get('ema.blocks.0.attn.qkv.bias')!.storage).toBe(leaves.get('model.module.blocks.0.attn.qkv.bias')!.storage);
  });

  it('keeps the plain values: epoch, argparse args, scaler, optimizer param_groups', () => {
    const nv = expected.nested_values;
    expect(orThrow(selectPath(ck, 'epoch'))).toBe(nv.epoch);
    const args = orThrow(selectPath(ck, 'args'));
    expect(args).toBeInstanceOf(PyObject);
    const attrs = Object.fromEntries((args as PyObject).attributes);
    expect({ ...attrs, img_size: [...(attrs.img_size as number[])] }).toEqual(nv.args);
    expect(Object.fromEntries(orThrow(selectPath(ck, 'scaler')) as Map<string, number>)).toEqual(nv.scaler);
    const pg = (orThrow(selectPath(ck, 'optimizer.param_groups.0')) as Map<string, unknown>);
    expect(Object.fromEntries([...pg].map(([k, v]) => [k, Array.isArray(v) ? [...v] : v]))).toEqual(nv.param_groups[0]);
    expect([...(orThrow(selectPath(ck, 'optimizer.state')) as Map<number, unknown>).keys()]).toEqual(nv.optimizer_state_keys);
    expect(orThrow(selectPath(ck, 'optimizer.state.2.exp_avg'))).toBeInstanceOf(TorchTensor);
  });

  it('lists its layout and picks a state_dict by path; without a path the error lists the choices', () => {
    const list = listCheckpoint(ck);
    expect(list.find((e) => e.path === 'model')!.what).toBe('state_dict (4 tensors)');
    expect(list.find((e) => e.path === 'ema')!.what).toBe('state_dict (4 tensors)');
    expect(list.find((e) => e.path === 'args')!.what).toBe('argparse.Namespace (8 attributes)');
    expect(list.find((e) => e.path === 'epoch')!.what).toBe('number 41');
    expect(list.find((e) => e.path === 'optimizer.param_groups')!.what).toBe('list (1 items)');
    const err = leftOf(torchStateDict(ck));
    expect(err.kind).toBe('config');
    expect(err.message).toMatch(/several state_dicts.*choose one with select: 'model' \(4 tensors\), 'head' \(7 tensors\), 'ema' \(4 tensors\)/);
    const ema = orThrow(torchStateDict(ck, { select: 'ema' }));
    expect([...ema.keys()]).toEqual(['blocks.0.attn.qkv.weight', 'blocks.0.attn.qkv.bias', 'norm.weight', 'pos_embed']);
    expect(hex(new Uint8Array(ema.get('pos_embed')!.data.buffer))).toBe(expected.nested['ema.pos_embed'].hex);
    const head = orThrow(readStateDict(join(FIX, file), { select: 'head' }));
    expect(Array.from(head.get('1.num_batches_tracked')!.data)).toEqual([1]);
    expect(leftOf(torchStateDict(ck, { select: 'model.module' })).message).toMatch(/no 'module' under model.*keys there: module\.blocks/);
    expect(leftOf(torchStateDict(ck, { select: 'scaler' })).message).toMatch(/'scaler' is a dict, not a state_dict \(key 'scale' holds a number\)/);
    expect(leftOf(torchStateDict(ck, { select: 'nope' })).message).toMatch(/no 'nope' under \(top\).*keys there: model, head, ema/);
  });
});

describe('malformed and hostile files: each its own error, nothing run', () => {
  const bad = (name: string) => leftOf(readTorchCheckpoint(join(FIX, 'hostile', name)));

  it('a truncated zip', () => {
    const e = bad('truncated.pth');
    expect(e.kind).toBe('format');
    expect(e.message).toMatch(/truncated\.pth is not a readable zip archive \(no end-of-central-directory record\)/);
  });

  it('an unknown global (a class of the saving script)', () => {
    expect(bad('unknown-global.pth').message).toMatch(/refused global __main__\.NotAllowed \(pickle opcode GLOBAL at byte \d+\).*nothing from the file was run/);
  });

  it('a __reduce__ of os.system is refused at its GLOBAL, before any call', () => {
    const e = bad('os-system.pth');
    expect(e.message).toMatch(/refused global posix\.system/);
    expect(existsSync('/tmp/epg-pwned')).toBe(false);
  });

  it('a storage shorter than its tensor', () => {
    expect(bad('short-storage.pth').message).toMatch(/storage '0' holds 16 bytes but a float32 tensor of shape \[2,3\] at offset 0 needs 24/);
  });

  it('a legacy-format file cut short; a tar (PyTorch < 1.0) file', () => {
    expect(bad('legacy-truncated.pth').message).toMatch(/storage '\d+' holds \d+ bytes of \d+ \w+ elements declared, a \w+ tensor of shape \[[\d,]*\] at offset \d+ needs \d+/);
    const tar = Buffer.alloc(1024);
    tar.write('ustar', 257, 'latin1');
    expect(leftOf(decodeTorchCheckpoint(tar, 'old.tar')).message).toMatch(/old\.tar is a tar archive \(torch\.save's format before PyTorch 1\.0\), which is not read/);
  });

  it('a missing file is an io error; a safetensors file is not a torch checkpoint', () => {
    expect(leftOf(readTorchCheckpoint('/nonexistent/x.pth')).kind).toBe('io');
    expect(leftOf(readStateDict('/nonexistent/x.pth')).kind).toBe('io');
    expect(leftOf(decodeTorchCheckpoint(readFileSync(join(FIX, '..', 'tiny.safetensors')), 'tiny')).message).toMatch(/tiny is not a readable zip archive/);
  });

  it('a corrupted byte inside a stored entry fails its CRC', () => {
    const buf = Buffer.from(readFileSync(join(FIX, 'dtypes.pth')));
    const at = buf.indexOf(Buffer.from('collections'));
    buf[at] ^= 1;
    expect(leftOf(decodeTorchCheckpoint(buf, 'flipped')).message).toMatch(/flipped: zip entry 'dtypes\/data\.pkl' fails its CRC-32 check/);
  });
});

describe('refuses what torch.save never writes (hand-made pickles in a hand-made zip)', () => {
  // A stored-entry zip made here (layout of APPNOTE 4.3: local headers, central directory, end record).
  function withPickle(pkl: Buffer): Buffer {
    const name = Buffer.from('crafted/data.pkl');
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt32LE(crc32(pkl) >>> 0, 14);
    local.writeUInt32LE(pkl.length, 18);
    local.writeUInt32LE(pkl.length, 22);
    local.writeUInt16LE(name.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt32LE(crc32(pkl) >>> 0, 16);
    central.writeUInt32LE(pkl.length, 20);
    central.writeUInt32LE(pkl.length, 24);
    central.writeUInt16LE(name.length, 28);
    const end = Buffer.alloc(22);
    end.writeUInt32LE(0x06054b50, 0);
    end.writeUInt16LE(1, 8);
    end.writeUInt16LE(1, 10);
    end.writeUInt32LE(46 + name.length, 12);
    end.writeUInt32LE(30 + name.length + pkl.length, 16);
    return Buffer.concat([local, name, pkl, central, name, end]);
  }
  const p = (...parts: (string | number[])[]) => Buffer.concat(parts.map((x) => (typeof x === 'string' ? Buffer.from(x, 'latin1') : Buffer.from(x))));
  const err = (pkl: Buffer) => leftOf(decodeTorchCheckpoint(withPickle(pkl), 'crafted')).message;

  it('reads a hand-made pickle of plain values (LONG1 negatives, sets, tuples)', () => {
    // {'a': -2**40, 'c': {1, 2}, 'd': (1.5, None, True)} in protocol 2 (LONG1 two's complement, set via REDUCE)
    const simple = p(
      [0x80, 0x02, 0x7d, 0x28],
      'X', [1, 0, 0, 0], 'a', [0x8a, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff],
      'X', [1, 0, 0, 0], 'c', 'c__builtin__\nset\n',
      [0x5d, 0x28, 0x4b, 0x01, 0x4b, 0x02, 0x65, 0x85, 0x52],
      'X', [1, 0, 0, 0], 'd', [0x47], [0x3f, 0xf8, 0, 0, 0, 0, 0, 0], [0x4e, 0x88, 0x87],
      [0x75, 0x2e],
    );
    // __builtin__ (Python 2's name) is not on the list: refused by name
    expect(err(simple)).toMatch(/refused global __builtin__\.set/);
    const py3 = Buffer.from(simple.toString('latin1').replace('c__builtin__\nset\n', 'cbuiltins\nset\n'), 'latin1');
    const v = orThrow(decodeTorchCheckpoint(withPickle(py3), 'crafted')).root as Map<string, unknown>;
    expect(v.get('a')).toBe(-(2 ** 40));
    expect(v.get('c')).toEqual([1, 2]);
    expect(v.get('d')).toEqual([1.5, null, true]);
  });

  it('refuses INST / OBJ / EXT opcodes, REDUCE of a non-global, missing memo entries and truncation, by name and offset', () => {
    expect(err(p([0x80, 0x02], 'iposix\nsystem\n', [0x2e]))).toMatch(/opcode INST is outside the subset torch\.save writes \(pickle opcode INST at byte 2\)/);
    expect(err(p([0x80, 0x02, 0x82, 0x01, 0x2e]))).toMatch(/opcode EXT1 is outside the subset/);
    expect(err(p([0x80, 0x02, 0x4b, 0x01, 0x29, 0x52, 0x2e]))).toMatch(/REDUCE calls a number \(pickle opcode REDUCE at byte 5\)/);
    expect(err(p([0x80, 0x02, 0x68, 0x07, 0x2e]))).toMatch(/memo entry 7 was never stored/);
    expect(err(p([0x80, 0x02, 0x58, 0xff, 0xff, 0x00, 0x00]))).toMatch(/pickle data ends after \d+ bytes, inside an opcode/);
    // a global used as a function that the list allows only as data
    expect(err(p([0x80, 0x02], 'ctorch\nFloatStorage\n', [0x29, 0x52, 0x2e]))).toMatch(/torch\.FloatStorage may not be called/);
    // BUILD on a tensor (what a hostile __setstate__ would need) is refused
    expect(err(p([0x80, 0x02, 0x5d, 0x7d, 0x62, 0x2e]))).toMatch(/BUILD \(setting the state of\) a list is not allowed/);
    expect(err(p([0x80, 0x02], 'ctorch\nComplexFloatStorage\n', [0x2e]))).toMatch(/storage type torch\.ComplexFloatStorage is not supported/);
  });
});
