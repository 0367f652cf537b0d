import { rowProductsF64, rowProductsF64Js, syrkUpperAccumulateF64, syrkUpperAccumulateF64Js, hostBlasNative } from './host-blas';
import { seeded } from './testing/compare';

function randArray(n: number, seed: number): Float64Array {
  const rng = seeded(seed);
  return Float64Array.from({ length: n }, () => rng() * 2 - 1);
}

/** The definition, one dot product at a time (the independent reference). */
function naive(a: Float64Array, m: number, b: Float64Array, n: number, d: number): Float64Array {
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let t = 0; t < d; t++) s += a[i * d + t] * b[j * d + t];
      out[i * n + j] = s;
    }
  return out;
}

function maxRelDiff(x: Float64Array, y: Float64Array, mask?: (k: number) => boolean): number {
  let err = 0;
  for (let k = 0; k < x.length; k++) if (!mask || mask(k)) err = Math.max(err, Math.abs(x[k] - y[k]) / Math.max(1, Math.abs(y[k])));
  return err;
}

describe(`float64 host products (${hostBlasNative() ? 'OpenBLAS' : 'JS'} path and the JS fallback)`, () => {
  it.each([
    [1, 1, 1],
    [3, 5, 7],
    [8, 6, 33],
    [17, 4, 2],
  ])('A·Bᵀ for m=%i n=%i d=%i, full and upper triangle', (m, n, d) => {
    const a = randArray(m * d, m * 100 + d);
    const b = randArray(n * d, n * 7 + d);
    const ref = naive(a, m, b, n, d);
    expect(maxRelDiff(rowProductsF64(a, m, b, n, d), ref)).toBeLessThan(1e-14);
    expect(maxRelDiff(rowProductsF64Js(a, m, b, n, d, new Float64Array(m * n), false), ref)).toBeLessThan(1e-14);
    const gram = naive(a, m, a, m, d);
    const upper = (k: number) => k % m >= Math.floor(k / m);
    for (const fn of [rowProductsF64, rowProductsF64Js]) {
      const out = new Float64Array(m * m).fill(123);
      fn(a, m, a, m, d, out, true);
      expect(maxRelDiff(out, gram, upper)).toBeLessThan(1e-14);
      // the strict lower triangle is left as it was
      for (let k = 0; k < m * m; k++) if (!upper(k)) expect(out[k]).toBe(123);
    }
  });

  it('accumulates the upper triangle of X·Xᵀ over a strided X', () => {
    const d = 5;
    const k = 3;
    const ld = 4;
    const x = randArray(d * ld, 3);
    const dense = new Float64Array(d * k);
    for (let r = 0; r < d; r++) for (let t = 0; t < k; t++) dense[r * k + t] = x[r * ld + t];
    const ref = naive(dense, d, dense, d, k);
    const upper = (q: number) => q % d >= Math.floor(q / d);
    for (const fn of [syrkUpperAccumulateF64, syrkUpperAccumulateF64Js]) {
      const c = new Float64Array(d * d).fill(1);
      fn(x, d, k, ld, c);
      fn(x, d, k, ld, c);
      const want = ref.map((v) => 2 * v + 1);
      expect(maxRelDiff(c, want, upper)).toBeLessThan(1e-14);
    }
  });

  it('rejects arrays that are too short', () => {
    expect(() => rowProductsF64(new Float64Array(3), 2, new Float64Array(4), 2, 2)).toThrow(/too short/);
  });
});
