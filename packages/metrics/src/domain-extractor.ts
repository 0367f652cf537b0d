/**
 * The domain classifier as a FeatureExtractor, its weights file, and `loadDomainClassifier`: the
 * evaluation entry point, which reads the weights shipped in this package (weights/) and never
 * trains. `trainDomainWeights` (used only by scripts/train-domain-classifier.ts) makes new files.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as E from 'fp-ts/Either';
import { EpgError, decodeSafetensors, encodeSafetensors, epgError, orThrow, RandomStream, toEpgError, writeFileAtomic, type ParameterStore } from '@epg/tensor';
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
/** Bumped when the architecture or recipe changes (part of the weights file name). */
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
      throw new EpgError('format', `${label}: tensor '${name}' is missing or not of shape [${shape}]: not a domain-classifier weights file (regenerate it with scripts/train-domain-classifier.ts)`);
    }
    tf.tidy(() => store.get(name).assign(tf.tensor(Float32Array.from(t.data as ArrayLike<number>), [...shape])));
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
 * 32×32 MNIST) or bilinearly resized (TF1 convention). `weightsId` (a hash of the weights file, see
 * `domainWeightsId`) goes into the name, so statistics from differently trained classifiers are never compared.
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

/** Where this package ships its weights: `<package>/weights` (one level above src/ and dist/). */
export const DOMAIN_WEIGHTS_DIR = join(__dirname, '..', 'weights');

/** The weights file name of a dataset: `domain-<dataset>-v<DOMAIN_WEIGHTS_VERSION>.safetensors`. */
export function domainWeightsFileName(dataset: DomainDataset): string {
  return `domain-${dataset}-v${DOMAIN_WEIGHTS_VERSION}.safetensors`;
}

/** The first 16 hex digits of the SHA-256 of a weights file's bytes: the `@<id>` of the extractor name. */
export function domainWeightsId(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex').slice(0, 16);
}

export interface LoadDomainOptions {
  /** A weights file to use instead of the shipped one (e.g. one written by scripts/train-domain-classifier.ts). */
  readonly path?: string;
}

export interface DomainClassifier {
  /** In eval mode; the caller disposes it. */
  readonly store: ParameterStore;
  /** Name `domain-<dataset>@<weightsId>/fc1`. */
  readonly extractor: FeatureExtractor;
  readonly path: string;
  /** SHA-256 (hex) of the weights file. */
  readonly sha256: string;
  /** Its first 16 hex digits. */
  readonly weightsId: string;
  /** Test accuracy recorded in the file's metadata when it was trained (NaN when absent). */
  readonly testAccuracy: number;
  readonly metadata: Readonly<Record<string, string>>;
}

const REGENERATE = 'regenerate it with `pnpm --filter @epg/metrics train-domain <dataset> --out DIR` and pass that file';

/**
 * The domain classifier of `dataset` from the weights shipped in this package (or `opts.path`).
 * Never trains: a missing or corrupt file is an EpgError on the left. A file whose metadata names
 * another dataset is refused. The caller disposes `store`.
 */
export function loadDomainClassifier(dataset: DomainDataset, opts: LoadDomainOptions = {}): E.Either<EpgError, DomainClassifier> {
  const path = opts.path ?? join(DOMAIN_WEIGHTS_DIR, domainWeightsFileName(dataset));
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'unreadable';
    return E.left(epgError('io', `domain-classifier weights ${path} cannot be read (${code})`, opts.path ? 'check the path' : `the package is incomplete: ${REGENERATE}`));
  }
  return E.tryCatch(() => {
    const { store, metadata } = decodeDomainWeights(buf, path);
    if (metadata.dataset !== undefined && metadata.dataset !== dataset) {
      store.dispose();
      throw epgError('mismatch', `domain-classifier weights ${path} were trained on ${metadata.dataset}, not ${dataset}`, `pass the ${dataset} weights`);
    }
    const sha256 = createHash('sha256').update(buf).digest('hex');
    const weightsId = sha256.slice(0, 16);
    const acc = metadata.test_accuracy !== undefined ? Number(metadata.test_accuracy) : NaN;
    return { store, extractor: createDomainExtractor(store, dataset, weightsId), path, sha256, weightsId, testAccuracy: acc, metadata };
  }, toEpgError);
}

export interface TrainDomainWeightsOptions {
  readonly log?: (line: string) => void;
  /** Overrides of the training recipe (tests with shortened training). */
  readonly train?: DomainTrainOptions;
  /** Skip the accuracy threshold (tests with shortened training only). */
  readonly skipAccuracyCheck?: boolean;
}

export interface TrainedDomainWeights {
  readonly path: string;
  readonly sha256: string;
  readonly testAccuracy: number;
  readonly seconds: number;
}

/**
 * Trains the classifier of `dataset` (seeded: the same backend gives the same file), checks its test
 * accuracy against DOMAIN_MIN_ACCURACY and writes `<outDir>/domain-<dataset>-v1.safetensors` with
 * metadata (dataset, test_accuracy, epochs, version, backend, train_seconds). A classifier below the
 * threshold is written to `….rejected` (for inspection) and returned as a Left. Minutes of work: only
 * scripts/train-domain-classifier.ts calls this; evaluation loads the shipped files.
 */
export function trainDomainWeights(dataset: DomainDataset, outDir: string, opts: TrainDomainWeightsOptions = {}): E.Either<EpgError, TrainedDomainWeights> {
  return E.tryCatch(() => {
    const recipe = { epochs: DOMAIN_EPOCHS[dataset], ...opts.train };
    const path = join(outDir, domainWeightsFileName(dataset));
    const log = opts.log ?? (() => undefined);
    const load = (split: 'train' | 'test') => orThrow(dataset === 'mnist' ? loadMnist(split) : loadFashionMnist(split));
    log(`domain classifier (${dataset}): training ${recipe.epochs} epochs on ${tf.getBackend()}`);
    const t0 = Date.now();
    const store = trainDomainClassifier(load('train'), { log, ...recipe });
    let buf: Buffer;
    let acc: number;
    const seconds = (Date.now() - t0) / 1000;
    try {
      acc = domainAccuracy(store, load('test'));
      buf = encodeDomainWeights(store, {
        dataset,
        test_accuracy: String(acc),
        epochs: String(recipe.epochs),
        version: String(DOMAIN_WEIGHTS_VERSION),
        backend: tf.getBackend(),
        train_seconds: seconds.toFixed(1),
      });
    } finally {
      store.dispose();
    }
    log(`domain classifier (${dataset}): test accuracy ${(100 * acc).toFixed(2)} % after ${seconds.toFixed(0)} s`);
    mkdirSync(outDir, { recursive: true });
    if (!opts.skipAccuracyCheck && acc < DOMAIN_MIN_ACCURACY[dataset]) {
      writeFileAtomic(`${path}.rejected`, buf); // kept for inspection, never read back
      throw epgError('numeric', `domain classifier (${dataset}) reached only ${(100 * acc).toFixed(2)} % test accuracy (< ${100 * DOMAIN_MIN_ACCURACY[dataset]} %); weights left in ${path}.rejected`, 'train longer (epochs) or check the data');
    }
    writeFileAtomic(path, buf);
    return { path, sha256: createHash('sha256').update(buf).digest('hex'), testAccuracy: acc, seconds };
  }, toEpgError);
}
