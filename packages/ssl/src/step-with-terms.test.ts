import * as tf from '@tensorflow/tfjs-core';
import { AdamW, ParameterStore } from '@epg/tensor';
import { expectClose, expectNoLeak, useTestBackend } from '@epg/tensor/testing';
import { stepWithTerms } from './step-with-terms';

useTestBackend();

describe('stepWithTerms', () => {
  it('reports each term, differentiates only the given entries, and skips non-finite steps', async () => {
    const store = ParameterStore.create();
    const a = store.add('a', tf.tensor1d([1, 2]));
    const b = store.add('b', tf.tensor1d([3]));
    const opt = new AdamW(store, { lr: 0.1, weightDecay: 0 });
    const onlyA = store.entries((e) => e.name === 'a');
    // total = Σa² + 2·b; only a is in the list, so b must not move.
    const r = await expectNoLeak(
      () =>
        stepWithTerms(onlyA, opt, () => {
          const t1 = tf.sum(tf.square(a)) as tf.Scalar;
          const t2 = tf.mul(b.squeeze(), 2) as tf.Scalar;
          return { total: tf.add(t1, t2) as tf.Scalar, terms: { squares: t1, linear: t2 } };
        }),
      'stepWithTerms',
    );
    expect(r.terms).toEqual({ squares: 5, linear: 6 });
    expect(r.loss).toBe(11);
    expect(r.gradNorm).toBeCloseTo(Math.sqrt(4 + 16), 5); // ∂/∂a = 2a
    expect(r.skipped).toBe(false);
    expectClose(a, [0.9, 1.9], { atol: 1e-6 }); // first Adam step moves each coordinate by lr
    expectClose(b, [3], { atol: 0 });
    const s = stepWithTerms(onlyA, opt, () => {
      const t = tf.mul(tf.sum(a), NaN) as tf.Scalar;
      return { total: t, terms: { bad: t } };
    });
    expect(s.skipped).toBe(true);
    expect(Number.isNaN(s.terms.bad)).toBe(true);
    expectClose(a, [0.9, 1.9], { atol: 1e-6 });
    opt.dispose();
    store.dispose();
  });
});
