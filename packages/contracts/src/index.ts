export type {
  Sigmas,
  TimeValues,
  NetworkCall,
  NetworkFn,
  EncoderOutput,
  EncoderFn,
  Cond,
  Denoiser,
  Encoder,
  Scalings,
  ScalingsFn,
  SampleResult,
  SamplerOptions,
  Sampler,
} from './types';
export { checkSigmas, fillSigmas, timeValues, scaleRows, rowTensor, checkImages } from './host';
export {
  networkInput,
  x0Scalings,
  edmPreconditioning,
  boundaryPreconditioning,
  precondition,
  encoderAt,
} from './precondition';
export type { NetworkInput } from './precondition';
export { VARIANT_API_VERSION, VARIANT_KINDS, VARIANT_FUNCTION, defineVariant, variantProblem } from './variant';
export type {
  VariantKind,
  Variant,
  VariantOf,
  PretrainLossVariant,
  TauScheduleVariant,
  CmDistanceVariant,
  PairLossFn,
  TauScheduleFn,
  CmDistanceFn,
} from './variant';
