/**
 * BLAS threads for the large float64 host computations (KID's Gram matrices, covariances, FID's
 * LAPACK calls), set around each large call and restored after it, so the tfjs kernels keep the
 * count set at registration. EPG_HOST_BLAS_THREADS sets it (default 1: on the shared 2-core machine
 * of docs/performance.md a second thread cost CPU time and gained no wall time; on an idle
 * multi-core machine more threads shorten KID and FID at d = 2048 in wall time).
 */
import type { NativeAddon } from './addon';

/** Multiply-adds below which the thread count is left alone (threads cost more than they save). */
const MIN_WORK = 2e7;

export function hostBlasThreads(): number {
  const env = process.env.EPG_HOST_BLAS_THREADS;
  if (env !== undefined && env !== '') {
    const n = Number(env);
    if (!Number.isInteger(n) || n < 1) throw new Error(`EPG_HOST_BLAS_THREADS=${env} is not a thread count: use a whole number >= 1, or unset it.`);
    return n;
  }
  return 1;
}

/** Runs fn with hostBlasThreads() OpenBLAS threads when `work` (multiply-adds) is large, then restores the count. */
export function withHostThreads<T>(addon: NativeAddon, work: number, fn: () => T): T {
  const current = (addon as unknown as { blasThreads?: () => number }).blasThreads;
  if (work < MIN_WORK || !current) return fn();
  const before = current();
  const want = hostBlasThreads();
  if (want === before) return fn();
  addon.setThreads(want);
  try {
    return fn();
  } finally {
    addon.setThreads(before);
  }
}
