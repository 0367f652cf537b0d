/**
 * EPG's temperature for the representation-consistency loss (docs/method.md §3.6, §9 Q1).
 * σ here is the UNSHIFTED σ_n (the code passes t·64/H).
 */
import { checkInteger, checkPositive, checkStep } from './check';
import { KARRAS_DEFAULTS } from './karras';

/** τ of the augmentation-contrastive term, fixed in both repos. */
export const CONTRASTIVE_TAU = 0.2;

export interface CosineTauOptions {
  /** τ_start (default 0.2, inferred in §9 Q1 from continuity). */
  readonly tauStart?: number;
  /** τ_end (default 0.1). */
  readonly tauEnd?: number;
  /** S, the length of the run (default 600,000). */
  readonly totalSteps?: number;
}

/**
 * τ₂(k) = τ_start + τ_end·cos(π/2·(1 + 1.5k/S)) for k ≤ 2S/3, else τ_end [EPG:rcm/utils.py `cosine_tau`].
 * Continuous at 2S/3 only when τ_start = 2τ_end. Defaults: 0.2, 0.1, 600k.
 */
export function cosineTau2(step: number, opts: CosineTauOptions = {}): number {
  checkStep(step, 'cosineTau2');
  const tauStart = opts.tauStart ?? 0.2;
  const tauEnd = opts.tauEnd ?? 0.1;
  const S = opts.totalSteps ?? 600_000;
  checkInteger(S, 1, 'totalSteps', 'cosineTau2');
  if (3 * step > 2 * S) return tauEnd;
  return tauStart + tauEnd * Math.cos((Math.PI / 2) * (1 + (1.5 * step) / S));
}

export interface InterpolatedTauOptions {
  /** σ_min of the unshifted grid (default 0.002). */
  readonly sigmaMin?: number;
  /** σ_max of the unshifted grid (default 80). */
  readonly sigmaMax?: number;
}

/**
 * τ(σ) = τ₁(σ_max − σ)/(σ_max − σ_min) + τ₂(σ − σ_min)/(σ_max − σ_min): linear in unshifted σ, not in the
 * grid index [EPG:denoiser-train `get_tau`]. Defaults: σ_min 0.002, σ_max 80.
 */
export function interpolatedTau(sigma: number, tau1: number, tau2: number, opts: InterpolatedTauOptions = {}): number {
  checkPositive(sigma, 'sigma', 'interpolatedTau');
  const lo = opts.sigmaMin ?? KARRAS_DEFAULTS.sigmaMin;
  const hi = opts.sigmaMax ?? KARRAS_DEFAULTS.sigmaMax;
  return (tau1 * (hi - sigma)) / (hi - lo) + (tau2 * (sigma - lo)) / (hi - lo);
}

export type TemperatureSchedule =
  | { readonly kind: 'constant'; readonly tau: number }
  | ({ readonly kind: 'interpolated'; readonly tau1: number } & CosineTauOptions & InterpolatedTauOptions);

/** What the released EPG code runs: `tau_schedule="constant"`, τ = 0.1 [EPG:configs/imagenet256_pretrain.py]. */
export const EPG_CODE_TEMPERATURE: TemperatureSchedule = { kind: 'constant', tau: 0.1 };
/** The paper's schedule with the values §9 Q1 recommends: τ₁ 0.1, τ₂ cosine 0.2 → 0.1 over 600k steps. */
export const EPG_PAPER_TEMPERATURE: TemperatureSchedule = {
  kind: 'interpolated',
  tau1: 0.1,
  tauStart: 0.2,
  tauEnd: 0.1,
  totalSteps: 600_000,
};

/** τ of the consistency loss at unshifted σ and step k, for either schedule [EPG:denoiser-train `get_tau`]. */
export function temperature(schedule: TemperatureSchedule, sigma: number, step: number): number {
  switch (schedule.kind) {
    case 'constant':
      checkPositive(schedule.tau, 'tau', 'temperature');
      return schedule.tau;
    case 'interpolated':
      return interpolatedTau(sigma, schedule.tau1, cosineTau2(step, schedule), schedule);
    default:
      throw new RangeError(`temperature: unknown schedule kind '${String((schedule as { kind: unknown }).kind)}'`);
  }
}
