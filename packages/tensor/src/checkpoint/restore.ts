/**
 * Restoring stores and optimisers from a checkpoint already in memory, and the checkpoint's types:
 * no file access, so the browser entry (../browser.ts) can offer them. checkpoint.ts reads and writes
 * the files and re-exports everything here.
 */
import * as E from 'fp-ts/Either';
import * as tf from '@tensorflow/tfjs-core';
import { EpgError, type EpgErrorKind } from '../errors';
import type { ParameterStore } from '../params';
import { arraysEqual } from '../params';
import type { AdamW, HostTensor } from '../optim/adamw';
import type { NamedHostTensor } from './safetensors';

// Duck-typed: errors from another realm (jest's vm, worker threads) fail `instanceof Error`.
const errMsg = (e: unknown) => {
  const m = (e as { message?: unknown } | null)?.message;
  return (typeof m === 'string' ? m : String(e)).replace(/\s*\n\s*/g, ' ');
};

export const CHECKPOINT_FORMAT = 'epg-checkpoint';
/** 2: generations (`<base>.gNNNNNN.*`) and a `generation` field; 1: one `<base>.safetensors` pair. */
export const CHECKPOINT_VERSION = 2;

export interface CheckpointSidecar {
  readonly format: typeof CHECKPOINT_FORMAT;
  readonly version: number;
  readonly step: number;
  /** Generation number (version 2); absent in version-1 sidecars. */
  readonly generation?: number;
  /** The run's config (model, objective, data): lets a reader refuse a checkpoint of another model. */
  readonly config: unknown;
  readonly optimizer?: { readonly type: 'adamw'; readonly step: number };
  /** RNG state or run seed, as the caller needs to resume exactly. */
  readonly rng?: unknown;
  /** Anything else the caller wants back (data loader position, metrics, ...). */
  readonly extra?: unknown;
  /** The tensor file, named relative to the sidecar's folder. */
  readonly tensors: { readonly file: string; readonly sha256: string; readonly count: number };
}

/** A checkpoint that cannot be written, read or restored; `kind` says why (io, format, mismatch, numeric, config). */
export class CheckpointError extends EpgError {
  override readonly name: string = 'CheckpointError';
  constructor(kind: EpgErrorKind, message: string, options?: { cause?: unknown }) {
    super(kind, message.replace(/\s*\n\s*/g, ' '), options);
  }
}

export interface LoadedCheckpoint {
  readonly base: string;
  readonly sidecar: CheckpointSidecar;
  readonly tensors: Map<string, NamedHostTensor>;
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
      return E.left(new CheckpointError('mismatch', `${where} has tensor '${prefix}${n}', which the model does not have (checkpoint of another model or preset?)`));
    }
  }
  const assignments: Array<[tf.Variable, NamedHostTensor]> = [];
  for (const [n, e] of storeNames) {
    const t = ckpt.tensors.get(prefix + n);
    if (!t) {
      if (opts.allowMissing?.(n)) continue;
      return E.left(new CheckpointError('mismatch', `${where} is missing tensor '${prefix}${n}' (checkpoint of another model or preset?)`));
    }
    if (!arraysEqual(t.shape, e.variable.shape)) {
      return E.left(
        new CheckpointError('mismatch', `${where}: tensor '${prefix}${n}' has shape [${t.shape}] but the model expects [${e.variable.shape}] (another preset or resolution?)`),
      );
    }
    if (t.dtype !== 'F32') return E.left(new CheckpointError('mismatch', `${where}: tensor '${prefix}${n}' is ${t.dtype}, expected F32`));
    assignments.push([e.variable, t]);
  }
  for (const [v, t] of assignments) {
    const value = tf.tensor(t.data as Float32Array, [...t.shape], 'float32');
    v.assign(value);
    value.dispose();
  }
  return E.right({ loaded: assignments.length });
}

/** Loads the optimiser's moments and step from a checkpoint. */
export function restoreOptimizer(optimizer: AdamW, ckpt: LoadedCheckpoint): E.Either<CheckpointError, void> {
  if (!ckpt.sidecar.optimizer) return E.left(new CheckpointError('mismatch', `checkpoint ${ckpt.base} has no optimizer state (saved for inference only?)`));
  const tensors: Record<string, HostTensor> = {};
  for (const [k, t] of ckpt.tensors) {
    if (k.startsWith('optimizer.')) tensors[k.slice('optimizer.'.length)] = { dtype: 'float32', shape: [...t.shape], data: t.data as Float32Array };
  }
  try {
    optimizer.setState({ step: ckpt.sidecar.optimizer.step, tensors });
    return E.right(undefined);
  } catch (e) {
    return E.left(new CheckpointError('mismatch', `checkpoint ${ckpt.base}: ${errMsg(e)}`, { cause: e }));
  }
}
