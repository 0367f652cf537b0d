import * as tf from '@tensorflow/tfjs-core';
import * as E from 'fp-ts/Either';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EpgError, isEpgError } from './errors';
import { stopGradient } from './gradients';
import { ParameterStore } from './params';
import { AdamW, validateAdamWOptions, type AdamWOptions } from './optim/adamw';
import { trainStep, validateStepOptions } from './train-step';
import { expectNoLeak } from './testing';
import { listCheckpointGenerations, orThrow, readCheckpoint, saveCheckpoint } from './checkpoint/checkpoint';

const bits = (t: tf.Tensor) => Array.from(new Uint32Array(Float32Array.from(t.dataSync()).buffer));

function toy(w0 = [0.5, -1, 2]) {
  const store = ParameterStore.create();
  store.add('w', tf.tensor1d(w0));
  return store;
}
const quad = (store: ParameterStore) => () => tf.sum(tf.square(store.get('w'))) as tf.Scalar;

/** Runs `f`, expecting a one-line EpgError of `kind` whose message matches `re`. */
function expectEpg(f: () => unknown, kind: string, re: RegExp): void {
  let caught: unknown;
  try {
    f();
  } catch (e) {
    caught = e;
  }
  expect(isEpgError(caught)).toBe(true);
  expect((caught as EpgError).kind).toBe(kind);
  expect((caught as Error).message).toMatch(re);
  expect((caught as Error).message).not.toMatch(/\n/);
}

describe('AdamW options are validated where they enter', () => {
  const cases: Array<[string, AdamWOptions, RegExp]> = [
    ['lr NaN', { lr: NaN }, /^AdamW lr must be a finite number >= 0 or a schedule function, got NaN: use e\.g\. 1e-4/],
    ['lr negative', { lr: -1e-3 }, /AdamW lr must be .* got -0\.001/],
    ['lr Infinity', { lr: Infinity }, /AdamW lr must be .* got Infinity/],
    ['lr a string', { lr: '1e-3' as unknown as number }, /AdamW lr must be .* got 1e-3/],
    ['weight decay NaN', { lr: 1e-3, weightDecay: NaN }, /AdamW weightDecay must be a finite number >= 0, got NaN/],
    ['weight decay negative', { lr: 1e-3, weightDecay: -0.1 }, /AdamW weightDecay must be .* got -0\.1/],
    ['eps 0', { lr: 1e-3, eps: 0 }, /AdamW eps must be a finite number > 0, got 0: use e\.g\. 1e-8/],
    ['eps negative', { lr: 1e-3, eps: -1e-8 }, /AdamW eps must be a finite number > 0, got -1e-8/],
    ['beta1 1', { lr: 1e-3, beta1: 1 }, /AdamW beta1 must be in \[0, 1\), got 1/],
    ['beta2 NaN', { lr: 1e-3, beta2: NaN }, /AdamW beta2 must be in \[0, 1\), got NaN/],
    ['a group multiplier NaN', { lr: 1e-3, groups: [{ name: 'head', select: () => true, lrMultiplier: NaN }] }, /AdamW group 'head' lrMultiplier must be a finite number >= 0, got NaN/],
    ['a group weight decay -1', { lr: 1e-3, groups: [{ name: 'norm', select: () => true, weightDecay: -1 }] }, /AdamW group 'norm' weightDecay must be .* got -1/],
  ];
  it.each(cases)('%s: one-line config error from the constructor and a Left from validateAdamWOptions', (_what, opts, re) => {
    const store = toy();
    expectEpg(() => new AdamW(store, opts), 'config', re);
    const v = validateAdamWOptions(opts);
    expect(E.isLeft(v) && v.left.message).toMatch(re);
    store.dispose();
  });

  it('a schedule returning NaN (or a negative value) stops the step before anything changes', () => {
    const store = toy();
    const opt = new AdamW(store, { lr: (k) => (k < 2 ? 0.1 : NaN) });
    trainStep(store, opt, quad(store));
    trainStep(store, opt, quad(store));
    const before = bits(store.get('w'));
    const moments = opt.getState();
    expectEpg(() => trainStep(store, opt, quad(store)), 'config', /^AdamW: the learning-rate schedule returned NaN for step 2: a schedule must return a finite number >= 0/);
    expect(bits(store.get('w'))).toEqual(before);
    expect(opt.step).toBe(2);
    expect(opt.getState().tensors['m.w'].data).toEqual(moments.tensors['m.w'].data);
    const neg = new AdamW(store, { lr: () => -1 });
    expectEpg(() => neg.currentLr(), 'config', /returned -1 for step 0/);
    [opt, neg].forEach((o) => o.dispose());
    store.dispose();
  });
});

describe('trainStep guards', () => {
  it.each([
    [-1, /trainStep clipNorm must be a finite number > 0, got -1: use e\.g\. 1\.0/],
    [NaN, /clipNorm .* got NaN/],
    [0, /clipNorm .* got 0/],
    [Infinity, /clipNorm .* got Infinity/],
  ])('clipNorm %p is refused before any change (no gradient ascent, no NaN weights)', (clipNorm, re) => {
    const store = toy();
    const opt = new AdamW(store, { lr: 0.1 });
    const before = bits(store.get('w'));
    expectEpg(() => trainStep(store, opt, quad(store), { clipNorm }), 'config', re);
    expect(bits(store.get('w'))).toEqual(before);
    expect(opt.step).toBe(0);
    expect(E.isLeft(validateStepOptions({ maxConsecutiveSkips: 0 }))).toBe(true);
    opt.dispose();
    store.dispose();
  });

  it('an update that would make weights non-finite (lr 1e38) is rolled back and reported; K skips in a row stop the run', async () => {
    const store = toy([3e3, -2e3, 1e3]);
    const opt = new AdamW(store, { lr: 1e38, weightDecay: 0.5 });
    const before = bits(store.get('w'));
    const messages: string[] = [];
    await expectNoLeak(() => {
      for (let i = 0; i < 2; i++) {
        const r = trainStep(store, opt, quad(store), { onSkip: (m) => messages.push(m), maxConsecutiveSkips: 3 });
        expect(r).toMatchObject({ skipped: true, skipReason: 'non-finite-update', step: 0, consecutiveSkips: i + 1 });
      }
    }, 'rolled-back steps');
    expect(bits(store.get('w'))).toEqual(before);
    expect(opt.step).toBe(0);
    expect(Array.from(opt.getState().tensors['v.w'].data)).toEqual([0, 0, 0]);
    expect(messages[0]).toBe("step 0: the update (lr 1e+38) would make 'w' non-finite, rolled back; update skipped");
    expectEpg(
      () => trainStep(store, opt, quad(store), { maxConsecutiveSkips: 3 }),
      'numeric',
      /^training stopped at step 0: 3 steps in a row were skipped \(last: the update \(lr 1e\+38\) would make 'w' non-finite, rolled back\): lower the learning rate/,
    );
    expect(bits(store.get('w'))).toEqual(before);
    opt.dispose();
    store.dispose();
  });

  it('an applied step resets the count of skips in a row', () => {
    const store = toy();
    const opt = new AdamW(store, { lr: 0.01 });
    const nan = () => tf.mul(tf.sum(store.get('w')), NaN) as tf.Scalar;
    expect(trainStep(store, opt, nan, { maxConsecutiveSkips: 2 }).consecutiveSkips).toBe(1);
    expect(trainStep(store, opt, quad(store), { maxConsecutiveSkips: 2 }).consecutiveSkips).toBe(0);
    expect(trainStep(store, opt, nan, { maxConsecutiveSkips: 2 }).consecutiveSkips).toBe(1);
    opt.dispose();
    store.dispose();
  });

  it('a NaN-lr run stops with a message, and no non-finite checkpoint exists', () => {
    const dir = mkdtempSync(join(tmpdir(), 'epg-nanlr-'));
    try {
      const base = join(dir, 'run');
      const store = toy();
      const opt = new AdamW(store, { lr: (k) => (k < 3 ? 0.05 : NaN) });
      let stopped: Error | undefined;
      try {
        for (let i = 0; i < 10; i++) {
          trainStep(store, opt, quad(store), { maxConsecutiveSkips: 5 });
          orThrow(saveCheckpoint(base, { step: opt.step, config: {}, stores: { model: store }, optimizer: opt }, { keepLast: 10 }));
        }
      } catch (e) {
        stopped = e as Error;
      }
      // The schedule's NaN at step 3 stops the run before any change. Every checkpoint written loads and is finite.
      expect(isEpgError(stopped) && stopped.kind).toBe('config');
      expect(stopped?.message).toBe('AdamW: the learning-rate schedule returned NaN for step 3: a schedule must return a finite number >= 0 at every step');
      const gens = orThrow(listCheckpointGenerations(base));
      expect(gens.length).toBeGreaterThan(0);
      for (const g of gens) {
        const ck = orThrow(readCheckpoint(base, { generation: g.generation }));
        for (const t of ck.tensors.values()) expect(Array.from(t.data).every(Number.isFinite)).toBe(true);
      }
      // lr 1e38 that overflows the update: rolled back, then the run stops at K skips in a row.
      const big = toy([3e3, -2e3, 1e3]);
      const opt2 = new AdamW(big, { lr: 1e38 });
      expectEpg(() => {
        for (let i = 0; i < 10; i++) {
          trainStep(big, opt2, quad(big), { maxConsecutiveSkips: 5 });
          orThrow(saveCheckpoint(join(dir, 'big'), { step: opt2.step, config: {}, stores: { model: big }, optimizer: opt2 }));
        }
      }, 'numeric', /^training stopped at step 0: 5 steps in a row were skipped/);
      for (const t of orThrow(readCheckpoint(join(dir, 'big'))).tensors.values()) expect(Array.from(t.data).every(Number.isFinite)).toBe(true);
      big.dispose();
      // And weights made NaN by other means cannot be saved.
      tf.tidy(() => store.get('w').assign(tf.tensor1d([NaN, 0, 0])));
      const r = saveCheckpoint(base, { step: 99, config: {}, stores: { model: store } });
      expect(E.isLeft(r) && r.left.kind).toBe('numeric');
      expect(orThrow(readCheckpoint(base)).sidecar.step).toBe(3);
      [opt, opt2].forEach((o) => o.dispose());
      store.dispose();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('named loss terms', () => {
  it('a two-term objective reports both terms, as host numbers, next to the total', () => {
    // w = (0.5, -1, 2): a = mean((w − 1)²) = (0.25 + 4 + 1)/3 = 1.75; b = 0.1·Σw² = 0.1·5.25 = 0.525.
    const store = toy();
    const opt = new AdamW(store, { lr: 0.01 });
    const r = trainStep(store, opt, () => {
      const w = store.get('w');
      const a = tf.mean(tf.square(tf.sub(w, 1))) as tf.Scalar;
      const b = tf.mul(tf.sum(tf.square(w)), 0.1) as tf.Scalar;
      return { total: tf.add(a, b) as tf.Scalar, terms: { fit: a, l2: b } };
    });
    expect(r.terms.fit).toBeCloseTo(1.75, 6);
    expect(r.terms.l2).toBeCloseTo(0.525, 6);
    expect(r.loss).toBeCloseTo(2.275, 6);
    expect(Object.keys(r.terms)).toEqual(['fit', 'l2']);
    // A plain scalar still works and reports no terms.
    expect(trainStep(store, opt, quad(store)).terms).toEqual({});
    opt.dispose();
    store.dispose();
  });

  it('keeps tf.memory().numTensors flat over 100 steps with terms', async () => {
    const store = toy();
    const opt = new AdamW(store, { lr: 0.01 });
    const fn = () => {
      const a = tf.sum(store.get('w')) as tf.Scalar;
      const b = tf.sum(tf.square(store.get('w'))) as tf.Scalar;
      return { total: tf.add(a, b) as tf.Scalar, terms: { a, b } };
    };
    await expectNoLeak(() => {
      for (let i = 0; i < 100; i++) trainStep(store, opt, fn);
    }, '100 steps with terms');
    opt.dispose();
    store.dispose();
  });

  it('a no-grad pass computed before trainStep costs no backward; behind stopGradient inside the loss it does', async () => {
    // A 4-layer tanh MLP; the "target" is the same network on another batch (as for an EMA teacher).
    const store = ParameterStore.create();
    for (let l = 0; l < 4; l++) store.add(`l${l}`, tf.tidy(() => tf.mul(tf.randomNormal([8, 8], 0, 1, 'float32', l + 1), 0.3)));
    const net = (x: tf.Tensor) => {
      let h = x;
      for (let l = 0; l < 4; l++) h = tf.tanh(tf.matMul(h as tf.Tensor2D, store.get(`l${l}`) as tf.Tensor2D));
      return h;
    };
    const x = tf.randomNormal([4, 8], 0, 1, 'float32', 7);
    const x2 = tf.randomNormal([4, 8], 0, 1, 'float32', 8);
    const opt = new AdamW(store, { lr: 1e-3 });
    const mse = (a: tf.Tensor, b: tf.Tensor) => tf.mean(tf.square(tf.sub(a, b))) as tf.Scalar;
    const kernels = async (f: () => unknown) => (await tf.profile(() => void f())).kernels.length;

    const forwardOnly = await kernels(() => tf.tidy(() => void net(x2)));
    const inside = await kernels(() => trainStep(store, opt, () => mse(net(x), stopGradient(net(x2)))));
    const target = tf.tidy(() => net(x2)); // the pattern: no-grad tensors first, outside the tape
    const outside = await kernels(() => trainStep(store, opt, () => mse(net(x), target)));
    // inside = outside + the target's forward + stopGradient's own kernels + the target's backward.
    const targetBackward = inside - outside - forwardOnly;
    expect(forwardOnly).toBeGreaterThanOrEqual(8); // 4 matMul + 4 tanh
    expect(targetBackward).toBeGreaterThanOrEqual(8); // at least one kernel per op of the pass
    // Outside, the step costs exactly what a loss against a constant costs: no kernel for the target.
    const constant = tf.zerosLike(target);
    expect(await kernels(() => trainStep(store, opt, () => mse(net(x), constant)))).toBe(outside);
    [x, x2, target, constant].forEach((t) => t.dispose());
    opt.dispose();
    store.dispose();
  });
});
