// tfjs-core's CommonJS build ships no gradient definitions: the umbrella package registers them
// (and registers, without choosing, the cpu backend). Every package gets them through @epg/tensor.
import '@tensorflow/tfjs';
// The browser entry's list is repeated below, not re-exported (`export * from './browser'`): browser.ts
// imports tfjs-core's ESM-only chained-op registration, which Node's CommonJS loader cannot resolve.
// browser.test.ts checks that both entries offer the same functions.

export { initBackend, backendReport, formatReport, BackendError, BACKEND_ORDER } from './backend';
export type { BackendName, BackendReport, InitBackendOptions } from './backend';
// Fused ops: one native pass each on the cpu backend with native kernels, the plain tfjs
// composition elsewhere. Models use these so that they get the fast path wherever it exists.
export {
  layerNorm as fusedLayerNorm,
  gelu as fusedGelu,
  linear as fusedLinear,
  attention as fusedAttention,
  layerNormModulate as fusedLayerNormModulate,
  gatedResidual as fusedGatedResidual,
  batchNorm as fusedBatchNorm,
  registerNativeKernels,
  unregisterNativeKernels,
  nativeKernelsActive,
  nativeConvAlgorithm,
} from '@epg/tensor-native';
export type { NativeKernelsReport, ConvAlgorithm } from '@epg/tensor-native';
// Float64 host products (OpenBLAS when built, JS otherwise) for statistics that need double precision.
export { rowProductsF64, syrkUpperAccumulateF64, hostBlasNative, pivotedCholeskyF64, symmetricEigenvaluesF64, hostLapackNative } from '@epg/tensor-native';
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
export { encodeSafetensors, decodeSafetensors, CheckpointFormatError } from './checkpoint/safetensors';
export type { SafetensorsDtype, HostArray, NamedHostTensor, DecodedSafetensors } from './checkpoint/safetensors';
export {
  saveCheckpoint,
  readCheckpoint,
  restoreStore,
  restoreOptimizer,
  checkpointPaths,
  generationPaths,
  listCheckpointGenerations,
  nodeCheckpointFs,
  writeFileAtomic,
  collectTensors,
  orThrow,
  CheckpointError,
  CHECKPOINT_FORMAT,
  CHECKPOINT_VERSION,
  CHECKPOINT_PAUSE_PHASES,
} from './checkpoint/checkpoint';
export type {
  CheckpointFs,
  CheckpointPausePhase,
  CheckpointSidecar,
  LoadedCheckpoint,
  ReadOptions,
  RestoreOptions,
  SaveCheckpointInput,
  SaveOptions,
} from './checkpoint/checkpoint';
// PyTorch checkpoints (torch.save zip files) read without Python: see README, "PyTorch checkpoints".
export {
  decodeTorchCheckpoint,
  readTorchCheckpoint,
  selectPath,
  listCheckpoint,
  torchStateDict,
  isStateDict,
  tensorBytes,
  toHostTensor,
  TorchTensor,
  TorchStorage,
  PyObject,
  readStateDict,
  decodeStateDict,
  sniffWeightsFormat,
  zipEntries,
  readZipEntry,
  bufferSource,
  fileSource,
} from './torch';
export type { TorchCheckpoint, TorchDtype, CheckpointEntry, StateDictOptions, WeightsFormat, ZipEntry, ByteSource } from './torch';
