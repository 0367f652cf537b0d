export { x0Denoiser, edmDenoiser, boundaryDenoiser } from './precondition';
export { classifierFreeGuidance, createEvaluationCounter } from './guidance';
export type { EvaluationCounter, GuidanceOptions } from './guidance';
export { sampleEuler, sampleHeun, sampleEdmStochastic } from './samplers';
export type { ChurnOptions } from './samplers';
export { PerSampleNoise, latentsFromSeeds } from './noise';
export {
  EPG_DM_CONFIG,
  EDM_CONFIG,
  sampleTrainingSigmas,
  denoisingLoss,
  diffusionTrainStep,
} from './loss';
export type { TrainingNoise, LossWeighting, DenoisingConfig, TrainingSigmas, DiffusionStepInput } from './loss';
export { EPG_DM_OPTIMIZER, dmLearningRate } from './optimizer';
