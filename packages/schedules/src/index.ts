export { warmupCosine, warmupStep, EPG_CM_WARMUP_STEP } from './lr';
export type { WarmupCosineOptions, WarmupStepOptions } from './lr';
