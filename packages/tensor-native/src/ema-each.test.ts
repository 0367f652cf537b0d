// emaEach: one native kernel call for a whole parameter list, against the definition θ⁻μ + θ(1 − μ).
import * as tf from '@tensorflow/tfjs-core';
import { emaEach, emaEachReference } from './fused';
import { expectSameOutputs, nativeTestable, randn } from './testing/compare';
import { loadAddon, type NativeAddon } from './addon';
import { registerNativeKernels, unregisterNativeKernels } from './register';

const testable = nativeTestable();

describe('emaEach', () => {
  const shapes = [[3, 4], [7], [2, 3, 5], [1]];

  it('equals t·μ + s·(1 − μ) element by element, written out on the host', () => {
    const t = shapes.map((s, i) => randn(s, 10 + i));
    const s = shapes.map((sh, i) => randn(sh, 20 + i));
    for (const mu of [0, 0.25, 0.999, 1]) {
      const got = emaEach(t, s, mu);
      got.forEach((g, i) => {
        const tv = t[i].dataSync();
        const sv = s[i].dataSync();
        const want = Array.from(tv, (x, j) => Math.fround(x * mu) + Math.fround(sv[j] * (1 - mu)));
        expect(g.shape).toEqual(t[i].shape);
        Array.from(g.dataSync()).forEach((v, j) => expect(Math.abs(v - want[j])).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(want[j]))));
      });
      tf.dispose(got);
    }
    tf.dispose([...t, ...s]);
  });

  it('refuses mismatched lists, shapes and decays by name; an empty list is empty', () => {
    const a = randn([2, 2], 1);
    const b = randn([4], 2);
    expect(() => emaEach([a], [], 0.5)).toThrow(/1 targets but 0 sources/);
    expect(() => emaEach([a], [b], 0.5)).toThrow(/target 0 has shape \[2,2\], its source \[4\]/);
    expect(() => emaEach([a], [a], 1.5)).toThrow(/decay must be in \[0, 1\], got 1.5/);
    expect(emaEach([], [], 0.5)).toEqual([]);
    tf.dispose([a, b]);
  });

  (testable.ok ? it : it.skip)('natively: one kernel call for the list, equal to the composition, no leaked tensors', () => {
    const t = shapes.map((s, i) => randn(s, 30 + i));
    const s = shapes.map((sh, i) => randn(sh, 40 + i));
    expectSameOutputs(() => emaEach(t, s, 0.99), 'emaEach', 1e-6);
    registerNativeKernels();
    const addon = loadAddon().addon as NativeAddon;
    const spy = jest.spyOn(addon, 'emaEach');
    try {
      const before = tf.memory().numTensors;
      for (let k = 0; k < 3; k++) tf.dispose(emaEach(t, s, 0.9));
      expect(tf.memory().numTensors).toBe(before);
      expect(spy).toHaveBeenCalledTimes(3);
      const ref = emaEachReference(t, s, 0.9);
      const got = emaEach(t, s, 0.9);
      got.forEach((g, i) => expect(Math.max(...Array.from(tf.sub(g, ref[i]).abs().dataSync()))).toBeLessThanOrEqual(1e-6));
      tf.dispose([...ref, ...got]);
    } finally {
      spy.mockRestore();
      unregisterNativeKernels();
    }
    tf.dispose([...t, ...s]);
  });
});
