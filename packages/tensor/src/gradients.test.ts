import * as tf from '@tensorflow/tfjs-core';
import { clipByGlobalNorm, disposeAll, globalNorm, stopGradient } from './gradients';
import { ParameterStore } from './params';
import { AdamW } from './optim/adamw';
import { trainStep } from './train-step';
import { expectClose, expectNoLeak } from './testing';
import { RandomStream } from './random';
import { normalTensor } from './random-tensors';

describe('stopGradient', () => {
  it('is the identity forward and has zero gradient', () => {
    const x = tf.tensor([1, -2, 3]);
    const g = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(stopGradient(v), v)))(x);
    // d/dx Σ sg(x)·x = sg(x) = x: only the un-stopped factor contributes.
    expectClose(g, [1, -2, 3]);
    const g0 = tf.grad((v: tf.Tensor) => tf.sum(tf.square(stopGradient(v))))(x);
    expectClose(g0, [0, 0, 0], { atol: 0 });
    const same = stopGradient(x);
    expectClose(same, x, { atol: 0 });
    [x, g, g0, same].forEach((t) => t.dispose());
  });
});

describe('global-norm clipping', () => {
  it('scales (3, 4) with norm 5 to norm 1 and leaves small gradients alone', () => {
    const grads = { a: tf.tensor([3]), b: tf.tensor([4]) };
    expect(globalNorm(grads)).toBeCloseTo(5, 6);
    const c = clipByGlobalNorm(grads, 1);
    expectClose(c.a, [0.6], { rtol: 1e-6 });
    expectClose(c.b, [0.8], { rtol: 1e-6 });
    const d = clipByGlobalNorm(grads, 10);
    expectClose(d.a, [3], { atol: 0 });
    [grads, c, d].forEach(disposeAll);
  });
});

describe('trainStep', () => {
  function setup() {
    const rs = RandomStream.fromSeed(1);
    const store = ParameterStore.create();
    store.add('w', normalTensor(rs, [6, 1]));
    const x = normalTensor(rs, [32, 6]) as tf.Tensor2D;
    const y = tf.tidy(() => tf.matMul(x, tf.tensor2d([1, -1, 2, 0, 0.5, 3], [6, 1])));
    const opt = new AdamW(store, { lr: 0.05, weightDecay: 0 });
    const loss = () => tf.mean(tf.square(tf.sub(tf.matMul(x, store.get('w')), y))) as tf.Scalar;
    return { store, x, y, opt, loss };
  }

  it('200 optimiser steps keep tf.memory().numTensors flat and lower the loss', async () => {
    const { store, x, y, opt, loss } = setup();
    const first = trainStep(store, opt, loss).loss;
    let last = first;
    const counts: number[] = [];
    await expectNoLeak(() => {
      for (let i = 0; i < 200; i++) {
        last = trainStep(store, opt, loss, { clipNorm: 10 }).loss;
        counts.push(tf.memory().numTensors);
      }
    }, '200 train steps');
    expect(new Set(counts).size).toBe(1);
    expect(last).toBeLessThan(first * 0.01);
    opt.dispose();
    [store].forEach((s) => s.dispose());
    [x, y].forEach((t) => t.dispose());
  });

  it('skips the update on a non-finite loss and reports the step', () => {
    const { store, x, y, opt } = setup();
    const before = Array.from(store.get('w').dataSync());
    const messages: string[] = [];
    const r = trainStep(store, opt, () => tf.mul(tf.sum(store.get('w')), NaN) as tf.Scalar, { onSkip: (m) => messages.push(m) });
    expect(r.skipped).toBe(true);
    expect(messages).toEqual(['step 0: loss is NaN; update skipped']);
    expect(Array.from(store.get('w').dataSync())).toEqual(before);
    expect(opt.step).toBe(0);
    const inf = trainStep(store, opt, () => tf.sum(tf.mul(store.get('w'), tf.scalar(Infinity))) as tf.Scalar);
    expect(inf.skipped).toBe(true);
    opt.dispose();
    store.dispose();
    [x, y].forEach((t) => t.dispose());
  });
});
