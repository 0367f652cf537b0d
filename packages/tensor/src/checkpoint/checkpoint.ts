/**
 * Checkpoints: one safetensors file of named float32 tensors (`model.*`, `ema.*`, `optimizer.m.*`,
 * `optimizer.v.*`, ...) plus a JSON sidecar (format, step, config, optimiser step, RNG state, the
 * tensor file's SHA-256). Both are written atomically (temp file, fsync, rename), tensors first,
 * so a crash leaves either the old pair or the new one; a sidecar that does not match its tensor
 * file is reported instead of silently loaded.
 */
import * as E from 'fp-ts/Either';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type { ParameterStore } from '../params';
import { arraysEqual } from '../params';
import type { AdamW, HostTensor } from '../optim/adamw';
import { toHost } from '../optim/adamw';
import { CheckpointFormatError, decodeSafetensors, encodeSafetensors, type NamedHostTensor } from './safetensors';

export const CHECKPOINT_FORMAT = 'epg-checkpoint';
export const CHECKPOINT_VERSION = 1;

export interface CheckpointSidecar {
  readonly format: typeof CHECKPOINT_FORMAT;
  readonly version: number;
  readonly step: number;
  /** The run's config (model, objective, data): lets a reader refuse a checkpoint of another model. */
  readonly config: unknown;
  readonly optimizer?: { readonly type: 'adamw'; readonly step: number };
  /** RNG state or run seed, as the caller needs to resume exactly. */
  readonly rng?: unknown;
  /** Anything else the caller wants back (data loader position, metrics, ...). */
  readonly extra?: unknown;
  readonly tensors: { readonly file: string; readonly sha256: string; readonly count: number };
}

export class CheckpointError extends Error {
  override readonly name = 'CheckpointError';
}

export interface SaveCheckpointInput {
  readonly step: number;
  readonly config: unknown;
  /** Stores saved under their section name: `{ model, ema }` → `model.<name>`, `ema.<name>`. */
  readonly stores: Record<string, ParameterStore>;
  readonly optimizer?: AdamW;
  readonly rng?: unknown;
  readonly extra?: unknown;
}

/** Paths of a checkpoint whose base path is `base` (e.g. `runs/x/ckpt-001000`). */
export function checkpointPaths(base: string): { tensors: string; sidecar: string } {
  return { tensors: `${base}.safetensors`, sidecar: `${base}.json` };
}

/** Writes bytes to `path` atomically: temp file in the same folder, fsync, rename, fsync folder. */
export function writeFileAtomic(path: string, bytes: Buffer | string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  const fd = openSync(tmp, 'w');
  try {
    const b = typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes;
    let off = 0;
    while (off < b.length) off += writeSync(fd, b, off, b.length - off);
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw e;
  }
  closeSync(fd);
  renameSync(tmp, path);
  try {
    const dfd = openSync(dirname(path), 'r');
    fsyncSync(dfd);
    closeSync(dfd);
  } catch {
    // Some filesystems refuse fsync on a directory; the rename is still atomic.
  }
}

/** Collects the tensors of a checkpoint as host arrays, keyed by their file names. */
export function collectTensors(input: SaveCheckpointInput): Record<string, HostTensor> {
  const out: Record<string, HostTensor> = {};
  for (const [section, store] of Object.entries(input.stores)) {
    if (section === 'optimizer') throw new Error(`'optimizer' is reserved for the optimiser's state`);
    for (const e of store.entries()) out[`${section}.${e.name.slice(store.prefix.length)}`] = toHost(e.variable);
  }
  if (input.optimizer) {
    for (const [k, v] of Object.entries(input.optimizer.getState().tensors)) out[`optimizer.${k}`] = v;
  }
  return out;
}

/** Saves a checkpoint at `base` (.safetensors + .json). Left: an IO error, as a one-line message. */
export function saveCheckpoint(base: string, input: SaveCheckpointInput): E.Either<CheckpointError, CheckpointSidecar> {
  try {
    const paths = checkpointPaths(base);
    const tensors = collectTensors(input);
    const bytes = encodeSafetensors(tensors, { format: 'pt', producer: 'epg-ts' });
    const sidecar: CheckpointSidecar = {
      format: CHECKPOINT_FORMAT,
      version: CHECKPOINT_VERSION,
      step: input.step,
      config: input.config,
      ...(input.optimizer ? { optimizer: { type: 'adamw' as const, step: input.optimizer.step } } : {}),
      ...(input.rng !== undefined ? { rng: input.rng } : {}),
      ...(input.extra !== undefined ? { extra: input.extra } : {}),
      tensors: {
        file: basename(paths.tensors),
        sha256: createHash('sha256').update(bytes).digest('hex'),
        count: Object.keys(tensors).length,
      },
    };
    writeFileAtomic(paths.tensors, bytes);
    writeFileAtomic(paths.sidecar, JSON.stringify(sidecar, null, 2) + '\n');
    return E.right(sidecar);
  } catch (e) {
    return E.left(new CheckpointError(`could not write checkpoint ${base}: ${(e as Error).message}`));
  }
}

export interface LoadedCheckpoint {
  readonly base: string;
  readonly sidecar: CheckpointSidecar;
  readonly tensors: Map<string, NamedHostTensor>;
}

/** Reads and validates a checkpoint pair without touching any model. */
export function readCheckpoint(base: string): E.Either<CheckpointError, LoadedCheckpoint> {
  const paths = checkpointPaths(base);
  for (const p of [paths.sidecar, paths.tensors]) {
    if (!existsSync(p)) return E.left(new CheckpointError(`checkpoint file ${p} does not exist: check the path (give it without the extension)`));
  }
  let sidecar: CheckpointSidecar;
  try {
    sidecar = JSON.parse(readFileSync(paths.sidecar, 'utf8'));
  } catch {
    return E.left(new CheckpointError(`checkpoint sidecar ${paths.sidecar} is not valid JSON (truncated?)`));
  }
  if (sidecar?.format !== CHECKPOINT_FORMAT) {
    return E.left(new CheckpointError(`${paths.sidecar} is not an epg-ts checkpoint sidecar (format field is ${JSON.stringify(sidecar?.format)})`));
  }
  if (sidecar.version > CHECKPOINT_VERSION) {
    return E.left(new CheckpointError(`${paths.sidecar} has format version ${sidecar.version}; this epg-ts reads up to ${CHECKPOINT_VERSION}: upgrade @epg/tensor`));
  }
  const bytes = readFileSync(paths.tensors);
  let decoded;
  try {
    decoded = decodeSafetensors(bytes, paths.tensors);
  } catch (e) {
    if (e instanceof CheckpointFormatError) return E.left(new CheckpointError(e.message));
    throw e;
  }
  const sha = createHash('sha256').update(bytes).digest('hex');
  if (sha !== sidecar.tensors.sha256) {
    return E.left(
      new CheckpointError(`${paths.tensors} does not match its sidecar ${paths.sidecar} (SHA-256 differs): an interrupted save or a mixed-up pair; use the previous checkpoint`),
    );
  }
  return E.right({ base, sidecar, tensors: decoded.tensors });
}

export interface RestoreOptions {
  /** Tensor names of this section in the file that the store may lack (e.g. a dropped projector). */
  readonly allowUnknown?: (name: string) => boolean;
  /** Store parameters the file may lack (e.g. a new decoder); they keep their current values. */
  readonly allowMissing?: (name: string) => boolean;
}

/**
 * Loads section `section` of a checkpoint into `store`. Every name and shape must match (unless
 * allowed by `opts`); nothing is assigned if any check fails.
 */
export function restoreStore(
  store: ParameterStore,
  ckpt: LoadedCheckpoint,
  section: string,
  opts: RestoreOptions = {},
): E.Either<CheckpointError, { loaded: number }> {
  const prefix = `${section}.`;
  const fileNames = [...ckpt.tensors.keys()].filter((k) => k.startsWith(prefix)).map((k) => k.slice(prefix.length));
  const storeNames = new Map(store.entries().map((e) => [e.name.slice(store.prefix.length), e]));
  const where = `checkpoint ${ckpt.base}`;
  for (const n of fileNames) {
    if (!storeNames.has(n) && !opts.allowUnknown?.(n)) {
      return E.left(new CheckpointError(`${where} has tensor '${prefix}${n}', which the model does not have (checkpoint of another model or preset?)`));
    }
  }
  const assignments: Array<[tf.Variable, NamedHostTensor]> = [];
  for (const [n, e] of storeNames) {
    const t = ckpt.tensors.get(prefix + n);
    if (!t) {
      if (opts.allowMissing?.(n)) continue;
      return E.left(new CheckpointError(`${where} is missing tensor '${prefix}${n}' (checkpoint of another model or preset?)`));
    }
    if (!arraysEqual(t.shape, e.variable.shape)) {
      return E.left(
        new CheckpointError(`${where}: tensor '${prefix}${n}' has shape [${t.shape}] but the model expects [${e.variable.shape}] (another preset or resolution?)`),
      );
    }
    if (t.dtype !== 'F32') return E.left(new CheckpointError(`${where}: tensor '${prefix}${n}' is ${t.dtype}, expected F32`));
    assignments.push([e.variable, t]);
  }
  for (const [v, t] of assignments) v.assign(tf.tensor(t.data as Float32Array, [...t.shape], 'float32'));
  return E.right({ loaded: assignments.length });
}

/** Loads the optimiser's moments and step from a checkpoint. */
export function restoreOptimizer(optimizer: AdamW, ckpt: LoadedCheckpoint): E.Either<CheckpointError, void> {
  if (!ckpt.sidecar.optimizer) return E.left(new CheckpointError(`checkpoint ${ckpt.base} has no optimizer state (saved for inference only?)`));
  const tensors: Record<string, HostTensor> = {};
  for (const [k, t] of ckpt.tensors) {
    if (k.startsWith('optimizer.')) tensors[k.slice('optimizer.'.length)] = { dtype: 'float32', shape: [...t.shape], data: t.data as Float32Array };
  }
  try {
    optimizer.setState({ step: ckpt.sidecar.optimizer.step, tensors });
    return E.right(undefined);
  } catch (e) {
    return E.left(new CheckpointError(`checkpoint ${ckpt.base}: ${(e as Error).message}`));
  }
}

export { orThrow } from '../errors';
