import * as tf from '@tensorflow/tfjs-core';
import { adamwUpdate, adamwUpdateReference } from './fused';
import { registerNativeKernels, unregisterNativeKernels, nativeKernelsActive } from './register';
import { nativeTestable, randn } from './testing/compare';

const testable = nativeTestable();

/** The update written out per element in float64 (independent of tfjs), from Loshchilov & Hutter's Algorithm 2. */
function hostAdamW(p: number, g: number, m: number, v: number, h: { lr: number; beta1: number; beta2: number; eps: number; weightDecay: number; bc1: number; bc2: number }) {
  const m1 = h.beta1 * m + (1 - h.beta1) * g;
  const v1 = h.beta2 * v + (1 - h.beta2) * g * g;
  const mHat = m1 / h.bc1;
  const vHat = v1 / h.bc2;
  return [p * (1 - h.lr * h.weightDecay) - (h.lr * mHat) / (Math.sqrt(vHat) + h.eps), m1, v1];
}

describe(`fused AdamW update (${testable.ok ? 'native and reference' : `reference only: ${testable.why}`})`, () => {
  afterAll(() => unregisterNativeKernels());
  const t = 3;
  const h = { lr: 1e-2, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.05, bc1: 1 - 0.9 ** t, bc2: 1 - 0.95 ** t };

  it.each([
    ['native', true],
    ['reference', false],
  ] as const)('%s path matches the element-wise formula, with and without weight decay', (_, native) => {
    if (native && !testable.ok) return;
    if (native) registerNativeKernels();
    else unregisterNativeKernels();
    expect(nativeKernelsActive()).toBe(native);
    const shape = [7, 5];
    const [p, g, m] = [randn(shape, 1), randn(shape, 2), randn(shape, 3)];
    const v = tf.tidy(() => tf.square(randn(shape, 4)));
    for (const wd of [0, h.weightDecay]) {
      const hp = { ...h, weightDecay: wd };
      const got = (native ? adamwUpdate : adamwUpdateReference)(p, g, m, v, hp);
      const [pv, gv, mv, vv] = [p, g, m, v].map((x) => x.dataSync());
      const outs = got.map((x) => x.dataSync());
      for (let i = 0; i < pv.length; i++) {
        const want = hostAdamW(pv[i], gv[i], mv[i], vv[i], hp);
        for (let k = 0; k < 3; k++) expect(Math.abs(outs[k][i] - want[k])).toBeLessThan(2e-6 * Math.max(1, Math.abs(want[k])));
      }
      tf.dispose(got);
    }
    tf.dispose([p, g, m, v]);
  });
});
