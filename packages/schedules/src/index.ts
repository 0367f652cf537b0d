export { warmupCosine, warmupStep, EPG_CM_WARMUP_STEP } from './lr';
export type { WarmupCosineOptions, WarmupStepOptions } from './lr';
export { KARRAS_DEFAULTS, karrasSigma, karrasSigmas, noiseShift, samplingSigmas } from './karras';
export type { KarrasOptions, SamplingSigmasOptions } from './karras';
export {
  SIGMA_DATA,
  edmScalings,
  cIn,
  boundaryScalings,
  timeValueCm,
  timeValueEdm,
  timeValue,
  sigmaFromTimeValue,
  edmLossWeight,
} from './scalings';
export type { EdmScalings, BoundaryOptions, BoundaryScalings, TimeEncoding } from './scalings';
export { EPG_CURRICULUM, RRCM_CURRICULUM, curriculumStageLength, curriculumScales } from './curriculum';
export type { CurriculumOptions, CurriculumVariant } from './curriculum';
export { EPG_TARGET_EMA, rrcmTargetEma, mocoMomentum } from './ema';
export type { SigmoidEmaOptions, MocoMomentumOptions } from './ema';
export { EPG_PRETRAIN_STEPS, RRCM_PRETRAIN_STEPS, scaleStepConstants } from './short-run';
export type { StepConstants } from './short-run';
export {
  CONTRASTIVE_TAU,
  EPG_CODE_TEMPERATURE,
  EPG_PAPER_TEMPERATURE,
  cosineTau2,
  interpolatedTau,
  temperature,
} from './temperature';
export type { CosineTauOptions, InterpolatedTauOptions, TemperatureSchedule } from './temperature';
export {
  EPG_DM_NOISE,
  EDM_NOISE,
  lognormalSigma,
  snapToGrid,
  dmLossWeights,
  ectStage,
  ectTimePair,
  ectLossWeight,
} from './noise';
export type { LognormalOptions, EctOptions } from './noise';
export { EPG_GUIDANCE_INTERVAL, inGuidanceInterval } from './guidance';
export type { GuidanceIntervalOptions } from './guidance';
export { noiseSpace, toShifted, toUnshifted, shiftedGrid, guidanceActive } from './noise-space';
export type { NoiseSpace, NoiseSpaceOptions } from './noise-space';
export { EPG_CM_RUN, cmShortRun } from './cm-run';
export type { CmRunSchedule } from './cm-run';
export { EPG_DM_RUN, dmShortRun, dmLrFactor, dmClipActive } from './dm-run';
export type { DmRunSchedule } from './dm-run';
