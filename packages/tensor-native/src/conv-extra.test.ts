import * as tf from '@tensorflow/tfjs-core';
import { expectSameOutputs as expectSame, randn, relError, nativeTestable, stockAndNative, withGrads } from './testing/compare';
import { registerNativeKernels, unregisterNativeKernels } from './register';
import { loadAddon, type NativeAddon } from './addon';
import { batchNorm, batchNormInferenceReference, batchNormTrainReference } from './batchnorm';
import { DIRECT_MAX_K, type ConvExtraAddon } from './conv-extra';

const testable = nativeTestable();
const d = testable.ok ? describe : describe.skip;
if (!testable.ok) console.log(`[@epg/tensor-native] native conv-extra tests skipped: ${testable.why}`);

/** Counts calls of the named addon functions while fn runs with native kernels registered. */
function countCalls(names: Array<keyof ConvExtraAddon | keyof NativeAddon>, fn: () => void): number[] {
  const addon = loadAddon().addon as unknown as Record<string, (...a: unknown[]) => unknown>;
  registerNativeKernels();
  const spies = names.map((n) => jest.spyOn(addon, n));
  try {
    fn();
    return spies.map((s) => s.mock.calls.length);
  } finally {
    spies.forEach((s) => s.mockRestore());
    unregisterNativeKernels();
  }
}

type Pad = 'same' | 'valid' | number | [[number, number], [number, number], [number, number], [number, number]];

interface ConvCase {
  x: [number, number, number, number];
  k: [number, number, number, number];
  stride: number | [number, number];
  pad: Pad;
  dilation?: number | [number, number];
  rounding?: 'floor' | 'round' | 'ceil';
}

// Reductions KH·KW·C ≤ DIRECT_MAX_K: the direct path.
const DIRECT_CASES: ConvCase[] = [
  { x: [1, 28, 28, 1], k: [3, 3, 1, 32], stride: 1, pad: 'same' }, // the domain classifier's first layer, batch 1
  { x: [3, 9, 7, 1], k: [3, 3, 1, 5], stride: 2, pad: 'same' },
  { x: [2, 8, 9, 2], k: [2, 3, 2, 3], stride: [2, 1], pad: 'valid' },
  { x: [1, 11, 10, 1], k: [5, 3, 1, 2], stride: 3, pad: 'same' },
  { x: [2, 9, 7, 1], k: [3, 3, 1, 3], stride: 2, pad: 1, rounding: 'ceil' },
  { x: [1, 8, 8, 2], k: [3, 2, 2, 7], stride: 1, pad: [[0, 0], [2, 0], [1, 3], [0, 0]] },
  { x: [2, 6, 6, 5], k: [1, 1, 5, 7], stride: 1, pad: 'valid' },
  { x: [1, 2, 3, 1], k: [3, 3, 1, 2], stride: 1, pad: 'same' }, // filter larger than the image
];

function caseLabel(c: ConvCase): string {
  return `x[${c.x}] k[${c.k}] stride ${JSON.stringify(c.stride)} pad ${JSON.stringify(c.pad)} dil ${c.dilation ?? 1} ${c.rounding ?? ''}`;
}

d('conv_extra.c kernels against the stock cpu kernels', () => {
  afterAll(() => unregisterNativeKernels());

  it('the direct convolution, tiled max-pool gradient and BatchNorm kernels really run', () => {
    const x = randn([2, 8, 8, 1], 1);
    const k = randn([3, 3, 1, 4], 2);
    const g = randn([4], 3);
    const b = randn([4], 4);
    const calls = countCalls(['convDirect', 'convDirectBackpropFilter', 'maxPoolGradTiled', 'batchNormAct', 'batchNormActGrad', 'conv2d'], () =>
      tf.tidy(() => {
        const f = (a: tf.Tensor, w: tf.Tensor, gm: tf.Tensor, bt: tf.Tensor) =>
          tf.sum(batchNorm(tf.maxPool(tf.conv2d(a as tf.Tensor4D, w as tf.Tensor4D, 1, 'same'), 2, 2, 'valid'), gm, bt, { eps: 1e-3, relu: true }).y);
        tf.grads(f)([x, k, g, b]).forEach((t) => t.dataSync());
      }),
    );
    // the general im2col conv2d never runs for a 9-long reduction
    expect(calls).toEqual([1, 1, 1, 1, 1, 0]);
    // a long reduction still takes the im2col + GEMM path
    const k2 = randn([3, 3, 2, 4], 5);
    const x2 = randn([1, 5, 5, 2], 6);
    expect(2 * 3 * 3).toBeGreaterThan(DIRECT_MAX_K);
    expect(countCalls(['convDirect', 'conv2d'], () => tf.tidy(() => tf.conv2d(x2 as tf.Tensor4D, k2 as tf.Tensor4D, 1, 'same').dataSync()))).toEqual([0, 1]);
    tf.dispose([x, k, g, b, k2, x2]);
  });

  it('direct Conv2D forward and both gradients on odd shapes (stride, padding, batch 1)', () => {
    DIRECT_CASES.forEach((c, i) => {
      const x = randn(c.x, 100 + i);
      const k = randn(c.k, 200 + i);
      const f = (a: tf.Tensor, w: tf.Tensor) => tf.conv2d(a as tf.Tensor4D, w as tf.Tensor4D, c.stride, c.pad, 'NHWC', 1, c.rounding);
      expectSame(() => withGrads(f, [x, k], 300 + i), caseLabel(c));
      tf.dispose([x, k]);
    });
  });

  it('direct Conv2D forward with dilation', () => {
    const x = randn([2, 9, 10, 1], 400);
    const k = randn([3, 3, 1, 4], 401);
    expectSame(() => [tf.conv2d(x as tf.Tensor4D, k as tf.Tensor4D, 1, 'same', 'NHWC', 2), tf.conv2d(x as tf.Tensor4D, k as tf.Tensor4D, 1, 'valid', 'NHWC', [2, 3])], 'dilated direct');
    tf.dispose([x, k]);
  });

  it('direct FusedConv2D with bias and ReLU, and its gradients', () => {
    const x = randn([2, 7, 6, 1], 700);
    const k = randn([3, 3, 1, 6], 701);
    const b = randn([6], 702);
    for (const activation of ['linear', 'relu'] as const) {
      for (const stride of [1, 2]) {
        const f = (a: tf.Tensor, w: tf.Tensor, bias: tf.Tensor) =>
          tf.fused.conv2d({ x: a as tf.Tensor4D, filter: w as tf.Tensor4D, strides: stride, pad: 'same', bias, activation });
        expectSame(() => withGrads(f, [x, k, b], 703 + stride), `fused direct ${activation} stride ${stride}`);
      }
    }
    expectSame(() => [tf.fused.conv2d({ x: x as tf.Tensor4D, filter: k as tf.Tensor4D, strides: 1, pad: 'valid', activation: 'relu' })], 'fused direct, no bias');
    tf.dispose([x, k, b]);
  });

  it('Conv2DBackpropFilter called directly on the direct path (stride 2)', () => {
    const x = randn([2, 8, 9, 1], 602);
    const dy = randn([2, 4, 5, 3], 600);
    expectSame(
      () => [tf.tidy(() => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { strides: 2, pad: 'same', dataFormat: 'NHWC', filterShape: [3, 3, 1, 3] }) as tf.Tensor)],
      'direct filter gradient',
    );
    tf.dispose([dy, x]);
  });

  it('ResizeBilinear agrees bit for bit with the stock kernel (both flags, up and down, batch 1), and its gradient still works', () => {
    const cases: Array<{ x: number[]; size: [number, number] }> = [
      { x: [1, 32, 32, 3], size: [299, 299] }, // Inception's input
      { x: [2, 5, 7, 3], size: [11, 4] },
      { x: [1, 9, 6, 2], size: [1, 3] },
      { x: [3, 4, 4, 1], size: [6, 6] },
    ];
    cases.forEach((c, i) => {
      const x = randn(c.x, 1100 + i);
      for (const alignCorners of [false, true]) {
        for (const halfPixelCenters of alignCorners ? [false] : [false, true]) {
          const f = (a: tf.Tensor) => tf.image.resizeBilinear(a as tf.Tensor4D, c.size, alignCorners, halfPixelCenters);
          const label = `resize [${c.x}] → ${c.size} align ${alignCorners} half ${halfPixelCenters}`;
          expectSame(() => [f(x)], label, 0);
          // the (stock) gradient; tfjs 4.22's ResizeBilinearGrad fails on non-square images, so square only
          if (c.x[1] === c.x[2] && c.x[1] < 10) expectSame(() => withGrads(f, [x], 1200 + i), `${label} with gradient`);
        }
      }
      tf.dispose(x);
    });
    const x = randn([1, 3, 3, 2], 1300);
    expect(countCalls(['resizeBilinear'], () => tf.tidy(() => tf.image.resizeBilinear(x as tf.Tensor4D, [5, 5]).dataSync()))).toEqual([1]);
    tf.dispose(x);
  });

  it('Slice over several axes (centre crops), with gradients, and the native path runs', () => {
    const x = randn([3, 8, 7, 2], 1400);
    const crops: Array<[number[], number[]]> = [
      [[0, 2, 1, 0], [3, 4, 5, 2]], // H and W: a centre crop
      [[1, 1, 0, 1], [1, 6, 7, 1]], // batch, H and C
      [[2, 0, 3, 0], [-1, 8, -1, 2]], // size -1 = to the end
      [[0, 1, 1, 1], [1, 1, 1, 1]], // one element, batch 1
    ];
    crops.forEach(([b, sz], i) => expectSame(() => withGrads((a) => tf.slice(a, b, sz), [x], 1401 + i), `slice ${b} ${sz}`, 0));
    expect(countCalls(['copyBlocks'], () => tf.tidy(() => tf.slice(x, [0, 2, 1, 0], [3, 4, 5, 2]).dataSync()))).toEqual([2]);
    tf.dispose(x);
  });

  it('tiled max-pool gradient: uncovered rows and columns, ties, batch 1', () => {
    const cases: Array<{ x: [number, number, number, number]; f: number | [number, number] }> = [
      { x: [1, 8, 8, 5], f: 2 },
      { x: [2, 7, 9, 3], f: 2 }, // last row and column in no window
      { x: [1, 9, 8, 2], f: [3, 2] },
      { x: [3, 6, 6, 1], f: 3 },
    ];
    cases.forEach((c, i) => {
      const x = randn(c.x, 800 + i);
      const f = (a: tf.Tensor) => tf.maxPool(a as tf.Tensor4D, c.f, c.f, 'valid');
      expectSame(() => withGrads(f, [x], 900 + i), `maxPool x[${c.x}] f ${JSON.stringify(c.f)}`);
      tf.dispose(x);
    });
    const ties = tf.tidy(() => tf.round(tf.mul(randn([2, 6, 7, 3], 1000), 0.6)));
    expectSame(() => withGrads((a) => tf.maxPool(a as tf.Tensor4D, 2, 2, 'valid'), [ties], 1001), 'ties');
    tf.dispose(ties);
  });
});

/** BatchNorm of a host [rows, C] matrix in float64: the independent reference. */
function hostBatchNorm(x: Float32Array, c: number, gamma: Float32Array, beta: Float32Array, eps: number, relu: boolean, stats?: { mean: Float32Array; variance: Float32Array }) {
  const rows = x.length / c;
  const mean = new Float64Array(c);
  const variance = new Float64Array(c);
  if (stats) {
    mean.set(stats.mean);
    variance.set(stats.variance);
  } else {
    for (let r = 0; r < rows; r++) for (let j = 0; j < c; j++) mean[j] += x[r * c + j] / rows;
    for (let r = 0; r < rows; r++) for (let j = 0; j < c; j++) variance[j] += (x[r * c + j] - mean[j]) ** 2 / rows;
  }
  const y = new Float64Array(x.length);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < c; j++) {
      const z = ((x[r * c + j] - mean[j]) / Math.sqrt(variance[j] + eps)) * gamma[j] + beta[j];
      y[r * c + j] = relu ? Math.max(z, 0) : z;
    }
  }
  return { y, mean, variance };
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

const BN_SHAPES: number[][] = [
  [1, 5, 7, 3], // batch 1
  [4, 3, 2, 6],
  [13, 5], // rank 2 (a dense layer's output)
  [2, 1, 1, 4],
];

describe('batchNorm (fused BatchNorm + ReLU) against float64 host arithmetic, on the current backend', () => {
  for (const shape of BN_SHAPES) {
    for (const relu of [false, true]) {
      it(`training and inference mode, x [${shape}], relu ${relu}`, () => {
        const c = shape[shape.length - 1];
        const x = tf.tidy(() => tf.add(tf.mul(randn(shape, 11), 3), 5)); // a mean and scale far from 0 and 1
        const gamma = randn([c], 12);
        const beta = randn([c], 13);
        const xv = x.dataSync() as Float32Array;
        const gv = gamma.dataSync() as Float32Array;
        const bv = beta.dataSync() as Float32Array;
        const before = tf.memory().numTensors;
        const train = batchNorm(x, gamma, beta, { eps: 1e-3, relu });
        const ref = hostBatchNorm(xv, c, gv, bv, 1e-3, relu);
        expect(train.y.shape).toEqual(shape);
        expect(maxAbsDiff(train.y.dataSync(), ref.y)).toBeLessThan(2e-5);
        expect(maxAbsDiff(train.mean!.dataSync(), ref.mean)).toBeLessThan(2e-5);
        expect(maxAbsDiff(train.variance!.dataSync(), ref.variance)).toBeLessThan(1e-4);
        const stats = { mean: randn([c], 14), variance: tf.tidy(() => tf.exp(randn([c], 15))) };
        const inf = batchNorm(x, gamma, beta, { eps: 1e-3, relu, ...stats });
        const refInf = hostBatchNorm(xv, c, gv, bv, 1e-3, relu, { mean: stats.mean.dataSync() as Float32Array, variance: stats.variance.dataSync() as Float32Array });
        expect(inf.mean).toBeUndefined();
        expect(maxAbsDiff(inf.y.dataSync(), refInf.y)).toBeLessThan(1e-4);
        tf.dispose([train.y, train.mean!, train.variance!, inf.y, stats.mean, stats.variance]);
        expect(tf.memory().numTensors).toBe(before);
        tf.dispose([x, gamma, beta]);
      });
    }
  }

  it('rejects mismatched channels and half-given statistics with a clear error', () => {
    const x = tf.zeros([2, 3]);
    const g = tf.ones([4]);
    const b = tf.zeros([3]);
    expect(() => batchNorm(x, g, b, { eps: 1e-3 })).toThrow(/gamma has shape \[4\] but x has 3 channels/);
    expect(() => batchNorm(x, b, b, { eps: 1e-3, mean: b })).toThrow(/both mean and variance/);
    expect(() => batchNorm(x, b, b, { eps: -1 })).toThrow(/eps = -1/);
    tf.dispose([x, g, b]);
  });
});

d('native batchNorm against the tfjs composition, gradients included', () => {
  afterAll(() => unregisterNativeKernels());

  for (const shape of BN_SHAPES) {
    for (const relu of [false, true]) {
      it(`training mode x [${shape}], relu ${relu}: y, batch statistics, dx, dgamma, dbeta`, () => {
        const c = shape[shape.length - 1];
        const x = tf.tidy(() => tf.add(tf.mul(randn(shape, 21), 2), 1));
        const gamma = randn([c], 22);
        const beta = randn([c], 23);
        const stats = () => tf.tidy(() => {
          const r = batchNorm(x, gamma, beta, { eps: 1e-3, relu });
          return [r.mean!, r.variance!];
        });
        // the reference is the composition itself, differentiated by tfjs (mean and variance depend on x)
        const ref = (a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => batchNormTrainReference(a, g, b, 1e-3, relu).y;
        const fused = (a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => batchNorm(a, g, b, { eps: 1e-3, relu }).y;
        const refOut = tf.tidy(() => withGrads(ref, [x, gamma, beta], 24).map((t) => tf.keep(t)));
        const refStats = stats(); // stock kernels: the composition path
        registerNativeKernels();
        try {
          const natOut = tf.tidy(() => withGrads(fused, [x, gamma, beta], 24).map((t) => tf.keep(t)));
          const natStats = stats();
          [...refOut, ...refStats].forEach((r, i) => {
            const n = [...natOut, ...natStats][i];
            expect(n.shape).toEqual(r.shape);
            const err = relError(n, r);
            if (!(err <= 2e-4)) throw new Error(`x [${shape}] relu ${relu} output ${i}: relative error ${err}`);
          });
          tf.dispose([...natOut, ...natStats]);
        } finally {
          unregisterNativeKernels();
          tf.dispose([...refOut, ...refStats, x, gamma, beta]);
        }
      });
    }
  }

  it('inference mode: y and the gradients w.r.t. x, gamma, beta, mean and variance', () => {
    const x = randn([3, 4, 5, 6], 31);
    const gamma = randn([6], 32);
    const beta = randn([6], 33);
    const mean = randn([6], 34);
    const variance = tf.tidy(() => tf.exp(randn([6], 35)));
    for (const relu of [false, true]) {
      const f = (a: tf.Tensor, g: tf.Tensor, b: tf.Tensor, m: tf.Tensor, v: tf.Tensor) => batchNorm(a, g, b, { eps: 1e-3, relu, mean: m, variance: v }).y;
      const ref = (a: tf.Tensor, g: tf.Tensor, b: tf.Tensor, m: tf.Tensor, v: tf.Tensor) => batchNormInferenceReference(a, g, b, m, v, 1e-3, relu);
      const refOut = tf.tidy(() => withGrads(ref, [x, gamma, beta, mean, variance], 36).map((t) => tf.keep(t)));
      const { native } = stockAndNative(() => withGrads(f, [x, gamma, beta, mean, variance], 36).map((t) => tf.keep(t)));
      refOut.forEach((r, i) => {
        const err = relError(native[i], r);
        if (!(err <= 1e-4)) throw new Error(`inference relu ${relu} output ${i}: relative error ${err}`);
      });
      tf.dispose([...refOut, ...native]);
    }
    tf.dispose([x, gamma, beta, mean, variance]);
  });

  it('keeps the tensor count flat over repeated training steps', () => {
    registerNativeKernels();
    try {
      const x = randn([4, 6, 6, 3], 41);
      const gamma = randn([3], 42);
      const beta = randn([3], 43);
      const step = () => tf.tidy(() => {
        const r = batchNorm(x, gamma, beta, { eps: 1e-3, relu: true });
        r.mean!.dataSync();
        tf.grads((a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => tf.sum(batchNorm(a, g, b, { eps: 1e-3, relu: true }).y))([x, gamma, beta]).forEach((t) => t.dataSync());
      });
      step();
      const before = tf.memory().numTensors;
      for (let i = 0; i < 4; i++) step();
      expect(tf.memory().numTensors).toBe(before);
      tf.dispose([x, gamma, beta]);
    } finally {
      unregisterNativeKernels();
    }
  });
});
