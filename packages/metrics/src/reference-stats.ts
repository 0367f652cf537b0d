/**
 * Reference statistics files (.npz). Ours hold float64 `mu` [d] and `sigma` [d, d] (as written by
 * pytorch-fid `--save-stats` and clean-fid), plus `extractor` (UTF-8 bytes as uint8) and `count`
 * (int64 [1]) so that a later comparison can refuse statistics from another extractor. ADM
 * reference batches (openai/guided-diffusion `evaluations/`) hold `arr_0` (uint8 [N, H, W, 3]
 * images) and optionally `mu`, `sigma` (pool3) and `mu_s`, `sigma_s` (spatial, sFID).
 *
 * These are IO boundaries: each returns an Either with an EpgError on the left (a missing file, a
 * file of another format or extractor) and never throws for those (docs/architecture.md, "Errors").
 */
import * as E from 'fp-ts/Either';
import { readNpz, writeNpz, type NpyArray } from '@epg/data';
import { epgError, orThrow, toEpgError, type EpgError } from '@epg/tensor';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { FeatureStatistics } from './stats';
import { computeStatistics, type ExtractOptions, type FeatureExtractor, type PixelSource } from './features';
import { INCEPTION_FID_NAME } from './inception';

function float64Of(a: NpyArray, what: string): Float64Array {
  if (a.dtype === 'float64') return a.data as Float64Array;
  if (a.dtype === 'float32') return Float64Array.from(a.data as Float32Array);
  throw epgError('format', `${what} has dtype ${a.dtype}; expected float64 (or float32)`, 'save the statistics as float64');
}

/** Writes statistics as npz (atomic). */
export function saveStatistics(path: string, stats: FeatureStatistics): E.Either<EpgError, void> {
  return E.tryCatch(() => saveStatisticsOrThrow(path, stats), toEpgError);
}

function saveStatisticsOrThrow(path: string, stats: FeatureStatistics): void {
  const d = stats.dim;
  if (stats.mu.length !== d || stats.sigma.length !== d * d) throw epgError('shape', `saveStatistics: mu/sigma do not match dim ${d}`, 'pass the statistics of featureStatistics()');
  const name = new TextEncoder().encode(stats.extractor);
  orThrow(writeNpz(path, {
    mu: { dtype: 'float64', shape: [d], data: stats.mu },
    sigma: { dtype: 'float64', shape: [d, d], data: stats.sigma },
    extractor: { dtype: 'uint8', shape: [name.length], data: name },
    count: { dtype: 'int64', shape: [1], data: BigInt64Array.of(BigInt(stats.count ?? -1)) },
  }));
}

/**
 * Reads `mu` and `sigma` from an npz. The extractor name comes from the file's `extractor` entry;
 * files without one (pytorch-fid, clean-fid, ADM) need `assumeExtractor`, since nothing else says
 * which network made them.
 */
export function loadStatistics(path: string, opts: LoadStatisticsOptions = {}): E.Either<EpgError, FeatureStatistics> {
  return E.tryCatch(() => statisticsOf(path, orThrow(readNpz(path)), opts), toEpgError);
}

export interface LoadStatisticsOptions {
  readonly assumeExtractor?: string;
  /** Refuse (Left, kind 'mismatch') a file whose extractor is not this one. */
  readonly expectExtractor?: string;
  readonly muKey?: string;
  readonly sigmaKey?: string;
}

function statisticsOf(path: string, arrays: Map<string, NpyArray>, opts: LoadStatisticsOptions): FeatureStatistics {
  const muKey = opts.muKey ?? 'mu';
  const sigmaKey = opts.sigmaKey ?? 'sigma';
  const mu = arrays.get(muKey);
  const sigma = arrays.get(sigmaKey);
  if (!mu || !sigma) throw epgError('format', `${path} has no '${muKey}' and '${sigmaKey}' arrays (found: ${[...arrays.keys()].join(', ')})`, 'pass muKey/sigmaKey or a statistics file');
  const d = mu.shape[0];
  if (mu.shape.length !== 1 || sigma.shape.length !== 2 || sigma.shape[0] !== d || sigma.shape[1] !== d) {
    throw epgError('format', `${path}: ${muKey} [${mu.shape}] and ${sigmaKey} [${sigma.shape}] are not [d] and [d, d]`, 'the file is not a statistics file');
  }
  const ex = arrays.get('extractor');
  let extractor: string;
  if (ex && ex.dtype === 'uint8') extractor = new TextDecoder().decode(ex.data as Uint8Array);
  else if (opts.assumeExtractor) extractor = opts.assumeExtractor;
  else throw epgError('mismatch', `${path} does not record its feature extractor`, `pass assumeExtractor (e.g. '${INCEPTION_FID_NAME}') if you know it`);
  const cnt = arrays.get('count');
  const count = cnt && cnt.dtype === 'int64' && Number((cnt.data as BigInt64Array)[0]) >= 0 ? Number((cnt.data as BigInt64Array)[0]) : null;
  if (opts.expectExtractor !== undefined && extractor !== opts.expectExtractor) {
    throw epgError('mismatch', `${path} holds statistics of extractor '${extractor}', not '${opts.expectExtractor}'`, 'recompute them with this extractor (statistics of different extractors or weights never compare)');
  }
  const stats = { extractor, dim: d, count, mu: float64Of(mu, `${path}:${muKey}`), sigma: float64Of(sigma, `${path}:${sigmaKey}`) };
  checkFiniteStatistics(path, [[muKey, stats.mu], [sigmaKey, stats.sigma]]);
  return stats;
}

/** Refuses statistics holding NaN or ±Infinity (they would make every FID NaN). */
function checkFiniteStatistics(path: string, arrays: Array<[string, Float64Array]>): void {
  for (const [key, a] of arrays) {
    const i = a.findIndex((x) => !Number.isFinite(x));
    if (i >= 0) throw epgError('format', `${path}: ${key} holds ${a[i]} at index ${i}: the statistics are corrupt; recompute them from the reference images`);
  }
}

export interface AdmReference {
  /** The `arr_0` images (uint8 NHWC), when present. */
  readonly images: { readonly images: Uint8Array; readonly count: number; readonly height: number; readonly width: number; readonly channels: number } | null;
  /** pool3 statistics (`mu`, `sigma`), tagged as INCEPTION_FID_NAME (ADM used the same TF graph and resize). */
  readonly stats: FeatureStatistics | null;
  /** Spatial statistics for sFID (`mu_s`, `sigma_s`), when present. */
  readonly spatialStats: FeatureStatistics | null;
}

/** Loads an ADM reference batch (e.g. VIRTUAL_imagenet256_labeled.npz). */
export function loadAdmReference(path: string): E.Either<EpgError, AdmReference> {
  return E.tryCatch(() => admReferenceOf(path, orThrow(readNpz(path))), toEpgError);
}

function admReferenceOf(path: string, arrays: Map<string, NpyArray>): AdmReference {
  const arr = arrays.get('arr_0');
  let images: AdmReference['images'] = null;
  if (arr) {
    if (arr.dtype !== 'uint8' || arr.shape.length !== 4) throw epgError('format', `${path}: arr_0 is ${arr.dtype} [${arr.shape}], expected uint8 [N, H, W, C]`, 'use an ADM reference batch');
    const [count, height, width, channels] = arr.shape;
    images = { images: arr.data as Uint8Array, count, height, width, channels };
  }
  const stats = arrays.has('mu') && arrays.has('sigma') ? statisticsOf(path, arrays, { assumeExtractor: INCEPTION_FID_NAME }) : null;
  const spatialStats =
    arrays.has('mu_s') && arrays.has('sigma_s')
      ? statisticsOf(path, arrays, { assumeExtractor: 'inception-v3-fid/mixed_6d-spatial', muKey: 'mu_s', sigmaKey: 'sigma_s' })
      : null;
  if (!images && !stats) throw epgError('format', `${path} holds neither arr_0 nor mu/sigma: not an ADM reference batch`, 'pass an ADM reference .npz');
  return { images, stats, spatialStats };
}

export interface CachedStatisticsOptions extends ExtractOptions {
  /** Told why a file is not reused (another extractor, another image count, unreadable). */
  readonly log?: (line: string) => void;
}

/**
 * Reference statistics of `source` under `extractor`, cached in `path` (npz). The file is reused only
 * when it records the same extractor name (which carries the weights' hash) and the same image count;
 * otherwise the statistics are recomputed, `log` says why, and the file is overwritten. The caller
 * keys `path` by dataset and split (e.g. `<run>/eval/reference-mnist-test.npz`).
 */
export function cachedStatistics(
  path: string, extractor: FeatureExtractor, source: PixelSource, opts: CachedStatisticsOptions = {},
): E.Either<EpgError, { stats: FeatureStatistics; reused: boolean }> {
  const log = opts.log ?? (() => undefined);
  if (existsSync(path)) {
    const r = loadStatistics(path, { expectExtractor: extractor.name });
    if (E.isRight(r) && r.right.count === source.count) return E.right({ stats: r.right, reused: true });
    log(`reference statistics ${path}: ${E.isLeft(r) ? r.left.message.split(': recompute')[0] : `computed from ${r.right.count} images, not ${source.count}`}; recomputing`);
  }
  return E.tryCatch(() => {
    const stats = computeStatistics(extractor, source, opts);
    mkdirSync(dirname(path), { recursive: true });
    orThrow(saveStatistics(path, stats));
    return { stats, reused: false };
  }, toEpgError);
}
