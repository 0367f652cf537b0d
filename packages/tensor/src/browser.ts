/**
 * The browser entry of @epg/tensor (package.json `exports` condition "browser"): everything the model
 * and method packages need at run time that imports no Node module. Left out: backend choice
 * (initBackend loads tfjs-node / native kernels; a page picks a tfjs browser backend itself), the
 * checkpoint files (node:fs), the PyTorch checkpoint reader, native kernel registration and the
 * float64 host BLAS. decodeSafetensors works on bytes, so a page can read a fetched .safetensors.
 *
 * It imports tfjs-core only, not the '@tensorflow/tfjs' umbrella of index.ts, plus the chained tensor
 * methods (x.reshape(…), used throughout the packages) that the umbrella registers. tfjs-core's ESM
 * build (what bundlers take) registers no gradients either: a page that trains imports
 * '@tensorflow/tfjs-core/dist/register_all_gradients'; one that only samples needs none.
 */
import '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops';
export {
  layerNorm as fusedLayerNorm,
  gelu as fusedGelu,
  linear as fusedLinear,
  attention as fusedAttention,
  layerNormModulate as fusedLayerNormModulate,
  gatedResidual as fusedGatedResidual,
  batchNorm as fusedBatchNorm,
  nativeKernelsActive,
} from '@epg/tensor-native';
export { EpgError, epgError, isEpgError, toEpgError } from './errors';
export type { EpgErrorKind } from './errors';
export { RandomStream, hashString, mixSeeds } from './random';
export type { RandomState } from './random';
export { normalTensor, uniformTensor, truncatedNormalTensor } from './random-tensors';
export { ParameterStore, arraysEqual } from './params';
export type { ParamEntry, ParamKind, AddOptions } from './params';
export { stopGradient, globalNorm, clipByGlobalNorm, disposeAll } from './gradients';
export type { NamedTensors } from './gradients';
export { AdamW, toHost, validateAdamWOptions } from './optim/adamw';
export type { ApplyResult, AdamWOptions, AdamWState, ParamGroup, HostTensor } from './optim/adamw';
export { emaUpdate } from './ema';
export { trainStep, validateStepOptions, DEFAULT_MAX_CONSECUTIVE_SKIPS } from './train-step';
export type { LossOutput, SkipReason, StepResult, StepOptions } from './train-step';
export { decodeSafetensors, CheckpointFormatError } from './checkpoint/safetensors';
export type { SafetensorsDtype, HostArray, NamedHostTensor, DecodedSafetensors } from './checkpoint/safetensors';
// Restoring from a checkpoint already in memory (no file access); reading files stays in index.ts.
export { CHECKPOINT_FORMAT, CHECKPOINT_VERSION, CheckpointError, restoreStore, restoreOptimizer } from './checkpoint/restore';
export type { CheckpointSidecar, LoadedCheckpoint, RestoreOptions } from './checkpoint/restore';
export { orThrow } from './errors';
