/**
 * EPG's DM fine-tuning optimiser and LR schedule [EPG:configs/imagenet256_denoise.py] (docs/diffusion.md,
 * "Short runs"): AdamW lr 1e-4, betas (0.9, 0.999), weight decay 0.01 (none on the position embedding
 * and the class token: the caller's parameter groups, @epg/vit `finetuneParamGroups`), 10k warm-up then
 * cosine to 0 at 1M steps, gradient-norm clip 0.5 after the warm-up.
 */
import { EPG_DM_RUN, dmLrFactor, type DmRunSchedule } from '@epg/schedules';
import type { AdamWOptions } from '@epg/tensor';

export const EPG_DM_OPTIMIZER = Object.freeze({ lr: 1e-4, beta1: 0.9, beta2: 0.999, weightDecay: 0.01, clipNorm: 0.5 });

/** baseLr · dmLrFactor(step, run), for AdamWOptions.lr (dmShortRun(K) for a K-step run). */
export function dmLearningRate(baseLr: number = EPG_DM_OPTIMIZER.lr, run: DmRunSchedule = EPG_DM_RUN): AdamWOptions['lr'] {
  if (!(baseLr > 0 && Number.isFinite(baseLr))) throw new RangeError(`baseLr passed to dmLearningRate must be a finite number > 0, got ${baseLr}`);
  return (step: number) => baseLr * dmLrFactor(step, run);
}
