/**
 * Output recycling (pool.ts): arrays come back only when no tensor and no reader can still see them.
 * Each test checks values against a copy taken before the arrays could have been reused, and that
 * recycling did (or did not) happen, by the pool's own counters.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { gelu, geluReference, linear, linearReference } from './fused';
import { poolStats } from './pool';
import { registerNativeKernels, unregisterNativeKernels } from './register';
import { nativeTestable, randn, relError } from './testing/compare';

const testable = nativeTestable();
const d = testable.ok ? describe : describe.skip;
if (!testable.ok) test(`output recycling: skipped (${testable.why})`, () => undefined);

/** A [64, 128] operand: 8192 elements, above the pool's 4096-element floor. */
const SHAPE = [64, 128];

function backend(): MathBackendCPU {
  return tf.backend() as MathBackendCPU;
}

/** The array that holds t's values in the cpu backend (no readSync, so nothing is marked escaped). */
function storage(t: tf.Tensor): Float32Array {
  return backend().data.get(t.dataId).values as Float32Array;
}

/** Runs native ops of SHAPE and disposes them, so that released arrays of that size get reused. */
function churn(times = 6): void {
  for (let i = 0; i < times; i++) tf.tidy(() => tf.mul(tf.add(randn(SHAPE, 50 + i), 1), 3).dataSync());
}

d('native output recycling', () => {
  beforeAll(() => expect(registerNativeKernels().active).toBe(true));
  afterAll(() => unregisterNativeKernels());

  it('reuses released outputs, and results stay those of the reference composition', () => {
    const x = randn([3, 40, 96]);
    const w = randn([96, 160]) as tf.Tensor2D;
    const b = randn([160]) as tf.Tensor1D;
    const before = poolStats();
    for (let i = 0; i < 5; i++) {
      tf.tidy(() => {
        const got = gelu(linear(x, w, b));
        const want = geluReference(linearReference(x, w, b));
        expect(relError(got, want)).toBeLessThan(1e-5);
        const [gx] = tf.grads((t: tf.Tensor) => tf.sum(gelu(linear(t, w, b))))([x]);
        const [rx] = tf.grads((t: tf.Tensor) => tf.sum(geluReference(linearReference(t, w, b))))([x]);
        expect(relError(gx, rx)).toBeLessThan(1e-5);
      });
    }
    const after = poolStats();
    expect(after.recycled).toBeGreaterThan(before.recycled);
    expect(after.reused).toBeGreaterThan(before.reused);
    expect(after.pooledBytes).toBeLessThanOrEqual(after.limitBytes);
    tf.dispose([x, w, b]);
  });

  it('never reuses an array that dataSync handed out', () => {
    const t = tf.add(randn(SHAPE, 1), randn(SHAPE, 2));
    const v = t.dataSync();
    const copy = Float32Array.from(v);
    t.dispose();
    churn();
    expect(Array.from(v)).toEqual(Array.from(copy));
  });

  it('never reuses an array another tensor holds a view of', () => {
    const t = tf.add(randn(SHAPE, 3), randn(SHAPE, 4));
    // What a stock kernel that slices by subarray does: another tensor's values are a view of ours.
    const info = backend().makeTensorInfo([SHAPE[0] / 2, SHAPE[1]], 'float32', storage(t).subarray(0, (SHAPE[0] * SHAPE[1]) / 2));
    const view = tf.engine().makeTensorFromTensorInfo(info);
    const copy = Float32Array.from(storage(view));
    t.dispose();
    churn();
    expect(Array.from(storage(view))).toEqual(Array.from(copy));
    view.dispose();
  });

  it('gives an array back only when the last tensor entry holding it is deleted', () => {
    const t = tf.add(randn(SHAPE, 5), randn(SHAPE, 6));
    const values = storage(t);
    const twin = tf.engine().makeTensorFromTensorInfo(backend().makeTensorInfo(SHAPE, 'float32', values));
    const copy = Float32Array.from(values);
    const r0 = poolStats().recycled;
    t.dispose();
    expect(poolStats().recycled).toBe(r0);
    churn();
    expect(Array.from(storage(twin))).toEqual(Array.from(copy));
    const r1 = poolStats().recycled;
    twin.dispose();
    expect(poolStats().recycled).toBe(r1 + 1);
  });

  it('keeps the tensor count flat over repeated steps', () => {
    const x = randn([2, 66, 64]);
    const w = randn([64, 64]) as tf.Tensor2D;
    const step = () => tf.dispose(tf.grads((a: tf.Tensor, c: tf.Tensor) => tf.sum(gelu(linear(a, c as tf.Tensor2D))))([x, w]));
    step();
    const n = tf.memory().numTensors;
    for (let i = 0; i < 4; i++) step();
    expect(tf.memory().numTensors).toBe(n);
    tf.dispose([x, w]);
  });
});
