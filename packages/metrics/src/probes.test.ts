import * as tf from '@tensorflow/tfjs-core';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expectNoLeak, useTestBackend } from '@epg/tensor/testing';
import { knnTop1, linearProbe, probeAtSigmas } from './probes';

useTestBackend();

// Made by scripts/make_probe_fixtures.py (numpy float64; margins checked there).
const fx = JSON.parse(readFileSync(join(__dirname, '__fixtures__', 'probes.json'), 'utf8')) as {
  num_classes: number; dim: number; train: number[]; train_labels: number[]; test: number[]; test_labels: number[];
  knn_k5_t01: number[]; knn_k20_t007: number[]; linear: { train_loss: number; train_pred: number[]; test_pred: number[] };
};

describe('knnTop1', () => {
  it('matches the float64 weighted-vote reference (k 5 / T 0.1 and the default k 20 / T 0.07)', () => {
    const tr = tf.tensor2d(fx.train, [fx.train_labels.length, fx.dim]);
    const te = tf.tensor2d(fx.test, [fx.test_labels.length, fx.dim]);
    const ytr = Int32Array.from(fx.train_labels);
    const yte = Int32Array.from(fx.test_labels);
    const a = knnTop1(tr, ytr, te, yte, { numClasses: 3, k: 5, temperature: 0.1, blockSize: 8 });
    expect(Array.from(a.predictions)).toEqual(fx.knn_k5_t01);
    const b = knnTop1(tr, ytr, te, yte, { numClasses: 3 });
    expect(Array.from(b.predictions)).toEqual(fx.knn_k20_t007);
    expect(b.accuracy).toBeCloseTo(fx.knn_k20_t007.filter((p, i) => p === fx.test_labels[i]).length / fx.test_labels.length, 12);
    tf.dispose([tr, te]);
  });

  it('hand case: weights exp(sim/T) let two close neighbours outvote three far ones', () => {
    // Query along x. Class 0: two points at 0°; class 1: three points at 60° (cos 0.5).
    const c = Math.cos(Math.PI / 3), s = Math.sin(Math.PI / 3);
    const tr = tf.tensor2d([[1, 0], [2, 0], [c, s], [c, s], [c, s]]);
    const te = tf.tensor2d([[1, 0]]);
    const y = Int32Array.of(0, 0, 1, 1, 1);
    // T = 1: 2e¹ = 5.44 > 3e^0.5 = 4.95 → class 0. T = 10: 2e^0.1 = 2.21 < 3e^0.05 = 3.15 → class 1.
    expect(knnTop1(tr, y, te, Int32Array.of(0), { numClasses: 2, k: 5, temperature: 1 }).predictions[0]).toBe(0);
    expect(knnTop1(tr, y, te, Int32Array.of(0), { numClasses: 2, k: 5, temperature: 10 }).predictions[0]).toBe(1);
    expect(() => knnTop1(tr, y, te, Int32Array.of(0), { numClasses: 2, k: 6 })).toThrow(/k = 6 with 5 training samples/);
    expect(() => knnTop1(tr, Int32Array.of(0, 0, 1, 1, 7), te, Int32Array.of(0), { numClasses: 2, k: 2 })).toThrow(/label 7 is outside \[0, 2\)/);
    tf.dispose([tr, te]);
  });
});

describe('linearProbe', () => {
  it('matches the float64 full-batch Adam reference', async () => {
    const tr = tf.tensor2d(fx.train, [fx.train_labels.length, fx.dim]);
    const te = tf.tensor2d(fx.test, [fx.test_labels.length, fx.dim]);
    const r = await expectNoLeak(
      () => linearProbe(tr, Int32Array.from(fx.train_labels), te, Int32Array.from(fx.test_labels), { numClasses: 3, steps: 150, lr: 0.05, l2: 1e-3 }),
      'linearProbe',
    );
    expect(r.trainLoss).toBeCloseTo(fx.linear.train_loss, 4);
    expect(Array.from(r.predictions)).toEqual(fx.linear.test_pred);
    expect(r.trainAccuracy).toBeCloseTo(fx.linear.train_pred.filter((p, i) => p === fx.train_labels[i]).length / fx.train_labels.length, 12);
    tf.dispose([tr, te]);
  });
});

describe('probeAtSigmas', () => {
  it('probes the features of noised images: an identity encoder loses accuracy as σ grows, nothing leaks', async () => {
    // Two classes of 2×2 images: +1 or −1 everywhere (plus a little jitter).
    const n = 40;
    const lab = Int32Array.from({ length: n }, (_, i) => i % 2);
    const img = tf.tidy(() => tf.mul(tf.reshape(tf.tensor1d(Float32Array.from(lab, (l) => (l ? 1 : -1))), [n, 1, 1, 1]), tf.ones([n, 2, 2, 1]))) as tf.Tensor4D;
    const identity = (x: tf.Tensor4D) => tf.tidy(() => tf.add(tf.reshape(x, [x.shape[0], -1]), 0.01)) as tf.Tensor2D;
    const rows = await expectNoLeak(
      () => probeAtSigmas(identity, { images: img, labels: lab }, { images: img, labels: lab }, { numClasses: 2, sigmas: [0.002, 10], seed: 1, knn: { k: 5 }, linear: { steps: 50 }, batchSize: 16 }),
      'probeAtSigmas',
    );
    expect(rows.map((r) => r.sigma)).toEqual([0.002, 10]);
    expect(rows[0].knnTop1).toBe(1);
    expect(rows[0].linearTop1).toBe(1);
    expect(rows[1].knnTop1).toBeLessThan(0.9);
    expect(rows[1].featureStd).toBeGreaterThan(rows[0].featureStd);
    img.dispose();
  });
});
