/**
 * The manifest of an exported fine-tuned model (`model.json` beside `model.safetensors`): written by
 * epg-train's exporter (apps/train/src/export.ts), read by the browser demo (apps/web) and anything
 * else that samples an export. One definition for both sides, browser-safe (no Node imports).
 */
import { epgError, type EpgError } from '@epg/tensor';
import type { NoiseSpace } from '@epg/schedules';
import type { ViTConfig } from './config';

export const EXPORT_FORMAT = 'epg-export';
export const EXPORT_VERSION = 1;
export const EXPORT_WEIGHTS = 'model.safetensors';
export const EXPORT_MANIFEST = 'model.json';

/** The content of model.json. */
export interface ExportManifest {
  readonly format: typeof EXPORT_FORMAT;
  readonly version: typeof EXPORT_VERSION;
  readonly objective: 'consistency';
  /** The resolved network config the weights belong to. */
  readonly vit: ViTConfig;
  /** The noise space the model was fine-tuned in (σ range after the resolution shift, σ_data). */
  readonly noise: NoiseSpace;
  /** Classes a sampler may condition on; 0 = unconditional (epg-train's consistency stage). */
  readonly numClasses: number;
  readonly imageSize: number;
  readonly channels: number;
  readonly preset: string;
  readonly variants: readonly string[];
  readonly seed: number;
  readonly step: number;
  /** Lower-case hex SHA-256 of model.safetensors; readers check it before using a weight. */
  readonly sha256: string;
}

const isObj = (x: unknown): x is Record<string, unknown> => x !== null && typeof x === 'object' && !Array.isArray(x);
const isCount = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;

/** The manifest, or an EpgError naming the first problem (one line, with the fix). */
export function checkExportManifest(value: unknown, label = EXPORT_MANIFEST): ExportManifest | EpgError {
  const fix = 'export the run again with `epg-eval export` (apps/train exportModel)';
  if (!isObj(value)) return epgError('format', `${label} is not a JSON object`, fix);
  if (value.format !== EXPORT_FORMAT) return epgError('format', `${label} has format ${JSON.stringify(value.format)}, expected '${EXPORT_FORMAT}' (not an epg export)`, fix);
  if (value.version !== EXPORT_VERSION) return epgError('format', `${label} is export version ${JSON.stringify(value.version)}; this reader reads version ${EXPORT_VERSION}`, fix);
  if (value.objective !== 'consistency') return epgError('format', `${label} holds a '${String(value.objective)}' model; only consistency models are exported`, fix);
  if (!isObj(value.vit) || !isObj(value.noise)) return epgError('format', `${label} lacks its vit or noise section`, fix);
  for (const k of ['numClasses', 'imageSize', 'channels', 'seed', 'step'] as const) {
    if (!isCount(value[k])) return epgError('format', `${label}: field ${k} must be a non-negative integer, got ${JSON.stringify(value[k])}`, fix);
  }
  if (typeof value.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(value.sha256)) return epgError('format', `${label}: field sha256 must be 64 hex digits`, fix);
  const vit = value.vit as unknown as ViTConfig;
  if (vit.imageSize !== value.imageSize || vit.channels !== value.channels) {
    return epgError('format', `${label}: imageSize/channels (${String(value.imageSize)}/${String(value.channels)}) disagree with its vit section (${vit.imageSize}/${vit.channels})`, fix);
  }
  if ((value.numClasses as number) > vit.numClasses) {
    return epgError('format', `${label}: numClasses ${String(value.numClasses)} exceeds the network's class embedding (${vit.numClasses})`, fix);
  }
  return value as unknown as ExportManifest;
}
