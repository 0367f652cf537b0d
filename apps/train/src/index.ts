export { RunConfigC, decodeRunConfig, parseSet, setField, applyPatch } from './config';
export type { RunConfig, ConfigPatch } from './config';
export { PRESETS, VARIANTS, resolveConfig } from './presets';
export type { ResolveRequest } from './presets';
export { parseTrainArgs, USAGE } from './args';
export type { TrainArgs, Command } from './args';
export { checkRunDir, initRunDir, defaultRunDir, configDiff, CONFIG_FILE } from './run-dir';
export { exportModel, writeExport, EXPORT_FORMAT, EXPORT_VERSION, EXPORT_WEIGHTS, EXPORT_MANIFEST } from './export';
export type { ExportManifest, ExportOptions } from './export';
