/**
 * What every training stage shares: the run context, the training images, and the loop that
 * resumes from the stage's latest checkpoint generation, logs metrics and progress, and saves
 * checkpoint generations every `checkpoint.every` steps and at the end.
 *
 * Exact resume: a checkpoint holds the stores, the optimiser (moments and step), the loader's
 * position (sidecar `extra.loader`) and the step. Every random draw of step k comes from
 * RandomStream.derive(seed, k, …) or from the loader's (seed, epoch, position) streams, so the
 * resumed steps are the steps the uninterrupted run would have taken.
 */
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as E from 'fp-ts/Either';
import { ImageLoader, loadFashionMnist, loadMnist, type ImageSet, type LoaderState, type RawBatch } from '@epg/data';
import {
  epgError,
  orThrow,
  listCheckpointGenerations,
  readCheckpoint,
  restoreOptimizer,
  restoreStore,
  saveCheckpoint,
  type AdamW,
  type EpgError,
  type LoadedCheckpoint,
  type ParameterStore,
} from '@epg/tensor';
import type { ViTConfig } from '@epg/vit';
import type { RunConfig } from '../config';
import type { LoadedPlugins } from '../plugins';
import { appendRecord, createProgress, truncateAfter } from '@epg/runs';

export type StageName = 'pretrain' | 'consistency' | 'diffusion';

export interface RunContext {
  readonly dir: string;
  readonly config: RunConfig;
  readonly vit: ViTConfig;
  /** Code variants the config selects (plugins.ts); none when absent. */
  readonly plugins?: LoadedPlugins;
  /** Progress and status lines (stdout in the CLI). */
  readonly log: (line: string) => void;
  /** Minimum milliseconds between progress lines (default 5000). */
  readonly progressMs?: number;
  /** Called once a stage has checked its checkpoints and is about to write into the run directory. */
  readonly onFirstWrite?: () => void;
  /** Raw writer of a terminal: progress becomes one live, rewritten line (absent: plain lines via `log`). */
  readonly ttyWrite?: (text: string) => void;
  /**
   * Tests only: stop the process's work right after this many steps of `stage`, without a final
   * checkpoint, as a kill would (returns 'stopped').
   */
  readonly stopAfter?: { readonly stage: StageName; readonly step: number };
  /** Tests only: called after every step with the step index (memory checks). */
  readonly onStep?: (stage: StageName, step: number) => void;
}

export const metricsPath = (dir: string) => join(dir, 'metrics.jsonl');
export const checkpointBase = (dir: string, stage: StageName) => join(dir, 'checkpoints', stage, 'ckpt');

/** Throws the Left (an EpgError: the CLI turns it into one line); @epg/tensor's, re-exported for the stages. */
export { orThrow } from '@epg/tensor';

/** The training images of the run's dataset (first `data.limit` of them when set). */
export function trainImages(config: RunConfig): ImageSet {
  const { dataset, limit } = config.data;
  if (dataset === 'image-folder') throw epgError('config', "data.dataset 'image-folder' is not wired into epg-train yet", "use 'mnist' or 'fashion-mnist'");
  const set = orThrow(dataset === 'mnist' ? loadMnist('train') : loadFashionMnist('train'));
  if (limit === null || limit >= set.count) return set;
  const per = set.height * set.width * set.channels;
  return { ...set, images: set.images.subarray(0, limit * per), labels: set.labels.subarray(0, limit), count: limit };
}

/**
 * The dataset a config names, checked before anything is written (the CLI calls it before the run
 * directory): an image-folder run needs `data.path` to be an existing folder. ImageFolder trees are
 * not wired into training yet (the view-pair augmentations are MNIST's), so such a config is refused
 * here too rather than after the run directory was created.
 */
export function checkData(config: RunConfig): E.Either<EpgError, void> {
  const { dataset, path } = config.data;
  if (dataset !== 'image-folder') return E.right(undefined);
  if (path === null) return E.left(epgError('config', "config field data.path is null, but data.dataset 'image-folder' needs a folder of class sub-folders", 'set data.path'));
  if (!existsSync(path)) return E.left(epgError('io', `config field data.path is '${path}': no such folder`, 'check data.path (a folder of class sub-folders of images)'));
  if (!statSync(path).isDirectory()) return E.left(epgError('io', `config field data.path is '${path}': a file, not a folder`, 'point data.path at a folder of class sub-folders of images'));
  return E.left(epgError('config', "data.dataset 'image-folder' is not wired into epg-train yet", "use 'mnist' or 'fashion-mnist'"));
}

/** The latest checkpoint of a stage, or null when it has none yet. */
export function latestCheckpoint(dir: string, stage: StageName): LoadedCheckpoint | null {
  const base = checkpointBase(dir, stage);
  const gens = listCheckpointGenerations(base);
  if (E.isRight(gens) && gens.right.length === 0) return null;
  const r = readCheckpoint(base);
  if (E.isLeft(r) && r.left.kind === 'io' && / does not exist/.test(r.left.message)) return null;
  return orThrow(r);
}

export interface StepOutcome {
  readonly loss: number;
  readonly terms: Readonly<Record<string, number>>;
  readonly skipped: boolean;
  readonly lr?: number;
}

export interface StageSpec<T> {
  readonly stage: StageName;
  readonly steps: number;
  readonly batch: number;
  readonly images: ImageSet;
  readonly prepare: (raw: RawBatch) => T;
  /** Saved as `<name>.<param>` sections and restored on resume. */
  readonly stores: Readonly<Record<string, ParameterStore>>;
  readonly optimizer: AdamW;
  /** One optimiser step on a prepared batch; disposes what it creates. */
  readonly step: (k: number, batch: T) => StepOutcome;
  /** Called after step k when k + 1 is a multiple of config.eval.gridEvery (before the stage's last step); must not draw from the run's streams. */
  readonly snapshot?: (stepsDone: number) => Promise<void>;
}

const STAGE_SEED: Readonly<Record<StageName, number>> = { pretrain: 1, consistency: 2, diffusion: 3 };

/** Runs (or resumes) a stage to `spec.steps`. 'done' when finished, 'stopped' for a test's stopAfter. */
export async function runStage<T>(ctx: RunContext, spec: StageSpec<T>): Promise<'done' | 'stopped'> {
  const { dir, config } = ctx;
  const base = checkpointBase(dir, spec.stage);
  const ckptConfig = { run: config, stage: spec.stage };
  let start = 0;
  let loaderState: LoaderState | undefined;
  const ck = latestCheckpoint(dir, spec.stage);
  if (ck) {
    // A checkpoint of another model (a run directory reused by hand): name it and say what to do.
    const another = (e: EpgError) =>
      e.kind === 'mismatch' ? epgError('mismatch', `${e.message.split('\n')[0]}: ${dirname(base)} holds checkpoints of another model`, 'resume with the config that wrote them, or start a new --run') : e;
    for (const [section, store] of Object.entries(spec.stores)) orThrow(E.mapLeft(another)(restoreStore(store, ck, section)));
    orThrow(E.mapLeft(another)(restoreOptimizer(spec.optimizer, ck)));
    start = ck.sidecar.step;
    loaderState = (ck.sidecar.extra as { loader?: LoaderState } | undefined)?.loader;
    if (start < spec.steps && !loaderState) throw epgError('format', `checkpoint ${base} has no loader position`, 'it was not written by epg-train; start a new run');
    ctx.log(`${spec.stage}: resuming at step ${start}/${spec.steps}`);
  }
  if (start >= spec.steps) {
    ctx.log(`${spec.stage}: done (checkpoint at step ${start})`);
    return 'done';
  }
  ctx.onFirstWrite?.();
  // Records of steps >= start belong to work the checkpoint does not hold: the resumed run logs them again.
  orThrow(truncateAfter(metricsPath(dir), spec.stage, start - 1));
  mkdirSync(dirname(base), { recursive: true });
  const loader = new ImageLoader(spec.images, {
    batchSize: spec.batch,
    seed: config.seed * 16 + STAGE_SEED[spec.stage],
    prepare: spec.prepare,
    prefetch: 0,
    ...(loaderState ? { resume: loaderState } : {}),
  });
  const progress = createProgress({
    total: spec.steps, label: spec.stage, imagesPerStep: spec.batch, startStep: start, intervalMs: ctx.progressMs ?? 5000,
    ...(ctx.ttyWrite ? { tty: true, write: ctx.ttyWrite } : { tty: false, write: (line: string) => ctx.log(line.replace(/\n$/, '')) }),
  });
  const save = (step: number, loader: LoaderState) =>
    orThrow(
      saveCheckpoint(
        base,
        { step, config: ckptConfig, stores: spec.stores, optimizer: spec.optimizer, extra: { loader } },
        { keepLast: config.checkpoint.keepLatest, ...(config.checkpoint.keepEvery ? { keepEvery: config.checkpoint.keepEvery } : {}) },
      ),
    );
  for (let k = start; k < spec.steps; k++) {
    const t0 = performance.now();
    const { batch, stateAfter } = await loader.next();
    const r = spec.step(k, batch);
    const dt = (performance.now() - t0) / 1000;
    const values = { loss: r.loss, ...r.terms, ...(r.lr !== undefined ? { lr: r.lr } : {}), imgPerSec: spec.batch / dt, skipped: r.skipped ? 1 : 0 };
    appendRecord(metricsPath(dir), { phase: spec.stage, step: k, values });
    progress.update(k, { loss: r.loss, ...r.terms });
    ctx.onStep?.(spec.stage, k);
    if (ctx.stopAfter && ctx.stopAfter.stage === spec.stage && k + 1 === ctx.stopAfter.step) return 'stopped';
    if ((k + 1) % config.checkpoint.every === 0 || k + 1 === spec.steps) save(k + 1, stateAfter);
    const every = config.eval.gridEvery;
    if (spec.snapshot && every !== null && (k + 1) % every === 0 && k + 1 < spec.steps) await spec.snapshot(k + 1);
  }
  progress.done();
  return 'done';
}

/** Disposes tensors made from a host batch after `fn`. */
export function withTensors<R, X extends Record<string, tf.Tensor>>(make: () => X, fn: (t: X) => R): R {
  const t = make();
  try {
    return fn(t);
  } finally {
    tf.dispose(Object.values(t));
  }
}
