export { RunConfigC, decodeRunConfig, parseSet, setField, applyPatch } from './config';
export type { RunConfig, ConfigPatch } from './config';
export { PRESETS, VARIANTS, resolveConfig } from './presets';
export type { ResolveRequest } from './presets';
export { parseTrainArgs, USAGE } from './args';
export type { TrainArgs, Command } from './args';
export { checkRunDir, initRunDir, defaultRunDir, configDiff, CONFIG_FILE } from './run-dir';
export { resolveVit, APP_MODEL_PRESETS } from './models';
export type { RunContext, StageName } from './stages/common';
export {
  openRun,
  requireCheckpoint,
  generateSamples,
  writeSampleGrid,
  gridPath,
  defaultSteps,
  samplerName,
  evaluateFid,
  fidPath,
  evaluateProbe,
  probePath,
  parseSigmas,
  evalDir,
  gitCommit,
} from './eval/evaluate-run';
export type { Objective, SampleOptions, Samples, FidOptions, FidResult, InceptionFidOptions, ProbeOptions, ProbeResultFile, ProbeFileRow } from './eval/evaluate-run';
export {
  writeRunReport,
  writeComparisonReport,
  summarizeRun,
  groupRuns,
  spread,
  readFidResults,
  readProbe,
  readHistory,
  appendHistory,
  startRecord,
  historyPath,
} from './eval/report';
export type { RunSummary, RunGroup, HistoryRecord } from './eval/report';
export { main as trainMain } from './cli';
export type { CliIo, CliHooks } from './cli';
export { exportModel, writeExport, EXPORT_FORMAT, EXPORT_VERSION, EXPORT_WEIGHTS, EXPORT_MANIFEST } from './export';
export type { ExportManifest, ExportOptions } from './export';
export { parseCommandLine, runAsProcess, withOneLineErrors } from './cli-shell';
