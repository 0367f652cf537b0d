
import { EpgError } from '@epg/tensor';/**
 * Streaming float64 feature statistics (mean and covariance with ddof 1, numpy.cov's default as in
 * pytorch-fid / TTUR / ADM; docs/metrics-reference.md §3.6). Rows are buffered and folded in fixed chunks of
 * CHUNK_ROWS, and sums are taken around a fixed shift (the first row), so the result is the same
 * bit for bit whatever batch sizes the rows arrive in, and cancellation stays small. Each chunk is
 * one float64 rank-k update (dsyrk in OpenBLAS via @epg/tensor when the native addon is built).
 */
import { syrkUpperAccumulateF64 } from '@epg/tensor';

/** Mean and covariance of features, tagged with the extractor that made them. */
export interface FeatureStatistics {
  /** Name of the feature extractor (e.g. 'inception-v3-fid/pool3'); compared before any distance. */
  readonly extractor: string;
  readonly dim: number;
  /** Number of images summarised; null when unknown (e.g. ADM reference files). */
  readonly count: number | null;
  readonly mu: Float64Array;
  /** Row-major dim×dim covariance (ddof 1). */
  readonly sigma: Float64Array;
}

// 256 rows: dsyrk runs near its peak at that depth; the buffer is 2 MB at d = 1024.
const CHUNK_ROWS = 256;

export class StatisticsAccumulator {
  private readonly shift: Float64Array;
  private hasShift = false;
  private readonly sum: Float64Array;
  /** Upper triangle of Σ (x − shift)(x − shift)ᵀ, row-major dim×dim. */
  private readonly cross: Float64Array;
  /** Column-major buffer of up to CHUNK_ROWS shifted rows: buf[j * CHUNK_ROWS + r]. */
  private readonly buf: Float64Array;
  private buffered = 0;
  private n = 0;

  constructor(
    readonly dim: number,
    readonly extractor: string,
  ) {
    if (!Number.isInteger(dim) || dim < 1) throw new EpgError('config', `StatisticsAccumulator: dim must be a positive integer, got ${dim}`);
    this.shift = new Float64Array(dim);
    this.sum = new Float64Array(dim);
    this.cross = new Float64Array(dim * dim);
    this.buf = new Float64Array(dim * CHUNK_ROWS);
  }

  /** Number of rows added so far. */
  get count(): number {
    return this.n + this.buffered;
  }

  /** Adds `rows` feature vectors stored row-major in `features` (length rows × dim). */
  add(features: ArrayLike<number>, rows = features.length / this.dim): void {
    const d = this.dim;
    if (!Number.isInteger(rows) || features.length !== rows * d) {
      throw new EpgError('shape', `StatisticsAccumulator.add: expected rows × ${d} values, got ${features.length}`);
    }
    for (let r = 0; r < rows; r++) {
      const off = r * d;
      if (!this.hasShift) {
        for (let j = 0; j < d; j++) this.shift[j] = features[off + j];
        this.hasShift = true;
      }
      const slot = this.buffered;
      for (let j = 0; j < d; j++) {
        const v = features[off + j];
        if (!Number.isFinite(v)) {
          throw new EpgError('numeric', `StatisticsAccumulator.add: feature ${j} of row ${this.count} is ${v}; the extractor produced non-finite values`);
        }
        this.buf[j * CHUNK_ROWS + slot] = v - this.shift[j];
      }
      this.buffered++;
      if (this.buffered === CHUNK_ROWS) this.flush();
    }
  }

  /** Folds the buffered rows into the sums: cross[a, b] += Σ_r buf[a, r] buf[b, r] for b ≥ a. */
  private flush(): void {
    const m = this.buffered;
    if (m === 0) return;
    const d = this.dim;
    const buf = this.buf;
    for (let a = 0; a < d; a++) {
      const pa = a * CHUNK_ROWS;
      let s = 0;
      for (let r = 0; r < m; r++) s += buf[pa + r];
      this.sum[a] += s;
    }
    // cross += B Bᵀ (upper triangle), B = buf viewed as [d, m] with row stride CHUNK_ROWS: a float64 rank-m update
    syrkUpperAccumulateF64(buf, d, m, CHUNK_ROWS, this.cross);
    this.n += m;
    this.buffered = 0;
  }

  /** Mean and ddof-1 covariance of everything added (at least two rows). */
  finish(): FeatureStatistics {
    this.flush();
    const n = this.n;
    const d = this.dim;
    if (n < 2) throw new EpgError('config', `StatisticsAccumulator.finish: need at least 2 feature vectors, got ${n}`);
    const mu = new Float64Array(d);
    for (let j = 0; j < d; j++) mu[j] = this.shift[j] + this.sum[j] / n;
    // Σ = (Σ (x−c)(x−c)ᵀ − s sᵀ / n) / (n − 1), s = Σ (x − c)
    const sigma = new Float64Array(d * d);
    for (let a = 0; a < d; a++) {
      const sa = this.sum[a] / n;
      for (let b = a; b < d; b++) {
        const v = (this.cross[a * d + b] - sa * this.sum[b]) / (n - 1);
        sigma[a * d + b] = v;
        sigma[b * d + a] = v;
      }
    }
    return { extractor: this.extractor, dim: d, count: n, mu, sigma };
  }
}

/** Statistics of a row-major [rows, dim] feature matrix in one call. */
export function featureStatistics(features: ArrayLike<number>, dim: number, extractor: string): FeatureStatistics {
  const acc = new StatisticsAccumulator(dim, extractor);
  acc.add(features);
  return acc.finish();
}
