/**
 * Float64 LAPACK on host arrays (not tensors) for the Fréchet distance: pivoted Cholesky (dpstrf)
 * and the eigenvalues of a symmetric matrix (dsyevd, no vectors), from the OpenBLAS the addon links.
 * Each returns undefined when the addon or its LAPACK is missing (EPG_NATIVE=0 included): the
 * caller (@epg/metrics' linalg.ts) then runs its own JS implementation, the reference the tests
 * compare these with.
 */
import { loadAddon, type NativeAddon } from './addon';
import { withHostThreads } from './host-threads';

interface LapackAddon {
  lapackAvailable(): boolean;
  pivotedCholeskyF64(a: Float64Array, n: number, piv: Int32Array): number;
  symmetricEigenvaluesF64(a: Float64Array, n: number, w: Float64Array): void;
}

function lapack(): LapackAddon | undefined {
  const addon = loadAddon().addon as unknown as Partial<LapackAddon> | undefined;
  return addon?.lapackAvailable?.() ? (addon as LapackAddon) : undefined;
}

/** Whether pivotedCholeskyF64 / symmetricEigenvaluesF64 run in LAPACK here. */
export function hostLapackNative(): boolean {
  return lapack() !== undefined;
}

function checkSquare(a: Float64Array, n: number, what: string): void {
  if (!Number.isInteger(n) || n < 1 || a.length !== n * n) throw new RangeError(`${what}: expected a ${n}×${n} matrix (${n * n} values), got ${a.length}`);
}

/**
 * Pivoted Cholesky P A Pᵀ = G Gᵀ of a symmetric PSD n×n row-major matrix, stopping at LAPACK's
 * default tolerance n·ε·max(diag) (dpstrf). `factor` is G row-major n×n (lower-trapezoidal,
 * columns ≥ rank zero); row i of G belongs to original index perm[i]. `a` is not modified.
 */
export function pivotedCholeskyF64(a: Float64Array, n: number): { factor: Float64Array; perm: Int32Array; rank: number; n: number } | undefined {
  checkSquare(a, n, 'pivotedCholeskyF64');
  const lp = lapack();
  if (!lp) return undefined;
  const work = a.slice();
  const piv = new Int32Array(n);
  const rank = withHostThreads(lp as unknown as NativeAddon, (n * n * n) / 3, () => lp.pivotedCholeskyF64(work, n, piv));
  // the row-major upper triangle of `work` holds Gᵀ: G[i, m] = work[m·n + i] for i ≥ m, m < rank
  const factor = new Float64Array(n * n);
  for (let m = 0; m < rank; m++) {
    const row = m * n;
    for (let i = m; i < n; i++) factor[i * n + m] = work[row + i];
  }
  const perm = new Int32Array(n);
  for (let i = 0; i < n; i++) perm[i] = piv[i] - 1;
  return { factor, perm, rank, n };
}

/** Eigenvalues (ascending) of a symmetric n×n row-major matrix (dsyevd; one triangle is read, so give it symmetric). `a` is not modified. */
export function symmetricEigenvaluesF64(a: Float64Array, n: number): Float64Array | undefined {
  checkSquare(a, n, 'symmetricEigenvaluesF64');
  const lp = lapack();
  if (!lp) return undefined;
  const w = new Float64Array(n);
  const copy = a.slice();
  withHostThreads(lp as unknown as NativeAddon, (4 * n * n * n) / 3, () => lp.symmetricEigenvaluesF64(copy, n, w));
  return w;
}
