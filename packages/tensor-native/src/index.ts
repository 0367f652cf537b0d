/**
 * @epg/tensor-native: optional native kernels (OpenBLAS GEMM + C elementwise, reductions, softmax,
 * transpose) for the TensorFlow.js cpu backend, and fused LayerNorm / GELU / linear ops with their
 * gradients. Without the addon everything still works on the stock tfjs kernels.
 */
// Everything the browser entry offers (fused ops on their plain path off the addon), then the Node-only part.
export * from './browser';
export { registerNativeKernels, unregisterNativeKernels, nativeKernelNames, nativeConvAlgorithm } from './register';
export type { NativeKernelsReport, RegisterOptions, ConvAlgorithm } from './register';
export { loadAddon, addonCandidates } from './addon';
export type { NativeAddon, AddonLoad } from './addon';
export { poolStats, clearPool } from './pool';
export { rowProductsF64, syrkUpperAccumulateF64, hostBlasNative } from './host-blas';
export { pivotedCholeskyF64, symmetricEigenvaluesF64, hostLapackNative } from './host-lapack';
