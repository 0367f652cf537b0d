/**
 * Test helpers shared by every package (`@epg/tensor/testing`): backend set-up for jest, a leak
 * check on the tfjs tensor count, and tensor closeness with messages that point at the worst element.
 */
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../backend';

/** Chooses the backend named by EPG_BACKEND (default cpu) before the file's tests; quiet. */
export function useTestBackend(): void {
  beforeAll(async () => {
    await initBackend({ force: process.env.EPG_BACKEND || 'cpu', log: null });
  });
}

let leakAllowed: string | null = null;

/**
 * Opts the current test out of the per-test leak check (installed by @epg/tensor/jest-setup), e.g. a
 * test that builds a store shared with later tests. The reason is required and says why the tensors stay.
 */
export function allowTensorLeak(reason: string): void {
  if (!reason || !reason.trim()) throw new Error('allowTensorLeak needs a reason: say why this test keeps tensors');
  leakAllowed = reason;
}

/**
 * Installs the default leak check: tf.memory().numTensors must be the same after each test as before it
 * (tensors made in beforeAll/afterAll hooks are outside the count). A test that keeps tensors on purpose
 * calls allowTensorLeak(reason). EPG_LEAK_CHECK=0 turns the check off for a debugging run.
 */
export function installLeakCheck(): void {
  if (process.env.EPG_LEAK_CHECK === '0') return;
  let before = 0;
  beforeEach(() => {
    leakAllowed = null;
    before = tf.memory().numTensors;
  });
  afterEach(() => {
    const after = tf.memory().numTensors;
    if (after !== before && leakAllowed === null) {
      throw new Error(
        `this test leaked ${after - before} tensor(s) (numTensors ${before} -> ${after}): dispose them (tf.tidy, tf.dispose), or call allowTensorLeak('why') in the test`,
      );
    }
  });
}

/**
 * Runs `fn` and asserts that it leaves no new tensors behind (tf.memory().numTensors is flat).
 * `fn` may return a value that is not a tensor; returned tensors count as leaks.
 */
export async function expectNoLeak<T>(fn: () => T | Promise<T>, label = 'function'): Promise<T> {
  const before = tf.memory().numTensors;
  const out = await fn();
  const after = tf.memory().numTensors;
  if (after !== before) {
    throw new Error(`${label} leaked ${after - before} tensor(s): numTensors ${before} -> ${after}`);
  }
  return out;
}

export interface CloseOptions {
  /** Relative tolerance (default 1e-5). */
  readonly rtol?: number;
  /** Absolute tolerance (default 1e-6). */
  readonly atol?: number;
}

type Numeric = tf.Tensor | ArrayLike<number> | number;

function toArray(x: Numeric): { data: ArrayLike<number>; shape?: number[] } {
  if (typeof x === 'number') return { data: [x] };
  if (x instanceof tf.Tensor) return { data: x.dataSync() as ArrayLike<number>, shape: [...x.shape] };
  return { data: x };
}

/**
 * Asserts |a − b| <= atol + rtol·|b| elementwise (numpy.allclose with b as reference), equal shapes
 * when both are tensors. Fails naming the worst element.
 */
export function expectClose(actual: Numeric, expected: Numeric, opts: CloseOptions = {}): void {
  const rtol = opts.rtol ?? 1e-5;
  const atol = opts.atol ?? 1e-6;
  const a = toArray(actual);
  const b = toArray(expected);
  if (a.shape && b.shape && (a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape![i]))) {
    throw new Error(`shape mismatch: actual [${a.shape}] vs expected [${b.shape}]`);
  }
  if (a.data.length !== b.data.length) throw new Error(`size mismatch: actual ${a.data.length} vs expected ${b.data.length}`);
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < a.data.length; i++) {
    const x = a.data[i];
    const y = b.data[i];
    const excess = Math.abs(x - y) - (atol + rtol * Math.abs(y));
    if (Number.isNaN(x) !== Number.isNaN(y) || excess > worstExcess || (Number.isNaN(excess) && !(Number.isNaN(x) && Number.isNaN(y)))) {
      if (worst < 0 || excess > worstExcess || Number.isNaN(excess)) {
        worst = i;
        worstExcess = Number.isNaN(excess) ? Infinity : excess;
      }
    }
  }
  if (worst >= 0) {
    const x = a.data[worst];
    const y = b.data[worst];
    throw new Error(
      `not close at flat index ${worst}: actual ${x}, expected ${y}, |diff| ${Math.abs(x - y)} > atol ${atol} + rtol ${rtol}·|expected|`,
    );
  }
}

/** Largest |a − b| / max(|b|, floor) over elements: for reporting agreement in tests and notes. */
export function maxRelativeError(actual: Numeric, expected: Numeric, floor = 1e-12): number {
  const a = toArray(actual).data;
  const b = toArray(expected).data;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]) / Math.max(Math.abs(b[i]), floor));
  return m;
}

/** One read of a tensor's values back to the host, seen by `countReadbacks`. */
export interface Readback {
  readonly method: 'dataSync' | 'arraySync' | 'data' | 'array';
  readonly shape: readonly number[];
  readonly dtype: string;
}

/**
 * Runs `fn` while recording every read-back of tensor values to the host (dataSync, arraySync, data,
 * array on any tensor). A read-back blocks on the backend (a sync point on a GPU), so code paths that
 * promise none (σ on the host, docs/method.md) are tested with this. Reads made by expectClose etc.
 * inside `fn` count too: keep assertions outside.
 */
export function countReadbacks<T>(fn: () => T): { result: T; reads: Readback[] } {
  const proto = tf.Tensor.prototype as unknown as Record<Readback['method'], (...a: unknown[]) => unknown>;
  const methods: Readback['method'][] = ['dataSync', 'arraySync', 'data', 'array'];
  const saved = methods.map((m) => proto[m]);
  const reads: Readback[] = [];
  let depth = 0; // arraySync calls dataSync internally: count the outer call only
  methods.forEach((m, i) => {
    proto[m] = function (this: tf.Tensor, ...args: unknown[]) {
      if (depth === 0) reads.push({ method: m, shape: [...this.shape], dtype: this.dtype });
      depth++;
      try {
        return saved[i].apply(this, args);
      } finally {
        depth--;
      }
    };
  });
  try {
    return { result: fn(), reads };
  } finally {
    methods.forEach((m, i) => (proto[m] = saved[i]));
  }
}
