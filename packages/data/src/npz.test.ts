import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeNpy, parseNpy, readNpz, writeAdmNpz, writeNpz } from './npz';
import type { NpyArray } from './types';

const FIX = join(__dirname, '__fixtures__');

/** The arrays of scripts/make_fixtures.py `formula_arrays`, rebuilt here from the same formulas. */
function formulaArrays(): Record<string, NpyArray> {
  const a = new Uint8Array(2 * 5 * 7 * 3).map((_, i) => (i * 37) % 256);
  const b = new Float32Array(12).map((_, i) => i * 0.25 - 1);
  const c = new BigInt64Array([-(2n ** 40n), 0n, 2n ** 40n + 3n]);
  const d = new Float64Array([Math.PI, -Math.E]);
  const e = new Int32Array(6).map((_, i) => i - 3);
  const g = new Uint8Array(5000).map((_, i) => i % 7);
  return {
    a_u8: { dtype: 'uint8', shape: [2, 5, 7, 3], data: a },
    b_f4: { dtype: 'float32', shape: [3, 4], data: b },
    c_i8: { dtype: 'int64', shape: [3], data: c },
    d_f8: { dtype: 'float64', shape: [2], data: d },
    e_i4: { dtype: 'int32', shape: [2, 3], data: e },
    f_scalar: { dtype: 'float64', shape: [], data: new Float64Array([2.5]) },
    g_long: { dtype: 'uint8', shape: [5000], data: g },
  };
}

function expectSameArrays(actual: Map<string, NpyArray>, expected: Record<string, NpyArray>): void {
  expect([...actual.keys()].sort()).toEqual(Object.keys(expected).sort());
  for (const [k, v] of Object.entries(expected)) {
    const got = actual.get(k)!;
    expect({ k, dtype: got.dtype, shape: got.shape }).toEqual({ k, dtype: v.dtype, shape: v.shape });
    expect(got.data).toEqual(v.data);
  }
}

const hasNumpy = spawnSync('python3', ['-c', 'import numpy'], { stdio: 'ignore' }).status === 0;

describe('npz / npy', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'epg-npz-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads np.savez (stored entries, ZIP64 local headers) and np.savez_compressed (deflate)', () => {
    expectSameArrays(readNpz(join(FIX, 'npz_savez.npz')), formulaArrays());
    expectSameArrays(readNpz(join(FIX, 'npz_savez_compressed.npz')), formulaArrays());
    const positional = readNpz(join(FIX, 'npz_positional.npz'));
    expect([...positional.keys()]).toEqual(['arr_0', 'arr_1']);
  });

  it('encodes .npy byte-identical to np.save', () => {
    const arrays = formulaArrays();
    for (const k of ['a_u8', 'b_f4', 'c_i8', 'd_f8', 'e_i4']) {
      const ref = new Uint8Array(readFileSync(join(FIX, `npy_${k}.npy`)));
      expect(Buffer.from(encodeNpy(arrays[k])).equals(Buffer.from(ref))).toBe(true);
      expect(parseNpy(ref).data).toEqual(arrays[k].data);
    }
  });

  it.each([false, true])('round-trips through writeNpz/readNpz (forceZip64 %s) and leaves no temp file', (forceZip64) => {
    const path = join(dir, `rt-${forceZip64}.npz`);
    writeNpz(path, formulaArrays(), { forceZip64 });
    expectSameArrays(readNpz(path), formulaArrays());
    expect(readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });

  (hasNumpy ? it : it.skip)('writes files numpy reads (ADM arr_0 layout, and ZIP64)', () => {
    const imgs = new Uint8Array(4 * 3 * 2 * 3).map((_, i) => (i * 11) % 256);
    const adm = join(dir, 'adm.npz');
    writeAdmNpz(adm, imgs, 4, 3, 2);
    const z64 = join(dir, 'z64.npz');
    writeNpz(z64, formulaArrays(), { forceZip64: true });
    const script = [
      'import numpy as np, sys',
      `z = np.load(${JSON.stringify(adm)})`,
      "a = z['arr_0']",
      "assert a.dtype == np.uint8 and a.shape == (4, 3, 2, 3), (a.dtype, a.shape)",
      'assert (a.reshape(-1) == (np.arange(72) * 11 % 256)).all()',
      `w = np.load(${JSON.stringify(z64)})`,
      "assert w['c_i8'].tolist() == [-(2**40), 0, 2**40 + 3]",
      "assert w['b_f4'].dtype == np.float32 and w['f_scalar'].shape == () and float(w['f_scalar']) == 2.5",
      "print('ok')",
    ].join('\n');
    const r = spawnSync('python3', ['-c', script], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('ok');
  });

  it('fails with one-line errors naming the file', () => {
    expect(() => readNpz(join(dir, 'missing.npz'))).toThrow(/npz file .*missing\.npz does not exist/);
    const junk = join(dir, 'junk.npz');
    writeFileSync(junk, 'not a zip at all. '.repeat(4));
    expect(() => readNpz(junk)).toThrow(/junk\.npz is not a readable zip archive \(no end-of-central-directory record\): the file is truncated or is not an \.npz/);
    // A corrupted payload byte is caught by the CRC-32.
    const good = join(dir, 'good.npz');
    writeNpz(good, { x: { dtype: 'uint8', shape: [64], data: new Uint8Array(64).fill(3) } });
    const bytes = readFileSync(good);
    bytes[30 + 'x.npy'.length + 128 + 5] ^= 0xff;
    const bad = join(dir, 'bad.npz');
    writeFileSync(bad, bytes);
    expect(() => readNpz(bad)).toThrow(/bad\.npz: zip entry 'x\.npy' fails its CRC-32 check/);
    expect(() => writeNpz(join(dir, 'x.npz'), { x: { dtype: 'float32', shape: [3], data: new Float32Array(2) } })).toThrow(
      /array 'x': shape \[3\] holds 3 elements but data has 2/,
    );
    expect(() => writeNpz(join(dir, 'no-such-dir', 'x.npz'), {})).toThrow(/cannot write npz file .*does the folder exist/);
    expect(existsSync(join(dir, 'x.npz'))).toBe(false);
    expect(() => writeAdmNpz(join(dir, 'g.npz'), new Uint8Array(4), 1, 2, 2)).toThrow(/needs RGB/);
  });
});
