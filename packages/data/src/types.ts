/**
 * Shared shapes of @epg/data. Image layout everywhere is NHWC (channels last); pixels on the host
 * are uint8, tensors are float32 (@epg/metrics consumes these types).
 */

import { EpgError, type EpgErrorKind } from '@epg/tensor';

/** A labelled set of images held in memory. */
export interface ImageSet {
  /** N×H×W×C bytes, row-major, channels last. */
  readonly images: Uint8Array;
  /** Class id per image, length N. */
  readonly labels: Int32Array;
  readonly count: number;
  readonly height: number;
  readonly width: number;
  readonly channels: number;
  /** Name of class k at index k. */
  readonly classNames: readonly string[];
}

/** The numpy dtypes this package reads and writes (little-endian). */
export type NpyDtype = 'uint8' | 'int32' | 'int64' | 'float32' | 'float64';

/** One array of a .npy / .npz file, C order. */
export interface NpyArray {
  readonly dtype: NpyDtype;
  readonly shape: readonly number[];
  readonly data: Uint8Array | Int32Array | BigInt64Array | Float32Array | Float64Array;
}

/** A data problem a user can act on: the message names the file or option and the fix. */
/**
 * A user-fixable problem with data (a missing or corrupt file, a bad option): an EpgError (tagged, with
 * a kind; docs/architecture.md, "Errors"). The kind defaults to 'config'; file problems say 'io' or 'format'.
 */
export class DataError extends EpgError {
  override readonly name = 'DataError';
  constructor(message: string, kind: EpgErrorKind = 'config') {
    super(kind, message);
  }
}

/** Bytes of one image (H×W×C) of a set. */
export function imageAt(set: ImageSet, index: number): Uint8Array {
  if (!Number.isInteger(index) || index < 0 || index >= set.count) {
    throw new RangeError(`image index ${index} is outside 0..${set.count - 1}`);
  }
  const size = set.height * set.width * set.channels;
  return set.images.subarray(index * size, (index + 1) * size);
}

/** Checks that an ImageSet's arrays agree with its declared sizes; throws a DataError naming `what`. */
export function validateImageSet(set: ImageSet, what = 'image set'): void {
  const { count, height, width, channels } = set;
  for (const [k, v] of Object.entries({ count, height, width, channels })) {
    if (!Number.isInteger(v) || v < 0) throw new DataError(`${what}: ${k} must be a non-negative integer, got ${v}`);
  }
  if (set.images.length !== count * height * width * channels) {
    throw new DataError(
      `${what}: images has ${set.images.length} bytes but count×height×width×channels = ${count}×${height}×${width}×${channels}`,
    );
  }
  if (set.labels.length !== count) throw new DataError(`${what}: labels has length ${set.labels.length}, expected ${count}`);
  for (let i = 0; i < count; i++) {
    const l = set.labels[i];
    if (l < 0 || l >= set.classNames.length) {
      throw new DataError(`${what}: label ${l} of image ${i} is outside 0..${set.classNames.length - 1} (classNames has ${set.classNames.length})`);
    }
  }
}
