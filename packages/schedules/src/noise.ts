/**
 * Fine-tuning noise-level samplers and loss weights (docs/method.md §5.1, §5.2, §10.1, §10.2).
 * They are pure functions of standard-normal draws z, which the caller takes from a seeded stream.
 */
import { checkInteger, checkPositive, checkStep } from './check';
import { KARRAS_DEFAULTS, karrasSigma, karrasSigmas, type KarrasOptions } from './karras';

export interface LognormalOptions {
  /** P_mean (default −1.2). */
  readonly pMean?: number;
  /** P_std (default 1.6, EPG DM; EDM uses 1.2). */
  readonly pStd?: number;
}

/** EPG DM: lognormal(−1.2, 1.6) snapped to the 1280-point grid [EPG:configs/imagenet256_denoise.py]. */
export const EPG_DM_NOISE = { pMean: -1.2, pStd: 1.6, gridSize: 1280 } as const;
/** EDM's training distribution lognormal(−1.2, 1.2), unsnapped [EDM Table 1]. */
export const EDM_NOISE = { pMean: -1.2, pStd: 1.2 } as const;

/** σ = exp(P_mean + P_std·z) for a standard-normal z [EDM Table 1]. Defaults: −1.2, 1.6 (EPG). */
export function lognormalSigma(z: number, opts: LognormalOptions = {}): number {
  const pMean = opts.pMean ?? EPG_DM_NOISE.pMean;
  const pStd = opts.pStd ?? EPG_DM_NOISE.pStd;
  checkPositive(pStd, 'pStd', 'lognormalSigma');
  return Math.exp(pMean + pStd * z);
}

/**
 * Index j of the grid point nearest to σ in absolute σ, the first index on ties [EPG:denoiser-train
 * `DenoiseTuneStep`; §10.2]. The grid must be descending (karrasSigmas order). Binary search.
 */
export function snapToGrid(sigma: number, grid: ArrayLike<number>): number {
  const n = grid.length;
  if (n === 0) throw new RangeError('snapToGrid needs a non-empty grid');
  if (!Number.isFinite(sigma)) throw new RangeError(`sigma passed to snapToGrid must be finite, got ${sigma}`);
  // First j with grid[j] <= sigma (n when none).
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (grid[mid] <= sigma) hi = mid;
    else lo = mid + 1;
  }
  if (lo === 0) return 0;
  if (lo === n) return n - 1;
  return sigma - grid[lo] < grid[lo - 1] - sigma ? lo : lo - 1;
}

/**
 * DM loss weights w_j = 1/(σ_j − σ_{j+1}) on the unshifted n-point Karras grid, with σ_n extrapolated by
 * the same formula (≈ 0.001962 for n = 1280) [EPG:denoiser-train; iCT's λ]. Defaults: n = 1280, Karras 0.002/80/7.
 */
export function dmLossWeights(n: number = EPG_DM_NOISE.gridSize, opts: KarrasOptions = {}): Float64Array {
  checkInteger(n, 2, 'n', 'dmLossWeights');
  const grid = karrasSigmas(n, opts);
  const w = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    const next = j + 1 < n ? grid[j + 1] : karrasSigma(n, n, opts);
    w[j] = 1 / (grid[j] - next);
  }
  return w;
}

export interface EctOptions {
  /** P_mean of t (default −0.4). */
  readonly pMean?: number;
  /** P_std of t (default 1.6). */
  readonly pStd?: number;
  /** q (default 2): Δt/t shrinks by q each stage. */
  readonly q?: number;
  /** k (default 8). */
  readonly k?: number;
  /** b (default 1). */
  readonly b?: number;
  /** d, steps per stage (default 100,000). */
  readonly stageSteps?: number;
  /** Clip for t and r (default 0.002, unshifted). */
  readonly sigmaMin?: number;
}

/** ECT stage s = ⌊step/d⌋ + 1 [ECT; EPG:rcm/resample.py]. Default d = 100k. */
export function ectStage(step: number, stageSteps = 100_000): number {
  checkStep(step, 'ectStage');
  checkInteger(stageSteps, 1, 'stageSteps', 'ectStage');
  return Math.floor(step / stageSteps) + 1;
}

/**
 * ECT's `lognormal-ect` (t, r), unshifted [ECT; EPG:rcm/resample.py]: t = max(exp(P_mean + P_std·z), σ_min),
 * r = max(t·(1 − q^{−s}·(1 + k·sigmoid(−b·t))), σ_min), s = ectStage(step). Defaults: −0.4, 1.6, q 2, k 8, b 1,
 * d 100k, σ_min 0.002.
 */
export function ectTimePair(z: number, step: number, opts: EctOptions = {}): { t: number; r: number } {
  const pMean = opts.pMean ?? -0.4;
  const pStd = opts.pStd ?? 1.6;
  const q = opts.q ?? 2;
  const k = opts.k ?? 8;
  const b = opts.b ?? 1;
  const sigmaMin = opts.sigmaMin ?? KARRAS_DEFAULTS.sigmaMin;
  const s = ectStage(step, opts.stageSteps ?? 100_000);
  const t = Math.max(Math.exp(pMean + pStd * z), sigmaMin);
  const sigmoid = 1 / (1 + Math.exp(b * t));
  const r = Math.max(t * (1 - q ** -s * (1 + k * sigmoid)), sigmaMin);
  return { t, r };
}

/** CM weight 1/(t − r) on shifted t, r; 0 when r was clipped up to t (§10.1) [EPG:denoiser-train `ConsisTuneStep`]. */
export function ectLossWeight(t: number, r: number): number {
  return t > r ? 1 / (t - r) : 0;
}
