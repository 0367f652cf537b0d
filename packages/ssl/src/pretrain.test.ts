import * as tf from '@tensorflow/tfjs-core';
import { ParameterStore, RandomStream, normalTensor } from '@epg/tensor';
import { allowTensorLeak, expectClose, useTestBackend } from '@epg/tensor/testing';
import { mocoMomentum, noiseSpace, rrcmTargetEma } from '@epg/schedules';
import { Pretrainer, freezeParameters, pretrainConfig, type PretrainBatch, type PretrainConfig, ntXent } from './index';
import { addToyEncoder, toyEncoder } from './testing/toy-encoder';

useTestBackend();

const SIZE = 4; // 4×4×1 images
const B = 6;

function setup(cfg: PretrainConfig, seed = 7) {
  const onlineStore = ParameterStore.create();
  addToyEncoder(onlineStore, RandomStream.fromSeed(seed), { inputs: SIZE * SIZE, width: 12, proj: 5 });
  const targetStore = onlineStore.clone();
  const space = noiseSpace(SIZE * 16, { shift: cfg.shift }); // 64 px: shift 1 for 'epg', so σ is easy to read
  const pre = Pretrainer.create(
    cfg,
    { online: toyEncoder(onlineStore), target: toyEncoder(targetStore), onlineStore, targetStore },
    { space, seed, projectionDim: 5 },
  );
  return { onlineStore, targetStore, pre, space };
}

function batch(seed: number): PretrainBatch {
  const rs = RandomStream.fromSeed(seed);
  const shape = [B, SIZE, SIZE, 1];
  const x0 = normalTensor(rs.child('x0'), shape, 0, 0.5) as tf.Tensor4D;
  return {
    x0,
    view1: tf.tidy(() => tf.add(x0, normalTensor(rs.child('v1'), shape, 0, 0.2))) as tf.Tensor4D,
    view2: tf.tidy(() => tf.add(x0, normalTensor(rs.child('v2'), shape, 0, 0.2))) as tf.Tensor4D,
  };
}
const disposeBatch = (b: PretrainBatch) => tf.dispose([b.x0, b.view1, b.view2]);
const snapshot = (s: ParameterStore) => new Map(s.entries().map((e) => [e.name, Float64Array.from(e.variable.dataSync())]));

describe('Pretrainer: EMA target', () => {
  it('never puts a target variable in the gradient list and moves the target only by the EMA rule', () => {
    const cfg = pretrainConfig('epg', { totalSteps: 50 });
    const { onlineStore, targetStore, pre } = setup(cfg);
    const targetIds = new Set(targetStore.entries().map((e) => e.variable.id));
    expect(pre.gradientEntries().length).toBe(onlineStore.trainableEntries().length);
    expect(pre.gradientEntries().some((e) => targetIds.has(e.variable.id))).toBe(false);
    expect(targetStore.trainableEntries()).toHaveLength(0);
    const b = batch(1);
    for (let s = 0; s < 3; s++) {
      const before = snapshot(targetStore);
      const r = pre.step(b);
      expect(r.skipped).toBe(false);
      expect(r.targetEma).toBe(0.99);
      const online = snapshot(onlineStore);
      for (const e of targetStore.entries()) {
        const old = before.get(e.name)!;
        const cur = online.get(e.name)!;
        expectClose(e.variable, Float32Array.from(old, (v, i) => 0.99 * v + 0.01 * cur[i]), { rtol: 1e-6, atol: 1e-7 });
      }
    }
    disposeBatch(b);
    pre.dispose();
    onlineStore.dispose();
    targetStore.dispose();
  });

  it('uses the sigmoid μ(k) for rRCM and the cosine momentum for MoCo v3', () => {
    for (const variant of ['rrcm', 'moco-v3'] as const) {
      const cfg = pretrainConfig(variant, { totalSteps: 40 });
      const { onlineStore, targetStore, pre } = setup(cfg);
      const b = batch(2);
      for (let k = 0; k < 3; k++) {
        const r = pre.step(b);
        expect(r.targetEma).toBe(variant === 'rrcm' ? rrcmTargetEma(k, { decaySteps: 40 }) : mocoMomentum(k, { totalSteps: 40 }));
      }
      disposeBatch(b);
      pre.dispose();
      onlineStore.dispose();
      targetStore.dispose();
    }
  });
});

describe('Pretrainer: the consistency key', () => {
  it('receives no gradient: the step gradient is that of ℓ(z(x_a), const w), not of ℓ(z(x_a), z(x_b))', () => {
    const cfg = pretrainConfig('consistency-only', { totalSteps: 50 });
    const { onlineStore, targetStore, pre } = setup(cfg);
    const online = toyEncoder(onlineStore);
    const b = batch(3);
    const p = pre.prepare(b);
    const vars = pre.gradientEntries().filter((e) => e.name !== 'head.weight').map((e) => e.variable); // the projector is unused here
    const grads = (f: () => tf.Scalar) => {
      const { value, grads: g } = tf.variableGrads(f, vars);
      value.dispose();
      const flat = tf.tidy(() => tf.concat(vars.map((v) => tf.reshape(g[v.name], [-1]))));
      tf.dispose(Object.values(g));
      return flat;
    };
    const sa = new Float64Array(B).fill(p.sigmaA);
    const sb = new Float64Array(B).fill(p.sigmaB);
    const xa = p.tensors.xa as tf.Tensor4D;
    const xb = p.tensors.xb as tf.Tensor4D;
    const wConst = tf.tidy(() => online(xb, sb).cls);
    const gStep = grads(() => p.lossFn().total);
    const gSg = grads(() => tf.mean(ntXent(online(xa, sa).cls, wConst, p.tau)) as tf.Scalar);
    const gFull = grads(() => tf.mean(ntXent(online(xa, sa).cls, online(xb, sb).cls, p.tau)) as tf.Scalar);
    expectClose(gStep, gSg, { rtol: 1e-5, atol: 1e-7 });
    const diff = tf.tidy(() => tf.norm(tf.sub(gStep, gFull)).dataSync()[0] / tf.norm(gFull).dataSync()[0]);
    expect(diff).toBeGreaterThan(1e-2); // the key's own gradient is not negligible here
    tf.dispose([wConst, gStep, gSg, gFull]);
    p.dispose();
    disposeBatch(b);
    pre.dispose();
    onlineStore.dispose();
    targetStore.dispose();
  });
});

describe('Pretrainer: σ, curriculum and temperature', () => {
  it('uses adjacent shifted grid points, σ₀ = σ_min·s, and τ from its closed form in unshifted σ', () => {
    const total = 30;
    const cfg = pretrainConfig('epg', { totalSteps: total });
    const onlineStore = ParameterStore.create();
    addToyEncoder(onlineStore, RandomStream.fromSeed(1), { inputs: 16, width: 12, proj: 5 });
    const targetStore = onlineStore.clone();
    const space = noiseSpace(128); // shift 2
    const pre = Pretrainer.create(cfg, { online: toyEncoder(onlineStore), target: toyEncoder(targetStore), onlineStore, targetStore }, { space, seed: 3 });
    const b = batch(4);
    for (let k = 0; k < 25; k++) {
      const r = pre.step(b);
      const N = r.scales;
      expect(N).toBe(k === 0 ? 21 : Math.min(20 * 2 ** Math.ceil(k / Math.ceil(total / Math.log2(65))), 1280) + 1);
      expect(r.index).toBeGreaterThanOrEqual(0);
      expect(r.index).toBeLessThanOrEqual(N - 2);
      const karras = (i: number) => (80 ** (1 / 7) + (i / (N - 1)) * (0.002 ** (1 / 7) - 80 ** (1 / 7))) ** 7;
      expect(r.sigmaA).toBeCloseTo(2 * karras(r.index), 10);
      expect(r.sigmaB).toBeCloseTo(2 * karras(r.index + 1), 10);
      expect(r.sigma0).toBeCloseTo(0.004, 15);
      // τ(σ) = τ₁(1 − t) + τ₂ t, t = (σ − σ_min)/(σ_max − σ_min) on unshifted σ; τ₂ = 0.2 − 0.1·sin(0.75πk/S) up to 2S/3.
      const t = (r.sigmaA / 2 - 0.002) / (80 - 0.002);
      const tau2 = 3 * k <= 2 * total ? 0.2 - 0.1 * Math.sin((0.75 * Math.PI * k) / total) : 0.1;
      expect(r.tau).toBeCloseTo(0.1 * (1 - t) + tau2 * t, 12);
      expect(r.loss).toBeCloseTo(r.terms.contrastive + r.terms.consistency, 5);
    }
    disposeBatch(b);
    pre.dispose();
    onlineStore.dispose();
    targetStore.dispose();
  });

  it('refuses a noise space whose shift disagrees with the variant', () => {
    const cfg = pretrainConfig('rrcm', { totalSteps: 10 });
    const s = ParameterStore.create();
    addToyEncoder(s, RandomStream.fromSeed(1), { inputs: 16, width: 4, proj: 3 });
    const t = s.clone();
    expect(() => Pretrainer.create(cfg, { online: toyEncoder(s), target: toyEncoder(t), onlineStore: s, targetStore: t }, { space: noiseSpace(128), seed: 1 })).toThrow(
      /noise space shift 2 does not match the 'rrcm' config's shift 'none'/,
    );
    s.dispose();
    t.dispose();
  });
});

describe('Pretrainer: variants', () => {
  it('rRCM keeps the patch embedding frozen; MoCo v3 trains a predictor with no trajectory term', () => {
    const r = setup(pretrainConfig('rrcm', { totalSteps: 20 }));
    const pe = Float32Array.from(r.onlineStore.get('patch_embed.proj.weight').dataSync());
    const b = batch(5);
    for (let k = 0; k < 3; k++) r.pre.step(b);
    expectClose(r.onlineStore.get('patch_embed.proj.weight'), pe, { rtol: 0, atol: 0 });
    expect(r.pre.gradientEntries().map((e) => e.name)).toEqual(['time.weight', 'head.weight']);

    const m = setup(pretrainConfig('moco-v3', { totalSteps: 20 }));
    const names = m.pre.gradientEntries().map((e) => e.name);
    expect(names).toContain('predictor.0.weight');
    expect(m.targetStore.has('predictor.0.weight')).toBe(false);
    const res = m.pre.step(b);
    expect(Object.keys(res.terms)).toEqual(['contrastive']);
    expect(Number.isNaN(res.tau)).toBe(true);
    const c = setup(pretrainConfig('contrastive-only', { totalSteps: 20 }));
    expect(Object.keys(c.pre.step(b).terms)).toEqual(['contrastive']);
    for (const x of [r, m, c]) {
      x.pre.dispose();
      x.onlineStore.dispose();
      x.targetStore.dispose();
    }
    disposeBatch(b);
    const s = ParameterStore.create();
    s.add('w', tf.zeros([2, 2]));
    expect(() => freezeParameters(s, ['patch_embed.'])).toThrow(/frozen prefix 'patch_embed.' matches no parameter/);
    s.dispose();
  });

  it('decays every parameter with the config weight decay (group_wd=False)', () => {
    const { onlineStore, targetStore, pre } = setup(pretrainConfig('epg', { totalSteps: 20 }));
    expect(pre.optimizer.groupOf('patch_embed.proj.bias')).toBe('all');
    expect(pre.optimizer.weightDecay).toBe(0.03);
    pre.dispose();
    onlineStore.dispose();
    targetStore.dispose();
  });
});

describe('Pretrainer: memory', () => {
  it('keeps tf.memory().numTensors flat across 200 steps', () => {
    const { onlineStore, targetStore, pre } = setup(pretrainConfig('epg', { totalSteps: 200 }));
    const b = batch(6);
    pre.step(b); // optimiser moments are allocated at construction; the first step must not add any
    const start = tf.memory().numTensors;
    let loss = NaN;
    for (let k = 1; k < 200; k++) loss = pre.step(b).loss;
    expect(tf.memory().numTensors).toBe(start);
    expect(Number.isFinite(loss)).toBe(true);
    disposeBatch(b);
    pre.dispose();
    onlineStore.dispose();
    targetStore.dispose();
  });
});

describe('Pretrainer: code variants (docs/variants.md)', () => {
  function make(opts: { loss?: (q: tf.Tensor2D, k: tf.Tensor2D, tau: number) => tf.Tensor1D; temperature?: (s: number, k: number, run: { totalSteps: number }) => number }) {
    const cfg = pretrainConfig('epg', { totalSteps: 20 });
    const onlineStore = ParameterStore.create();
    addToyEncoder(onlineStore, RandomStream.fromSeed(2), { inputs: 16, width: 12, proj: 5 });
    const targetStore = onlineStore.clone();
    const pre = Pretrainer.create(cfg, { online: toyEncoder(onlineStore), target: toyEncoder(targetStore), onlineStore, targetStore }, { space: noiseSpace(64), seed: 3, ...opts });
    return { pre, dispose: () => [pre, onlineStore, targetStore].forEach((x) => x.dispose()) };
  }

  it("uses a 'pretrain-loss' variant for both terms: 3·NT-Xent triples every term of the first step", () => {
    const b = batch(4);
    const base = make({});
    const tripled = make({ loss: (q, k, tau) => tf.tidy(() => tf.mul(ntXent(q, k, tau), 3) as tf.Tensor1D) });
    const r0 = base.pre.step(b);
    const r1 = tripled.pre.step(b);
    expect(r1.terms.contrastive).toBeCloseTo(3 * r0.terms.contrastive, 4);
    expect(r1.terms.consistency).toBeCloseTo(3 * r0.terms.consistency, 4);
    base.dispose();
    tripled.dispose();
    disposeBatch(b);
  });

  it("uses a 'tau-schedule' variant's τ (given unshifted σ, k and the run length) and refuses a bad τ", () => {
    const b = batch(5);
    const seen: Array<[number, number, number]> = [];
    const v = make({ temperature: (s, k, run) => (seen.push([s, k, run.totalSteps]), 0.05 + k / 1000) });
    const r = v.pre.step(b);
    const r2 = v.pre.step(b);
    expect(r.tau).toBe(0.05);
    expect(r2.tau).toBeCloseTo(0.051, 15);
    expect(seen[0][0]).toBeCloseTo(r.sigmaA, 12); // noiseSpace(64): shift 1, shifted = unshifted
    expect(seen.map((x) => [x[1], x[2]])).toEqual([[0, 20], [1, 20]]);
    v.dispose();
    const bad = make({ temperature: () => -1 });
    expect(() => bad.pre.step(b)).toThrow(/the 'tau-schedule' variant returned τ = -1 at σ = .*, step 0: return a finite τ > 0/);
    bad.dispose();
    disposeBatch(b);
  });

  it("refuses a 'pretrain-loss' variant that does not return one value per sample", () => {
    // The throw leaves the aborted tape's intermediates behind: the run stops there anyway.
    allowTensorLeak('a step that throws inside the gradient tape aborts the run');
    const b = batch(5);
    const wrongShape = make({ loss: (q) => tf.zeros([q.shape[0], 2]) as unknown as tf.Tensor1D });
    expect(() => wrongShape.pre.step(b)).toThrow(/the 'pretrain-loss' variant returned shape \[6,2\], expected one value per sample \[6\]/);
    wrongShape.dispose();
    disposeBatch(b);
  });
});
