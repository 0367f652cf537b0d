/**
 * The feature-extractor contract and the loops that run one over a set of images: features for
 * KID / precision-recall, or streaming float64 statistics for the Fréchet distance.
 *
 * Input contract (docs/metrics-reference.md §3.2–3.3, one convention for every extractor): float32 NHWC pixel
 * values in [0, 255], i.e. uint8 images cast to float. Generated images in [−1, 1] are quantised
 * first with `quantizeUnitRange` (as saving them to PNG would), so real and generated images take
 * the same path.
 */
import * as tf from '@tensorflow/tfjs-core';
import { StatisticsAccumulator, type FeatureStatistics } from './stats';
import type { FeatureMatrix } from './kid';
import { EpgError } from '@epg/tensor';

export interface FeatureExtractor {
  /** Identifies network, weights and layer; statistics files record it (e.g. 'inception-v3-fid/pool3'). */
  readonly name: string;
  /** Feature dimension. */
  readonly dim: number;
  /** What inputs it takes (sizes, channels), for error messages and documentation. */
  readonly accepts: string;
  /** Features [B, dim] of pixels [B, H, W, C] in [0, 255]. Returns a new tensor the caller owns; leaks nothing. */
  extract(pixels: tf.Tensor4D): tf.Tensor2D;
  /** Class logits [B, classes] (for Inception Score), when the network has a classifier head. */
  logits?(pixels: tf.Tensor4D): tf.Tensor2D;
}

/** Uint8 pixels on the host (an @epg/data ImageSet satisfies this). */
export interface PixelSource {
  readonly images: Uint8Array;
  readonly count: number;
  readonly height: number;
  readonly width: number;
  readonly channels: number;
}

export interface ExtractOptions {
  /** Images per forward pass (default 250). Results do not depend on it beyond float32 kernels. */
  readonly batchSize?: number;
  /** Called after each batch with (images done, total). */
  readonly onProgress?: (done: number, total: number) => void;
}

function checkSource(src: PixelSource, what: string): void {
  const per = src.height * src.width * src.channels;
  if (!Number.isInteger(src.count) || src.count < 1 || src.images.length !== src.count * per) {
    throw new EpgError('shape', `${what}: ${src.images.length} bytes do not hold ${src.count} images of ${src.height}×${src.width}×${src.channels}`);
  }
}

/** Runs `fn` on each batch's features (a Float32Array of rows × dim). */
function forEachFeatureBatch(
  extractor: FeatureExtractor,
  src: PixelSource,
  opts: ExtractOptions,
  fn: (features: Float32Array, rows: number, start: number) => void,
): void {
  checkSource(src, `features (${extractor.name})`);
  const batch = opts.batchSize ?? 250;
  const per = src.height * src.width * src.channels;
  for (let start = 0; start < src.count; start += batch) {
    const rows = Math.min(batch, src.count - start);
    const feats = tf.tidy(() => {
      const pixels = tf.tensor4d(
        Float32Array.from(src.images.subarray(start * per, (start + rows) * per)),
        [rows, src.height, src.width, src.channels],
      );
      const f = extractor.extract(pixels);
      if (f.shape[0] !== rows || f.shape[1] !== extractor.dim) {
        throw new Error(`extractor '${extractor.name}' returned shape [${f.shape}], expected [${rows}, ${extractor.dim}]`);
      }
      return f.dataSync() as Float32Array;
    });
    fn(feats, rows, start);
    opts.onProgress?.(start + rows, src.count);
  }
}

/** All features of a set as a row-major [count, dim] matrix (for KID and precision/recall). */
export function extractFeatures(extractor: FeatureExtractor, src: PixelSource, opts: ExtractOptions = {}): FeatureMatrix & { data: Float32Array } {
  const out = new Float32Array(src.count * extractor.dim);
  forEachFeatureBatch(extractor, src, opts, (f, _rows, start) => out.set(f, start * extractor.dim));
  return { data: out, count: src.count, dim: extractor.dim };
}

/** Float64 mean and covariance of a set's features, streamed batch by batch. */
export function computeStatistics(extractor: FeatureExtractor, src: PixelSource, opts: ExtractOptions = {}): FeatureStatistics {
  const acc = new StatisticsAccumulator(extractor.dim, extractor.name);
  forEachFeatureBatch(extractor, src, opts, (f, rows) => acc.add(f, rows));
  return acc.finish();
}

/**
 * Generated images in [−1, 1] ([B, H, W, C] tensor) → uint8 pixels as a saved PNG would hold them:
 * round((x + 1)·127.5) clipped to [0, 255] (docs/metrics-reference.md §3.3). Returns host bytes; disposes nothing.
 */
export function quantizeUnitRange(x: tf.Tensor4D): Uint8Array {
  return tf.tidy(() => {
    const v = tf.clipByValue(tf.round(tf.mul(tf.add(x, 1), 127.5)), 0, 255);
    return Uint8Array.from(v.dataSync());
  });
}
