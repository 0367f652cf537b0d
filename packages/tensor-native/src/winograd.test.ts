// Winograd F(4×4, 3×3) (native/winograd.c): 3×3 stride-1 convolutions with C, O ≥ 8 and their input
// gradients, against the stock cpu kernels and against float64 arithmetic; the 'im2col' switch.
import * as tf from '@tensorflow/tfjs-core';
import { expectSameOutputs, nativeTestable, randn, relError, withGrads } from './testing/compare';
import { nativeConvAlgorithm, registerNativeKernels, unregisterNativeKernels } from './register';

const testable = nativeTestable();
const d = testable.ok ? describe : describe.skip;
if (!testable.ok) console.log(`[@epg/tensor-native] Winograd tests skipped: ${testable.why}`);

// The transforms add and subtract values up to ≈ 10× the inputs: measured ≈ 1e-5 of the output
// scale at C ≤ 96 (the im2col path: ≈ 1e-6). The gradient's filter part still goes through im2col.
const TOL = 4e-5;

type Pad = 'same' | 'valid' | number | [[number, number], [number, number], [number, number], [number, number]];
interface Case {
  x: [number, number, number, number];
  o: number;
  pad: Pad;
}

const CASES: Case[] = [
  { x: [1, 9, 11, 8], o: 8, pad: 'same' }, // batch 1, sizes that are not multiples of 4
  { x: [2, 10, 7, 12], o: 16, pad: 'valid' },
  { x: [2, 6, 5, 9], o: 10, pad: 2 }, // padding beyond the filter's reach: the gradient's pad is 0
  { x: [1, 8, 9, 8], o: 9, pad: 3 }, // the gradient's padding is negative
  { x: [1, 7, 8, 10], o: 8, pad: [[0, 0], [2, 0], [1, 3], [0, 0]] }, // asymmetric
  { x: [3, 4, 4, 16], o: 24, pad: 'valid' }, // a 2×2 output: one partial tile
  { x: [2, 17, 13, 20], o: 12, pad: 'same' }, // 40 tiles, partial in both directions
];

const label = (c: Case) => `x[${c.x}] o ${c.o} pad ${JSON.stringify(c.pad)}`;

/** The convolution in float64 from the same float32 inputs (the exact answer, up to double rounding). */
function conv64(x: tf.Tensor, k: tf.Tensor, pad: 'same' | 'valid'): { y: Float64Array; shape: number[] } {
  const [B, H, W, C] = x.shape;
  const O = k.shape[3] as number;
  const p = pad === 'same' ? 1 : 0;
  const OH = H + 2 * p - 2;
  const OW = W + 2 * p - 2;
  const xv = x.dataSync();
  const kv = k.dataSync();
  const y = new Float64Array(B * OH * OW * O);
  for (let b = 0; b < B; b++)
    for (let oy = 0; oy < OH; oy++)
      for (let ox = 0; ox < OW; ox++)
        for (let o = 0; o < O; o++) {
          let s = 0;
          for (let ky = 0; ky < 3; ky++) {
            const iy = oy - p + ky;
            if (iy < 0 || iy >= H) continue;
            for (let kx = 0; kx < 3; kx++) {
              const ix = ox - p + kx;
              if (ix < 0 || ix >= W) continue;
              for (let c = 0; c < C; c++) s += xv[((b * H + iy) * W + ix) * C + c] * kv[((ky * 3 + kx) * C + c) * O + o];
            }
          }
          y[((b * OH + oy) * OW + ox) * O + o] = s;
        }
  return { y, shape: [B, OH, OW, O] };
}

function relError64(a: tf.Tensor, ref: Float64Array): number {
  const av = a.dataSync();
  let num = 0;
  let den = 1e-12;
  for (let i = 0; i < ref.length; i++) {
    num = Math.max(num, Math.abs(av[i] - ref[i]));
    den = Math.max(den, Math.abs(ref[i]));
  }
  return num / den;
}

d('native Winograd F(4×4, 3×3) convolutions', () => {
  afterEach(() => unregisterNativeKernels());

  it('is the default, EPG_NATIVE_CONV / the conv option choose, and a bad value is refused by name', () => {
    expect(nativeConvAlgorithm()).toBeUndefined(); // not registered
    expect(registerNativeKernels().active).toBe(true);
    expect(nativeConvAlgorithm()).toBe('winograd');
    unregisterNativeKernels();
    const rep = registerNativeKernels({ conv: 'im2col' });
    expect(nativeConvAlgorithm()).toBe('im2col');
    expect(rep.why).toMatch(/convolutions im2col only/);
    unregisterNativeKernels();
    const before = process.env.EPG_NATIVE_CONV;
    try {
      process.env.EPG_NATIVE_CONV = 'fft';
      expect(() => registerNativeKernels()).toThrow(/EPG_NATIVE_CONV=fft is not a convolution algorithm: use winograd or im2col/);
      process.env.EPG_NATIVE_CONV = 'im2col';
      registerNativeKernels();
      expect(nativeConvAlgorithm()).toBe('im2col');
      expect(nativeConvAlgorithm('winograd')).toBe('winograd');
    } finally {
      if (before === undefined) delete process.env.EPG_NATIVE_CONV;
      else process.env.EPG_NATIVE_CONV = before;
    }
  });

  it('forward and both gradients on odd shapes match the stock kernels', () => {
    CASES.forEach((c, i) => {
      const x = randn(c.x, 3100 + i);
      const k = tf.tidy(() => tf.mul(randn([3, 3, c.x[3], c.o], 3200 + i), 1 / Math.sqrt(9 * c.x[3])));
      const f = (a: tf.Tensor, b: tf.Tensor) => tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, c.pad);
      expectSameOutputs(() => withGrads(f, [x, k], 3300 + i), label(c), TOL);
      tf.dispose([x, k]);
    });
  });

  it('fused bias + ReLU and the input gradient through conv2dTranspose', () => {
    const x = randn([2, 11, 9, 12], 3400);
    const k = tf.tidy(() => tf.mul(randn([3, 3, 12, 10], 3401), 0.1));
    const b = randn([10], 3402);
    for (const activation of ['linear', 'relu'] as const) {
      const f = (a: tf.Tensor, w: tf.Tensor, bias: tf.Tensor) =>
        tf.fused.conv2d({ x: a as tf.Tensor4D, filter: w as tf.Tensor4D, strides: 1, pad: 'same', bias, activation });
      expectSameOutputs(() => withGrads(f, [x, k, b], 3403), `fused ${activation}`, TOL);
    }
    const dy = randn([2, 11, 9, 10], 3404);
    expectSameOutputs(() => [tf.conv2dTranspose(dy as tf.Tensor4D, k as tf.Tensor4D, [2, 11, 9, 12], 1, 'same')], 'conv2dTranspose', TOL);
    tf.dispose([x, k, b, dy]);
  });

  it('runs (it is not the im2col result) and is as close to float64 as a few im2col roundings', () => {
    for (const pad of ['same', 'valid'] as const) {
      const x = randn([2, 13, 10, 32], 3500);
      const k = tf.tidy(() => tf.mul(randn([3, 3, 32, 16], 3501), 1 / Math.sqrt(9 * 32)));
      const exact = conv64(x, k, pad);
      registerNativeKernels();
      nativeConvAlgorithm('im2col'); // registering again keeps the first options
      const viaIm2col = tf.conv2d(x as tf.Tensor4D, k as tf.Tensor4D, 1, pad);
      expect(nativeConvAlgorithm('winograd')).toBe('winograd');
      const viaWinograd = tf.conv2d(x as tf.Tensor4D, k as tf.Tensor4D, 1, pad);
      expect(viaWinograd.shape).toEqual(exact.shape);
      // Different rounding proves the Winograd path ran; both are close to the exact answer.
      expect(relError(viaWinograd, viaIm2col)).toBeGreaterThan(0);
      const eIm2col = relError64(viaIm2col, exact.y);
      const eWinograd = relError64(viaWinograd, exact.y);
      expect(eIm2col).toBeLessThan(2e-6);
      expect(eWinograd).toBeLessThan(2e-5);
      tf.dispose([x, k, viaIm2col, viaWinograd]);
    }
  });

  it('splits many wide tiles into blocks (C = O = 512: blocks of 32 tiles, here 42 tiles) like one pass', () => {
    const x = randn([1, 26, 22, 512], 3900);
    const k = tf.tidy(() => tf.mul(randn([3, 3, 512, 512], 3901), 1 / Math.sqrt(9 * 512)));
    const dy = randn([1, 26, 22, 512], 3902);
    const run = () => [tf.conv2d(x as tf.Tensor4D, k as tf.Tensor4D, 1, 'same'), tf.conv2dTranspose(dy as tf.Tensor4D, k as tf.Tensor4D, [1, 26, 22, 512], 1, 'same')];
    registerNativeKernels({ conv: 'im2col' });
    const ref = run();
    nativeConvAlgorithm('winograd');
    const got = run();
    got.forEach((g, i) => expect({ i, ok: relError(g, ref[i]) < TOL }).toEqual({ i, ok: true }));
    tf.dispose([x, k, dy, ...ref, ...got]);
  });

  it('leaves narrow convolutions (C or O < 8), strides and other filter sizes to im2col: bit-identical', () => {
    const shapes: Array<{ x: number[]; k: number[]; s: number }> = [
      { x: [1, 9, 9, 4], k: [3, 3, 4, 16], s: 1 },
      { x: [1, 9, 9, 16], k: [3, 3, 16, 4], s: 1 },
      { x: [1, 9, 9, 16], k: [3, 3, 16, 16], s: 2 },
      { x: [1, 9, 9, 16], k: [5, 5, 16, 16], s: 1 },
    ];
    for (const [i, sh] of shapes.entries()) {
      const x = randn(sh.x, 3600 + i);
      const k = randn(sh.k, 3700 + i);
      registerNativeKernels({ conv: 'im2col' });
      const a = tf.conv2d(x as tf.Tensor4D, k as tf.Tensor4D, sh.s, 'same');
      nativeConvAlgorithm('winograd');
      const b = tf.conv2d(x as tf.Tensor4D, k as tf.Tensor4D, sh.s, 'same');
      expect({ i, err: relError(b, a) }).toEqual({ i, err: 0 });
      unregisterNativeKernels();
      tf.dispose([x, k, a, b]);
    }
  });

  it('keeps the tensor count flat over repeated training-style calls', () => {
    registerNativeKernels();
    const x = randn([2, 8, 8, 8], 3800);
    const k = randn([3, 3, 8, 8], 3801);
    const step = () => tf.tidy(() => tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.relu(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'same'))))([x, k]).forEach((g) => g.dataSync()));
    step();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) step();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, k]);
  });
});
