/**
 * Pre-training variants as data (docs/ssl.md, "Variants"): EPG (paper or released-code temperature),
 * rRCM, the MoCo v3 baseline, and the two single-term ablations. Every step constant comes from one
 * `StepConstants` record, so `pretrainConfig(name, { totalSteps })` gives a short run with the shapes of
 * the 600k-step recipe (docs/ssl.md, "Short runs").
 */
import {
  CONTRASTIVE_TAU,
  EPG_CODE_TEMPERATURE,
  EPG_PAPER_TEMPERATURE,
  EPG_PRETRAIN_STEPS,
  EPG_TARGET_EMA,
  RRCM_PRETRAIN_STEPS,
  mocoMomentum,
  rrcmTargetEma,
  scaleStepConstants,
  type CurriculumOptions,
  type StepConstants,
  type TemperatureSchedule,
} from '@epg/schedules';
import { epgError } from '@epg/tensor';

/** The target network's EMA rate as a function of the step. */
export type TargetEmaSchedule =
  | { readonly kind: 'constant'; readonly decay: number }
  | { readonly kind: 'rrcm-sigmoid'; readonly muStart: number; readonly muEnd: number; readonly A: number; readonly decaySteps: number }
  | { readonly kind: 'moco-cosine'; readonly base: number; readonly totalSteps: number };

/** The augmentation-contrastive term on the two views at σ₀, against the EMA target's projector. */
export interface ContrastiveTerm {
  /** τ of this term (0.2 in every recipe). */
  readonly tau: number;
  /** MoCo v3's 2τ factor on the loss (off for rRCM/EPG). */
  readonly twoTauFactor: boolean;
  /** MoCo v3's predictor MLP on the online projector output (hidden width); null for rRCM/EPG. */
  readonly predictorHidden: number | null;
}

/** The representation-consistency term on the LayerNorm'd [CLS], key = online stop-gradient at σ_{i+1}. */
export interface ConsistencyTerm {
  readonly temperature: TemperatureSchedule;
}

export interface PretrainOptimizer {
  /** Peak learning rate of the warm-up–cosine schedule. */
  readonly lr: number;
  readonly beta1: number;
  readonly beta2: number;
  /** Decoupled weight decay, applied to every parameter (`group_wd=False` in EPG/rRCM; MoCo v3 likewise). */
  readonly weightDecay: number;
  /** Global-norm clip after the warm-up (rRCM 2.0), or null (EPG). */
  readonly clipNorm: number | null;
}

export type SslVariant = 'epg' | 'epg-code' | 'rrcm' | 'moco-v3' | 'contrastive-only' | 'consistency-only';

export interface PretrainConfig {
  readonly variant: SslVariant;
  /** null turns the term off (the "consistency only" ablation and MoCo v3 respectively). */
  readonly contrastive: ContrastiveTerm | null;
  readonly consistency: ConsistencyTerm | null;
  /** The scale curriculum (its totalSteps is the scaled curriculum length). */
  readonly curriculum: Required<CurriculumOptions>;
  /** EPG's σ shift H/64 ('epg') or none (rRCM); passed to `noiseSpace` by the caller. */
  readonly shift: 'epg' | 'none';
  readonly targetEma: TargetEmaSchedule;
  /** Parameter-name prefixes kept frozen (rRCM / MoCo v3 freeze the patch embedding, `stop_grad_conv1`). */
  readonly frozen: readonly string[];
  readonly optimizer: PretrainOptimizer;
  /** The run's step constants (already scaled to its length). */
  readonly steps: StepConstants;
}

/** PyTorch state-dict name of the patch embedding, the one @epg/vit uses (docs/vit.md). */
export const PATCH_EMBED_PREFIX = 'patch_embed.';

export interface PretrainConfigOptions {
  /** Length of the run; every step constant is scaled from the 600k-step recipe (default 600,000). */
  readonly totalSteps?: number;
  /** Override the peak LR (e.g. the released script's 6e-4). */
  readonly lr?: number;
}

/**
 * The config of a named variant for a run of `totalSteps` steps (docs/ssl.md, "Variants"):
 * - 'epg': EMA 0.99, paper temperature (τ₁ 0.1, τ₂ cosine 0.2 → 0.1), curriculum 20 → 1280, shift H/64,
 *   AdamW 2e-4 (0.9, 0.999), wd 0.03 on all parameters, 10k/600k warm-up, no clip.
 * - 'epg-code': as 'epg' with the released code's constant τ = 0.1.
 * - 'rrcm': sigmoid EMA 0.99 → 0.9999 (A 10), τ 0.2 on both terms, 20 → 80, no shift, frozen patch
 *   embedding, clip 2.0 after the 15k/600k warm-up.
 * - 'moco-v3': predictor MLP (4096), 2τ factor, τ 0.2, momentum 0.99 → 1 (cosine), frozen patch
 *   embedding, no trajectory term; AdamW 1.5e-4·1024/256 (0.9, 0.95), wd 0.1.
 * - 'contrastive-only' / 'consistency-only': EPG with one term removed.
 */
export function pretrainConfig(variant: SslVariant, opts: PretrainConfigOptions = {}): PretrainConfig {
  const total = opts.totalSteps ?? 600_000;
  const ref = variant === 'rrcm' ? RRCM_PRETRAIN_STEPS : EPG_PRETRAIN_STEPS;
  const steps = scaleStepConstants(ref, total);
  const withSteps = (t: TemperatureSchedule): TemperatureSchedule => (t.kind === 'interpolated' ? { ...t, totalSteps: steps.tauSteps } : t);
  const contrastive: ContrastiveTerm = { tau: CONTRASTIVE_TAU, twoTauFactor: false, predictorHidden: null };
  const epg: PretrainConfig = {
    variant,
    contrastive,
    consistency: { temperature: withSteps(EPG_PAPER_TEMPERATURE) },
    curriculum: { startScales: 20, endScales: 1280, totalSteps: steps.curriculumSteps, variant: 'icm' },
    shift: 'epg',
    targetEma: { kind: 'constant', decay: EPG_TARGET_EMA },
    frozen: [],
    optimizer: { lr: 2e-4, beta1: 0.9, beta2: 0.999, weightDecay: 0.03, clipNorm: null },
    steps,
  };
  let cfg: PretrainConfig;
  switch (variant) {
    case 'epg':
      cfg = epg;
      break;
    case 'epg-code':
      cfg = { ...epg, consistency: { temperature: EPG_CODE_TEMPERATURE } };
      break;
    case 'contrastive-only':
      cfg = { ...epg, consistency: null };
      break;
    case 'consistency-only':
      cfg = { ...epg, contrastive: null };
      break;
    case 'rrcm':
      cfg = {
        ...epg,
        consistency: { temperature: { kind: 'constant', tau: 0.2 } },
        curriculum: { ...epg.curriculum, endScales: 80 },
        shift: 'none',
        targetEma: { kind: 'rrcm-sigmoid', muStart: 0.99, muEnd: 0.9999, A: 10, decaySteps: steps.emaRampSteps },
        frozen: [PATCH_EMBED_PREFIX],
        optimizer: { ...epg.optimizer, clipNorm: 2.0 },
      };
      break;
    case 'moco-v3':
      cfg = {
        ...epg,
        contrastive: { tau: 0.2, twoTauFactor: true, predictorHidden: 4096 },
        consistency: null,
        targetEma: { kind: 'moco-cosine', base: 0.99, totalSteps: steps.emaRampSteps },
        frozen: [PATCH_EMBED_PREFIX],
        optimizer: { lr: 1.5e-4 * 4, beta1: 0.9, beta2: 0.95, weightDecay: 0.1, clipNorm: null },
      };
      break;
    default:
      throw epgError('config', `unknown pre-training variant '${String(variant)}'`, "use 'epg', 'epg-code', 'rrcm', 'moco-v3', 'contrastive-only' or 'consistency-only'");
  }
  return validatePretrainConfig(opts.lr !== undefined ? { ...cfg, optimizer: { ...cfg.optimizer, lr: opts.lr } } : cfg);
}

/** Throws a one-line EpgError naming the first bad field; returns the config unchanged. */
export function validatePretrainConfig(cfg: PretrainConfig): PretrainConfig {
  const bad = (field: string, value: unknown, fix: string) => epgError('config', `pre-training config '${cfg.variant}': ${field} is ${String(value)}`, fix);
  if (!cfg.contrastive && !cfg.consistency) throw bad('the term list', 'empty', 'keep the contrastive term, the consistency term or both');
  if (cfg.contrastive && !(cfg.contrastive.tau > 0 && Number.isFinite(cfg.contrastive.tau))) throw bad('contrastive.tau', cfg.contrastive.tau, 'use a finite τ > 0 such as 0.2');
  const o = cfg.optimizer;
  if (!(o.lr > 0 && Number.isFinite(o.lr))) throw bad('optimizer.lr', o.lr, 'use a finite learning rate > 0');
  if (!(o.weightDecay >= 0)) throw bad('optimizer.weightDecay', o.weightDecay, 'use a weight decay >= 0');
  if (o.clipNorm !== null && !(o.clipNorm > 0)) throw bad('optimizer.clipNorm', o.clipNorm, 'use a norm > 0 or null');
  const t = cfg.targetEma;
  if (t.kind === 'constant' && !(t.decay >= 0 && t.decay <= 1)) throw bad('targetEma.decay', t.decay, 'use a rate in [0, 1] such as 0.99');
  return cfg;
}

/** μ(k) of the target EMA at optimiser step k. */
export function targetEmaAt(schedule: TargetEmaSchedule, step: number): number {
  switch (schedule.kind) {
    case 'constant':
      return schedule.decay;
    case 'rrcm-sigmoid':
      return rrcmTargetEma(step, schedule);
    case 'moco-cosine':
      return mocoMomentum(step, schedule);
    default:
      throw new RangeError(`targetEmaAt: unknown schedule kind '${String((schedule as { kind: unknown }).kind)}'`);
  }
}
