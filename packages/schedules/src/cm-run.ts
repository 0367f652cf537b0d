/**
 * The length-dependent numbers of EPG's consistency fine-tuning run, and their scaled versions for
 * short runs (docs/consistency.md, "Short runs"). Pure numbers.
 *
 * Reference run: 700k steps (the paper's length, docs/consistency.md), ECT stages of 100k steps
 * [EPG:cm-train-cfg; ECT], and the warm-up-step LR of EPG_CM_WARMUP_STEP (10k warm-up, ×1 to 400k,
 * ×0.3 to 500k, ×0.08 after). A run of K steps keeps every boundary at the same *fraction* of the run,
 * so Δt/t halves the same number of times and the LR drops at the same relative points.
 */
import { checkInteger } from './check';
import { EPG_CM_WARMUP_STEP, type WarmupStepOptions } from './lr';

export interface CmRunSchedule {
  /** Total optimiser steps K. */
  readonly totalSteps: number;
  /** ECT stage length d: stage s = ⌊step/d⌋ + 1 (ectStage / EctOptions.stageSteps). */
  readonly stageSteps: number;
  /** The warm-up-step LR factors (warmupStep). */
  readonly lr: WarmupStepOptions;
}

/** EPG's consistency run at its full length. */
export const EPG_CM_RUN: CmRunSchedule = Object.freeze({
  totalSteps: 700_000,
  stageSteps: 100_000,
  lr: EPG_CM_WARMUP_STEP,
});

/**
 * `reference` rescaled to `totalSteps`: each step count n becomes round(n·K/K_ref); the stage length
 * is at least 1 and the LR boundaries stay strictly increasing (each at least one step after the
 * previous), so tiny runs remain valid schedules. cmShortRun(700_000) is EPG_CM_RUN itself.
 */
export function cmShortRun(totalSteps: number, reference: CmRunSchedule = EPG_CM_RUN): CmRunSchedule {
  checkInteger(totalSteps, 1, 'totalSteps', 'cmShortRun');
  checkInteger(reference.totalSteps, 1, 'reference.totalSteps', 'cmShortRun');
  const scale = (n: number) => Math.round((n * totalSteps) / reference.totalSteps);
  const boundaries: number[] = [];
  for (const b of reference.lr.boundaries) {
    const prev = boundaries.length > 0 ? boundaries[boundaries.length - 1] : 0;
    boundaries.push(Math.max(scale(b), prev + 1));
  }
  return Object.freeze({
    totalSteps,
    stageSteps: Math.max(1, scale(reference.stageSteps)),
    lr: Object.freeze({
      warmupSteps: scale(reference.lr.warmupSteps),
      boundaries: Object.freeze(boundaries),
      factors: reference.lr.factors,
    }),
  });
}
