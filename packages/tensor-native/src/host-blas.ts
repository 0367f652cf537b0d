/**
 * Float64 matrix products on host arrays (not tensors), for statistics that need double precision
 * (KID's kernel sums, FID's covariances): OpenBLAS dgemm/dsyrk through the addon when it is built,
 * a register-blocked JS loop otherwise (same results up to summation order). Independent of the
 * tfjs backend; EPG_NATIVE=0 forces the JS path. Large products use EPG_HOST_BLAS_THREADS threads
 * (host-threads.ts).
 */
import { loadAddon } from './addon';
import { withHostThreads } from './host-threads';

/** Whether the float64 products run in OpenBLAS (else in JS). */
export function hostBlasNative(): boolean {
  return loadAddon().addon !== undefined;
}

function check(cond: boolean, what: string): void {
  if (!cond) throw new RangeError(`host BLAS: ${what}`);
}

/**
 * out[i·n + j] = Σ_t a[i·d + t] · b[j·d + t] for i < m, j < n: the products of the rows of a [m, d]
 * and b [n, d] (A·Bᵀ). `upperOnly` (square, a === b) fills only j ≥ i and leaves the rest as it was.
 */
export function rowProductsF64(
  a: Float64Array, m: number, b: Float64Array, n: number, d: number,
  out: Float64Array = new Float64Array(m * n), upperOnly = false,
): Float64Array {
  check(a.length >= m * d && b.length >= n * d && out.length >= m * n, `arrays too short for ${m}×${d} · (${n}×${d})ᵀ`);
  check(!upperOnly || (a === b && m === n), 'upperOnly needs the same square operand');
  if (m === 0 || n === 0) return out;
  const addon = loadAddon().addon;
  if (addon) {
    withHostThreads(addon, (upperOnly ? 0.5 : 1) * m * n * d, () => {
      if (upperOnly) addon.dsyrkUpper(m, d, 1, a, d, 0, out, n);
      else addon.dgemm(false, true, m, n, d, 1, a, d, b, d, 0, out, n);
    });
    return out;
  }
  return rowProductsF64Js(a, m, b, n, d, out, upperOnly);
}

/** The JS fallback of rowProductsF64 (2×2 register blocks), exported for tests. */
export function rowProductsF64Js(a: Float64Array, m: number, b: Float64Array, n: number, d: number, out: Float64Array, upperOnly: boolean): Float64Array {
  for (let i = 0; i < m; i += 2) {
    const two = i + 1 < m;
    const pa0 = i * d;
    const pa1 = two ? pa0 + d : pa0;
    for (let j = upperOnly ? i : 0; j < n; j += 2) {
      const twoJ = j + 1 < n;
      const pb0 = j * d;
      const pb1 = twoJ ? pb0 + d : pb0;
      let s00 = 0;
      let s01 = 0;
      let s10 = 0;
      let s11 = 0;
      for (let t = 0; t < d; t++) {
        const x0 = a[pa0 + t];
        const x1 = a[pa1 + t];
        const y0 = b[pb0 + t];
        const y1 = b[pb1 + t];
        s00 += x0 * y0;
        s01 += x0 * y1;
        s10 += x1 * y0;
        s11 += x1 * y1;
      }
      out[i * n + j] = s00;
      if (twoJ) out[i * n + j + 1] = s01;
      if (two) {
        // (i+1, i) lies below the diagonal when j = i
        if (j >= i + 1 || !upperOnly) out[(i + 1) * n + j] = s10;
        if (twoJ) out[(i + 1) * n + j + 1] = s11;
      }
    }
  }
  return out;
}

/**
 * c[a·d + b] += Σ_r x[a·ld + r] · x[b·ld + r] for b ≥ a (upper triangle of X·Xᵀ, X = [d, k] with
 * row stride ld): a rank-k update of a d×d accumulator, as in a covariance.
 */
export function syrkUpperAccumulateF64(x: Float64Array, d: number, k: number, ld: number, c: Float64Array): void {
  check(ld >= k && (d === 0 || x.length >= (d - 1) * ld + k) && c.length >= d * d, `arrays too short for a ${d}×${k} update`);
  if (d === 0 || k === 0) return;
  const addon = loadAddon().addon;
  if (addon) {
    withHostThreads(addon, 0.5 * d * d * k, () => addon.dsyrkUpper(d, k, 1, x, ld, 1, c, d));
    return;
  }
  syrkUpperAccumulateF64Js(x, d, k, ld, c);
}

/** The JS fallback of syrkUpperAccumulateF64, exported for tests. */
export function syrkUpperAccumulateF64Js(x: Float64Array, d: number, k: number, ld: number, c: Float64Array): void {
  for (let a = 0; a < d; a++) {
    const pa = a * ld;
    for (let b = a; b < d; b++) {
      const pb = b * ld;
      let s = 0;
      for (let r = 0; r < k; r++) s += x[pa + r] * x[pb + r];
      c[a * d + b] += s;
    }
  }
}
