/**
 * Reuse of the native kernels' output arrays once tfjs has released them.
 *
 * Why: every output of a native kernel is a fresh ArrayBuffer (`Buffer.allocUnsafeSlow`). A training
 * step allocates ~1–2 GB of them; V8 counts that as external memory and starts a full mark-compact
 * each time ~64 MB more has been allocated, i.e. ~20 full GCs per step, whose parallel marking
 * threads burned ≈ 1.1 CPU-s per EPG DM step at the twins' size (docs/performance.md,
 * "Round 2 (issue 15), training steps"). Recycling the arrays when the cpu backend frees their tensor takes the allocation
 * (and the GC it triggers) out of the step.
 *
 * Safety: an array is recycled only when it is provably unreachable through tfjs. Ours are the arrays
 * `alloc` made; the cpu backend instance is wrapped so that
 *  - `write`/`move` count each tensor-data entry that holds one of ours (`refs`), and a view of one of
 *    ours registered as another tensor's values (a stock `Slice` may return `subarray`) marks it
 *    escaped;
 *  - `readSync`/`read` (`dataSync`, `data`, `arraySync`, `bufferSync`, checkpoints) mark it escaped:
 *    the caller may keep the array after disposing the tensor;
 *  - `disposeData` gives it back once the last entry holding it is deleted and it never escaped.
 * Escaped arrays are left to the garbage collector as before. Pooled arrays keep stale contents, which
 * is the contract `alloc` already had (every native kernel writes each element of its output).
 * EPG_NATIVE_POOL_MB caps the pool (default 2048; 0 turns recycling off); past the cap the least
 * recently used sizes are dropped first.
 */
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';

/** Arrays below this many elements are not pooled (the allocation is cheap and V8 barely notices). */
const MIN_ELEMENTS = 4096;

function limitBytes(): number {
  const env = process.env.EPG_NATIVE_POOL_MB;
  if (env === undefined || env === '') return 2048 * 2 ** 20;
  const mb = Number(env);
  if (!Number.isFinite(mb) || mb < 0) throw new Error(`EPG_NATIVE_POOL_MB=${env} is not a size: use a number of MB >= 0 (0 turns output recycling off), or unset it for 2048.`);
  return mb * 2 ** 20;
}

/** Read on first use (this module is also in the browser entry's import graph, where there is no process). */
let LIMIT = -1;
function limit(): number {
  if (LIMIT < 0) LIMIT = limitBytes();
  return LIMIT;
}
/** Reads (and so validates) EPG_NATIVE_POOL_MB now: registerNativeKernels calls it, so a bad value stops a run before its first step. */
export function checkPoolLimit(): void {
  limit();
}
const free = new Map<number, Float32Array[]>();
let pooledBytes = 0;
/** Our arrays by their (dedicated) buffer. */
const owner = new WeakMap<ArrayBufferLike, Float32Array>();
/** Tensor-data entries of the cpu backend that hold the array itself. */
const refs = new WeakMap<Float32Array, number>();
const escaped = new WeakSet<Float32Array>();
const attached = new WeakSet<object>();
const counters = { fresh: 0, reused: 0, recycled: 0, escaped: 0, evicted: 0 };

function fresh(n: number): Float32Array {
  const buf = Buffer.allocUnsafeSlow(n * 4);
  return new Float32Array(buf.buffer, buf.byteOffset, n);
}

/** An output array of n elements (contents unspecified): a recycled one when the pool has that size. */
export function poolAlloc(n: number): Float32Array {
  if (n === 0) return new Float32Array(0);
  if (limit() === 0 || n < MIN_ELEMENTS) return fresh(n);
  const list = free.get(n);
  const a = list?.pop();
  if (a) {
    pooledBytes -= a.byteLength;
    counters.reused++;
    touch(n, list!);
    return a;
  }
  const b = fresh(n);
  // allocUnsafeSlow gives every array its own ArrayBuffer at offset 0: the buffer identifies it.
  if (b.byteOffset === 0 && b.buffer.byteLength === b.byteLength) {
    owner.set(b.buffer, b);
    refs.set(b, 0);
    counters.fresh++;
  }
  return b;
}

function ours(values: unknown): Float32Array | undefined {
  if (!(values instanceof Float32Array)) return undefined;
  return owner.get(values.buffer);
}

function escape(a: Float32Array): void {
  if (!escaped.has(a)) counters.escaped++;
  escaped.add(a);
}

function onWrite(values: unknown): void {
  const o = ours(values);
  if (!o) return;
  if (o !== values) escape(o); // a view of ours under another tensor
  else refs.set(o, (refs.get(o) ?? 0) + 1);
}

function onRead(values: unknown): void {
  const o = ours(values);
  if (o) escape(o);
}

function onDelete(values: unknown): void {
  const o = ours(values);
  if (!o || o !== values) return;
  const r = (refs.get(o) ?? 1) - 1;
  refs.set(o, r);
  if (r > 0 || escaped.has(o) || o.byteLength > limit()) return;
  evictFor(o.byteLength);
  const list = free.get(o.length) ?? [];
  list.push(o);
  touch(o.length, list);
  pooledBytes += o.byteLength;
  counters.recycled++;
}

/** Marks size n as just used: the Map's insertion order is the sizes' recency (least recent first). */
function touch(n: number, list: Float32Array[]): void {
  free.delete(n);
  if (list.length) free.set(n, list);
}

/**
 * Makes room for `bytes` under the cap by dropping the least recently used sizes first (a run that
 * changes shapes, e.g. sampling at another batch size between training steps, must not leave the
 * pool full of sizes nobody asks for any more).
 */
function evictFor(bytes: number): void {
  for (const [n, list] of free) {
    if (pooledBytes + bytes <= limit()) return;
    while (list.length && pooledBytes + bytes > limit()) {
      pooledBytes -= list.pop()!.byteLength;
      counters.evicted++;
    }
    if (!list.length) free.delete(n);
  }
}

type Writable = {
  write: (values: unknown, shape: number[], dtype: string) => unknown;
  move: (dataId: object, values: unknown, shape: number[], dtype: string, refCount: number) => void;
  readSync: (dataId: object) => unknown;
  disposeData: (dataId: object, force?: boolean) => boolean;
};

/**
 * Wraps this cpu backend instance's data bookkeeping (once per instance) so that recycling sees every
 * tensor-data entry; called before a native kernel registers an output.
 */
export function attachPool(backend: MathBackendCPU): void {
  if (limit() === 0 || attached.has(backend)) return;
  attached.add(backend);
  const b = backend as unknown as Writable;
  const { write, move, readSync, disposeData } = b;
  b.write = (values, shape, dtype) => {
    onWrite(values);
    return write.call(backend, values, shape, dtype);
  };
  b.move = (dataId, values, shape, dtype, refCount) => {
    onWrite(values);
    move.call(backend, dataId, values, shape, dtype, refCount);
  };
  b.readSync = (dataId) => {
    const v = readSync.call(backend, dataId);
    onRead(v);
    return v;
  };
  b.disposeData = (dataId, force) => {
    const entry = backend.data.has(dataId as never) ? backend.data.get(dataId as never) : undefined;
    const released = disposeData.call(backend, dataId, force);
    if (entry && !backend.data.has(dataId as never)) onDelete(entry.values);
    return released;
  };
}

/** Pool counters since the process started (tests and benchmarks). */
export function poolStats(): { fresh: number; reused: number; recycled: number; escaped: number; evicted: number; pooledBytes: number; limitBytes: number } {
  return { ...counters, pooledBytes, limitBytes: limit() };
}

/** Drops every pooled array (they go to the garbage collector). */
export function clearPool(): void {
  free.clear();
  pooledBytes = 0;
}
