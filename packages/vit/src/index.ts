export {
  PRESETS,
  EXTRA_TOKENS,
  getPreset,
  presetNames,
  patchSizeFor,
  validateConfig,
  tokenLayout,
  inferShapes,
} from './config';
export type { ViTConfig, TransformerSize, ProjectorSize, PresetName, InferredShapes } from './config';
export { paramCounts, flopCounts, blockParams } from './counts';
export type { ParamCounts, FlopCounts } from './counts';
export {
  NORM_EPS,
  BN_MOMENTUM,
  linear,
  layerNorm,
  gelu,
  silu,
  attention,
  mlp,
  batchNorm1d,
  timestepEmbedding,
  patchify,
  unpatchify,
  embed,
} from './layers';
export type { AttentionWeights, BatchNormState } from './layers';
export {
  buildPretrainModel,
  buildFinetuneNetwork,
  makeEncoderFn,
  makeNetworkFn,
  copyEncoderWeights,
  isEncoderParam,
  dropoutMask,
} from './model';
export type { InitScheme, BuildOptions } from './model';
export {
  TORCH_NAME_RULES,
  TORCH_IGNORED,
  layoutOf,
  fromTorchLayout,
  toTorchLayout,
  loadTorchStateDict,
  exportTorchStateDict,
} from './namemap';
export type { Layout, NameRule, LoadOptions, LoadReport, TorchLayoutTensor } from './namemap';
export { layerId, topLayerId, isNoDecayParam, finetuneParamGroups, assembleFinetune, freezeEncoder } from './finetune';
export type { LayerDecayMode, FinetuneGroupOptions, AssembleOptions, Assembled } from './finetune';
export { EXPORT_FORMAT, EXPORT_VERSION, EXPORT_WEIGHTS, EXPORT_MANIFEST, checkExportManifest } from './export-manifest';
export type { ExportManifest } from './export-manifest';
