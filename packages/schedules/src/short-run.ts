/**
 * Short runs that keep the shapes of a long one (docs/ssl.md, "Short runs").
 *
 * Every step constant of a pre-training recipe is a length measured in optimiser steps: the
 * curriculum's K, the τ₂ anneal's S, the EMA ramps' D, the LR warm-up W and the run length itself.
 * The rule: a run of K steps uses c·K/K_ref for every constant c of the reference recipe of K_ref
 * steps, rounded to the nearest integer and kept >= 1 (W may stay 0). Every schedule is then the
 * same function of the run fraction k/K, up to that rounding: a 1,000-step CPU run doubles its
 * discretisation at the same fractions, anneals τ₂ over the same first two thirds and ends its warm-up
 * at the same 1/60, as the paper's 600k-step run.
 */
import { checkInteger } from './check';

/** The step constants of a pre-training recipe, all in optimiser steps. */
export interface StepConstants {
  /** Length of the run (the LR cosine reaches 0 here). */
  readonly totalSteps: number;
  /** Linear LR warm-up W. */
  readonly warmupSteps: number;
  /** K of the scale curriculum (N(k) doubles every K' = K/log₂(…) steps). */
  readonly curriculumSteps: number;
  /** S of the τ₂ cosine anneal (τ₂ reaches τ_end at 2S/3). */
  readonly tauSteps: number;
  /** D of rRCM's sigmoid target-EMA ramp, or the length of MoCo v3's momentum cosine. */
  readonly emaRampSteps: number;
}

/** EPG pre-training: 600k steps, 10k warm-up, curriculum, τ₂ and EMA over the whole run [EPG:configs/imagenet256_pretrain.py]. */
export const EPG_PRETRAIN_STEPS: StepConstants = {
  totalSteps: 600_000,
  warmupSteps: 10_000,
  curriculumSteps: 600_000,
  tauSteps: 600_000,
  emaRampSteps: 600_000,
};

/** rRCM ImageNet pre-training: 600k steps, 15k warm-up, D = 600k [rRCM:configs/imagenet_pretrain_rcmb.py]. */
export const RRCM_PRETRAIN_STEPS: StepConstants = {
  totalSteps: 600_000,
  warmupSteps: 15_000,
  curriculumSteps: 600_000,
  tauSteps: 600_000,
  emaRampSteps: 600_000,
};

/**
 * The constants of `reference` rescaled to a run of `totalSteps` steps: c ↦ max(1, round(c·K/K_ref))
 * (a warm-up of 0 stays 0; the warm-up stays shorter than the run).
 */
export function scaleStepConstants(reference: StepConstants, totalSteps: number): StepConstants {
  checkInteger(totalSteps, 2, 'totalSteps', 'scaleStepConstants');
  for (const [k, v] of Object.entries(reference)) checkInteger(v, k === 'warmupSteps' ? 0 : 1, `reference.${k}`, 'scaleStepConstants');
  const ratio = totalSteps / reference.totalSteps;
  const scale = (c: number) => Math.max(1, Math.round(c * ratio));
  return {
    totalSteps,
    warmupSteps: reference.warmupSteps === 0 ? 0 : Math.min(scale(reference.warmupSteps), totalSteps - 1),
    curriculumSteps: scale(reference.curriculumSteps),
    tauSteps: scale(reference.tauSteps),
    emaRampSteps: scale(reference.emaRampSteps),
  };
}
