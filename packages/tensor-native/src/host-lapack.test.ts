import { hostLapackNative, pivotedCholeskyF64, symmetricEigenvaluesF64 } from './host-lapack';
import { seeded } from './testing/compare';

const d = hostLapackNative() ? describe : describe.skip;
if (!hostLapackNative()) console.log('[@epg/tensor-native] host LAPACK tests skipped: no addon or no LAPACK in its BLAS');

/** A symmetric matrix with known eigenvalues: Q diag(lambdas) Qᵀ, Q a product of two Householder reflections. */
function withEigenvalues(lambdas: number[], seed: number): Float64Array {
  const n = lambdas.length;
  const rng = seeded(seed);
  let q = new Float64Array(n * n);
  for (let i = 0; i < n; i++) q[i * n + i] = 1;
  for (let h = 0; h < 2; h++) {
    const v = Float64Array.from({ length: n }, () => rng() - 0.5);
    const vv = v.reduce((s, x) => s + x * x, 0);
    const next = new Float64Array(n * n); // (I − 2vvᵀ/vᵀv) q
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
      let s = q[i * n + j];
      for (let k = 0; k < n; k++) s -= (2 * v[i] * v[k] * q[k * n + j]) / vv;
      next[i * n + j] = s;
    }
    q = next;
  }
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
    let s = 0;
    for (let k = 0; k < n; k++) s += q[i * n + k] * lambdas[k] * q[j * n + k];
    a[i * n + j] = s;
  }
  return a;
}

/** A = X Xᵀ for a random n×k X: PSD with rank min(n, k). */
function gram(n: number, k: number, seed: number): Float64Array {
  const rng = seeded(seed);
  const x = Float64Array.from({ length: n * k }, () => rng() * 2 - 1);
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
    let s = 0;
    for (let t = 0; t < k; t++) s += x[i * k + t] * x[j * k + t];
    a[i * n + j] = s;
  }
  return a;
}

d('float64 LAPACK on host arrays (dpstrf, dsyevd)', () => {
  it.each([[1, 3], [5, 9], [12, 4], [17, 17]])('pivoted Cholesky of a %i×%i-sample Gram matrix reconstructs P A Pᵀ and finds its rank', (n, k) => {
    const a = gram(n, k, 7 * n + k);
    const before = a.slice();
    const c = pivotedCholeskyF64(a, n)!;
    expect(a).toEqual(before);
    expect(c.rank).toBe(Math.min(n, k));
    expect([...c.perm].sort((p, q) => p - q)).toEqual([...Array(n).keys()]);
    let err = 0;
    let scale = 0;
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
      let s = 0;
      for (let m = 0; m < n; m++) s += c.factor[i * n + m] * c.factor[j * n + m];
      err = Math.max(err, Math.abs(s - a[c.perm[i] * n + c.perm[j]]));
      scale = Math.max(scale, Math.abs(a[i * n + j]));
      if (j > i || j >= c.rank) expect(c.factor[i * n + j]).toBe(0); // lower-trapezoidal, columns ≥ rank zero
    }
    expect(err / scale).toBeLessThan(1e-12);
    // diagonal pivoting: the factor's diagonal does not increase
    for (let i = 1; i < c.rank; i++) expect(c.factor[i * n + i]).toBeLessThanOrEqual(c.factor[(i - 1) * n + i - 1] * (1 + 1e-12));
  });

  it('eigenvalues of matrices with known spectra, ascending (ties, negatives, zeros, n = 1)', () => {
    for (const lambdas of [[3], [2, -1, 0.5, 7, 7], [0, 0, 1e-3, 5, 1e3, -4, 2.5, 9]]) {
      const a = withEigenvalues(lambdas, lambdas.length);
      const before = a.slice();
      const w = symmetricEigenvaluesF64(a, lambdas.length)!;
      expect(a).toEqual(before);
      const want = [...lambdas].sort((p, q) => p - q);
      want.forEach((v, i) => expect(Math.abs(w[i] - v)).toBeLessThan(1e-10 * Math.max(1, ...lambdas.map(Math.abs))));
    }
  });

  it('rejects arrays that are not n×n', () => {
    expect(() => pivotedCholeskyF64(new Float64Array(5), 2)).toThrow(/2×2/);
    expect(() => symmetricEigenvaluesF64(new Float64Array(4), 3)).toThrow(/3×3/);
  });
});
