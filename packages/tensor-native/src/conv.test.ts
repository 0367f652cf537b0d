import * as tf from '@tensorflow/tfjs-core';
import { expectSameOutputs, randn, nativeTestable, withGrads } from './testing/compare';
import { registerNativeKernels, unregisterNativeKernels } from './register';
import { loadAddon, type NativeAddon } from './addon';

const testable = nativeTestable();
const d = testable.ok ? describe : describe.skip;
if (!testable.ok) console.log(`[@epg/tensor-native] native conv/pool tests skipped: ${testable.why}`);

const TOL = 1e-5;
const expectSame = (fn: () => tf.Tensor[], label: string, tol = TOL): void => expectSameOutputs(fn, label, tol);

type Pad = 'same' | 'valid' | number | [[number, number], [number, number], [number, number], [number, number]];

interface ConvCase {
  x: [number, number, number, number];
  k: [number, number, number, number];
  stride: number | [number, number];
  pad: Pad;
  dilation?: number | [number, number];
  rounding?: 'floor' | 'round' | 'ceil';
}

const CONV_CASES: ConvCase[] = [
  { x: [1, 7, 9, 3], k: [3, 3, 3, 5], stride: 1, pad: 'same' },
  { x: [2, 7, 9, 3], k: [3, 3, 3, 4], stride: 2, pad: 'same' },
  { x: [3, 8, 5, 2], k: [3, 2, 2, 3], stride: [2, 1], pad: 'valid' },
  { x: [1, 11, 10, 4], k: [5, 5, 4, 2], stride: 3, pad: 'same' },
  { x: [2, 6, 6, 5], k: [1, 1, 5, 7], stride: 1, pad: 'valid' }, // pointwise: one GEMM
  { x: [2, 7, 7, 5], k: [1, 1, 5, 3], stride: 2, pad: 'same' },
  { x: [1, 9, 8, 1], k: [1, 7, 1, 4], stride: 1, pad: 'same' }, // Inception's 1×7
  { x: [2, 8, 9, 3], k: [7, 1, 3, 2], stride: 1, pad: 'same' },
  { x: [2, 9, 7, 2], k: [3, 3, 2, 3], stride: 2, pad: 1, rounding: 'ceil' },
  { x: [1, 8, 8, 3], k: [3, 3, 3, 2], stride: 1, pad: [[0, 0], [2, 0], [1, 3], [0, 0]] },
  { x: [2, 5, 5, 3], k: [3, 3, 3, 2], stride: 1, pad: 'valid' },
  { x: [1, 2, 3, 2], k: [3, 3, 2, 2], stride: 1, pad: 'same' }, // filter larger than the image
];

const DILATED_CASES: ConvCase[] = [
  { x: [2, 9, 10, 3], k: [3, 3, 3, 4], stride: 1, pad: 'same', dilation: 2 },
  { x: [1, 12, 11, 2], k: [3, 2, 2, 3], stride: 1, pad: 'valid', dilation: [2, 3] },
];

function caseLabel(c: ConvCase): string {
  return `x[${c.x}] k[${c.k}] stride ${JSON.stringify(c.stride)} pad ${JSON.stringify(c.pad)} dil ${c.dilation ?? 1} ${c.rounding ?? ''}`;
}

d('native Conv2D, its gradients and pooling against the stock cpu kernels', () => {
  afterAll(() => unregisterNativeKernels());

  it('registers the convolution and pooling kernels', () => {
    const rep = registerNativeKernels();
    expect(rep.kernels).toEqual(
      expect.arrayContaining(['PadV2', 'Conv2D', 'FusedConv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter', 'MaxPool', 'AvgPool', 'MaxPoolGrad', 'AvgPoolGrad']),
    );
    // The comparisons below are only meaningful if the native path really runs: count its calls.
    const addon = loadAddon().addon as NativeAddon;
    const names = ['conv2d', 'conv2dBackpropInput', 'conv2dBackpropFilter', 'pool', 'poolGrad'] as const;
    const spies = names.map((n) => jest.spyOn(addon, n));
    try {
      const x = randn([1, 6, 6, 2], 50);
      const k = randn([3, 3, 2, 2], 51);
      tf.tidy(() => {
        const f = (a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.avgPool(tf.maxPool(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'same'), 2, 2, 'valid'), 3, 1, 'same'));
        tf.grads(f)([x, k]).forEach((g) => g.dataSync());
      });
      tf.dispose([x, k]);
      // poolGrad once: the 2×2/2 max-pool gradient takes conv_extra.c's tiled kernel (conv-extra.test.ts)
      expect(spies.map((s) => s.mock.calls.length)).toEqual([1, 1, 1, 2, 1]);
    } finally {
      spies.forEach((s) => s.mockRestore());
      unregisterNativeKernels();
    }
  });

  it('Conv2D forward and both gradients on odd shapes (stride, padding, batch 1)', () => {
    CONV_CASES.forEach((c, i) => {
      const x = randn(c.x, 100 + i);
      const k = randn(c.k, 200 + i);
      const f = (a: tf.Tensor, b: tf.Tensor) => tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.stride, c.pad, 'NHWC', 1, c.rounding);
      expectSame(() => withGrads(f, [x, k], 300 + i), caseLabel(c));
      tf.dispose([x, k]);
    });
  });

  it('Conv2D forward with dilation (tfjs has no dilated conv gradient)', () => {
    DILATED_CASES.forEach((c, i) => {
      const x = randn(c.x, 400 + i);
      const k = randn(c.k, 500 + i);
      expectSame(() => [tf.conv2d(x as tf.Tensor4D, k as tf.Tensor4D, c.stride, c.pad as 'same', 'NHWC', c.dilation)], caseLabel(c));
      tf.dispose([x, k]);
    });
  });

  it('Conv2DBackpropInput and Conv2DBackpropFilter called directly (conv2dTranspose, stride 2)', () => {
    const dy = randn([2, 4, 5, 3], 600);
    const w = randn([3, 3, 2, 3], 601);
    const x = randn([2, 8, 9, 2], 602);
    expectSame(
      () => [
        tf.conv2dTranspose(dy as tf.Tensor4D, w as tf.Tensor4D, [2, 8, 9, 2], 2, 'same'),
        tf.tidy(() => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { strides: 2, pad: 'same', dataFormat: 'NHWC', filterShape: [3, 3, 2, 3] }) as tf.Tensor),
      ],
      'direct backprop kernels',
    );
    tf.dispose([dy, w, x]);
  });

  it('FusedConv2D with bias and ReLU, and its gradients', () => {
    const x = randn([2, 7, 6, 3], 700);
    const k = randn([3, 3, 3, 4], 701);
    const b = randn([4], 702);
    for (const activation of ['linear', 'relu'] as const) {
      for (const stride of [1, 2]) {
        const f = (a: tf.Tensor, w: tf.Tensor, bias: tf.Tensor) =>
          tf.fused.conv2d({ x: a as tf.Tensor4D, filter: w as tf.Tensor4D, strides: stride, pad: 'same', bias, activation });
        expectSame(() => withGrads(f, [x, k, b], 703 + stride), `fused ${activation} stride ${stride}`);
      }
    }
    // An activation the native kernel hands back to the stock one.
    expectSame(() => [tf.fused.conv2d({ x: x as tf.Tensor4D, filter: k as tf.Tensor4D, strides: 1, pad: 'valid', bias: b, activation: 'elu' })], 'fused elu (stock)');
    tf.dispose([x, k, b]);
  });

  it('max and average pooling with gradients (odd sizes, stride, same/valid/explicit, batch 1)', () => {
    const cases: Array<{ x: [number, number, number, number]; f: number | [number, number]; s: number | [number, number]; pad: 'same' | 'valid' | number; r?: 'floor' | 'ceil' | 'round' }> = [
      { x: [1, 7, 9, 3], f: 3, s: 2, pad: 'valid' },
      { x: [2, 7, 9, 3], f: 3, s: 2, pad: 'same' },
      { x: [2, 6, 6, 4], f: 2, s: 2, pad: 'valid' },
      { x: [1, 8, 7, 5], f: 3, s: 1, pad: 'same' }, // Inception's branch_pool
      { x: [2, 9, 8, 2], f: [3, 2], s: [2, 3], pad: 'same' },
      { x: [1, 9, 9, 2], f: 3, s: 2, pad: 1, r: 'ceil' },
    ];
    cases.forEach((c, i) => {
      const x = randn(c.x, 800 + i);
      for (const kind of ['max', 'avg'] as const) {
        const f = (a: tf.Tensor) => (kind === 'max' ? tf.maxPool : tf.avgPool)(a as tf.Tensor4D, c.f, c.s, c.pad, c.r);
        expectSame(() => withGrads(f, [x], 900 + i), `${kind}Pool x[${c.x}] f ${JSON.stringify(c.f)} s ${JSON.stringify(c.s)} ${c.pad}`);
      }
      tf.dispose(x);
    });
  });

  it('max-pool gradient goes to the first maximum of a window with ties, like the stock kernel', () => {
    const x = tf.tidy(() => tf.round(tf.mul(randn([2, 6, 7, 3], 1000), 0.6)));
    expectSame(() => withGrads((a) => tf.maxPool(a as tf.Tensor4D, 3, 2, 'same'), [x], 1001), 'ties');
    tf.dispose(x);
  });

  it('PadV2 along one axis (the gradient of a token slice), and the multi-axis fallback', () => {
    const x = randn([3, 5, 4], 1300);
    expectSame(() => [tf.pad(x, [[0, 0], [2, 1], [0, 0]]), tf.pad(x, [[1, 0], [0, 0], [0, 0]], 0.5), tf.pad(x, [[0, 0], [0, 0], [0, 3]], -1)], 'pad one axis');
    expectSame(() => [tf.pad(x, [[1, 1], [2, 0], [0, 1]], 2)], 'pad three axes (stock)');
    expectSame(() => withGrads((a) => tf.slice(a, [0, 2, 0], [3, 3, 4]), [x], 1301), 'slice gradient');
    tf.dispose(x);
  });

  it('Tile on every axis pattern (the [CLS] broadcast), with gradients', () => {
    const x = randn([2, 1, 3], 1400);
    for (const reps of [[5, 1, 1], [1, 4, 1], [1, 1, 3], [3, 2, 2], [1, 1, 1]]) {
      expectSame(() => withGrads((a) => tf.tile(a, reps), [x], 1401), `tile ${reps}`);
    }
    tf.dispose(x);
  });

  it('falls back to the stock kernels for NCHW and int32', () => {
    const x = randn([1, 3, 6, 5], 1100);
    const k = randn([3, 3, 3, 2], 1101);
    const xi = tf.tidy(() => tf.cast(tf.mul(randn([1, 5, 5, 2], 1102), 3), 'int32'));
    expectSame(() => [tf.tidy(() => tf.cast(tf.maxPool(xi as tf.Tensor4D, 2, 2, 'valid'), 'float32'))], 'int32 max pool');
    expectSame(() => [tf.conv2d(x as tf.Tensor4D, k as tf.Tensor4D, 1, 'same', 'NCHW')], 'NCHW conv');
    tf.dispose([x, k, xi]);
  });

  it('keeps the tensor count flat over repeated training-style calls', () => {
    registerNativeKernels();
    try {
      const x = randn([2, 8, 8, 3], 1200);
      const k = randn([3, 3, 3, 4], 1201);
      const step = () => tf.tidy(() => tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.maxPool(tf.relu(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'same')), 2, 2, 'valid')))([x, k]).forEach((g) => g.dataSync()));
      step();
      const before = tf.memory().numTensors;
      for (let i = 0; i < 5; i++) step();
      expect(tf.memory().numTensors).toBe(before);
      tf.dispose([x, k]);
    } finally {
      unregisterNativeKernels();
    }
  });
});
