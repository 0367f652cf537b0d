import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeSafetensors, encodeSafetensors } from './safetensors';
import expected from '../__fixtures__/tiny.expected.json';

describe('safetensors', () => {
  it('decodes a file laid out by hand from the spec (scripts/make_fixtures.py)', () => {
    const buf = readFileSync(join(__dirname, '..', '__fixtures__', 'tiny.safetensors'));
    const { tensors, metadata } = decodeSafetensors(buf);
    expect(metadata).toEqual({ format: 'pt' });
    const alpha = tensors.get('alpha')!;
    expect(alpha.dtype).toBe('F32');
    expect(alpha.shape).toEqual([2, 3]);
    expect(Array.from(alpha.data)).toEqual(expected.alpha.map((v) => Math.fround(v)));
    expect(Array.from(tensors.get('beta')!.data)).toEqual(expected.beta);
    expect(Array.from(tensors.get('count')!.data).map(String)).toEqual(expected.count);
    const half = tensors.get('half')!;
    expect(half.dtype).toBe('F16');
    expect(Array.from(half.data).map((v) => (v === Infinity ? 'inf' : v))).toEqual(expected.half);
    expect(Array.from(tensors.get('brain')!.data)).toEqual(expected.brain);
  });

  it('decodes the same file from an ArrayBuffer, a plain Uint8Array and a Buffer at an odd offset (what a browser fetch gives)', () => {
    const buf = readFileSync(join(__dirname, '..', '__fixtures__', 'tiny.safetensors'));
    const ref = decodeSafetensors(buf).tensors;
    const arrayBuffer = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
    const shifted = Buffer.alloc(buf.length + 3);
    buf.copy(shifted, 3);
    for (const input of [arrayBuffer, new Uint8Array(arrayBuffer), shifted.subarray(3)]) {
      const got = decodeSafetensors(input).tensors;
      expect([...got.keys()]).toEqual([...ref.keys()]);
      for (const [k, t] of ref) {
        expect(got.get(k)!.dtype).toBe(t.dtype);
        expect(Array.from(got.get(k)!.data)).toEqual(Array.from(t.data));
        // Each tensor owns exactly its bytes (a copy), never the whole input.
        expect(got.get(k)!.data.buffer.byteLength).toBe(t.data.byteLength);
      }
    }
  });

  it('encodes the documented layout: u64 LE header size, JSON header, 8-byte aligned data', () => {
    const buf = encodeSafetensors({ a: { shape: [2], data: new Float32Array([1.5, -2]) }, b: { shape: [1], data: new Float64Array([3]) } });
    const n = Number(buf.readBigUInt64LE(0));
    expect((8 + n) % 8).toBe(0);
    const header = JSON.parse(buf.subarray(8, 8 + n).toString());
    expect(header.a).toEqual({ dtype: 'F32', shape: [2], data_offsets: [0, 8] });
    expect(header.b).toEqual({ dtype: 'F64', shape: [1], data_offsets: [8, 16] });
    expect(buf.readFloatLE(8 + n)).toBe(1.5);
    expect(buf.readDoubleLE(8 + n + 8)).toBe(3);
    const back = decodeSafetensors(buf);
    expect(Array.from(back.tensors.get('a')!.data)).toEqual([1.5, -2]);
  });

  it('rejects a size/shape mismatch and overlapping tensors', () => {
    expect(() => encodeSafetensors({ a: { shape: [3], data: new Float32Array(2) } })).toThrow(/'a' has shape \[3\] but 2 values/);
    const h = Buffer.from(JSON.stringify({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }));
    const buf = Buffer.concat([Buffer.alloc(8), h, Buffer.alloc(8)]);
    buf.writeBigUInt64LE(BigInt(h.length), 0);
    expect(() => decodeSafetensors(buf, 'x.safetensors')).toThrow(/x\.safetensors is corrupt: tensors 'a' and 'b' overlap/);
  });
});

describe('safetensors reader is strict (huggingface/safetensors rules)', () => {
  /** A file from a raw header text and a data section. */
  function file(headerText: string | Buffer, data: Buffer): Buffer {
    const h = typeof headerText === 'string' ? Buffer.from(headerText, 'utf8') : headerText;
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(h.length));
    return Buffer.concat([len, h, data]);
  }
  const a8 = '"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}';

  it('accepts the well-formed file these cases are built from', () => {
    expect(decodeSafetensors(file(`{${a8}}`, Buffer.alloc(8)), 'x.safetensors').tensors.size).toBe(1);
  });

  it.each([
    ['trailing bytes', file(`{${a8}}`, Buffer.alloc(12)), /x\.safetensors is corrupt: 4 trailing bytes after the last tensor/],
    ['a gap between tensors', file(`{${a8}, "b": {"dtype": "F32", "shape": [1], "data_offsets": [12, 16]}}`, Buffer.alloc(16)), /4 unused bytes before tensor 'b'/],
    ['a gap before the first tensor', file('{"a": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}', Buffer.alloc(8)), /4 unused bytes before tensor 'a'/],
    ['a duplicate name', file(`{${a8}, ${a8.replace('[0, 8]', '[8, 16]')}}`, Buffer.alloc(16)), /its header names 'a' twice/],
    ['a non-object __metadata__', file(`{"__metadata__": [1, 2], ${a8}}`, Buffer.alloc(8)), /__metadata__ must be an object of strings/],
    ['a metadata value that is not a string', file(`{"__metadata__": {"n": 3}, ${a8}}`, Buffer.alloc(8)), /__metadata__ must be an object of strings/],
    ['a non-UTF-8 name', file(Buffer.concat([Buffer.from('{"\xff'.slice(0, 2), 'latin1'), Buffer.from([0xff]), Buffer.from(`": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}`)]), Buffer.alloc(8)), /header is not valid UTF-8/],
    ['a null tensor entry', file('{"a": null}', Buffer.alloc(0)), /tensor 'a' has no \{dtype, shape, data_offsets\} entry/],
    ['a dtype from Object.prototype', file('{"a": {"dtype": "toString", "shape": [0], "data_offsets": [0, 0]}}', Buffer.alloc(0)), /unsupported dtype toString/],
  ])('rejects %s with a one-line message naming the file', (_what, buf, message) => {
    expect(() => decodeSafetensors(buf, 'x.safetensors')).toThrow(message);
  });

  it('still finds duplicates with escaped quotes and nested objects around', () => {
    const h = `{"__metadata__": {"k\\"ey": "v"}, "q\\"x": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1]}, "q\\"x": {"dtype": "U8", "shape": [1], "data_offsets": [1, 2]}}`;
    expect(() => decodeSafetensors(file(h, Buffer.alloc(2)), 'x')).toThrow(/names 'q"x' twice/);
    const ok = `{"__metadata__": {"a": "b"}, "q\\"x": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1]}, "a": {"dtype": "U8", "shape": [1], "data_offsets": [1, 2]}}`;
    expect(decodeSafetensors(file(ok, Buffer.alloc(2)), 'x').tensors.size).toBe(2);
  });
});
