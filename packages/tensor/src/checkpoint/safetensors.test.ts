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
