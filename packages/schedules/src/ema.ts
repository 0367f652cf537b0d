/** Target-network EMA rates (docs/method.md §3.5): rRCM's sigmoid schedule and EPG's constant. */
import { checkInteger, checkStep } from './check';

/** EPG pre-training's fixed target EMA `train.target_ema` [EPG:configs/imagenet256_pretrain.py]. */
export const EPG_TARGET_EMA = 0.99;

export interface SigmoidEmaOptions {
  /** μ_start (default 0.99). */
  readonly muStart?: number;
  /** μ_end (default 0.9999). */
  readonly muEnd?: number;
  /** Steepness A (default 10, rRCM ImageNet; CIFAR uses 15). */
  readonly A?: number;
  /** D = `ema_decay_steps` (default 600,000, rRCM ImageNet; CIFAR 300k). */
  readonly decaySteps?: number;
}

/**
 * rRCM's "sigmoid" target EMA [rRCM:rrcm/utils.py `create_ema_and_scales_fn`]:
 * e = √((k/D)(μ_end² − μ_start²) + μ_start²) for k < D else μ_end; c = 2/(1 + exp(−A(e − μ_start)/(μ_end − μ_start))) − 1;
 * μ = c·μ_end + (1 − c)·μ_start. Defaults: 0.99, 0.9999, A = 10, D = 600k.
 */
export function rrcmTargetEma(step: number, opts: SigmoidEmaOptions = {}): number {
  checkStep(step, 'rrcmTargetEma');
  const muStart = opts.muStart ?? 0.99;
  const muEnd = opts.muEnd ?? 0.9999;
  const A = opts.A ?? 10;
  const D = opts.decaySteps ?? 600_000;
  checkInteger(D, 1, 'decaySteps', 'rrcmTargetEma');
  if (!(muEnd !== muStart)) throw new RangeError(`rrcmTargetEma needs muStart != muEnd, got ${muStart}`);
  const e = step < D ? Math.sqrt((step / D) * (muEnd ** 2 - muStart ** 2) + muStart ** 2) : muEnd;
  const c = 2 / (1 + Math.exp((-A * (e - muStart)) / (muEnd - muStart))) - 1;
  return c * muEnd + (1 - c) * muStart;
}

export interface MocoMomentumOptions {
  /** m₀ at step 0 (default 0.99, MoCo v3's ViT recipe `--moco-m`). */
  readonly base?: number;
  /** K, the run length over which m rises to 1 (default 600,000). */
  readonly totalSteps?: number;
}

/**
 * MoCo v3's momentum schedule [MoCo3 main_moco.py `adjust_moco_momentum`]: m(k) = 1 − (1 − m₀)·(cos(πk/K) + 1)/2,
 * rising from m₀ at k = 0 to 1 at k = K (held at 1 after). Defaults: m₀ 0.99, K 600k.
 */
export function mocoMomentum(step: number, opts: MocoMomentumOptions = {}): number {
  checkStep(step, 'mocoMomentum');
  const base = opts.base ?? 0.99;
  const K = opts.totalSteps ?? 600_000;
  checkInteger(K, 1, 'totalSteps', 'mocoMomentum');
  if (!(base >= 0 && base <= 1)) throw new RangeError(`base passed to mocoMomentum must be in [0, 1], got ${base}`);
  const k = Math.min(step, K);
  return 1 - ((1 - base) * (Math.cos((Math.PI * k) / K) + 1)) / 2;
}
