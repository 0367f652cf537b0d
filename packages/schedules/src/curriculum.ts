/**
 * The discretisation ("scale") curriculum of consistency-style pre-training (docs/method.md §3.4, §10.9):
 * how many Karras grid points N the pre-training step uses at optimiser step k.
 */
import { checkInteger, checkStep } from './check';

export type CurriculumVariant = 'icm' | 'ict';

export interface CurriculumOptions {
  /** s₀ (default 20, EPG and rRCM). */
  readonly startScales?: number;
  /** s₁ (default 1280, EPG; rRCM uses 80). */
  readonly endScales?: number;
  /** K, the length of the run (default 600,000, EPG and rRCM ImageNet pre-training). */
  readonly totalSteps?: number;
  /** 'icm' = the ceil form of rRCM/EPG (default); 'ict' = iCT's floor form. */
  readonly variant?: CurriculumVariant;
}

/** EPG pre-training: 20 → 1280 over 600k steps, ceil form [EPG:configs/imagenet256_pretrain.py]. */
export const EPG_CURRICULUM = { startScales: 20, endScales: 1280, totalSteps: 600_000, variant: 'icm' } as const;
/** rRCM ImageNet pre-training: 20 → 80 over 600k steps [rRCM:configs/imagenet_pretrain_rcmb.py]. */
export const RRCM_CURRICULUM = { startScales: 20, endScales: 80, totalSteps: 600_000, variant: 'icm' } as const;

/**
 * Stage length K'. 'icm' [rRCM:rrcm/utils.py `icm_scale`, EPG:rcm/utils.py]: ceil(K / log₂(ceil(s₁/s₀) + 1)).
 * 'ict' [iCT §3.3]: floor(K / (log₂ floor(s₁/s₀) + 1)), with log₂ of exact powers of two taken exactly
 * (§10.9). Defaults: 20, 1280, 600k, 'icm'.
 */
export function curriculumStageLength(opts: CurriculumOptions = {}): number {
  const { startScales: s0, endScales: s1, totalSteps: K, variant } = resolve(opts, 'curriculumStageLength');
  if (variant === 'icm') return Math.ceil(K / Math.log2(Math.ceil(s1 / s0) + 1));
  return Math.floor(K / (exactLog2(Math.floor(s1 / s0)) + 1));
}

/**
 * N(k) = min(s₀·2^{⌈k/K'⌉}, s₁) + 1 ('icm', bug-compatible: N = s₀+1 only at k = 0, §9 Q11) or
 * min(s₀·2^{⌊k/K'⌋}, s₁) + 1 ('ict') [sources as curriculumStageLength]. Defaults: 20, 1280, 600k, 'icm',
 * giving 21 @0, 41 ≤ 99,629, 81 ≤ 199,258, …, 1281 after 498,145.
 */
export function curriculumScales(step: number, opts: CurriculumOptions = {}): number {
  checkStep(step, 'curriculumScales');
  const r = resolve(opts, 'curriculumScales');
  const stageLength = curriculumStageLength(r);
  const stage = r.variant === 'icm' ? Math.ceil(step / stageLength) : Math.floor(step / stageLength);
  // 2^stage overflows nothing before the min: stage <= step, and s₀·2^stage saturates at s₁.
  return Math.min(r.startScales * 2 ** Math.min(stage, 1024), r.endScales) + 1;
}

/** log₂ that is exact for powers of two (Math.log2 is not guaranteed exact by the spec). */
function exactLog2(x: number): number {
  if (Number.isSafeInteger(x) && x > 0 && (x & (x - 1)) === 0 && x <= 2 ** 30) return 31 - Math.clz32(x);
  return Math.log2(x);
}

function resolve(opts: CurriculumOptions, fn: string): Required<CurriculumOptions> {
  const r = {
    startScales: opts.startScales ?? EPG_CURRICULUM.startScales,
    endScales: opts.endScales ?? EPG_CURRICULUM.endScales,
    totalSteps: opts.totalSteps ?? EPG_CURRICULUM.totalSteps,
    variant: opts.variant ?? EPG_CURRICULUM.variant,
  };
  checkInteger(r.startScales, 1, 'startScales', fn);
  checkInteger(r.endScales, r.startScales, 'endScales', fn);
  checkInteger(r.totalSteps, 1, 'totalSteps', fn);
  if (r.variant !== 'icm' && r.variant !== 'ict') throw new RangeError(`variant passed to ${fn} must be 'icm' or 'ict', got '${String(r.variant)}'`);
  return r;
}
