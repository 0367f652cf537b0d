/**
 * The fused adaLN ops (layerNormModulate, gatedResidual): native path against the unfused tfjs
 * composition (values and every input's gradient, odd shapes, partial gradients), against the numpy
 * LayerNorm fixture (scale = shift = 0) and a hand-computed gated residual; on wasm or without the
 * addon the same tests check the composition path.
 */
import * as tf from '@tensorflow/tfjs-core';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gatedResidual, gatedResidualReference, layerNormModulate, layerNormModulateReference, nonFiniteEach, sumSquaresEach } from './fused';
import { loadAddon, type NativeAddon } from './addon';
import { nativeKernelsActive, registerNativeKernels, unregisterNativeKernels } from './register';
import { nativeTestable, randn, relError } from './testing/compare';

const testable = nativeTestable();
const mode = testable.ok ? 'native fused path' : `fallback composition (${testable.why})`;
const fx = JSON.parse(readFileSync(join(__dirname, '__fixtures__', 'fused.json'), 'utf8')) as {
  layerNorm: { eps: number; x: number[][]; gamma: number[]; beta: number[]; y: number[][] };
};

beforeAll(() => {
  if (testable.ok) expect(registerNativeKernels().active).toBe(true);
});
afterAll(() => unregisterNativeKernels());

function check(actual: tf.Tensor, expected: tf.Tensor, tol: number, what: string): void {
  const err = relError(actual, expected);
  if (!(err <= tol)) throw new Error(`${what}: relative error ${err} > ${tol}`);
}

const SHAPES: Array<[number, number, number]> = [[1, 1, 1], [3, 5, 7], [2, 66, 24], [1, 4, 3]];
// LayerNorm of one feature is identically β (its x-gradient is 0 up to the composition's rounding ×
// 1/√ε): (and of two, ±1): the modulated LayerNorm is checked from width 3.
const LN_SHAPES: Array<[number, number, number]> = [[1, 1, 5], [3, 5, 7], [2, 66, 24], [1, 4, 3]];

describe(`fused adaLN ops: ${mode}`, () => {
  it('runs natively exactly when the addon is there and the backend is cpu', () => {
    expect(nativeKernelsActive()).toBe(testable.ok);
  });

  it('layerNormModulate with scale = shift = 0 is the LayerNorm of the numpy fixture', () => {
    tf.tidy(() => {
      const L = fx.layerNorm;
      const x = tf.tensor3d([L.x]);
      const [, t, d] = x.shape;
      const zeros = tf.zeros([1, d]);
      const y = layerNormModulate(x, tf.tensor1d(L.gamma), tf.tensor1d(L.beta), zeros, zeros, L.eps);
      check(y.reshape([t, d]), tf.tensor2d(L.y), 2e-6, 'layerNormModulate vs numpy');
    });
  });

  it('gatedResidual matches a hand-computed case', () => {
    tf.tidy(() => {
      // x = [[[1, 2], [3, 4]], [[5, 6], [7, 8]]], gate = [[10, 0.5], [-1, 2]], a = 1 everywhere.
      const x = tf.tensor3d([[[1, 2], [3, 4]], [[5, 6], [7, 8]]]);
      const y = gatedResidual(x, tf.tensor2d([[10, 0.5], [-1, 2]]), tf.onesLike(x));
      expect(Array.from(y.dataSync())).toEqual([11, 2.5, 13, 4.5, 4, 8, 6, 10]);
    });
  });

  it.each(LN_SHAPES)('layerNormModulate [%i, %i, %i] and every gradient match the composition', (b, t, d) => {
    tf.tidy(() => {
      const [x, gamma, beta, scale, shift, dy] = [randn([b, t, d]), randn([d]), randn([d]), randn([b, d]), randn([b, d]), randn([b, t, d])];
      check(layerNormModulate(x, gamma, beta, scale, shift, 1e-6), layerNormModulateReference(x, gamma, beta, scale, shift, 1e-6), 1e-5, 'value');
      const loss = (f: typeof layerNormModulate) => (...ts: tf.Tensor[]) => tf.sum(tf.mul(f(ts[0], ts[1], ts[2], ts[3], ts[4], 1e-6), dy));
      const ins = [x, gamma, beta, scale, shift];
      const g1 = tf.grads(loss(layerNormModulate))(ins);
      const g2 = tf.grads(loss(layerNormModulateReference))(ins);
      g1.forEach((g, i) => check(g, g2[i], 5e-5, `grad ${['x', 'gamma', 'beta', 'scale', 'shift'][i]}`));
    });
  });

  it.each(SHAPES)('gatedResidual [%i, %i, %i] and every gradient match the composition', (b, t, d) => {
    tf.tidy(() => {
      const [x, gate, a, dy] = [randn([b, t, d]), randn([b, d]), randn([b, t, d]), randn([b, t, d])];
      check(gatedResidual(x, gate, a), gatedResidualReference(x, gate, a), 1e-6, 'value');
      const loss = (f: typeof gatedResidual) => (...ts: tf.Tensor[]) => tf.sum(tf.mul(f(ts[0], ts[1], ts[2]), dy));
      const g1 = tf.grads(loss(gatedResidual))([x, gate, a]);
      const g2 = tf.grads(loss(gatedResidualReference))([x, gate, a]);
      g1.forEach((g, i) => check(g, g2[i], 1e-5, `grad ${['x', 'gate', 'a'][i]}`));
    });
  });

  it('partial gradients (only scale and shift; only a) match, inside a larger graph', () => {
    tf.tidy(() => {
      const [b, t, d] = [2, 9, 6];
      const [x, gamma, beta, scale, shift, gate, dy] = [randn([b, t, d]), randn([d]), randn([d]), randn([b, d]), randn([b, d]), randn([b, d]), randn([b, t, d])];
      const block = (ln: typeof layerNormModulate, gr: typeof gatedResidual) => (s: tf.Tensor, h: tf.Tensor) => {
        const m = ln(x, gamma, beta, s, h, 1e-5);
        return tf.sum(tf.mul(gr(x, gate, tf.mul(m, m)), dy));
      };
      const g1 = tf.grads(block(layerNormModulate, gatedResidual))([scale, shift]);
      const g2 = tf.grads(block(layerNormModulateReference, gatedResidualReference))([scale, shift]);
      g1.forEach((g, i) => check(g, g2[i], 5e-5, `partial grad ${i}`));
      const ga = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(gatedResidual(x, gate, a), dy)))(x);
      check(ga, tf.grad((a: tf.Tensor) => tf.sum(tf.mul(gatedResidualReference(x, gate, a), dy)))(x), 1e-5, 'grad a only');
    });
  });

  it('runs one native pass each way', () => {
    if (!testable.ok) return;
    const addon = loadAddon().addon as NativeAddon;
    const spies = (['layerNormModulate', 'layerNormModulateGrad', 'gatedResidual', 'gatedResidualGrad'] as const).map((n) => jest.spyOn(addon, n));
    tf.tidy(() => {
      const [x, gamma, beta, scale, shift, gate] = [randn([2, 3, 4]), randn([4]), randn([4]), randn([2, 4]), randn([2, 4]), randn([2, 4])];
      tf.grads((xi: tf.Tensor, s: tf.Tensor) => tf.sum(gatedResidual(xi, gate, layerNormModulate(xi, gamma, beta, s, shift, 1e-5))))([x, scale]);
    });
    spies.forEach((s) => {
      expect(s).toHaveBeenCalledTimes(1);
      s.mockRestore();
    });
  });

  it('rejects bad shapes with a one-line message naming the argument', () => {
    tf.tidy(() => {
      const x = tf.zeros([2, 3, 4]);
      const v = tf.zeros([4]);
      expect(() => layerNormModulate(x, v, v, tf.zeros([3, 4]), tf.zeros([2, 4]), 1e-6)).toThrow(/scale has shape \[3,4\].*\[2, 4\]/);
      expect(() => layerNormModulate(x, tf.zeros([3]), v, tf.zeros([2, 4]), tf.zeros([2, 4]), 1e-6)).toThrow(/gamma has shape \[3\]/);
      expect(() => layerNormModulate(tf.zeros([2, 4]), v, v, tf.zeros([2, 4]), tf.zeros([2, 4]), 1e-6)).toThrow(/\[batch, tokens, width\]/);
      expect(() => gatedResidual(x, tf.zeros([2, 1, 4]), x)).toThrow(/gate has shape \[2,1,4\]/);
      expect(() => gatedResidual(x, tf.zeros([2, 4]), tf.zeros([2, 3, 5]))).toThrow(/must both be/);
    });
  });

  it('leaks no tensors over repeated forward + backward', () => {
    const [x, gamma, beta, scale, shift, gate] = [randn([2, 5, 8]), randn([8]), randn([8]), randn([2, 8]), randn([2, 8]), randn([2, 8])];
    const step = () => tf.dispose(tf.grads((xi: tf.Tensor, s: tf.Tensor, g: tf.Tensor) => tf.sum(gatedResidual(xi, g, layerNormModulate(xi, gamma, beta, s, shift, 1e-5))))([x, scale, gate]));
    step();
    const n = tf.memory().numTensors;
    for (let i = 0; i < 4; i++) step();
    expect(tf.memory().numTensors).toBe(n);
    tf.dispose([x, gamma, beta, scale, shift, gate]);
  });

  it('sumSquaresEach gives Σx² per tensor (one native call for the list), against a float64 host sum', () => {
    const addon = testable.ok ? (loadAddon().addon as NativeAddon) : undefined;
    const spy = addon ? jest.spyOn(addon, 'perTensor') : undefined;
    tf.tidy(() => {
      const ts = [randn([3, 5, 7]), randn([1]), randn([1031]), tf.tensor1d([3, 4])];
      const got = sumSquaresEach(ts).dataSync();
      ts.forEach((t, i) => {
        const want = Array.from(t.dataSync()).reduce((a, v) => a + v * v, 0);
        expect(Math.abs(got[i] - want)).toBeLessThanOrEqual(2e-6 * want);
      });
      expect(got[3]).toBe(25);
      expect(sumSquaresEach([]).shape).toEqual([0]);
    });
    if (spy) {
      expect(spy).toHaveBeenCalledTimes(1);
      spy.mockRestore();
    }
  });

  it('nonFiniteEach is 0 exactly for the all-finite tensors', () => {
    tf.tidy(() => {
      const ts = [randn([4, 9]), tf.tensor1d([1, NaN, 2]), tf.tensor2d([[Infinity, 0], [0, 1]]), tf.tensor1d([-Infinity]), tf.tensor1d([3.4e38, -3.4e38])];
      const flags = Array.from(nonFiniteEach(ts).dataSync());
      expect(flags.map((f) => f === 0)).toEqual([true, false, false, false, true]);
      if (testable.ok) expect(flags.slice(1, 4)).toEqual([1, 1, 1]);
    });
  });
});
