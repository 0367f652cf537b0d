/**
 * The browser entry of @epg/tensor-native (package.json `exports` condition "browser"): the fused ops
 * on their plain tfjs path. There is no addon in a browser, so nativeKernelsActive() stays false and
 * registering kernels, the addon loader and the float64 host BLAS are not offered. Imports no Node module.
 */
export { nativeKernelsActive } from './active';
export {
  layerNorm,
  layerNormReference,
  gelu,
  geluReference,
  linear,
  linearReference,
  attention,
  attentionReference,
  layerNormModulate,
  layerNormModulateReference,
  gatedResidual,
  gatedResidualReference,
  sumSquaresEach,
  nonFiniteEach,
  adamwUpdate,
  adamwUpdateReference,
  emaEach,
  emaEachReference,
} from './fused';
export type { AdamWUpdateParams } from './fused';
export { batchNorm, batchNormTrainReference, batchNormInferenceReference } from './batchnorm';
export type { BatchNormOptions, BatchNormResult } from './batchnorm';
