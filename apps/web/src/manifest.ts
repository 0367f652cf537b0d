/**
 * The reader's side of epg-train's export (apps/train/src/export.ts): model.json's fields, checked
 * before any weight is used. Pure: runs in the page and in Node.
 */
import { epgError, type EpgError } from '@epg/tensor';
import type { NoiseSpace } from '@epg/schedules';
import type { ViTConfig } from '@epg/vit';

export const EXPORT_FORMAT = 'epg-export';
export const EXPORT_VERSION = 1;

export interface Manifest {
  readonly format: typeof EXPORT_FORMAT;
  readonly version: typeof EXPORT_VERSION;
  readonly objective: 'consistency';
  readonly vit: ViTConfig;
  readonly noise: NoiseSpace;
  /** Classes a sampler may condition on; 0 = unconditional (epg-train's consistency stage). */
  readonly numClasses: number;
  readonly imageSize: number;
  readonly channels: number;
  readonly preset: string;
  readonly variants: readonly string[];
  readonly seed: number;
  readonly step: number;
  readonly sha256: string;
}

const isObj = (x: unknown): x is Record<string, unknown> => x !== null && typeof x === 'object' && !Array.isArray(x);
const isCount = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;

/** The manifest, or an EpgError naming the first problem (the page shows its message). */
export function checkManifest(value: unknown, label = 'model.json'): Manifest | EpgError {
  const fix = 'export the run again with `epg-eval export` (apps/train exportModel)';
  if (!isObj(value)) return epgError('format', `${label} is not a JSON object`, fix);
  if (value.format !== EXPORT_FORMAT) return epgError('format', `${label} has format ${JSON.stringify(value.format)}, expected '${EXPORT_FORMAT}' (not an epg export)`, fix);
  if (value.version !== EXPORT_VERSION) return epgError('format', `${label} is export version ${JSON.stringify(value.version)}; this page reads version ${EXPORT_VERSION}`, fix);
  if (value.objective !== 'consistency') return epgError('format', `${label} holds a '${String(value.objective)}' model; this page samples consistency models`, fix);
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
  return value as unknown as Manifest;
}

/** Lower-case hex SHA-256 of bytes (WebCrypto: the browser's and Node's globalThis.crypto). */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}
