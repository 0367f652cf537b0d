export { consistencyDistance, EPG_CM_DISTANCE } from './distance';
export type { DistanceKind, DistanceOptions } from './distance';
export { sampleTimePairs, EPG_CM_ECT } from './pairs';
export type { TimePairs } from './pairs';
export { auxiliaryFeatures, auxiliaryLoss, EPG_CM_AUXILIARY } from './auxiliary';
export type { ContrastiveLoss, AuxiliaryFeatures, AuxiliaryLossOptions } from './auxiliary';
export {
  EPG_CM_CONFIG,
  EPG_CM_OPTIMIZER,
  cmLearningRate,
  prepareConsistencyBatch,
  consistencyLoss,
  consistencyTrainStep,
} from './step';
export type {
  ConsistencyConfig,
  ConsistencyBatchInput,
  ConsistencyBatch,
  ConsistencyLoss,
  ConsistencyStepInput,
  ConsistencyStepResult,
} from './step';
export { sampleConsistencyOneStep, sampleConsistencyMultistep } from './samplers';
export type { ConsistencySamplerOptions, NoiseSource } from './samplers';
