/**
 * The output pool under its cap (EPG_NATIVE_POOL_MB, read on first use: set here before any kernel
 * runs; jest gives every test file its own module registry): when a run moves to other shapes, the
 * least recently used sizes are dropped so that the new sizes are still recycled.
 */
import * as tf from '@tensorflow/tfjs-core';
import { poolStats } from './pool';
import { registerNativeKernels, unregisterNativeKernels } from './register';
import { nativeTestable, randn } from './testing/compare';

process.env.EPG_NATIVE_POOL_MB = '1';
const testable = nativeTestable();
const d = testable.ok ? describe : describe.skip;
if (!testable.ok) test(`output pool cap: skipped (${testable.why})`, () => undefined);

function churn(shape: number[], times: number): void {
  for (let i = 0; i < times; i++) tf.tidy(() => tf.mul(tf.add(randn(shape, i + 1), 1), tf.sub(randn(shape, i + 100), 2)).dataSync());
}

d('native output pool under a 1 MB cap', () => {
  beforeAll(() => expect(registerNativeKernels().active).toBe(true));
  afterAll(() => unregisterNativeKernels());

  it('stays under the cap and keeps recycling after the shapes change', () => {
    for (let k = 0; k < 12; k++) churn([64, 128 + k], 3); // 12 sizes of ~32 KB outputs: fills the pool
    const s1 = poolStats();
    expect(s1.limitBytes).toBe(2 ** 20);
    expect(s1.pooledBytes).toBeLessThanOrEqual(s1.limitBytes);
    churn([256, 300], 10); // 300 KB outputs: the old sizes must make room
    const s2 = poolStats();
    expect(s2.pooledBytes).toBeLessThanOrEqual(s2.limitBytes);
    expect(s2.evicted).toBeGreaterThan(s1.evicted);
    churn([256, 300], 5);
    expect(poolStats().reused).toBeGreaterThan(s2.reused);
  });
});
