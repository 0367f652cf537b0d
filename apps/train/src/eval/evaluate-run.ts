/**
 * Evaluation of a run directory, shared by `epg-train all` (its evaluate stage) and `epg-eval`:
 * opening a run, sampling from its fine-tuned checkpoints (one-step/multistep CM, Heun DM), FID
 * against the test split (domain classifier shipped in @epg/metrics, or Inception-v3 with
 * user-supplied weights) and kNN/linear probes of the pre-trained encoder. Results are JSON files
 * under `<run>/eval/`; every FID result names its extractor (with the weights' hash), so two FIDs
 * compare only when their extractors agree (docs/apps.md, "epg-eval").
 *
 * Errors a user can fix (no such run, no checkpoint of that objective, a checkpoint of another
 * model, bad weights) are EpgErrors: thrown here, turned into one line by the CLIs.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as E from 'fp-ts/Either';
import { loadFashionMnist, loadMnist, normalizeImages, takePerClass, writePngGrid, type ImageSet } from '@epg/data';
import {
  cachedStatistics,
  createInceptionExtractor,
  computeStatistics,
  frechetDistance,
  loadDomainClassifier,
  loadInceptionWeights,
  probeAtSigmas,
  type FeatureExtractor,
  type NoisyProbeRow,
} from '@epg/metrics';
import { noiseSpace, toShifted } from '@epg/schedules';
import { pretrainConfig } from '@epg/ssl';
import { epgError, isEpgError, restoreStore, writeFileAtomic, type LoadedCheckpoint } from '@epg/tensor';
import { makeEncoderFn } from '@epg/vit';
import { decodeRunConfig } from '../config';
import { resolveVit } from '../models';
import { encoderAt } from '../networks';
import { latestCheckpoint, orThrow, type RunContext } from '../stages/common';
import { assembleNetwork, finetuneSpace, loadPretrained, type Objective } from '../stages/finetune';
import { buildPretrainStores } from '../stages/pretrain';
import { sampleNetwork } from './sample';

export type { Objective };

/** `<run>/eval`: where evaluation results and cached reference statistics live. */
export const evalDir = (dir: string) => join(dir, 'eval');

const commits = new Map<string, string | null>();

/** The commit of the working directory (`git rev-parse HEAD`), or null outside a repository; asked once per directory and process. */
export function gitCommit(cwd = process.cwd()): string | null {
  if (!commits.has(cwd)) {
    let commit: string | null = null;
    try {
      commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim() || null;
    } catch {
      commit = null;
    }
    commits.set(cwd, commit);
  }
  return commits.get(cwd)!;
}

/** Opens an epg-train run directory: its config (validated) and model. Nothing is written. */
export function openRun(dir: string, log: (line: string) => void = () => undefined): E.Either<Error, RunContext> {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    return E.left(epgError('io', `run directory ${dir} does not exist`, 'pass the --run directory of an epg-train run'));
  }
  const cfgPath = join(dir, 'config.json');
  if (!existsSync(cfgPath)) return E.left(epgError('io', `${dir} has no config.json: it is not an epg-train run directory`, 'pass the --run directory of an epg-train run'));
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(cfgPath, 'utf8'));
  } catch (e) {
    return E.left(epgError('format', `${cfgPath} is not valid JSON (${(e as Error).message})`, 'restore the file epg-train wrote'));
  }
  const config = decodeRunConfig(raw);
  if (E.isLeft(config)) return E.left(epgError('format', `${cfgPath}: ${config.left.message}`));
  const vit = resolveVit(config.right);
  if (E.isLeft(vit)) return vit;
  return E.right({ dir, config: config.right, vit: vit.right, log });
}

/** The run's latest checkpoint of a fine-tuning objective; an EpgError naming the fix when there is none. */
export function requireCheckpoint(ctx: RunContext, objective: Objective): LoadedCheckpoint {
  if (ctx.config[objective] === null) {
    throw epgError('config', `run ${ctx.dir} has no ${objective} stage (its config's ${objective} section is null)`, `use --objective ${objective === 'consistency' ? 'diffusion' : 'consistency'}`);
  }
  const ck = latestCheckpoint(ctx.dir, objective);
  if (!ck) throw epgError('io', `run ${ctx.dir} has no ${objective} checkpoint yet`, `run epg-train finetune --objective ${objective} --run ${ctx.dir} first`);
  return ck;
}

export interface SampleOptions {
  readonly count: number;
  /** CM: sampler steps (1 = one step, the default); DM: Heun steps (default the config's eval.heunSteps). */
  readonly steps?: number;
  /** Seed of the latents (default the run's seed: the samples epg-train's evaluate stage drew). */
  readonly seed?: number;
  /** Images per sampler call (default 100). */
  readonly chunk?: number;
}

export interface Samples {
  /** uint8 NHWC pixels of `count` images. */
  readonly images: Uint8Array;
  readonly count: number;
  readonly height: number;
  readonly width: number;
  readonly channels: number;
  readonly objective: Objective;
  readonly steps: number;
  /** e.g. 'CM one-step', 'CM 2-step', 'DM Heun 16 steps'. */
  readonly sampler: string;
  readonly seed: number;
  readonly checkpointStep: number;
}

/** The default steps of an objective: one-step CM, Heun with the config's eval.heunSteps. */
export const defaultSteps = (ctx: RunContext, objective: Objective) => (objective === 'consistency' ? 1 : ctx.config.eval.heunSteps);

export function samplerName(objective: Objective, steps: number): string {
  return objective === 'consistency' ? (steps === 1 ? 'CM one-step' : `CM ${steps}-step`) : `DM Heun ${steps} steps`;
}

/**
 * `count` images from the run's latest `objective` checkpoint, as uint8 pixels. Latents of chunk i
 * come from RandomStream.derive(seed, i, '<objective>-latents'); a multistep CM re-noises from
 * derive(seed, i, 'consistency-renoise'); DM labels cycle through the classes. Tensors are disposed.
 */
export function generateSamples(ctx: RunContext, objective: Objective, opts: SampleOptions): Samples {
  const { vit } = ctx;
  const steps = opts.steps ?? defaultSteps(ctx, objective);
  const seed = opts.seed ?? ctx.config.seed;
  const chunk = opts.chunk ?? 100;
  if (!(Number.isInteger(opts.count) && opts.count >= 1)) throw epgError('config', `sample count ${opts.count} must be an integer >= 1`);
  if (!(Number.isInteger(steps) && steps >= 1)) throw epgError('config', `sampler steps ${steps} must be an integer >= 1`);
  const ck = requireCheckpoint(ctx, objective);
  const { store, network } = assembleNetwork(ctx, objective, null);
  try {
    // Sampling uses the evaluation EMA when the stage keeps one (EPG), else the trained weights.
    const section = ctx.config[objective]?.ema != null ? 'ema' : 'model';
    const restored = restoreStore(store, ck, section);
    if (E.isLeft(restored)) throw epgError(restored.left.kind, `the ${objective} checkpoint of ${ctx.dir} does not fit this run's model (${ctx.config.model.preset}): ${restored.left.message}`);
    store.eval();
    const out = sampleNetwork(ctx, objective, network, finetuneSpace(vit, ctx.config.noise), { count: opts.count, steps, seed, chunk });
    return { images: out, count: opts.count, height: vit.imageSize, width: vit.imageSize, channels: vit.channels, objective, steps, sampler: samplerName(objective, steps), seed, checkpointStep: ck.sidecar.step };
  } finally {
    store.dispose();
  }
}

/** Writes the first `n` images of `samples` as a PNG grid. */
export async function writeSampleGrid(path: string, samples: Samples, n = samples.count): Promise<void> {
  const per = samples.height * samples.width * samples.channels;
  const k = Math.min(n, samples.count);
  orThrow(await writePngGrid(path, samples.images.subarray(0, k * per), k, samples.height, samples.width, samples.channels)());
}

/** The default grid file of an objective's sampler, under `<run>/samples/`. */
export function gridPath(dir: string, objective: Objective, steps: number): string {
  return join(dir, 'samples', objective === 'consistency' ? (steps === 1 ? 'cm-one-step.png' : `cm-${steps}-step.png`) : `dm-heun${steps}.png`);
}

export type FidDataset = 'mnist' | 'fashion-mnist';

function datasetOf(ctx: RunContext): FidDataset {
  const d = ctx.config.data.dataset;
  if (d !== 'mnist' && d !== 'fashion-mnist') throw epgError('config', `FID needs an MNIST or Fashion-MNIST run; ${ctx.dir} is a '${d}' run`, 'evaluate it with your own reference statistics');
  return d;
}

const testSet = (dataset: FidDataset): ImageSet => orThrow(dataset === 'mnist' ? loadMnist('test') : loadFashionMnist('test'));

function firstImages(set: ImageSet, count: number): ImageSet {
  if (count >= set.count) return set;
  const per = set.height * set.width * set.channels;
  return { ...set, count, images: set.images.subarray(0, count * per), labels: set.labels.subarray(0, count) };
}

export interface InceptionFidOptions {
  /** FID Inception-v3 weights as pytorch-fid ships them (.pth/.pt/.bin, torch.save) or safetensors. */
  readonly path: string;
  /** Resize side (default 299, the FID pipeline; smaller sides are for tests and change the name). */
  readonly inputSize?: number;
}

export interface FidOptions {
  readonly samples: number;
  readonly steps?: number;
  readonly seed?: number;
  /** Test images in the reference statistics (default all 10 000). */
  readonly referenceCount?: number;
  /** Inception-v3 FID instead of the domain FID. */
  readonly inception?: InceptionFidOptions;
  /** Images already generated with the same objective/steps/seed (epg-train reuses its grid samples). */
  readonly generated?: Samples;
}

export interface FidResult {
  readonly metric: 'domain-fid' | 'inception-fid';
  readonly objective: Objective;
  readonly fid: number;
  readonly samples: number;
  readonly sampler: string;
  readonly steps: number;
  readonly seed: number;
  readonly checkpointStep: number;
  /** The extractor name; for the domain FID it ends in `@<16 hex of the weights' SHA-256>/fc1`. */
  readonly extractor: string;
  readonly weightsSha256: string;
  readonly reference: { readonly dataset: FidDataset; readonly split: 'test'; readonly count: number; readonly statistics: string; readonly reused: boolean };
  readonly commit: string | null;
  readonly seconds: number;
  readonly date: string;
}

/**
 * The result file of an FID evaluation: `<run>/eval/fid-<objective>.json` for the default sampler
 * (one-step CM, the config's Heun steps), `fid-<objective>-<N>steps.json` for another step count;
 * Inception results are `fid-inception-…`.
 */
export function fidPath(dir: string, objective: Objective, opts: { inception?: boolean; steps?: number; defaultSteps?: number } = {}): string {
  const suffix = opts.steps !== undefined && opts.steps !== opts.defaultSteps ? `-${opts.steps}steps` : '';
  return join(evalDir(dir), `fid-${opts.inception ? 'inception-' : ''}${objective}${suffix}.json`);
}

function sha256File(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/** An Inception extractor from user weights, renamed with their hash so cached statistics never mix weights. */
function inceptionExtractor(o: InceptionFidOptions): { extractor: FeatureExtractor; sha256: string; dispose: () => void } {
  if (!existsSync(o.path)) throw epgError('io', `Inception weights ${o.path} do not exist`, 'pass pytorch-fid’s pt_inception-2015-12-05-6726825d.pth (or a safetensors of it) as it is');
  let net;
  try {
    net = createInceptionExtractor(loadInceptionWeights(o.path), o.inputSize !== undefined ? { inputSize: o.inputSize } : {});
  } catch (e) {
    if (isEpgError(e)) throw e;
    throw epgError('format', `Inception weights ${o.path}: ${(e as Error).message.split('\n')[0]}`);
  }
  const sha256 = sha256File(o.path);
  const n = net;
  return { extractor: { ...n, name: `${n.name}@${sha256.slice(0, 16)}` }, sha256, dispose: () => n.dispose() };
}

/**
 * FID of `samples` generated images of the run's `objective` against the test split; the reference
 * statistics are cached in `<run>/eval/reference-<dataset>-test[-inception].npz` and reused only for
 * the same extractor name (weights hash included) and count. Writes and returns the result JSON.
 */
export async function evaluateFid(ctx: RunContext, objective: Objective, opts: FidOptions): Promise<{ result: FidResult; path: string }> {
  const t0 = performance.now();
  const dataset = datasetOf(ctx);
  if (!(Number.isInteger(opts.samples) && opts.samples >= 2)) throw epgError('config', `FID samples ${opts.samples} must be an integer >= 2`);
  requireCheckpoint(ctx, objective);
  const test = testSet(dataset);
  const refCount = Math.min(opts.referenceCount ?? test.count, test.count);
  if (!(Number.isInteger(refCount) && refCount >= 2)) throw epgError('config', `reference count ${opts.referenceCount} must be an integer >= 2`);
  const net = opts.inception
    ? inceptionExtractor(opts.inception)
    : (() => {
        const d = orThrow(loadDomainClassifier(dataset));
        return { extractor: d.extractor, sha256: d.sha256, dispose: () => d.store.dispose() };
      })();
  try {
    const statsFile = join(evalDir(ctx.dir), `reference-${dataset}-test${opts.inception ? '-inception' : ''}.npz`);
    const ref = orThrow(cachedStatistics(statsFile, net.extractor, firstImages(test, refCount), { log: ctx.log }));
    const g = opts.generated;
    const samples =
      g && g.objective === objective && g.count >= opts.samples && g.steps === (opts.steps ?? defaultSteps(ctx, objective)) && g.seed === (opts.seed ?? ctx.config.seed)
        ? g
        : generateSamples(ctx, objective, { count: opts.samples, ...(opts.steps !== undefined ? { steps: opts.steps } : {}), ...(opts.seed !== undefined ? { seed: opts.seed } : {}) });
    const per = samples.height * samples.width * samples.channels;
    const stats = computeStatistics(net.extractor, { ...samples, count: opts.samples, images: samples.images.subarray(0, opts.samples * per) });
    const fid = frechetDistance(stats, ref.stats);
    const result: FidResult = {
      metric: opts.inception ? 'inception-fid' : 'domain-fid',
      objective,
      fid,
      samples: opts.samples,
      sampler: samples.sampler,
      steps: samples.steps,
      seed: samples.seed,
      checkpointStep: samples.checkpointStep,
      extractor: net.extractor.name,
      weightsSha256: net.sha256,
      reference: { dataset, split: 'test', count: refCount, statistics: relative(ctx.dir, statsFile), reused: ref.reused },
      commit: gitCommit(),
      seconds: Number(((performance.now() - t0) / 1000).toFixed(1)),
      date: new Date().toISOString(),
    };
    const path = fidPath(ctx.dir, objective, { inception: Boolean(opts.inception), steps: samples.steps, defaultSteps: defaultSteps(ctx, objective) });
    mkdirSync(evalDir(ctx.dir), { recursive: true });
    writeFileAtomic(path, Buffer.from(`${JSON.stringify(result, null, 2)}\n`));
    return { result, path };
  } finally {
    net.dispose();
  }
}

export interface ProbeOptions {
  /** Noise levels, UNSHIFTED (the images get σ·H/64); 0 stands for σ₀, the clean level σ_min'. */
  readonly sigmas: readonly number[];
  /** Probe bank: training images per class (default 200). */
  readonly trainPerClass?: number;
  /** Test images per class (default 50). */
  readonly testPerClass?: number;
  /** Linear-probe Adam steps (default 200). */
  readonly linearSteps?: number;
}

export interface ProbeFileRow extends NoisyProbeRow {
  /** The σ asked for (unshifted; 0 = σ₀). `sigma` is the shifted σ that touched the images. */
  readonly requested: number;
}

export interface ProbeResultFile {
  readonly metric: 'probe';
  /**
   * 'pretrain/online': the pre-trained encoder; 'random-init': a run without pre-training (the
   * scratch arm) probes the randomly initialised encoder of its seed, the baseline every pre-training
   * is measured against.
   */
  readonly encoder: 'pretrain/online' | 'random-init';
  readonly checkpointStep: number;
  readonly trainImages: number;
  readonly testImages: number;
  readonly k: number;
  readonly linearSteps: number;
  readonly rows: readonly ProbeFileRow[];
  readonly commit: string | null;
  readonly seconds: number;
  readonly date: string;
}

export const probePath = (dir: string) => join(evalDir(dir), 'probe.json');

/** Parses `--sigmas 0,0.5,1,2`: finite numbers >= 0, at least one. */
export function parseSigmas(text: string): E.Either<Error, number[]> {
  const parts = text.split(',').map((s) => s.trim());
  const values = parts.map(Number);
  const bad = parts.findIndex((p, i) => p === '' || !Number.isFinite(values[i]) || values[i] < 0);
  if (bad >= 0) return E.left(epgError('config', `--sigmas '${text}': '${parts[bad]}' is not a finite number >= 0`, 'pass comma-separated values, e.g. --sigmas 0,0.5,1,2'));
  return E.right(values);
}

/** The pre-training stage's freshly initialised online encoder for the run's seed (no checkpoint). */
function randomEncoderStore(ctx: RunContext) {
  const { online, target } = buildPretrainStores(ctx.vit, ctx.config.seed);
  target.dispose();
  return online;
}

/**
 * kNN (k 20) and linear-probe top-1 of the run's pre-trained (online) encoder (of the random initial
 * encoder when the run has no pre-training) at σ₀ and the given σ
 * (docs/ssl.md, "Probes"): a class-balanced bank from the train split, test images from the test
 * split, both noised with the same seeded ε at each σ. Writes and returns `<run>/eval/probe.json`.
 */
export function evaluateProbe(ctx: RunContext, opts: ProbeOptions): { result: ProbeResultFile; path: string } {
  const t0 = performance.now();
  const pre = ctx.config.pretrain;
  const dataset = datasetOf(ctx);
  const ck = pre ? latestCheckpoint(ctx.dir, 'pretrain') : null;
  if (pre && !ck) throw epgError('io', `run ${ctx.dir} has no pretrain checkpoint yet`, `run epg-train pretrain --run ${ctx.dir} first`);
  // Without pre-training (scratch), the probe measures the random encoder of this seed, at EPG's σ shift.
  const space = noiseSpace(ctx.vit.imageSize, { shift: pre ? pretrainConfig(pre.variant, { totalSteps: pre.steps, ...(pre.lr !== null ? { lr: pre.lr } : {}) }).shift : 'epg' });
  const shifted = opts.sigmas.map((s) => (s === 0 ? space.sigmaMin : toShifted(space, s)));
  const online = pre && ck ? loadPretrained({ ...ctx, config: { ...ctx.config, pretrain: { ...pre, steps: Math.min(pre.steps, ck.sidecar.step) } } })! : randomEncoderStore(ctx);
  const load = (split: 'train' | 'test') => orThrow(dataset === 'mnist' ? loadMnist(split) : loadFashionMnist(split));
  const bank = takePerClass(load('train'), opts.trainPerClass ?? 200);
  const test = takePerClass(load('test'), opts.testPerClass ?? 50);
  const toTensor = (set: ImageSet) => tf.tensor4d(normalizeImages(set.images, set.channels, 'minus-one-one'), [set.count, set.height, set.width, set.channels]);
  const train = { images: toTensor(bank), labels: bank.labels };
  const probeTest = { images: toTensor(test), labels: test.labels };
  const linearSteps = opts.linearSteps ?? 200;
  try {
    const encoder = encoderAt(makeEncoderFn(online, ctx.vit), space);
    const features = (x: tf.Tensor4D, sigma: Float64Array) => encoder(x, sigma).cls as tf.Tensor2D; // [B, D]
    const rows = probeAtSigmas(features, train, probeTest, { numClasses: ctx.vit.numClasses, sigmas: shifted, seed: ctx.config.seed, linear: { steps: linearSteps } });
    const result: ProbeResultFile = {
      metric: 'probe',
      encoder: pre ? 'pretrain/online' : 'random-init',
      checkpointStep: ck ? ck.sidecar.step : 0,
      trainImages: bank.count,
      testImages: test.count,
      k: 20,
      linearSteps,
      rows: rows.map((r, i) => ({ requested: opts.sigmas[i], ...r })),
      commit: gitCommit(),
      seconds: Number(((performance.now() - t0) / 1000).toFixed(1)),
      date: new Date().toISOString(),
    };
    const path = probePath(ctx.dir);
    mkdirSync(evalDir(ctx.dir), { recursive: true });
    writeFileAtomic(path, Buffer.from(`${JSON.stringify(result, null, 2)}\n`));
    return { result, path };
  } finally {
    tf.dispose([train.images, probeTest.images]);
    online.dispose();
  }
}
