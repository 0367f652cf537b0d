import * as tf from '@tensorflow/tfjs-core';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { attention, attentionReference, gelu, geluReference, layerNorm, layerNormReference, linear, linearReference } from './fused';
import { registerNativeKernels, unregisterNativeKernels, nativeKernelsActive } from './register';
import { nativeTestable, randn, relError } from './testing/compare';
import { loadAddon, type NativeAddon } from './addon';

interface Fixtures {
  gelu: { x: number[]; y: number[]; dydx: number[] };
  layerNorm: { eps: number; x: number[][]; gamma: number[]; beta: number[]; w: number[][]; y: number[][]; dx: number[][]; dgamma: number[]; dbeta: number[] };
}
const fx = JSON.parse(readFileSync(join(__dirname, '__fixtures__', 'fused.json'), 'utf8')) as Fixtures;

const testable = nativeTestable();
// On cpu with the addon, every test runs with native kernels registered (the fused path); on wasm,
// or without the addon, the same tests check the fallback composition.
const mode = testable.ok ? 'native fused path' : `fallback composition (${testable.why})`;

beforeAll(() => {
  if (testable.ok) expect(registerNativeKernels().active).toBe(true);
});
afterAll(() => unregisterNativeKernels());

function check(actual: tf.Tensor, expected: tf.Tensor | number[] | number[][], tol: number, what: string): void {
  const e = expected instanceof tf.Tensor ? expected : tf.tensor(expected);
  const err = relError(actual, e);
  if (!(expected instanceof tf.Tensor)) e.dispose();
  if (!(err <= tol)) throw new Error(`${what}: relative error ${err} > ${tol}`);
}

describe(`fused ops: ${mode}`, () => {
  it('uses the native path exactly when the addon is there and the backend is cpu', () => {
    expect(nativeKernelsActive()).toBe(testable.ok);
  });

  it('gelu matches scipy (value and derivative)', () => {
    tf.tidy(() => {
      const x = tf.tensor1d(fx.gelu.x);
      check(gelu(x), fx.gelu.y, 2e-6, 'gelu value');
      check(tf.grad((t: tf.Tensor) => tf.sum(gelu(t)))(x), fx.gelu.dydx, 2e-6, 'gelu derivative');
    });
  });

  it('gelu and its gradient match the unfused composition on random shapes', () => {
    tf.tidy(() => {
      for (const shape of [[5], [4, 66, 32], [2, 3, 4, 5]]) {
        const x = tf.mul(randn(shape), 2);
        const w = randn(shape);
        check(gelu(x), geluReference(x), 2e-6, `gelu [${shape}]`);
        const g1 = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(gelu(t), w)))(x);
        const g2 = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(geluReference(t), w)))(x);
        check(g1, g2, 5e-6, `gelu grad [${shape}]`);
      }
    });
  });

  it('layerNorm matches numpy, with finite-difference gradients', () => {
    tf.tidy(() => {
      const L = fx.layerNorm;
      const x = tf.tensor2d(L.x);
      const g = tf.tensor1d(L.gamma);
      const b = tf.tensor1d(L.beta);
      const w = tf.tensor2d(L.w);
      check(layerNorm(x, g, b, L.eps), L.y, 2e-6, 'layerNorm value');
      const [dx, dg, db] = tf.grads((a: tf.Tensor, c: tf.Tensor, d: tf.Tensor) =>
        tf.sum(tf.mul(layerNorm(a, c as tf.Tensor1D, d as tf.Tensor1D, L.eps), w)),
      )([x, g, b]);
      check(dx, L.dx, 1e-4, 'layerNorm dx');
      check(dg, L.dgamma, 1e-4, 'layerNorm dgamma');
      check(db, L.dbeta, 1e-4, 'layerNorm dbeta');
    });
  });

  it('layerNorm (with and without affine) and its gradients match the composition on random shapes', () => {
    tf.tidy(() => {
      for (const shape of [[1, 8], [3, 66, 48], [2, 2, 5, 16]]) {
        const c = shape[shape.length - 1];
        const x = tf.add(tf.mul(randn(shape), 3), 1);
        const g = randn([c]) as tf.Tensor1D;
        const b = randn([c]) as tf.Tensor1D;
        const w = randn(shape);
        for (const affine of [true, false]) {
          const gg = affine ? g : null;
          const bb = affine ? b : null;
          check(layerNorm(x, gg, bb, 1e-6), layerNormReference(x, gg, bb, 1e-6), 1e-5, `layerNorm [${shape}] affine ${affine}`);
          const loss = (f: typeof layerNorm) => (...ts: tf.Tensor[]) =>
            tf.sum(tf.mul(f(ts[0], affine ? (ts[1] as tf.Tensor1D) : null, affine ? (ts[2] as tf.Tensor1D) : null, 1e-6), w));
          const ins = affine ? [x, g, b] : [x];
          const g1 = tf.grads(loss(layerNorm))(ins);
          const g2 = tf.grads(loss(layerNormReference))(ins);
          g1.forEach((t, i) => check(t, g2[i], 2e-5, `layerNorm grad ${i} [${shape}] affine ${affine}`));
        }
      }
    });
  });

  it('linear (rank 2 and 3, with and without bias) and its gradients match the composition', () => {
    tf.tidy(() => {
      // 9 outputs: small; [1300, 5] x [5, 700]: large enough for the GEMM's row blocks (1123 rows).
      for (const [shape, n] of [[[5, 7], 9], [[3, 66, 24], 9], [[1300, 5], 700]] as Array<[number[], number]>) {
        const k = shape[shape.length - 1];
        const x = randn(shape);
        const w = randn([k, n]) as tf.Tensor2D;
        const b = randn([n]) as tf.Tensor1D;
        const dy = randn([...shape.slice(0, -1), n]);
        for (const bias of [b, null]) {
          check(linear(x, w, bias), linearReference(x, w, bias), 1e-5, `linear [${shape}] bias ${!!bias}`);
          const loss = (f: typeof linear) => (...ts: tf.Tensor[]) => tf.sum(tf.mul(f(ts[0], ts[1] as tf.Tensor2D, bias ? (ts[2] as tf.Tensor1D) : null), dy));
          const ins = bias ? [x, w, b] : [x, w];
          const g1 = tf.grads(loss(linear))(ins);
          const g2 = tf.grads(loss(linearReference))(ins);
          g1.forEach((t, i) => check(t, g2[i], 1e-5, `linear grad ${i} [${shape}] bias ${!!bias}`));
        }
      }
    });
  });

  it('linear differentiated w.r.t. part of its inputs matches the composition and skips the unneeded products', () => {
    const x = randn([3, 7, 5]);
    const w = randn([5, 6]) as tf.Tensor2D;
    const b = randn([6]) as tf.Tensor1D;
    const dy = randn([3, 7, 6]);
    const addon = testable.ok ? (loadAddon().addon as NativeAddon) : undefined;
    const gemm = addon ? jest.spyOn(addon, 'gemm') : undefined;
    tf.tidy(() => {
      // Only x (a frozen layer: weights are constants): one GEMM forward, one backward, none for dW.
      const fx = (f: typeof linear) => (t: tf.Tensor) => tf.sum(tf.mul(f(t, w, b), dy));
      gemm?.mockClear();
      const gx = tf.grad(fx(linear))(x);
      if (gemm) expect(gemm).toHaveBeenCalledTimes(2);
      check(gx, tf.grad(fx(linearReference))(x), 1e-5, 'linear grad x only');
      // Only w and b (the first layer: the input is data): no GEMM for dx.
      const fwb = (f: typeof linear) => (tw: tf.Tensor, tb: tf.Tensor) => tf.sum(tf.mul(f(x, tw as tf.Tensor2D, tb as tf.Tensor1D), dy));
      gemm?.mockClear();
      const [gw, gb] = tf.grads(fwb(linear))([w, b]);
      if (gemm) expect(gemm).toHaveBeenCalledTimes(2);
      const [rw, rb] = tf.grads(fwb(linearReference))([w, b]);
      check(gw, rw, 1e-5, 'linear grad w only');
      check(gb, rb, 1e-5, 'linear grad b only');
    });
    gemm?.mockRestore();
    tf.dispose([x, w, b, dy]);
  });

  it('layerNorm and attention differentiated w.r.t. part of their inputs match the composition', () => {
    tf.tidy(() => {
      const x = randn([2, 5, 12]);
      const g = randn([12]) as tf.Tensor1D;
      const bt = randn([12]) as tf.Tensor1D;
      const dy = randn([2, 5, 12]);
      const lnGamma = (f: typeof layerNorm) => (t: tf.Tensor) => tf.sum(tf.mul(f(x, t as tf.Tensor1D, bt, 1e-5), dy));
      check(tf.grad(lnGamma(layerNorm))(g), tf.grad(lnGamma(layerNormReference))(g), 1e-5, 'layerNorm grad gamma only');
      const lnX = (f: typeof layerNorm) => (t: tf.Tensor) => tf.sum(tf.mul(f(t, g, bt, 1e-5), dy));
      check(tf.grad(lnX(layerNorm))(x), tf.grad(lnX(layerNormReference))(x), 1e-5, 'layerNorm grad x only');
      // Attention inside a composition whose other branch also needs qkv: gradients accumulate.
      const qkv = randn([2, 5, 12]);
      const att = (f: typeof attention) => (t: tf.Tensor) => tf.sum(tf.mul(tf.add(f(t, 2), tf.slice(t, [0, 0, 0], [2, 5, 4])), randn([2, 5, 4], 3)));
      check(tf.grad(att(attention))(qkv), tf.grad(att(attentionReference))(qkv), 1e-5, 'attention + slice grad');
    });
  });

  it('attention and its gradient match the unfused composition', () => {
    tf.tidy(() => {
      for (const [b, t, heads, dh] of [[1, 1, 1, 1], [2, 5, 3, 4], [3, 66, 3, 8]]) {
        const qkv = tf.mul(randn([b, t, 3 * heads * dh]), 1.5);
        const w = randn([b, t, heads * dh]);
        check(attention(qkv, heads), attentionReference(qkv, heads), 1e-5, `attention [${b},${t},${heads},${dh}]`);
        const g1 = tf.grad((z: tf.Tensor) => tf.sum(tf.mul(attention(z, heads), w)))(qkv);
        const g2 = tf.grad((z: tf.Tensor) => tf.sum(tf.mul(attentionReference(z, heads), w)))(qkv);
        check(g1, g2, 1e-5, `attention grad [${b},${t},${heads},${dh}]`);
      }
    });
  });

  it('attention of identical keys averages the values (closed form)', () => {
    tf.tidy(() => {
      // q and k constant across tokens: every softmax row is uniform, so each output is the mean of v.
      const [b, t, heads, dh] = [2, 4, 2, 3];
      const v = randn([b, t, heads * dh]);
      const qk = tf.ones([b, t, 2 * heads * dh]);
      const out = attention(tf.concat([qk, v], 2), heads);
      check(out, tf.tile(tf.mean(v, 1, true), [1, t, 1]), 1e-6, 'uniform attention');
    });
  });

  it('rejects bad shapes with a one-line message naming the argument', () => {
    tf.tidy(() => {
      const x = tf.zeros([2, 4]);
      expect(() => layerNorm(x, tf.ones([3]) as tf.Tensor1D, tf.zeros([3]) as tf.Tensor1D, 1e-6)).toThrow(/gamma has shape \[3\].*length 4/);
      expect(() => layerNorm(x, tf.ones([4]) as tf.Tensor1D, null, 1e-6)).toThrow(/both gamma and beta/);
      expect(() => linear(x, tf.zeros([3, 2]) as tf.Tensor2D, null)).toThrow(/w must be \[4, out\]/);
      expect(() => linear(x, tf.zeros([4, 2]) as tf.Tensor2D, tf.zeros([3]) as tf.Tensor1D)).toThrow(/b must be \[2\]/);
      expect(() => attention(tf.zeros([2, 3, 10]), 2)).toThrow(/qkv has shape \[2,3,10\] with heads=2/);
    });
  });

  it('leaks no tensors over repeated forward + backward', () => {
    const x = randn([4, 6, 8]);
    const g = tf.ones([8]) as tf.Tensor1D;
    const b = tf.zeros([8]) as tf.Tensor1D;
    const w = randn([8, 8]) as tf.Tensor2D;
    const step = () => {
      const grads = tf.grads((a: tf.Tensor, c: tf.Tensor) => tf.sum(gelu(linear(layerNorm(a, g, b, 1e-6), c as tf.Tensor2D, b))))([x, w]);
      tf.dispose(grads);
    };
    step();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) step();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, g, b, w]);
  });
});
