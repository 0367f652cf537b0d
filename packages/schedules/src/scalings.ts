/**
 * Preconditioning scalings, time encodings and σ-dependent loss weights (docs/method.md §3.2, §5.1, §2.1).
 * All σ here are the σ the network sees (shifted in EPG), except where a function says otherwise.
 */
import { checkPositive } from './check';

/** σ_d, the data standard deviation assumed by every EPG/rRCM/EDM config. */
export const SIGMA_DATA = 0.5;

export interface EdmScalings {
  readonly cSkip: number;
  readonly cOut: number;
  readonly cIn: number;
  /** EDM's c_noise = ¼ ln σ. */
  readonly cNoise: number;
}

/**
 * EDM standard preconditioning [EDM Table 1]: c_skip = σ_d²/(σ²+σ_d²), c_out = σσ_d/√(σ²+σ_d²),
 * c_in = 1/√(σ²+σ_d²), c_noise = ¼ ln σ. Default σ_d = 0.5.
 */
export function edmScalings(sigma: number, sigmaData = SIGMA_DATA): EdmScalings {
  checkPositive(sigma, 'sigma', 'edmScalings');
  checkPositive(sigmaData, 'sigmaData', 'edmScalings');
  const s2 = sigma * sigma + sigmaData * sigmaData;
  return {
    cSkip: (sigmaData * sigmaData) / s2,
    cOut: (sigma * sigmaData) / Math.sqrt(s2),
    cIn: 1 / Math.sqrt(s2),
    cNoise: timeValueEdm(sigma),
  };
}

/** c_in = 1/√(σ²+σ_d²) [EDM Table 1]: the only scaling of EPG's pre-training and DM (§3.2). Default σ_d = 0.5. */
export function cIn(sigma: number, sigmaData = SIGMA_DATA): number {
  return 1 / Math.sqrt(sigma * sigma + sigmaData * sigmaData);
}

export interface BoundaryOptions {
  /** σ_d (default 0.5). */
  readonly sigmaData?: number;
  /** σ_min' where f(x, σ_min') = x: rRCM 0.002, EPG 0.002·H/64. Required. */
  readonly sigmaMin: number;
}

export interface BoundaryScalings {
  readonly cSkip: number;
  readonly cOut: number;
  readonly cIn: number;
}

/**
 * Consistency boundary scalings [Song et al. 2023 / openai cm `get_scalings_for_boundary_condition`;
 * rRCM, EPG]: c_skip = σ_d²/((σ−σ_min')²+σ_d²), c_out = (σ−σ_min')σ_d/√(σ²+σ_d²), c_in = 1/√(σ²+σ_d²).
 * So c_skip(σ_min') = 1 and c_out(σ_min') = 0. Default σ_d = 0.5; σ_min' has no default.
 */
export function boundaryScalings(sigma: number, opts: BoundaryOptions): BoundaryScalings {
  const sigmaData = opts.sigmaData ?? SIGMA_DATA;
  checkPositive(sigma, 'sigma', 'boundaryScalings');
  checkPositive(opts.sigmaMin, 'sigmaMin', 'boundaryScalings');
  const d = sigma - opts.sigmaMin;
  const sd2 = sigmaData * sigmaData;
  return {
    cSkip: sd2 / (d * d + sd2),
    cOut: (d * sigmaData) / Math.sqrt(sigma * sigma + sd2),
    cIn: 1 / Math.sqrt(sigma * sigma + sd2),
  };
}

/** The time value EPG feeds to the sinusoidal embedding, rescale_t="cm": 1000·¼·ln σ = 250 ln σ [EPG:rcm/rcm_denoiser.py]. */
export function timeValueCm(sigma: number): number {
  checkPositive(sigma, 'sigma', 'timeValueCm');
  return 250 * Math.log(sigma);
}

/** EDM's c_noise, rescale_t="edm": ¼ ln σ [EDM Table 1]. */
export function timeValueEdm(sigma: number): number {
  checkPositive(sigma, 'sigma', 'timeValueEdm');
  return Math.log(sigma) / 4;
}

export type TimeEncoding = 'cm' | 'edm';

/** The time value for an encoding: 'cm' → 250 ln σ (EPG default), 'edm' → ¼ ln σ. */
export function timeValue(sigma: number, encoding: TimeEncoding = 'cm'): number {
  switch (encoding) {
    case 'cm':
      return timeValueCm(sigma);
    case 'edm':
      return timeValueEdm(sigma);
    default:
      throw new RangeError(`timeValue: unknown encoding '${String(encoding)}', use 'cm' or 'edm'`);
  }
}

/** Inverse of timeValue: σ = exp(τ/250) for 'cm', exp(4τ) for 'edm' (EPG checks the CFG interval this way, §6). */
export function sigmaFromTimeValue(value: number, encoding: TimeEncoding = 'cm'): number {
  switch (encoding) {
    case 'cm':
      return Math.exp(value / 250);
    case 'edm':
      return Math.exp(4 * value);
    default:
      throw new RangeError(`sigmaFromTimeValue: unknown encoding '${String(encoding)}', use 'cm' or 'edm'`);
  }
}

/** EDM's loss weight λ(σ) = (σ²+σ_d²)/(σσ_d)² [EDM §5]; makes the x0 loss equal the unit-variance F loss. Default σ_d = 0.5. */
export function edmLossWeight(sigma: number, sigmaData = SIGMA_DATA): number {
  checkPositive(sigma, 'sigma', 'edmLossWeight');
  return (sigma * sigma + sigmaData * sigmaData) / (sigma * sigmaData) ** 2;
}
