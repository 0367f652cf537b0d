/**
 * Epoch-shuffled batches with async prefetch and an exact, serialisable position.
 * The order of epoch e is RandomStream.derive(seed, e, 'shuffle').permutation(N); the random
 * stream of the sample at position p of epoch e is RandomStream.derive(seed, e·N + p, 'sample'),
 * so a loader restored from `state` yields exactly the batches (and augmentations) that the
 * original loader would have yielded next, whatever was prefetched when the state was taken.
 */
import { checkLoaderOptions } from './options';
import { RandomStream } from '@epg/tensor';
import { DataError, type ImageSet } from './types';

/** Where a loader stands: enough to rebuild it exactly (plain JSON). */
export interface LoaderState {
  readonly seed: number;
  readonly batchSize: number;
  readonly count: number;
  /** Epoch of the next batch. */
  readonly epoch: number;
  /** Index within the epoch's permutation of the next batch's first sample. */
  readonly position: number;
}

/** The raw material of one batch, handed to `prepare`. */
export interface RawBatch {
  readonly images: Uint8Array; // B×H×W×C
  readonly labels: Int32Array;
  /** Indices into the set. */
  readonly indices: Int32Array;
  readonly count: number;
  readonly height: number;
  readonly width: number;
  readonly channels: number;
  readonly epoch: number;
  /** Position of the first sample within the epoch. */
  readonly position: number;
  /** Sample i's own stream (depends only on seed, epoch and position). */
  readonly streamFor: (i: number) => RandomStream;
  /** A stream for batch-level draws (e.g. label dropout), from (seed, epoch·N + position). */
  readonly batchStream: RandomStream;
}

export interface LoaderOptions<T> {
  readonly batchSize: number;
  readonly seed: number;
  /** Turns raw bytes into what the trainer consumes (augmentations, tensors...). */
  readonly prepare: (batch: RawBatch) => T;
  /** Batches prepared ahead of the consumer (default 2; 0 prepares on demand). */
  readonly prefetch?: number;
  /** Drop the last incomplete batch of each epoch (default true: every batch has batchSize). */
  readonly dropLast?: boolean;
  /** Resume from a state returned by `state` of an earlier loader on the same set and options. */
  readonly resume?: LoaderState;
}

export interface LoadedBatch<T> {
  readonly batch: T;
  readonly epoch: number;
  readonly position: number;
  /** The loader's state after this batch: save it with a checkpoint taken after this step. */
  readonly stateAfter: LoaderState;
}

/** A batch loader over an in-memory ImageSet. Call `next()` in a loop; `state` is JSON-safe. */
export class ImageLoader<T> {
  private readonly set: ImageSet;
  private readonly opts: Required<Omit<LoaderOptions<T>, 'resume'>>;
  private epoch: number;
  private position: number;
  private permutationEpoch = -1;
  private permutationCache: Int32Array = new Int32Array(0);
  /** Prepared or in-preparation batches, oldest first. */
  private readonly queue: Promise<LoadedBatch<T>>[] = [];
  /** Position of the next batch to schedule (ahead of the consumer by queue.length). */
  private scheduleEpoch: number;
  private schedulePosition: number;
  private consumed: LoaderState;

  constructor(set: ImageSet, opts: LoaderOptions<T>) {
    checkLoaderOptions(opts);
    const { batchSize, seed } = opts;
    if (!Number.isInteger(batchSize) || batchSize <= 0) throw new DataError(`loader batchSize must be a positive integer, got ${batchSize}`);
    if (!Number.isSafeInteger(seed) || seed < 0) throw new DataError(`loader seed must be a non-negative integer, got ${seed}`);
    const dropLast = opts.dropLast ?? true;
    if (set.count === 0) throw new DataError('loader: the image set is empty');
    if (dropLast && batchSize > set.count) throw new DataError(`loader batchSize ${batchSize} exceeds the set's ${set.count} images (with dropLast every epoch would be empty)`);
    this.set = set;
    this.opts = { batchSize, seed, prepare: opts.prepare, prefetch: opts.prefetch ?? 2, dropLast };
    const r = opts.resume;
    if (r) {
      if (r.seed !== seed || r.batchSize !== batchSize || r.count !== set.count) {
        throw new DataError(
          `loader resume state is for seed ${r.seed}, batchSize ${r.batchSize}, ${r.count} images; this loader has seed ${seed}, batchSize ${batchSize}, ${set.count} images`,
        );
      }
      if (!Number.isInteger(r.epoch) || r.epoch < 0 || !Number.isInteger(r.position) || r.position < 0 || r.position >= set.count) {
        throw new DataError(`loader resume state has a bad position (epoch ${r.epoch}, position ${r.position})`);
      }
    }
    this.epoch = r?.epoch ?? 0;
    this.position = r?.position ?? 0;
    this.scheduleEpoch = this.epoch;
    this.schedulePosition = this.position;
    this.consumed = this.makeState(this.epoch, this.position);
  }

  /** Batches per epoch. */
  get batchesPerEpoch(): number {
    const { batchSize, dropLast } = this.opts;
    return dropLast ? Math.floor(this.set.count / batchSize) : Math.ceil(this.set.count / batchSize);
  }

  /** The state before the next batch `next()` returns (prefetched batches are not counted). */
  get state(): LoaderState {
    return this.consumed;
  }

  private makeState(epoch: number, position: number): LoaderState {
    return { seed: this.opts.seed, batchSize: this.opts.batchSize, count: this.set.count, epoch, position };
  }

  /** The sample order of an epoch. */
  permutation(epoch: number): Int32Array {
    if (epoch !== this.permutationEpoch) {
      this.permutationCache = RandomStream.derive(this.opts.seed, epoch, 'shuffle').permutation(this.set.count);
      this.permutationEpoch = epoch;
    }
    return this.permutationCache;
  }

  /** Advances (epoch, position) by one batch. */
  private advance(epoch: number, position: number): [number, number, number] {
    const { batchSize, dropLast } = this.opts;
    const N = this.set.count;
    let e = epoch;
    let p = position;
    if (p >= N || (dropLast && p + batchSize > N)) {
      e++;
      p = 0;
    }
    const size = Math.min(batchSize, N - p);
    return [e, p, size];
  }

  private build(epoch: number, position: number, size: number): LoadedBatch<T> {
    const { height, width, channels } = this.set;
    const per = height * width * channels;
    const order = this.permutation(epoch);
    const indices = order.slice(position, position + size);
    const images = new Uint8Array(size * per);
    const labels = new Int32Array(size);
    for (let k = 0; k < size; k++) {
      const i = indices[k];
      images.set(this.set.images.subarray(i * per, (i + 1) * per), k * per);
      labels[k] = this.set.labels[i];
    }
    const N = this.set.count;
    const seed = this.opts.seed;
    const raw: RawBatch = {
      images, labels, indices, count: size, height, width, channels, epoch, position,
      streamFor: (k) => RandomStream.derive(seed, epoch * N + position + k, 'sample'),
      batchStream: RandomStream.derive(seed, epoch * N + position, 'batch'),
    };
    const [ne, np] = this.nextAfter(epoch, position, size);
    return { batch: this.opts.prepare(raw), epoch, position, stateAfter: this.makeState(ne, np) };
  }

  private nextAfter(epoch: number, position: number, size: number): [number, number] {
    const p = position + size;
    const [e2, p2] = this.advance(epoch, p);
    return [e2, p2];
  }

  private schedule(): void {
    const [e, p, size] = this.advance(this.scheduleEpoch, this.schedulePosition);
    const [ne, np] = this.nextAfter(e, p, size);
    this.scheduleEpoch = ne;
    this.schedulePosition = np;
    // setImmediate: prepare when the event loop is free (e.g. while the trainer awaits a readback).
    const pending = new Promise<LoadedBatch<T>>((resolve, reject) =>
      setImmediate(() => {
        try {
          resolve(this.build(e, p, size));
        } catch (err) {
          reject(err);
        }
      }),
    );
    // A failure surfaces when that batch is awaited; until then it is not an unhandled rejection.
    pending.catch(() => undefined);
    this.queue.push(pending);
  }

  /** The next batch; keeps `prefetch` more in preparation. */
  async next(): Promise<LoadedBatch<T>> {
    while (this.queue.length < 1 + this.opts.prefetch) this.schedule();
    const out = await this.queue.shift()!;
    this.consumed = out.stateAfter;
    return out;
  }

  /** The next batch, prepared now on the caller's stack (no prefetch). */
  nextSync(): LoadedBatch<T> {
    if (this.queue.length > 0) throw new DataError('nextSync cannot follow next() while batches are prefetched; use one of the two');
    const [e, p, size] = this.advance(this.consumed.epoch, this.consumed.position);
    const out = this.build(e, p, size);
    this.consumed = out.stateAfter;
    this.scheduleEpoch = out.stateAfter.epoch;
    this.schedulePosition = out.stateAfter.position;
    return out;
  }
}

/** Checks a value read back from JSON is a LoaderState. */
export function parseLoaderState(value: unknown, where = 'loader state'): LoaderState {
  const v = value as Partial<LoaderState> | null;
  const keys = ['seed', 'batchSize', 'count', 'epoch', 'position'] as const;
  if (!v || typeof v !== 'object' || keys.some((k) => typeof v[k] !== 'number')) {
    throw new DataError(`${where} must be an object with numeric ${keys.join(', ')}`);
  }
  return { seed: v.seed!, batchSize: v.batchSize!, count: v.count!, epoch: v.epoch!, position: v.position! };
}
