import * as tf from '@tensorflow/tfjs-core';
import { expectSameOutputs, randInt, randn, relError, seeded, stockAndNative, nativeTestable, withGrads } from './testing/compare';
import { registerNativeKernels, unregisterNativeKernels, nativeKernelsActive } from './register';
import { collapseTranspose, broadcastPlan } from './kernels';
import { encoderLoss, makeInputs, makeParams } from '../bench/vit-unit';

const testable = nativeTestable();
const d = testable.ok ? describe : describe.skip;
if (!testable.ok) {
  // One clear line in the jest output instead of silent skips.
  console.log(`[@epg/tensor-native] native kernel tests skipped: ${testable.why}`);
}

const TOL = 2e-6;
const GEMM_TOL = 1e-5;

/** Compares stock and native results of fn (values and, via fn, gradients), disposing everything. */
function expectSame(fn: () => tf.Tensor[], tol = TOL, label = ''): void {
  expectSameOutputs(fn, label, tol);
}

let nextGradSeed = 9000;
/** expectSame for a closure that draws its gradient weights from the seed it is given. */
function expectSameGrads(fn: (gradSeed: number) => tf.Tensor[], tol = TOL, label = ''): void {
  const seed = nextGradSeed++;
  expectSame(() => fn(seed), tol, label);
}

describe('pure shape helpers', () => {
  it('collapses transposes to the fewest axes', () => {
    expect(collapseTranspose([2, 3, 4], [1, 2, 0])).toEqual({ shape: [2, 12], perm: [1, 0] });
    expect(collapseTranspose([2, 1, 3, 4], [0, 2, 3, 1])).toEqual({ shape: [24], perm: [0] });
    expect(collapseTranspose([5, 6, 7, 8], [0, 2, 1, 3])).toEqual({ shape: [5, 6, 7, 8], perm: [0, 2, 1, 3] });
  });
  it('plans broadcasts with merged axes and zero strides', () => {
    expect(broadcastPlan([2, 3, 4], [4])).toEqual({ outShape: [2, 3, 4], shape: [6, 4], sa: [4, 1], sb: [0, 1] });
    expect(broadcastPlan([2, 3, 4], [2, 3, 1])).toEqual({ outShape: [2, 3, 4], shape: [6, 4], sa: [4, 1], sb: [1, 0] });
    expect(broadcastPlan([], [])).toEqual({ outShape: [], shape: [1], sa: [0], sb: [0] });
  });
});

d('native kernels against the stock cpu kernels', () => {
  afterAll(() => unregisterNativeKernels());

  it('registers, reports and unregisters', () => {
    const stockMatMul = tf.getKernel('BatchMatMul', 'cpu');
    const rep = registerNativeKernels();
    expect(rep.active).toBe(true);
    expect(rep.kernels).toEqual(expect.arrayContaining(['BatchMatMul', 'Add', 'Multiply', 'Erf', 'Transpose', 'Sum', 'Softmax']));
    expect(registerNativeKernels()).toBe(rep);
    expect(nativeKernelsActive()).toBe(true);
    expect(tf.getKernel('BatchMatMul', 'cpu')).not.toBe(stockMatMul);
    unregisterNativeKernels();
    expect(nativeKernelsActive()).toBe(false);
    expect(tf.getKernel('BatchMatMul', 'cpu')).toBe(stockMatMul);
  });

  it('BatchMatMul: every transpose flag, batched and broadcast batch dims, with gradients', () => {
    const rng = seeded(7);
    const batchPairs: Array<[number[], number[]]> = [[[], []], [[3], [3]], [[4], [1]], [[1], [2]], [[2, 3], [3]], [[3], []], [[], [2]]];
    let seed = 1;
    for (const [ba, bb] of batchPairs) {
      for (const ta of [false, true]) {
        for (const tb of [false, true]) {
          const m = randInt(rng, 1, 17);
          const k = randInt(rng, 1, 33);
          const n = randInt(rng, 1, 19);
          const a = randn([...ba, ...(ta ? [k, m] : [m, k])], seed++);
          const b = randn([...bb, ...(tb ? [n, k] : [k, n])], seed++);
          const label = `matMul a[${a.shape}] b[${b.shape}] ta=${ta} tb=${tb}`;
          // tfjs's gradient cannot reduce a broadcast batch (rank mismatch): values only there.
          const grads = ba.length === bb.length && ba.join() === bb.join();
          expectSameGrads(
            (gradSeed) => (grads ? withGrads((x, y) => tf.matMul(x, y, ta, tb), [a, b], gradSeed) : [tf.matMul(a, b, ta, tb)]),
            GEMM_TOL,
            label,
          );
          tf.dispose([a, b]);
        }
      }
    }
  });

  it('BatchMatMul with outputs large enough to be computed in row blocks', () => {
    // N = 1024 gives 768-row blocks: 800 rows make one full and one partial block.
    const a = randn([800, 3], 21);
    const at = randn([3, 800], 22);
    const b = randn([3, 1024], 23);
    expectSame(() => [tf.matMul(a, b), tf.matMul(at, b, true, false)], GEMM_TOL, 'blocked');
    tf.dispose([a, at, b]);
  });

  it('BatchMatMul broadcasts batch dims [2,1] x [1,3] like numpy (the stock kernel cannot)', () => {
    registerNativeKernels();
    try {
      tf.tidy(() => {
        const a = randn([2, 1, 4, 5], 11);
        const b = randn([1, 3, 5, 6], 12);
        const got = tf.matMul(a, b);
        unregisterNativeKernels();
        // Reference: tile to full batch, then stock matMul with equal batches.
        const want = tf.matMul(tf.tile(a, [1, 3, 1, 1]), tf.tile(b, [2, 1, 1, 1]));
        expect(got.shape).toEqual([2, 3, 4, 6]);
        expect(relError(got, want)).toBeLessThan(GEMM_TOL);
      });
    } finally {
      unregisterNativeKernels();
    }
  });

  const binaryOps: Record<string, (a: tf.Tensor, b: tf.Tensor) => tf.Tensor> = {
    add: tf.add,
    sub: tf.sub,
    mul: tf.mul,
    div: tf.div,
    maximum: tf.maximum,
    minimum: tf.minimum,
    squaredDifference: tf.squaredDifference,
  };
  const shapePairs: Array<[number[], number[]]> = [
    [[3, 4], [3, 4]],
    [[2, 3, 4], [4]],
    [[2, 3, 4], [2, 3, 1]],
    [[2, 1, 4], [1, 3, 1]],
    [[], [5]],
    [[5], []],
    [[1], [2, 3]],
    [[4, 1, 3, 1, 2], [1, 5, 3, 2, 1]],
    [[7, 66, 192], [192]],
  ];
  it.each(Object.keys(binaryOps))('%s with broadcasting, with gradients', (name) => {
    let seed = 100;
    for (const [sa, sb] of shapePairs) {
      const a = randn(sa, seed++);
      // Keep divisors away from zero so the comparison measures the kernel, not the conditioning.
      const b = name === 'div' ? tf.tidy(() => tf.add(tf.abs(randn(sb, seed++)), 0.5)) : randn(sb, seed++);
      // tfjs's Maximum/Minimum/SquaredDifference gradients do not reduce broadcast axes: values only there.
      const noBroadcastGrad = ['maximum', 'minimum', 'squaredDifference'].includes(name) && sa.join() !== sb.join();
      expectSameGrads(
        (gradSeed) => (noBroadcastGrad ? [binaryOps[name](a, b)] : withGrads(binaryOps[name], [a, b], gradSeed)),
        TOL,
        `${name} [${sa}] [${sb}]`,
      );
      tf.dispose([a, b]);
    }
  });

  const unaryOps: Record<string, { f: (x: tf.Tensor) => tf.Tensor; positive?: boolean; tol?: number }> = {
    neg: { f: tf.neg },
    square: { f: tf.square },
    rsqrt: { f: tf.rsqrt, positive: true },
    sqrt: { f: tf.sqrt, positive: true },
    exp: { f: tf.exp },
    log: { f: tf.log, positive: true },
    erf: { f: tf.erf },
    reciprocal: { f: tf.reciprocal, positive: true },
    abs: { f: tf.abs },
    relu: { f: tf.relu },
    sigmoid: { f: tf.sigmoid },
    tanh: { f: tf.tanh },
  };
  it.each(Object.keys(unaryOps))('%s, with gradient', (name) => {
    const { f, positive } = unaryOps[name];
    let seed = 200;
    for (const shape of [[1], [17], [3, 5, 7], [64, 66, 8]]) {
      const x = tf.tidy(() => (positive ? tf.add(tf.abs(randn(shape, seed++)), 0.25) : tf.mul(randn(shape, seed++), 2)));
      expectSameGrads((gradSeed) => withGrads(f, [x], gradSeed), TOL, `${name} [${shape}]`);
      x.dispose();
    }
  });

  it('unary ops agree with stock on extreme values, infinities and NaN', () => {
    const xs = [-Infinity, -1000, -104, -103, -100, -88, -87.4, -20, -1, -1e-8, 0, 1e-8, 1, 20, 88, 88.7, 89, 1000, Infinity, NaN];
    const pos = [0, 1e-30, 1e-8, 1, 1e8, 1e30, Infinity, NaN];
    const ops: Array<[string, (t: tf.Tensor) => tf.Tensor, number[]]> = [
      ['exp', tf.exp, xs],
      ['erf', tf.erf, xs],
      ['sigmoid', tf.sigmoid, xs],
      ['tanh', tf.tanh, xs],
      ['relu', tf.relu, xs],
      ['neg', tf.neg, xs],
      ['square', tf.square, xs],
      ['abs', tf.abs, xs],
      ['log', tf.log, pos],
      ['sqrt', tf.sqrt, pos],
      ['rsqrt', tf.rsqrt, pos],
      ['reciprocal', tf.reciprocal, pos],
    ];
    for (const [name, f, vals] of ops) {
      const { stock, native } = stockAndNative(() => [f(tf.tensor1d(vals))]);
      const s = stock[0].dataSync();
      const n = native[0].dataSync();
      vals.forEach((v, i) => {
        // erf: both use Abramowitz & Stegun 7.1.26 (|error| <= 1.5e-7), stock in double, native in float.
        const atol = name === 'erf' ? 3e-7 : 1e-37;
        const same = Object.is(s[i], n[i]) || s[i] === n[i] || Math.abs(n[i] - s[i]) <= 2e-6 * Math.abs(s[i]) + atol;
        if (!same) throw new Error(`${name}(${v}): stock ${s[i]}, native ${n[i]}`);
      });
      tf.dispose([...stock, ...native]);
    }
  });

  it('Sum, Mean, Max, Min, Prod over any axes, keepDims or not, with gradients', () => {
    let seed = 300;
    const cases: Array<[number[], number | number[] | null]> = [
      [[5], null],
      [[4, 6], 0],
      [[4, 6], -1],
      [[3, 4, 5], [0, 2]],
      [[3, 4, 5], [0, 1]],
      [[3, 4, 5], 1],
      [[2, 3, 4, 5], [1, 3]],
      [[2, 3, 4, 5], [0, 1, 2, 3]],
      [[16, 66, 48], [0, 1]],
    ];
    for (const [shape, axis] of cases) {
      const x = randn(shape, seed++);
      for (const keepDims of [false, true]) {
        const ax = axis ?? undefined;
        const ops: Array<[string, (t: tf.Tensor) => tf.Tensor]> = [
          ['sum', (t) => tf.sum(t, ax, keepDims)],
          ['mean', (t) => tf.mean(t, ax, keepDims)],
          ['max', (t) => tf.max(t, ax, keepDims)],
          ['min', (t) => tf.min(t, ax, keepDims)],
        ];
        for (const [name, f] of ops) expectSameGrads((gradSeed) => withGrads(f, [x], gradSeed), TOL, `${name} [${shape}] axis ${axis} keep ${keepDims}`);
        if (shape.length <= 3 && shape[0] < 10) expectSame(() => [tf.prod(x, ax, keepDims)], 1e-5, `prod [${shape}] axis ${axis}`);
      }
      x.dispose();
    }
  });

  it('Transpose: random permutations of rank 1..6, with gradient', () => {
    const rng = seeded(17);
    let seed = 400;
    for (let rank = 1; rank <= 6; rank++) {
      for (let rep = 0; rep < 4; rep++) {
        const shape = Array.from({ length: rank }, () => randInt(rng, 1, rank > 4 ? 3 : 6));
        const perm = Array.from({ length: rank }, (_, i) => i);
        for (let i = rank - 1; i > 0; i--) {
          const j = randInt(rng, 0, i);
          [perm[i], perm[j]] = [perm[j], perm[i]];
        }
        const x = randn(shape, seed++);
        expectSameGrads((gradSeed) => withGrads((t) => tf.transpose(t, perm), [x], gradSeed), 0, `transpose [${shape}] perm ${perm}`);
        x.dispose();
      }
    }
    const big = randn([8, 66, 3, 16], 499);
    expectSame(() => [tf.transpose(big, [0, 2, 1, 3]), tf.transpose(big, [3, 1, 0, 2])], 0, 'transpose attention layout');
    big.dispose();
  });

  it('Softmax (last axis) and its fused gradient', () => {
    let seed = 500;
    for (const shape of [[7], [3, 11], [2, 3, 66, 66]]) {
      const x = tf.tidy(() => tf.mul(randn(shape, seed++), 3));
      expectSameGrads((gradSeed) => withGrads((t) => tf.softmax(t), [x], gradSeed), TOL, `softmax [${shape}]`);
      expectSameGrads((gradSeed) => withGrads((t) => tf.logSoftmax(t), [x], gradSeed), 1e-5, `logSoftmax [${shape}]`);
      x.dispose();
    }
  });

  it('Slice, SplitV and Concat, with gradients', () => {
    let seed = 600;
    const x = randn([4, 66, 12], seed++);
    const y = randn([4, 3, 12], seed++);
    expectSameGrads((gradSeed) => withGrads((t) => tf.slice(t, [0, 2, 0], [4, 64, 12]), [x], gradSeed), 0, 'slice one axis');
    expectSameGrads((gradSeed) => withGrads((t) => tf.slice(t, [1, 2, 3], [2, 5, 4]), [x], gradSeed), 0, 'slice three axes (stock)');
    expectSameGrads((gradSeed) => withGrads((t) => tf.concat(tf.split(t, [4, 4, 4], 2).reverse(), 2), [x], gradSeed), 0, 'split/concat last axis');
    expectSameGrads((gradSeed) => withGrads((t) => tf.concat(tf.split(t, 3, 1), 0), [x], gradSeed), 0, 'split axis 1 concat axis 0');
    expectSameGrads((gradSeed) => withGrads((a, b) => tf.concat([a, b, a], 1), [x, y], gradSeed), 0, 'concat three');
    tf.dispose([x, y]);
  });

  it('hands int32 and bool inputs back to the stock kernels', () => {
    expectSame(() => {
      const a = tf.tensor2d([[1, 2], [3, 4]], undefined, 'int32');
      const b = tf.tensor1d([10, 20], 'int32');
      return [tf.add(a, b), tf.mul(a, b), tf.sum(a), tf.max(a, 1), tf.transpose(a), tf.matMul(a, a), tf.neg(a), tf.concat([a, a])];
    }, 0, 'int32');
  });

  it('leaks no tensors over repeated forward + backward', () => {
    registerNativeKernels();
    try {
      const x = randn([8, 16], 700);
      const w = randn([16, 16], 701);
      const step = () => {
        const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.softmax(tf.erf(tf.matMul(a, b)))))([x, w]);
        tf.dispose(g);
      };
      step();
      const before = tf.memory().numTensors;
      for (let i = 0; i < 5; i++) step();
      expect(tf.memory().numTensors).toBe(before);
      tf.dispose([x, w]);
    } finally {
      unregisterNativeKernels();
    }
  });
});

d('the ViT training unit with native kernels', () => {
  it('gives the stock loss and gradients, unfused and with fused ops', () => {
    const cfg = { batch: 2, image: 8, channels: 3, patch: 4, width: 24, depth: 2, heads: 2, mlpRatio: 4 };
    const p = makeParams(cfg);
    const inputs = makeInputs(cfg);
    const vars = Object.values(p);
    const run = (fused: boolean) => () => {
      const { value, grads } = tf.variableGrads(() => encoderLoss(cfg, p, inputs, fused), vars);
      return [value, ...vars.map((v) => grads[v.name])];
    };
    try {
      for (const fused of [false, true]) {
        const { stock, native } = stockAndNative(run(fused));
        // The stock reference is always the unfused composition on stock kernels.
        const ref = fused ? stockAndNative(run(false)).stock : stock;
        native.forEach((t, i) => {
          const err = relError(t, ref[i]);
          if (!(err <= 1e-4)) throw new Error(`unit fused=${fused} output ${i} (${i === 0 ? 'loss' : vars[i - 1].name}): relative error ${err}`);
        });
        tf.dispose([...stock, ...native, ...(fused ? ref : [])]);
      }
    } finally {
      tf.dispose([...vars, ...Object.values(inputs)]);
    }
  });
});
