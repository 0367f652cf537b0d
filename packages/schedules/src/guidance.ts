/** The σ-interval of guidance (docs/method.md §6) [Kynkäänniemi et al. 2024, arXiv 2404.07724; EPG:sample.py]. */
import { checkPositive } from './check';

export interface GuidanceIntervalOptions {
  /** Noise shift H/64 applied to the thresholds: required (rRCM: 1); guidanceActive(space, σ) is the usual route. */
  readonly shift: number;
  /** Exclusive lower bound in unshifted σ (default 0.19). */
  readonly low?: number;
  /** Inclusive upper bound in unshifted σ (default 1.61). */
  readonly high?: number;
}

/** EPG's interval: guidance on for shifted σ in (0.19·H/64, 1.61·H/64] [EPG:rcm/rcm_denoiser.py@91b7383]. */
export const EPG_GUIDANCE_INTERVAL = { low: 0.19, high: 1.61 } as const;

/** True when the (shifted) σ lies in (low·shift, high·shift]. Defaults: low 0.19, high 1.61; shift has none. */
export function inGuidanceInterval(sigma: number, opts: GuidanceIntervalOptions): boolean {
  const shift = opts?.shift;
  checkPositive(shift, 'shift', 'inGuidanceInterval');
  const low = opts.low ?? EPG_GUIDANCE_INTERVAL.low;
  const high = opts.high ?? EPG_GUIDANCE_INTERVAL.high;
  return sigma > low * shift && sigma <= high * shift;
}
