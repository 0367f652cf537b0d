export { ntXent, l2Normalize, temperaturesFor } from './nt-xent';
export type { NtXentOptions, Temperatures } from './nt-xent';
export { pretrainConfig, validatePretrainConfig, targetEmaAt, PATCH_EMBED_PREFIX } from './config';
export type {
  PretrainConfig,
  PretrainConfigOptions,
  PretrainOptimizer,
  SslVariant,
  TargetEmaSchedule,
  ContrastiveTerm,
  ConsistencyTerm,
} from './config';
export { Pretrainer, pretrainParamGroups, freezeParameters } from './pretrain';
export type { PretrainNetworks, PretrainBatch, PretrainerOptions, PretrainStepResult, PreparedStep } from './pretrain';
export { addPredictor, predictorForward } from './predictor';
