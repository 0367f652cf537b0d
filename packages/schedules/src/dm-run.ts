/**
 * The length-dependent numbers of EPG's diffusion fine-tuning run and their scaled versions for short
 * runs (docs/diffusion.md, "Short runs"). Pure numbers.
 *
 * Reference run [EPG:configs/imagenet256_denoise.py]: 1M steps, 10k linear warm-up, then cosine to 0
 * at 1M; the gradient-norm clip (0.5) applies only after the warm-up. A run of K steps keeps the
 * warm-up at the same fraction of the run (1 %), as cmShortRun does for the CM boundaries.
 */
import { checkInteger } from './check';
import { warmupCosine, type WarmupCosineOptions } from './lr';

export interface DmRunSchedule extends WarmupCosineOptions {
  /** Total optimiser steps K (the cosine reaches 0 here). */
  readonly totalSteps: number;
  /** Linear warm-up length W; the gradient clip starts after it. */
  readonly warmupSteps: number;
}

/** EPG's DM fine-tuning at its full length. */
export const EPG_DM_RUN: DmRunSchedule = Object.freeze({ totalSteps: 1_000_000, warmupSteps: 10_000 });

/**
 * `reference` rescaled to `totalSteps`: W becomes round(W·K/K_ref), kept below K so the cosine part
 * exists. dmShortRun(1_000_000) is EPG_DM_RUN itself; dmShortRun(300) warms up for 3 steps.
 */
export function dmShortRun(totalSteps: number, reference: DmRunSchedule = EPG_DM_RUN): DmRunSchedule {
  checkInteger(totalSteps, 2, 'totalSteps', 'dmShortRun');
  checkInteger(reference.totalSteps, 2, 'reference.totalSteps', 'dmShortRun');
  const warmupSteps = Math.min(Math.round((reference.warmupSteps * totalSteps) / reference.totalSteps), totalSteps - 1);
  return Object.freeze({ totalSteps, warmupSteps });
}

/** The DM LR factor at optimiser step k: warm-up then cosine to 0 (multiply the base LR). */
export function dmLrFactor(k: number, run: DmRunSchedule = EPG_DM_RUN): number {
  return warmupCosine(k, run);
}

/**
 * Whether the gradient clip applies at optimiser step k: only after the warm-up, i.e. once the LR
 * factor has reached 1 at k = W (warmupCosine's ramp includes k = W).
 */
export function dmClipActive(k: number, run: DmRunSchedule = EPG_DM_RUN): boolean {
  return k > run.warmupSteps;
}
