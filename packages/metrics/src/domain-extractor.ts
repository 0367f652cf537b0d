/**
 * The domain classifier as a FeatureExtractor, its weights file, and `ensureDomainClassifier`:
 * the eval app's entry point that trains the classifier on first use and caches the weights.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { EpgError, decodeSafetensors, encodeSafetensors, orThrow, RandomStream, writeFileAtomic, type ParameterStore } from '@epg/tensor';
import { loadFashionMnist, loadMnist } from '@epg/data';
import {
  DOMAIN_BUFFER_SHAPES,
  DOMAIN_FEATURE_DIM,
  DOMAIN_INPUT_SIZE,
  DOMAIN_PARAM_SHAPES,
  domainClassifierForward,
  domainPreprocess,
  initDomainClassifier,
} from './domain-classifier';
import { domainAccuracy, trainDomainClassifier, type DomainTrainOptions } from './domain-train';
import type { FeatureExtractor } from './features';

export type DomainDataset = 'mnist' | 'fashion-mnist';

/** Test accuracy a cached classifier must reach (issue 6). */
export const DOMAIN_MIN_ACCURACY: Readonly<Record<DomainDataset, number>> = { mnist: 0.99, 'fashion-mnist': 0.9 };
/** Epochs of the default training recipe per dataset. */
export const DOMAIN_EPOCHS: Readonly<Record<DomainDataset, number>> = { mnist: 2, 'fashion-mnist': 2 };
/** Bumped when the architecture or recipe changes, so stale cache files are not reused. */
export const DOMAIN_WEIGHTS_VERSION = 1;

const ALL_SHAPES = { ...DOMAIN_PARAM_SHAPES, ...DOMAIN_BUFFER_SHAPES };

/** Serialises the classifier (parameters and BatchNorm statistics) with metadata. */
export function encodeDomainWeights(store: ParameterStore, metadata: Record<string, string>): Buffer {
  const tensors: Record<string, { shape: readonly number[]; data: Float32Array }> = {};
  for (const name of Object.keys(ALL_SHAPES)) {
    const v = store.get(name);
    tensors[name] = { shape: v.shape, data: v.dataSync() as Float32Array };
  }
  return encodeSafetensors(tensors, metadata);
}

/** Parses a weights file into a store in eval mode; errors name the file and the bad tensor. */
export function decodeDomainWeights(buf: Buffer, label: string): { store: ParameterStore; metadata: Record<string, string> } {
  const { tensors, metadata } = decodeSafetensors(buf, label);
  const store = initDomainClassifier(RandomStream.fromSeed(0));
  for (const [name, shape] of Object.entries(ALL_SHAPES)) {
    const t = tensors.get(name);
    if (!t || t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      store.dispose();
      throw new EpgError('format', `${label}: tensor '${name}' is missing or not of shape [${shape}]; delete the file to retrain`);
    }
    store.get(name).assign(tf.tensor(Float32Array.from(t.data as ArrayLike<number>), [...shape]));
  }
  store.eval();
  return { store, metadata };
}

export interface DomainExtractorOptions {
  /** How 28×28 is reached from larger images: 'crop' (centre, the inverse of zero padding) or 'resize' (bilinear). */
  readonly fit?: 'crop' | 'resize';
}

/**
 * Features of the classifier's penultimate layer (128-d). Accepts [B, H, W, 1] pixels in [0, 255]:
 * 28×28 as is; larger even-margin images centre-cropped (default, undoes the 2-px padding of
 * 32×32 MNIST) or bilinearly resized (TF1 convention). `weightsId` (a hash of the weights) goes into
 * the name, so statistics from differently trained classifiers are never compared.
 */
export function createDomainExtractor(store: ParameterStore, dataset: DomainDataset, weightsId: string, opts: DomainExtractorOptions = {}): FeatureExtractor {
  if (store.training) throw new Error('createDomainExtractor: the store must be in eval mode (store.eval())');
  const fit = opts.fit ?? 'crop';
  const to28 = (pixels: tf.Tensor4D): tf.Tensor4D => {
    const [b, h, w, c] = pixels.shape;
    if (c !== 1) throw new EpgError('shape', `domain extractor (${dataset}) takes 1-channel images, got ${c} channels`);
    if (h === DOMAIN_INPUT_SIZE && w === DOMAIN_INPUT_SIZE) return pixels;
    if (fit === 'crop' && h >= DOMAIN_INPUT_SIZE && w >= DOMAIN_INPUT_SIZE && (h - 28) % 2 === 0 && (w - 28) % 2 === 0) {
      return tf.slice(pixels, [0, (h - 28) / 2, (w - 28) / 2, 0], [b, 28, 28, 1]);
    }
    return tf.image.resizeBilinear(pixels, [28, 28]);
  };
  const run = (pixels: tf.Tensor4D) => domainClassifierForward(store, domainPreprocess(to28(pixels)));
  return {
    name: `domain-${dataset}@${weightsId}/fc1`,
    dim: DOMAIN_FEATURE_DIM,
    accepts: `[B, H, W, 1] pixels in [0, 255], H = W = 28 (or larger: ${fit === 'crop' ? 'centre-cropped' : 'resized'} to 28)`,
    extract: (pixels) => tf.tidy(() => run(pixels).features),
    logits: (pixels) => tf.tidy(() => run(pixels).logits),
  };
}

export interface EnsureDomainOptions {
  /** Cache directory; default $EPG_CACHE_DIR or ~/.cache/epg-ts. */
  readonly cacheDir?: string;
  readonly log?: (line: string) => void;
  /** Overrides of the training recipe (used by tests; changes the cache key). */
  readonly train?: DomainTrainOptions;
  /** Skip the accuracy threshold (tests with shortened training only). */
  readonly skipAccuracyCheck?: boolean;
}

export interface DomainClassifier {
  readonly store: ParameterStore;
  readonly extractor: FeatureExtractor;
  readonly path: string;
  readonly testAccuracy: number;
  /** True when the weights were trained by this call (not read from the cache). */
  readonly trained: boolean;
}

export function defaultCacheDir(): string {
  return process.env.EPG_CACHE_DIR || join(homedir(), '.cache', 'epg-ts');
}

/**
 * Returns the domain classifier for `dataset`, training it (a few minutes on two cores, wasm
 * backend) and caching the weights on first use. Training fails with an error if the test accuracy
 * stays below DOMAIN_MIN_ACCURACY. The caller disposes `store`.
 */
export function ensureDomainClassifier(dataset: DomainDataset, opts: EnsureDomainOptions = {}): DomainClassifier {
  const dir = opts.cacheDir ?? defaultCacheDir();
  const recipe = { epochs: DOMAIN_EPOCHS[dataset], ...opts.train };
  const custom = opts.train ? `-${createHash('sha256').update(JSON.stringify(recipe)).digest('hex').slice(0, 8)}` : '';
  const path = join(dir, `domain-${dataset}-v${DOMAIN_WEIGHTS_VERSION}${custom}.safetensors`);
  const log = opts.log ?? (() => undefined);
  if (existsSync(path)) {
    const buf = readFileSync(path);
    const { store, metadata } = decodeDomainWeights(buf, path);
    const id = createHash('sha256').update(buf).digest('hex').slice(0, 8);
    return { store, extractor: createDomainExtractor(store, dataset, id), path, testAccuracy: Number(metadata.test_accuracy), trained: false };
  }
  const load = (split: 'train' | 'test') => orThrow(dataset === 'mnist' ? loadMnist(split) : loadFashionMnist(split));
  log(`domain classifier (${dataset}): not cached at ${path}; training ${recipe.epochs} epochs`);
  const t0 = Date.now();
  const store = trainDomainClassifier(load('train'), { log, ...recipe });
  const acc = domainAccuracy(store, load('test'));
  const seconds = (Date.now() - t0) / 1000;
  log(`domain classifier (${dataset}): test accuracy ${(100 * acc).toFixed(2)} % after ${seconds.toFixed(0)} s`);
  const buf = encodeDomainWeights(store, {
    dataset,
    test_accuracy: String(acc),
    epochs: String(recipe.epochs),
    version: String(DOMAIN_WEIGHTS_VERSION),
    backend: tf.getBackend(),
    train_seconds: seconds.toFixed(1),
  });
  mkdirSync(dir, { recursive: true });
  if (!opts.skipAccuracyCheck && acc < DOMAIN_MIN_ACCURACY[dataset]) {
    store.dispose();
    writeFileAtomic(`${path}.rejected`, buf); // kept for inspection, never read back
    throw new Error(`domain classifier (${dataset}) reached only ${(100 * acc).toFixed(2)} % test accuracy (< ${100 * DOMAIN_MIN_ACCURACY[dataset]} %); not cached (weights in ${path}.rejected)`);
  }
  writeFileAtomic(path, buf);
  const id = createHash('sha256').update(buf).digest('hex').slice(0, 8);
  return { store, extractor: createDomainExtractor(store, dataset, id), path, testAccuracy: acc, trained: true };
}
