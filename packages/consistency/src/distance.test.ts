import * as tf from '@tensorflow/tfjs-core';
import { EPG_CM_DISTANCE, consistencyDistance } from './index';

// One sample of 4 values: a − b = (0.2, −0.3, 0.3, 0.4), D = 0.38 (hand-computed; values from numpy).
const a = () => tf.tensor4d([0.3, -0.2, 0.5, 0.1], [1, 2, 2, 1]);
const b = () => tf.tensor4d([0.1, 0.1, 0.2, -0.3], [1, 2, 2, 1]);

describe('consistencyDistance', () => {
  it("is EPG's D/√(D + c²) with c = 0.06 by default; pseudo-Huber and L2² variants", () => {
    expect(EPG_CM_DISTANCE).toEqual({ kind: 'ect', c: 0.06 });
    const [x, y] = [a(), b()];
    const val = (o?: Parameters<typeof consistencyDistance>[2]) => {
      const d = consistencyDistance(x, y, o);
      const v = d.dataSync()[0];
      d.dispose();
      return v;
    };
    expect(val()).toBeCloseTo(0.6135419995345952, 6);
    expect(val({ kind: 'pseudo-huber', c: 0.06 })).toBeCloseTo(0.5593545026880808, 6);
    expect(val({ kind: 'l2', c: 0 })).toBeCloseTo(0.38, 6);
    tf.dispose([x, y]);
  });

  it("'ect' has twice the pseudo-Huber gradient, 2(a − b)/√(D + c²) (the sg on the denominator)", () => {
    const [x, y] = [a(), b()];
    const grad = (kind: 'ect' | 'pseudo-huber') => tf.grad((u: tf.Tensor) => tf.sum(consistencyDistance(u as tf.Tensor4D, y, { kind, c: 0.06 })))(x);
    const ge = grad('ect');
    const gp = grad('pseudo-huber');
    const closed = [0.2, -0.3, 0.3, 0.4].map((d) => (2 * d) / Math.sqrt(0.38 + 0.0036));
    Array.from(ge.dataSync()).forEach((g, i) => expect(g).toBeCloseTo(closed[i], 5));
    Array.from(gp.dataSync()).forEach((g, i) => expect(g).toBeCloseTo(closed[i] / 2, 5));
    tf.dispose([x, y, ge, gp]);
  });

  it('sums per sample over every pixel and channel', () => {
    const x = tf.tensor4d([1, 2, 3, 4, 5, 6, 7, 8], [2, 1, 2, 2]);
    const zero = tf.zerosLike(x);
    const d = consistencyDistance(x, zero, { kind: 'l2', c: 0 });
    expect(Array.from(d.dataSync())).toEqual([30, 174]);
    tf.dispose([x, zero, d]);
  });

  it('rejects bad options and mismatched shapes', () => {
    const [x, y] = [a(), b()];
    expect(() => consistencyDistance(x, y, { kind: 'ect', c: 0 })).toThrow(/distance.c passed to consistencyDistance/);
    expect(() => consistencyDistance(x, y, { kind: 'huber' as 'l2', c: 1 })).toThrow(/distance.kind/);
    const small = tf.zeros([1, 2, 2, 2]) as tf.Tensor4D;
    expect(() => consistencyDistance(x, small)).toThrow(/same shape/);
    tf.dispose([x, y, small]);
  });
});

describe("consistencyDistance: a 'custom' (code variant) distance", () => {
  it('returns the variant function of (a, b, {c}) and checks its shape', () => {
    const a = tf.tensor4d([1, 2, 3, 4, 0, 0, 0, 0], [2, 2, 2, 1]);
    const b = tf.tensor4d([0, 0, 0, 0, 1, -1, 1, -1], [2, 2, 2, 1]);
    const seen: number[] = [];
    const l1 = (x: tf.Tensor4D, y: tf.Tensor4D, o: { c: number }) => (seen.push(o.c), tf.sum(tf.abs(tf.sub(x, y)), [1, 2, 3]) as tf.Tensor1D);
    const d = consistencyDistance(a, b, { kind: 'custom', c: 0.06, name: 'l1', fn: l1 });
    expect(Array.from(d.dataSync())).toEqual([10, 4]); // |1|+|2|+|3|+|4|, 4·|±1|
    expect(seen).toEqual([0.06]);
    const bad = () => consistencyDistance(a, b, { kind: 'custom', c: 0.06, name: '@me/bad', fn: (x) => tf.sum(x) as unknown as tf.Tensor1D });
    expect(bad).toThrow(/the 'cm-distance' variant @me\/bad returned shape \[\], expected one value per sample \[2\]: return a \[B\] tensor/);
    tf.dispose([a, b, d]);
  });
});
