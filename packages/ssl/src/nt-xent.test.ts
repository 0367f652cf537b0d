import * as tf from '@tensorflow/tfjs-core';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expectClose, expectNoLeak, useTestBackend } from '@epg/tensor/testing';
import { isEpgError } from '@epg/tensor';
import { ntXent } from './nt-xent';

useTestBackend();

interface Case {
  q: number[]; k: number[]; bq: number; bk: number; c: number; tau: number[]; per_sample_tau: boolean;
  two_tau: boolean; weights: number[]; loss: number[]; grad_q: number[]; grad_k: number[];
}
// Made by scripts/make_fixtures.py (numpy float64, hand gradients checked by finite differences there).
const fixtures = JSON.parse(readFileSync(join(__dirname, '__fixtures__', 'nt_xent.json'), 'utf8')) as Record<string, Case>;

describe('ntXent against the float64 reference', () => {
  for (const [name, fx] of Object.entries(fixtures)) {
    it(`matches values and input gradients: ${name}`, () => {
      const q = tf.tensor2d(fx.q, [fx.bq, fx.c]);
      const k = tf.tensor2d(fx.k, [fx.bk, fx.c]);
      const w = tf.tensor1d(fx.weights);
      const tau = fx.per_sample_tau ? Float64Array.from(fx.tau) : fx.tau[0];
      const loss = ntXent(q, k, tau, { twoTauFactor: fx.two_tau });
      expectClose(loss, fx.loss, { rtol: 1e-5, atol: 2e-6 });
      const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(ntXent(a as tf.Tensor2D, b as tf.Tensor2D, tau, { twoTauFactor: fx.two_tau }), w)));
      const [gq, gk] = g([q, k]);
      expectClose(gq, fx.grad_q, { rtol: 1e-4, atol: 2e-5 });
      expectClose(gk, fx.grad_k, { rtol: 1e-4, atol: 2e-5 });
      tf.dispose([q, k, w, loss, gq, gk]);
    });
  }

  it('equals log(B) when every logit is equal (hand case) and is invariant to the feature scale', () => {
    const q = tf.tensor2d([[1, 0, 0], [0, 1, 0]]);
    const k = tf.tensor2d([[0, 0, 5], [0, 0, -3]]); // q̂·k̂ = 0 everywhere
    tf.tidy(() => expectClose(ntXent(q, k, 0.1), [Math.log(2), Math.log(2)], { atol: 1e-6 }));
    const k2 = tf.tensor2d([[2, 0, 0], [0, 7, 0]]); // positives aligned, negatives orthogonal: ℓ = log(1 + e^{−1/τ})
    tf.tidy(() => expectClose(ntXent(q, k2, 0.5), [Math.log(1 + Math.exp(-2)), Math.log(1 + Math.exp(-2))], { atol: 1e-6 }));
    tf.dispose([q, k, k2]);
  });

  it('leaks nothing and rejects bad shapes and temperatures with one-line EpgErrors', async () => {
    const q = tf.randomNormal([3, 4], 0, 1, 'float32', 1) as tf.Tensor2D;
    const k = tf.randomNormal([2, 4], 0, 1, 'float32', 2) as tf.Tensor2D;
    const ok = tf.randomNormal([3, 4], 0, 1, 'float32', 3) as tf.Tensor2D;
    await expectNoLeak(() => tf.tidy(() => { ntXent(q, ok, 0.2).dataSync(); }), 'ntXent');
    const catchIt = (f: () => unknown) => { try { f(); } catch (e) { return e; } return null; };
    const e1 = catchIt(() => ntXent(q, k, 0.2));
    expect(isEpgError(e1) && /2 keys for 3 queries/.test((e1 as Error).message)).toBe(true);
    expect(() => ntXent(q, ok, [0.1, 0.2])).toThrow(/2 temperatures for 3 queries/);
    expect(() => ntXent(q, ok, 0)).toThrow(/temperature 0 is not a finite number > 0/);
    tf.dispose([q, k, ok]);
  });
});
