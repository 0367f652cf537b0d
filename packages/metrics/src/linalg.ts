/**
 * Float64 dense linear algebra for the Fréchet distance (tfjs has neither float64 nor eigensolvers).
 * Matrices are row-major `Float64Array`s of n×n. Only what tr √(Σ₁Σ₂) needs is here: a pivoted
 * (rank-revealing) Cholesky factorisation, a triangular congruence GᵀSG, and the eigenvalues of a
 * symmetric matrix (Householder tridiagonalisation + implicit QL, without eigenvectors).
 *
 * Why not ml-matrix (measured in bench/frechet.bench.ts): it has no pivoted Cholesky and no
 * eigenvalues-only path, so tr √(Σ₁Σ₂) at d = 2048 costs ≈ 70 s there (Cholesky + two dense
 * products + a full eigendecomposition with vectors) against a few seconds here.
 */
import { hostLapackNative, pivotedCholeskyF64, rowProductsF64, symmetricEigenvaluesF64 } from '@epg/tensor';

/** Result of `pivotedCholesky`: P Σ Pᵀ ≈ G Gᵀ with G lower-trapezoidal (n × rank). */
export interface PivotedCholesky {
  /** Row-major n×n storage; columns ≥ rank are zero. Row i belongs to original index perm[i]. */
  readonly factor: Float64Array;
  readonly perm: Int32Array;
  readonly rank: number;
  readonly n: number;
}

function checkSquare(a: Float64Array, n: number, what: string): void {
  if (!Number.isInteger(n) || n < 1 || a.length !== n * n) {
    throw new RangeError(`${what}: expected a ${n}×${n} matrix (${n * n} values), got ${a.length} values`);
  }
}

/**
 * Pivoted Cholesky of a symmetric positive semi-definite matrix (left-looking, diagonal pivoting;
 * LAPACK dpstrf's algorithm). Stops when the largest remaining pivot is ≤ n·ε·max(diag), LAPACK's
 * default tolerance, so a singular covariance (fewer samples than dimensions) gives its numerical
 * rank instead of failing. Source: Higham, "Cholesky factorization", WIREs Comp Stat 2009, §3.
 */
export function pivotedCholesky(a: Float64Array, n: number): PivotedCholesky {
  checkSquare(a, n, 'pivotedCholesky');
  const g = new Float64Array(n * n);
  const perm = new Int32Array(n);
  const diag = new Float64Array(n); // remaining (Schur complement) diagonal, in permuted order
  let maxDiag = 0;
  for (let i = 0; i < n; i++) {
    perm[i] = i;
    diag[i] = a[i * n + i];
    if (diag[i] > maxDiag) maxDiag = diag[i];
  }
  const tol = n * Number.EPSILON * maxDiag;
  let rank = 0;
  for (let k = 0; k < n; k++) {
    let piv = k;
    for (let i = k + 1; i < n; i++) if (diag[i] > diag[piv]) piv = i;
    if (!(diag[piv] > tol)) break;
    if (piv !== k) {
      // swap rows k and piv of G (first k columns), the permutation and the remaining diagonal
      for (let m = 0; m < k; m++) {
        const t = g[k * n + m];
        g[k * n + m] = g[piv * n + m];
        g[piv * n + m] = t;
      }
      const tp = perm[k];
      perm[k] = perm[piv];
      perm[piv] = tp;
      const td = diag[k];
      diag[k] = diag[piv];
      diag[piv] = td;
    }
    const gkk = Math.sqrt(diag[k]);
    g[k * n + k] = gkk;
    const pk = perm[k];
    const rowK = k * n;
    for (let i = k + 1; i < n; i++) {
      const rowI = i * n;
      let s = a[perm[i] * n + pk];
      for (let m = 0; m < k; m++) s -= g[rowI + m] * g[rowK + m];
      const v = s / gkk;
      g[rowI + k] = v;
      diag[i] -= v * v;
    }
    rank = k + 1;
  }
  return { factor: g, perm, rank, n };
}

/**
 * M = Gᵀ S G for a lower-trapezoidal G (n × r, stored n×n) and symmetric S (n×n), returned as a
 * full symmetric r×r matrix. Both products are written as dot products of contiguous rows (Gᵀ and
 * (SG)ᵀ are formed first) in 2×2 blocks, skipping the triangular zeros: ≈ n³/2 + n³/6 multiply-adds.
 */
export function triangularCongruence(g: Float64Array, s: Float64Array, n: number, r: number): Float64Array {
  checkSquare(g, n, 'triangularCongruence(G)');
  checkSquare(s, n, 'triangularCongruence(S)');
  // gt[m, k] = G[k, m], nonzero only for k ≥ m
  const gt = new Float64Array(r * n);
  for (let k = 0; k < n; k++) {
    const mEnd = Math.min(k + 1, r);
    for (let m = 0; m < mEnd; m++) gt[m * n + k] = g[k * n + m];
  }
  // wt[m, i] = (S G)[i, m] = Σ_{k ≥ m} S[i, k] G[k, m]
  const wt = new Float64Array(r * n);
  for (let m = 0; m < r; m += 2) {
    const two = m + 1 < r;
    const g0 = m * n;
    const g1 = two ? g0 + n : g0;
    for (let i = 0; i < n; i += 2) {
      const s0 = i * n;
      const s1 = i + 1 < n ? s0 + n : s0;
      let a00 = 0;
      let a01 = 0;
      let a10 = 0;
      let a11 = 0;
      for (let k = m; k < n; k++) {
        const x0 = s[s0 + k];
        const x1 = s[s1 + k];
        const y0 = gt[g0 + k];
        const y1 = gt[g1 + k];
        a00 += x0 * y0;
        a01 += x0 * y1;
        a10 += x1 * y0;
        a11 += x1 * y1;
      }
      wt[m * n + i] = a00;
      if (i + 1 < n) wt[m * n + i + 1] = a10;
      if (two) {
        wt[(m + 1) * n + i] = a01;
        if (i + 1 < n) wt[(m + 1) * n + i + 1] = a11;
      }
    }
  }
  // M[a, b] = M[b, a] = Σ_{k ≥ b} (SG)[k, a] G[k, b] (G[k, b] = 0 for k < b), for b ≥ a, mirrored
  const out = new Float64Array(r * r);
  for (let a = 0; a < r; a += 2) {
    const twoA = a + 1 < r;
    const p0 = a * n;
    const p1 = twoA ? p0 + n : p0;
    for (let b = a; b < r; b += 2) {
      const twoB = b + 1 < r;
      const q0 = b * n;
      const q1 = twoB ? q0 + n : q0;
      let a00 = 0;
      let a01 = 0;
      let a10 = 0;
      let a11 = 0;
      for (let k = b; k < n; k++) {
        const x0 = wt[p0 + k];
        const x1 = wt[p1 + k];
        const y0 = gt[q0 + k];
        const y1 = gt[q1 + k];
        a00 += x0 * y0;
        a01 += x0 * y1;
        a10 += x1 * y0;
        a11 += x1 * y1;
      }
      out[a * r + b] = a00;
      if (twoB) out[a * r + b + 1] = a01;
      if (twoA) {
        out[(a + 1) * r + b] = a10;
        if (twoB) out[(a + 1) * r + b + 1] = a11;
      }
    }
  }
  for (let a = 0; a < r; a++) for (let b = a + 1; b < r; b++) out[b * r + a] = out[a * r + b];
  return out;
}

/**
 * Eigenvalues of a symmetric n×n matrix (ascending). Householder reduction to tridiagonal form
 * from the bottom row up, reading only the lower triangle (NR "tred2" without accumulating
 * vectors), then implicit QL with Wilkinson-like shifts (JAMA/EISPACK "tql2" without vectors).
 * Source: Numerical Recipes 3rd ed. §11.3–11.4; JAMA EigenvalueDecomposition.tred2/tql2.
 * `a` is not modified.
 */
export function symmetricEigenvalues(a: Float64Array, n: number): Float64Array {
  checkSquare(a, n, 'symmetricEigenvalues');
  const m = Float64Array.from(a);
  const d = new Float64Array(n);
  const e = new Float64Array(n);
  const u = new Float64Array(n);
  const p = new Float64Array(n);
  for (let i = n - 1; i >= 1; i--) {
    const l = i - 1;
    const rowI = i * n;
    let scale = 0;
    if (l > 0) for (let k = 0; k <= l; k++) scale += Math.abs(m[rowI + k]);
    if (l === 0 || scale === 0) {
      e[i] = m[rowI + l];
    } else {
      let h = 0;
      for (let k = 0; k <= l; k++) {
        u[k] = m[rowI + k] / scale;
        h += u[k] * u[k];
      }
      const f = u[l];
      const gg = f >= 0 ? -Math.sqrt(h) : Math.sqrt(h);
      e[i] = scale * gg;
      h -= f * gg;
      u[l] = f - gg;
      // p = A u / h over the leading (l+1)×(l+1) block, lower triangle only (symv)
      p.fill(0, 0, l + 1);
      for (let j = 0; j <= l; j++) {
        const rowJ = j * n;
        const uj = u[j];
        let sum = 0;
        for (let k = 0; k < j; k++) {
          const ajk = m[rowJ + k];
          sum += ajk * u[k];
          p[k] += ajk * uj;
        }
        p[j] += sum + m[rowJ + j] * uj;
      }
      let kk = 0;
      for (let j = 0; j <= l; j++) {
        p[j] /= h;
        kk += u[j] * p[j];
      }
      kk /= 2 * h;
      for (let j = 0; j <= l; j++) p[j] -= kk * u[j]; // p is now q
      for (let j = 0; j <= l; j++) {
        const rowJ = j * n;
        const uj = u[j];
        const qj = p[j];
        for (let k = 0; k <= j; k++) m[rowJ + k] -= uj * p[k] + qj * u[k];
      }
    }
    d[i] = m[rowI + i];
  }
  d[0] = m[0];
  tridiagonalQl(d, e);
  return d.sort();
}

/** Implicit QL on the tridiagonal (d, e) with e[i] coupling i−1 and i; eigenvalues left in d. */
function tridiagonalQl(d: Float64Array, e: Float64Array): void {
  const n = d.length;
  for (let i = 1; i < n; i++) e[i - 1] = e[i];
  e[n - 1] = 0;
  let f = 0;
  let tst1 = 0;
  const eps = Number.EPSILON;
  for (let l = 0; l < n; l++) {
    tst1 = Math.max(tst1, Math.abs(d[l]) + Math.abs(e[l]));
    let mm = l;
    while (mm < n) {
      if (Math.abs(e[mm]) <= eps * tst1) break;
      mm++;
    }
    if (mm > l) {
      let iter = 0;
      do {
        if (++iter > 60) throw new Error(`symmetricEigenvalues: QL did not converge at index ${l} (non-finite input?)`);
        let g = d[l];
        let p = (d[l + 1] - g) / (2 * e[l]);
        let r = Math.hypot(p, 1);
        if (p < 0) r = -r;
        d[l] = e[l] / (p + r);
        d[l + 1] = e[l] * (p + r);
        const dl1 = d[l + 1];
        let h = g - d[l];
        for (let i = l + 2; i < n; i++) d[i] -= h;
        f += h;
        p = d[mm];
        let c = 1;
        let c2 = c;
        let c3 = c;
        const el1 = e[l + 1];
        let s = 0;
        let s2 = 0;
        for (let i = mm - 1; i >= l; i--) {
          c3 = c2;
          c2 = c;
          s2 = s;
          g = c * e[i];
          h = c * p;
          r = Math.hypot(p, e[i]);
          e[i + 1] = s * r;
          s = e[i] / r;
          c = p / r;
          p = c * d[i] - s * g;
          d[i + 1] = h + s * (c * g + s * d[i]);
        }
        p = (-s * s2 * c3 * el1 * e[l]) / dl1;
        e[l] = s * p;
        d[l] = c * p;
      } while (Math.abs(e[l]) > eps * tst1);
    }
    d[l] += f;
    e[l] = 0;
  }
}

/** The symmetric permutation P S Pᵀ: out[i, j] = s[perm[i], perm[j]]. */
export function permuteSymmetric(s: Float64Array, n: number, perm: Int32Array): Float64Array {
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    const src = perm[i] * n;
    const dst = i * n;
    for (let j = 0; j < n; j++) out[dst + j] = s[src + perm[j]];
  }
  return out;
}

/**
 * tr √(Σ₁Σ₂) for symmetric PSD Σ₁, Σ₂ (n×n). With PΣPᵀ = GGᵀ for either matrix, Σ₁Σ₂ is similar
 * to the PSD matrix GᵀP Σ_other PᵀG, so the trace is Σᵢ √λᵢ of it, round-off negatives clipped to
 * 0. Source: docs/metrics-reference.md §2 (symmetric formulation). Both are factored and the one of lower
 * numerical rank is used: factoring the higher-rank one would leave (rank gap) spurious eigenvalues
 * of round-off size whose square roots bias the trace by ≈ 1e−8 relative.
 */
export function traceSqrtProduct(sigma1: Float64Array, sigma2: Float64Array, n: number): number {
  checkSquare(sigma1, n, 'traceSqrtProduct(sigma1)');
  checkSquare(sigma2, n, 'traceSqrtProduct(sigma2)');
  // LAPACK (dpstrf, dgemm, dsyevd) through @epg/tensor-native when built: d = 2048 in a few
  // seconds instead of ≈ 70 s of the JS loops below, which stay the fallback and the reference.
  const native = hostLapackNative();
  const factor = (s: Float64Array): PivotedCholesky => (native && pivotedCholeskyF64(s, n)) || pivotedCholesky(s, n);
  const chol1 = factor(sigma1);
  const chol2 = factor(sigma2);
  const [chol, other] = chol2.rank < chol1.rank ? [chol2, sigma1] : [chol1, sigma2];
  if (chol.rank === 0) return 0;
  const s = permuteSymmetric(other, n, chol.perm);
  const m = native ? congruenceByProducts(chol.factor, s, n, chol.rank) : triangularCongruence(chol.factor, s, n, chol.rank);
  const lambdas = (native && symmetricEigenvaluesF64(m, chol.rank)) || symmetricEigenvalues(m, chol.rank);
  let tr = 0;
  for (const lam of lambdas) if (lam > 0) tr += Math.sqrt(lam);
  return tr;
}

/**
 * Gᵀ S G (r×r) as two float64 GEMMs (dgemm through rowProductsF64): W = Gᵀ·S, then W·G. Twice the
 * multiply-adds of triangularCongruence (the triangle of G is not skipped), but at BLAS speed.
 */
export function congruenceByProducts(g: Float64Array, s: Float64Array, n: number, r: number): Float64Array {
  checkSquare(g, n, 'congruenceByProducts(G)');
  checkSquare(s, n, 'congruenceByProducts(S)');
  const gt = new Float64Array(r * n); // gt[m, k] = G[k, m]
  for (let k = 0; k < n; k++) {
    const mEnd = Math.min(k + 1, r);
    for (let m = 0; m < mEnd; m++) gt[m * n + k] = g[k * n + m];
  }
  const w = rowProductsF64(gt, r, s, n, n); // w[m, i] = Σ_k Gᵀ[m, k] S[i, k] = (Gᵀ S)[m, i] (S symmetric)
  const out = rowProductsF64(w, r, gt, r, n); // out[a, b] = Σ_k (Gᵀ S)[a, k] G[k, b]
  for (let a = 0; a < r; a++) for (let b = a + 1; b < r; b++) {
    const v = 0.5 * (out[a * r + b] + out[b * r + a]); // symmetric up to round-off: make it exact
    out[a * r + b] = v;
    out[b * r + a] = v;
  }
  return out;
}
