/**
 * Learning-rate factors as pure functions of the 0-based optimiser step k (multiply the base LR).
 * The first update uses k = 0, so with warm-up it is taken at factor 0 (no movement) — as in
 * EPG/rRCM, whose schedulers are queried at the step counter before it is incremented.
 */

export interface WarmupCosineOptions {
  /** Linear warm-up length W (factor k/W for k <= W). */
  readonly warmupSteps: number;
  /** Total steps K: the cosine reaches 0 at k = K and stays 0 after. */
  readonly totalSteps: number;
}

/**
 * Warm-up then cosine to zero [EPG:rcm/utils.py, rRCM:rrcm/utils.py; MoCo v3]:
 * k/W for k <= W, ½(1 + cos(π (k−W)/(K−W))) for W < k <= K, 0 after K.
 * EPG pre-training: W = 10k, K = 600k. EPG DM fine-tuning: W = 10k, K = 1M.
 */
export function warmupCosine(k: number, { warmupSteps: W, totalSteps: K }: WarmupCosineOptions): number {
  checkStep(k);
  if (!(W >= 0 && K > W)) throw new RangeError(`warmupCosine needs 0 <= warmupSteps < totalSteps, got ${W}, ${K}`);
  if (k <= W) return W === 0 ? 1 : k / W;
  if (k > K) return 0;
  return 0.5 * (1 + Math.cos((Math.PI * (k - W)) / (K - W)));
}

export interface WarmupStepOptions {
  /** Linear warm-up length W (factor k/W for k <= W). */
  readonly warmupSteps: number;
  /** Increasing step boundaries b_0 < b_1 < ...: the factor changes after each (inclusive upper end). */
  readonly boundaries: readonly number[];
  /** factors[i] applies for b_{i-1} < k <= b_i; one more factor than boundaries. */
  readonly factors: readonly number[];
}

/** EPG CM fine-tuning's "warmup-step" [EPG:cm-train-cfg]: 10k warm-up, ×1 to 400k, ×0.3 to 500k, ×0.08 after. */
export const EPG_CM_WARMUP_STEP: WarmupStepOptions = {
  warmupSteps: 10_000,
  boundaries: [400_000, 500_000],
  factors: [1.0, 0.3, 0.08],
};

/**
 * Warm-up then piecewise-constant factors. "×1.0 until 400k" is inclusive: step 400k still uses
 * factors[0], step 400k+1 uses factors[1] (docs/method.md §10.3).
 */
export function warmupStep(k: number, { warmupSteps: W, boundaries, factors }: WarmupStepOptions): number {
  checkStep(k);
  if (factors.length !== boundaries.length + 1) {
    throw new RangeError(`warmupStep needs one more factor than boundaries, got ${factors.length} and ${boundaries.length}`);
  }
  for (let i = 1; i < boundaries.length; i++) {
    if (!(boundaries[i] > boundaries[i - 1])) throw new RangeError('warmupStep boundaries must increase');
  }
  let i = 0;
  while (i < boundaries.length && k > boundaries[i]) i++;
  const warm = W > 0 && k <= W ? k / W : 1;
  return warm * factors[i];
}

function checkStep(k: number): void {
  if (!Number.isInteger(k) || k < 0) throw new RangeError(`step must be a non-negative integer, got ${k}`);
}
