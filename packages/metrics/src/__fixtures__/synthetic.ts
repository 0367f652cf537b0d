/**
 * The deterministic test inputs of scripts/make_fixtures.py, reproduced bit for bit: a lowbias32
 * integer hash (exact in 32-bit arithmetic) mapped to [0, 1), then elementwise float64 arithmetic.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

interface FidCase {
  dim: number; n1: number; n2: number; seed1: number; seed2: number; scale2: number; slow: boolean;
  fid_scipy_sqrtm: number; fid_symmetric_eigh: number; fid_mpmath?: number; trace1: number; trace2: number; mu1_sum: number; sigma1_sum: number;
}
export interface Fixtures {
  numpy: string; scipy: string;
  stats_probe: { mu: number[]; sigma: number[] };
  fid: FidCase[];
  kid: { dim: number; m: number; seed1: number; seed2: number; scale2: number; mmd2: number }[];
  is: { n: number; classes: number; seed: number; scale: number; splits: number; mean: number; std: number }[];
  pr: { dim: number; nReal: number; nFake: number; seed1: number; seed2: number; scale2: number; precision: number; recall: number }[];
}

export const fixtures: Fixtures = JSON.parse(readFileSync(join(__dirname, 'metrics-fixtures.json'), 'utf8'));

/** The k-th value of hashUniform(seed, ·, ·) in row-major order. */
function hashAt(base: number, k: number): number {
  let x = (base + k) >>> 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d) >>> 0;
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b) >>> 0;
  x ^= x >>> 16;
  return (x >>> 0) / 4294967296;
}

/** u[i, j] = lowbias32(seed·0x9E3779B9 + i·d + j mod 2^32) / 2^32. */
export function hashUniform(seed: number, n: number, d: number): Float64Array {
  const out = new Float64Array(n * d);
  const base = Math.imul(seed, 0x9e3779b9) >>> 0;
  for (let k = 0; k < n * d; k++) out[k] = hashAt(base, k);
  return out;
}

/** x[i,j] = scale·((u[i,j] − ½)(1 + j mod 7) + ½(u[i,(j+1) mod d] − ½)) + 0.01·(j mod 5). */
export function syntheticFeatures(seed: number, n: number, d: number, scale: number): Float64Array {
  const u = hashUniform(seed, n, d);
  const out = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) {
      const z = u[i * d + j] - 0.5;
      const zn = u[i * d + ((j + 1) % d)] - 0.5;
      out[i * d + j] = scale * (z * (1 + (j % 7)) + 0.5 * zn) + 0.01 * (j % 5);
    }
  }
  return out;
}

/** The hash-generated FID-Inception weights of scripts/make_inception_fixture.py (tensor k of the sorted names: seed 1000 + k). */
export function hashInceptionWeights(shapes: Map<string, readonly number[]>): Map<string, { dtype: 'F32'; shape: readonly number[]; data: Float32Array }> {
  const out = new Map<string, { dtype: 'F32'; shape: readonly number[]; data: Float32Array }>();
  [...shapes.keys()].sort().forEach((name, k) => {
    const shape = shapes.get(name)!;
    const n = shape.reduce((p, q) => p * q, 1);
    const base = Math.imul(1000 + k, 0x9e3779b9) >>> 0; // no float64 temporary: 24 M values
    const data = new Float32Array(n);
    if (name.endsWith('conv.weight') || name === 'fc.weight') {
      const fanIn = shape.slice(1).reduce((p, q) => p * q, 1);
      const c = Math.sqrt(2 / fanIn);
      for (let i = 0; i < n; i++) data[i] = (hashAt(base, i) - 0.5) * Math.sqrt(12) * c;
    } else if (name.endsWith('bn.weight') || name.endsWith('running_var')) {
      for (let i = 0; i < n; i++) data[i] = 0.5 + hashAt(base, i);
    } else {
      for (let i = 0; i < n; i++) data[i] = 0.1 * (hashAt(base, i) - 0.5);
    }
    out.set(name, { dtype: 'F32', shape, data });
  });
  return out;
}

export interface InceptionFixture {
  torch: string;
  imageSeed: number;
  image75Seed: number;
  pool3: number[];
  pool3At75: number[];
  logitsFirst16: number[];
}

export function inceptionFixture(): InceptionFixture {
  return JSON.parse(readFileSync(join(__dirname, 'inception-fixture.json'), 'utf8'));
}
