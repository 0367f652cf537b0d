import { pivotedCholesky, symmetricEigenvalues, traceSqrtProduct } from './linalg';
import { hashUniform } from './__fixtures__/synthetic';

/** A = XᵀX for X of `rows`×n hash-uniform entries (PSD, rank min(rows, n)). */
function gram(n: number, rows: number, seed: number): Float64Array {
  const x = hashUniform(seed, rows, n);
  const a = new Float64Array(n * n);
  for (let r = 0; r < rows; r++) for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) a[i * n + j] += x[r * n + i] * x[r * n + j];
  return a;
}

describe('symmetricEigenvalues', () => {
  it('solves hand cases', () => {
    expect(Array.from(symmetricEigenvalues(new Float64Array([2, 1, 1, 2]), 2))).toEqual([1, 3].map((v) => expect.closeTo(v, 14)));
    expect(Array.from(symmetricEigenvalues(new Float64Array([5]), 1))).toEqual([5]);
    const diag = new Float64Array(9);
    diag[0] = 3;
    diag[4] = -1;
    diag[8] = 2;
    expect(Array.from(symmetricEigenvalues(diag, 3))).toEqual([-1, 2, 3]);
  });

  it('keeps trace and Frobenius norm (Σλ = tr A, Σλ² = ‖A‖²_F) on a 60×60 matrix', () => {
    const n = 60;
    const a = gram(n, 80, 5);
    const lam = symmetricEigenvalues(a, n);
    let tr = 0;
    let fro = 0;
    for (let i = 0; i < n; i++) tr += a[i * n + i];
    for (const v of a) fro += v * v;
    expect(lam.reduce((p, q) => p + q, 0)).toBeCloseTo(tr, 9);
    expect(lam.reduce((p, q) => p + q * q, 0) / fro).toBeCloseTo(1, 12);
    // eigenvalues of a Gram matrix are ≥ 0 up to round-off
    expect(lam[0]).toBeGreaterThan(-1e-10 * lam[n - 1]);
  });
});

describe('pivotedCholesky', () => {
  it('reconstructs P A Pᵀ = G Gᵀ and reports the numerical rank', () => {
    for (const [n, rows] of [[12, 30], [12, 5]] as const) {
      const a = gram(n, rows, 9);
      const { factor: g, perm, rank } = pivotedCholesky(a, n);
      expect(rank).toBe(Math.min(n, rows));
      let worst = 0;
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < n; j++) {
          let s = 0;
          for (let m = 0; m < rank; m++) s += g[i * n + m] * g[j * n + m];
          worst = Math.max(worst, Math.abs(s - a[perm[i] * n + perm[j]]));
        }
      }
      expect(worst).toBeLessThan(1e-12 * a.reduce((p, q) => Math.max(p, Math.abs(q)), 0));
    }
  });

  it('gives rank 0 for a zero matrix', () => {
    expect(pivotedCholesky(new Float64Array(16), 4).rank).toBe(0);
  });
});

describe('traceSqrtProduct', () => {
  it('equals Σ √(aᵢbᵢ) for diagonal matrices, including zero entries', () => {
    const a = new Float64Array([4, 0, 0, 0, 0, 0, 0, 0, 9]);
    const b = new Float64Array([1, 0, 0, 0, 5, 0, 0, 0, 4]);
    expect(traceSqrtProduct(a, b, 3)).toBeCloseTo(2 + 0 + 6, 14);
  });

  it('equals tr Σ when Σ₁ = Σ₂ = Σ, also for a singular Σ', () => {
    for (const rows of [40, 7]) {
      const n = 20;
      const a = gram(n, rows, 3);
      let tr = 0;
      for (let i = 0; i < n; i++) tr += a[i * n + i];
      expect(traceSqrtProduct(a, a, n) / tr).toBeCloseTo(1, 7);
    }
  });

  it('is symmetric in its arguments', () => {
    const a = gram(15, 30, 1);
    const b = gram(15, 8, 2);
    expect(traceSqrtProduct(a, b, 15) / traceSqrtProduct(b, a, 15)).toBeCloseTo(1, 9);
  });

  it('names the bad argument on a shape error', () => {
    expect(() => traceSqrtProduct(new Float64Array(4), new Float64Array(9), 2)).toThrow(/sigma2.*2×2/);
  });
});
