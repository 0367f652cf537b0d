/**
 * @epg/tensor-native: optional native kernels (OpenBLAS GEMM + C elementwise, reductions, softmax,
 * transpose) for the TensorFlow.js cpu backend, and fused LayerNorm / GELU / linear ops with their
 * gradients. Without the addon everything still works on the stock tfjs kernels.
 */
export { registerNativeKernels, unregisterNativeKernels, nativeKernelsActive, nativeKernelNames, nativeConvAlgorithm } from './register';
export type { NativeKernelsReport, RegisterOptions, ConvAlgorithm } from './register';
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
export { loadAddon, addonCandidates } from './addon';
export type { NativeAddon, AddonLoad } from './addon';
export { poolStats, clearPool } from './pool';
export { rowProductsF64, syrkUpperAccumulateF64, hostBlasNative } from './host-blas';
export { pivotedCholeskyF64, symmetricEigenvaluesF64, hostLapackNative } from './host-lapack';
