import * as tf from '@tensorflow/tfjs-core';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AdamW, ParameterStore, RandomStream, decodeSafetensors, trainStep } from '@epg/tensor';
import { countReadbacks, expectClose, expectNoLeak } from '@epg/tensor/testing';
import { PRESETS, getPreset, type ViTConfig } from './config';
import { linear, silu, timestepEmbedding } from './layers';
import { buildFinetuneNetwork, buildPretrainModel, copyEncoderWeights, isEncoderParam, makeEncoderFn, makeNetworkFn } from './model';
import { loadTorchStateDict } from './namemap';

const micro = PRESETS['test-micro'];
const torch = decodeSafetensors(readFileSync(join(__dirname, '__fixtures__', 'micro_torch.safetensors'))).tensors;

function inputs(cfg: ViTConfig, batch: number, seed: number) {
  const rs = RandomStream.fromSeed(seed);
  const n = batch * cfg.imageSize * cfg.imageSize * cfg.channels;
  const x = tf.tensor4d(rs.fillNormal(new Float32Array(n)), [batch, cfg.imageSize, cfg.imageSize, cfg.channels]);
  const t = Float64Array.from({ length: batch }, (_, i) => 250 * Math.log(0.01 + 3 * i)); // host time values
  const y = tf.tensor1d(Array.from({ length: batch }, (_, i) => i % (cfg.numClasses + 1)), 'int32');
  return { x, t, y };
}

function maxAbs(t: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(t)).dataSync()[0]);
}

describe('fine-tuning network at initialisation', () => {
  it.each(['test-micro', 'test-micro-gray'] as const)('%s outputs exactly zero and every adaLN gate is zero', (name) => {
    const cfg = PRESETS[name];
    const store = ParameterStore.create();
    const net = buildFinetuneNetwork(store, cfg, { rng: RandomStream.fromSeed(5) });
    const { x, t, y } = inputs(cfg, 3, 1);
    tf.tidy(() => {
      for (const out of [net(x, t, y), net(x, t), net(tf.mul(x, 100) as tf.Tensor4D, t, y)]) {
        expect(out.shape).toEqual([3, cfg.imageSize, cfg.imageSize, cfg.channels]);
        expect(Array.from(out.dataSync()).every((v) => v === 0)).toBe(true);
      }
      // The six modulation vectors (shift, scale, gate ×2) of every block are zero for any condition.
      const c = tf.add(tf.tensor2d(timestepEmbedding(t, cfg.encoder.width), [3, cfg.encoder.width]), 1);
      for (let j = 0; j < cfg.decoder!.depth; j++) {
        const p = `decoder_blocks.${j}.adaLN_modulation.1`;
        const mods = linear(silu(c), store.get(`${p}.weight`), store.get(`${p}.bias`));
        expect(mods.shape).toEqual([3, 6 * cfg.decoder!.width]);
        expect(maxAbs(mods)).toBe(0);
      }
      expect(maxAbs(store.get('out.weight'))).toBe(0);
      expect(maxAbs(store.get('out.bias'))).toBe(0);
    });
    [x, y].forEach((a) => a.dispose());
    store.dispose();
  });
});

describe('initialisation (docs/method.md §2.4)', () => {
  const cfg = getPreset('test-micro', { encoder: { depth: 1, width: 64, heads: 2 }, decoder: { depth: 1, width: 96, heads: 2 }, numClasses: 100 });
  const D = 64;

  function bound(t: tf.Tensor): number {
    return maxAbs(t);
  }

  it('MoCo init for pre-training: qkv as three D×D Xavier, patch conv Xavier over C·p², zeros, LN 1/0, BN 1/0 and (0, 1)', () => {
    const store = ParameterStore.create();
    buildPretrainModel(store, cfg, { rng: RandomStream.fromSeed(7) });
    const near = (t: tf.Tensor, b: number) => {
      const m = bound(t);
      expect(m).toBeLessThanOrEqual(b);
      expect(m).toBeGreaterThan(0.97 * b);
    };
    near(store.get('blocks.0.attn.qkv.weight'), Math.sqrt(6 / (D + D)));
    near(store.get('blocks.0.mlp.fc1.weight'), Math.sqrt(6 / (D + 4 * D)));
    near(store.get('patch_embed.proj.weight'), Math.sqrt(6 / (48 + D)));
    near(store.get('projection_head.3.weight'), Math.sqrt(6 / (32 + 32)));
    expect(bound(store.get('patch_embed.proj.bias'))).toBe(0);
    expect(bound(store.get('blocks.0.attn.proj.bias'))).toBe(0);
    expect(Array.from(store.get('norm.weight').dataSync()).every((v) => v === 1)).toBe(true);
    expect(Array.from(store.get('projection_head.1.running_var').dataSync()).every((v) => v === 1)).toBe(true);
    expect(bound(store.get('projection_head.4.running_mean'))).toBe(0);
    expect(store.entries((e) => e.kind === 'buffer').map((e) => e.name)).toEqual([
      'projection_head.1.running_mean', 'projection_head.1.running_var', 'projection_head.4.running_mean', 'projection_head.4.running_var',
    ]);
    // [CLS] ~ N(0, 1e-6²), pos-embed ~ N(0, 0.02²) (truncation at ±2 is inactive at this std).
    const std = (t: tf.Tensor) => tf.tidy(() => Math.sqrt(tf.moments(t).variance.dataSync()[0]));
    expect(std(store.get('cls_token'))).toBeGreaterThan(0.6e-6);
    expect(std(store.get('cls_token'))).toBeLessThan(1.5e-6);
    expect(std(store.get('pos_embed'))).toBeGreaterThan(0.018);
    expect(std(store.get('pos_embed'))).toBeLessThan(0.022);
    // Neither cls_token nor pos_embed takes weight decay (EPG no_weight_decay).
    expect(store.entries((e) => !e.weightDecay && e.variable.rank >= 2).map((e) => e.name)).toEqual(['cls_token', 'pos_embed']);
    store.dispose();
  });

  it('fine-tuning init: plain Xavier (qkv as one D×3D), PyTorch default conv, class embedding N(0, 0.02²), zero-inits', () => {
    const store = ParameterStore.create();
    buildFinetuneNetwork(store, cfg, { rng: RandomStream.fromSeed(7) });
    expect(bound(store.get('blocks.0.attn.qkv.weight'))).toBeLessThanOrEqual(Math.sqrt(6 / (D + 3 * D)));
    expect(bound(store.get('blocks.0.attn.qkv.weight'))).toBeGreaterThan(0.97 * Math.sqrt(6 / (D + 3 * D)));
    expect(bound(store.get('decoder_blocks.0.skip_linear.weight'))).toBeGreaterThan(0.97 * Math.sqrt(6 / (160 + 96)));
    expect(bound(store.get('patch_embed.proj.weight'))).toBeLessThanOrEqual(1 / Math.sqrt(48));
    expect(bound(store.get('patch_embed.proj.bias'))).toBeGreaterThan(0);
    const s = tf.tidy(() => Math.sqrt(tf.moments(store.get('class_embed.weight')).variance.dataSync()[0]));
    expect(s).toBeGreaterThan(0.019);
    expect(s).toBeLessThan(0.021);
    expect(bound(store.get('decoder_blocks.0.adaLN_modulation.1.weight'))).toBe(0);
    expect(bound(store.get('encoder_to_decoder.bias'))).toBe(0);
    store.dispose();
  });

  it('is a function of the seed only', () => {
    const a = ParameterStore.create();
    const b = ParameterStore.create();
    const c = ParameterStore.create();
    buildFinetuneNetwork(a, micro, { rng: RandomStream.fromSeed(11) });
    buildFinetuneNetwork(b, micro, { rng: RandomStream.fromSeed(11) });
    buildFinetuneNetwork(c, micro, { rng: RandomStream.fromSeed(12) });
    for (const e of a.entries()) expectClose(b.get(e.name), e.variable, { rtol: 0, atol: 0 });
    expect(tf.tidy(() => maxAbs(tf.sub(a.get('pos_embed'), c.get('pos_embed'))))).toBeGreaterThan(0);
    [a, b, c].forEach((s) => s.dispose());
  });
});

describe('gradients agree with central finite differences', () => {
  // Directional derivative along a random direction v over all trainable parameters and the input:
  // (L(θ + εv) − L(θ − εv)) / 2ε vs Σ ⟨∂L/∂θ, v⟩, in float32 (ε 1e-3–1e-2, 1 % tolerance).
  function check(store: ParameterStore, loss: (x: tf.Tensor4D) => tf.Scalar, x: tf.Tensor4D, seed: number, eps: number): { analytic: number; numeric: number } {
    const vars = store.trainableEntries().map((e) => e.variable);
    const rs = RandomStream.fromSeed(seed);
    // Step sizes relative to each tensor's scale: [CLS] (std 1e-6) and pos-embed (0.02) are tiny and
    // feed a LayerNorm, where an absolute step of the weights' size would leave the linear regime.
    const rms = (v: tf.Tensor) => tf.tidy(() => Math.sqrt(tf.mean(tf.square(v)).dataSync()[0]));
    const dirs = vars.map((v) => tf.tensor(rs.fillNormal(new Float32Array(v.size), 0, 0.05 * Math.max(rms(v), 0.01)), v.shape));
    const dx = tf.tensor(rs.fillNormal(new Float32Array(x.size), 0, 0.05), x.shape) as tf.Tensor4D;
    const { grads, value } = tf.variableGrads(() => loss(x), vars);
    const gx = tf.grad((xx: tf.Tensor) => loss(xx as tf.Tensor4D))(x);
    let analytic = tf.tidy(() => tf.sum(tf.mul(gx, dx)).dataSync()[0]);
    vars.forEach((v, i) => {
      analytic += tf.tidy(() => tf.sum(tf.mul(grads[v.name], dirs[i])).dataSync()[0]);
    });
    const shifted = (sign: number) => {
      const saved = vars.map((v) => tf.clone(v));
      // assign() keeps the new value's tensor alive: build and assign it inside one tidy.
      vars.forEach((v, i) => tf.tidy(() => v.assign(tf.add(v, tf.mul(dirs[i], sign * eps)))));
      const l = tf.tidy(() => loss(tf.add(x, tf.mul(dx, sign * eps)) as tf.Tensor4D).dataSync()[0]);
      vars.forEach((v, i) => v.assign(saved[i]));
      saved.forEach((s) => s.dispose());
      return l;
    };
    const numeric = (shifted(1) - shifted(-1)) / (2 * eps);
    [...dirs, dx, gx, value, ...Object.values(grads)].forEach((t) => t.dispose());
    return { analytic, numeric };
  }

  it('pre-training encoder + projector in training mode (BatchNorm batch statistics)', () => {
    const store = ParameterStore.create();
    const enc = buildPretrainModel(store, micro, { rng: RandomStream.fromSeed(3) });
    const { x, t, y } = inputs(micro, 4, 2);
    const wCls = tf.tensor2d(RandomStream.fromSeed(4).fillNormal(new Float32Array(4 * 16)), [4, 16]);
    const wProj = tf.tensor2d(RandomStream.fromSeed(5).fillNormal(new Float32Array(4 * 8)), [4, 8]);
    const loss = (xx: tf.Tensor4D) => {
      const o = enc(xx, t);
      return tf.add(tf.sum(tf.mul(o.cls, wCls)), tf.sum(tf.mul(tf.square(o.proj!), wProj))) as tf.Scalar;
    };
    const { analytic, numeric } = check(store, loss, x, 6, 1e-3);
    expect(Math.abs(analytic)).toBeGreaterThan(1e-2);
    expect(Math.abs(analytic - numeric)).toBeLessThan(0.01 * Math.abs(numeric));
    [x, y, wCls, wProj].forEach((a) => a.dispose());
    store.dispose();
  });

  it('fine-tuning network with non-zero decoder weights (fixture), class-conditional', () => {
    const store = ParameterStore.create();
    const net = buildFinetuneNetwork(store, micro, { rng: RandomStream.fromSeed(3) });
    loadTorchStateDict(store, torch);
    const { x, t, y } = inputs(micro, 3, 8);
    const w = tf.tensor4d(RandomStream.fromSeed(9).fillNormal(new Float32Array(x.size)), x.shape);
    const loss = (xx: tf.Tensor4D) => tf.sum(tf.mul(net(xx, t, y), w)) as tf.Scalar;
    const { analytic, numeric } = check(store, loss, x, 10, 1e-2);
    expect(Math.abs(analytic)).toBeGreaterThan(1e-2);
    expect(Math.abs(analytic - numeric)).toBeLessThan(0.01 * Math.abs(numeric));
    // Every trainable parameter receives a gradient (the class embedding through one-hot × matMul).
    const { grads, value } = tf.variableGrads(() => loss(x), store.trainableEntries().map((e) => e.variable));
    for (const e of store.trainableEntries()) expect(grads[e.variable.name]).toBeDefined();
    expect(maxAbs(grads[store.get('class_embed.weight').name])).toBeGreaterThan(0);
    [x, y, w, value, ...Object.values(grads)].forEach((a) => a.dispose());
    store.dispose();
  });
});

describe('BatchNorm modes in the projector', () => {
  it('training mode updates running statistics; eval mode uses them and leaves them alone', () => {
    const store = ParameterStore.create();
    const enc = buildPretrainModel(store, micro, { rng: RandomStream.fromSeed(3) });
    const { x, t, y } = inputs(micro, 4, 2);
    const rm = store.get('projection_head.1.running_mean');
    store.eval();
    const evalOut = tf.tidy(() => enc(x, t).proj!.dataSync().slice());
    expect(maxAbs(rm)).toBe(0);
    store.train();
    tf.tidy(() => void enc(x, t)); // only the running-statistics side effect matters
    expect(maxAbs(rm)).toBeGreaterThan(0);
    store.eval();
    const after = tf.tidy(() => enc(x, t).proj!.dataSync().slice());
    expect(Array.from(after)).not.toEqual(Array.from(evalOut));
    const before = rm.dataSync().slice();
    tf.tidy(() => void enc(x, t)); // only the running-statistics side effect matters
    expect(Array.from(rm.dataSync())).toEqual(Array.from(before));
    [x, y].forEach((a) => a.dispose());
    store.dispose();
  });
});

describe('decoder dropout', () => {
  it('equal stream states give equal masks; eval mode turns it off', () => {
    const cfg = getPreset('test-micro', { decoderDropout: 0.3 });
    const store = ParameterStore.create();
    buildFinetuneNetwork(store, cfg, { rng: RandomStream.fromSeed(3) });
    loadTorchStateDict(store, torch);
    const { x, t, y } = inputs(cfg, 2, 4);
    // One network function; the dropout stream is a per-call argument (online and target CM passes).
    const net = makeNetworkFn(store, cfg);
    const online = { dropout: RandomStream.fromSeed(77) };
    const target = { dropout: RandomStream.fromSeed(77) };
    tf.tidy(() => {
      const a = net(x, t, y, online);
      const b = net(x, t, y, target);
      expectClose(a, b, { rtol: 0, atol: 0 });
      const c = net(x, t, y, online); // the stream advanced: a new mask
      expect(maxAbs(tf.sub(a, c))).toBeGreaterThan(0);
      store.eval();
      const plain = makeNetworkFn(store, getPreset('test-micro'));
      expectClose(net(x, t, y, online), plain(x, t, y), { rtol: 0, atol: 0 });
      store.train();
      expect(() => net(x, t, y)).toThrow(/needs a dropout stream: pass call = \{ dropout: stream \}/);
    });
    [x, y].forEach((a) => a.dispose());
    store.dispose();
  });
});

describe('contracts and hygiene', () => {
  it('forward passes leak no tensors (outputs disposed by the caller)', async () => {
    const pre = ParameterStore.create();
    const enc = buildPretrainModel(pre, micro, { rng: RandomStream.fromSeed(3) });
    const net = ParameterStore.create();
    const fn = buildFinetuneNetwork(net, micro, { rng: RandomStream.fromSeed(3) });
    const { x, t, y } = inputs(micro, 2, 4);
    await expectNoLeak(() => {
      for (let i = 0; i < 3; i++) {
        const o = enc(x, t);
        o.cls.dispose();
        o.proj?.dispose();
        fn(x, t, y).dispose();
      }
    }, 'ViT forward');
    [x, y].forEach((a) => a.dispose());
    pre.dispose();
    net.dispose();
  });

  it('a pre-trained encoder copies into a fine-tuning network (projector ignored), and an EMA clone runs', () => {
    const pre = ParameterStore.create();
    buildPretrainModel(pre, micro, { rng: RandomStream.fromSeed(1) });
    const net = ParameterStore.create();
    buildFinetuneNetwork(net, micro, { rng: RandomStream.fromSeed(2) });
    copyEncoderWeights(net, pre);
    for (const e of net.entries((e) => isEncoderParam(e.name))) expectClose(e.variable, pre.get(e.name), { rtol: 0, atol: 0 });
    expect(maxAbs(net.get('out.weight'))).toBe(0);
    const target = pre.clone();
    const { x, t, y } = inputs(micro, 2, 4);
    tf.tidy(() => expectClose(makeEncoderFn(target, micro)(x, t).cls, makeEncoderFn(pre, micro)(x, t).cls, { rtol: 0, atol: 0 }));
    [x, y, pre, net, target].forEach((a) => a.dispose());
  });

  it('bad inputs get one-line errors naming the fix', () => {
    const store = ParameterStore.create();
    const enc = buildPretrainModel(store, micro, { rng: RandomStream.fromSeed(1) });
    tf.tidy(() => {
      expect(() => enc(tf.zeros([2, 8, 8, 1]) as tf.Tensor4D, new Float64Array(2))).toThrow(/input has shape \[2,8,8,1\] but preset 'test-micro' expects NHWC \[B, 8, 8, 3\]/);
      expect(() => enc(tf.zeros([2, 8, 8, 3]) as tf.Tensor4D, new Float64Array(3))).toThrow(/one value per sample \[2\], got 3 values/);
      expect(() => enc(tf.zeros([2, 8, 8, 3]) as tf.Tensor4D, tf.zeros([2]) as unknown as Float64Array)).toThrow(/not a Float64Array/);
      expect(() => enc(tf.zeros([2, 8, 8, 3]) as tf.Tensor4D, new Float64Array(2), tf.tensor1d([0, 1], 'int32'))).toThrow(/no class embedding/);
    });
    expect(() => buildPretrainModel(store, micro, { rng: RandomStream.fromSeed(1) })).toThrow(/already holds parameters/);
    store.dispose();
  });
});

describe('training with @epg/tensor', () => {
  it('AdamW steps on the fresh fine-tuning network lower a denoising loss and leak nothing', async () => {
    const store = ParameterStore.create();
    const net = buildFinetuneNetwork(store, micro, { rng: RandomStream.fromSeed(21) });
    const opt = new AdamW(store, { lr: 3e-3, weightDecay: 0 });
    const { x, t, y } = inputs(micro, 4, 22);
    const noisy = tf.tidy(() => tf.add(x, tf.mul(0.5, tf.tensor4d(RandomStream.fromSeed(23).fillNormal(new Float32Array(x.size)), x.shape))) as tf.Tensor4D);
    const loss = () => tf.mean(tf.square(tf.sub(net(noisy, t, y), x))) as tf.Scalar;
    const first = trainStep(store, opt, loss);
    // Zero-init output: only out.weight / out.bias / adaLN have non-zero gradients at step 0.
    expect(first.gradNorm).toBeGreaterThan(0);
    let last = first;
    await expectNoLeak(() => {
      for (let i = 0; i < 8; i++) last = trainStep(store, opt, loss);
    }, '8 training steps');
    expect(last.loss).toBeLessThan(0.9 * first.loss);
    [x, y, noisy].forEach((a) => a.dispose());
    opt.dispose();
    store.dispose();
  });
});

describe('time values on the host', () => {
  it('a network and an encoder call read no float tensor back (the time embedding is built on the host)', () => {
    const pre = ParameterStore.create();
    const enc = buildPretrainModel(pre, micro, { rng: RandomStream.fromSeed(3) });
    const net = ParameterStore.create();
    const fn = buildFinetuneNetwork(net, micro, { rng: RandomStream.fromSeed(3) });
    const { x, t, y } = inputs(micro, 2, 4);
    const { reads } = countReadbacks(() =>
      tf.tidy(() => {
        enc(x, t, undefined);
        fn(x, t, y);
      }),
    );
    // The only read is embed()'s check of the int32 labels (one per call with labels); nothing float.
    expect(reads.filter((r) => r.dtype !== 'int32')).toEqual([]);
    expect(reads).toEqual([{ method: 'dataSync', shape: [2], dtype: 'int32' }]);
    // The embedding row equals the float64 formula at the host time value (no float32 rounding of τ).
    const D = micro.encoder.width;
    const e = timestepEmbedding(Float64Array.from([t[1]]), D);
    const freq = Math.fround(Math.exp(Math.fround(Math.fround(-Math.log(10000) * 3) / (D / 2))));
    expect(e[D / 2 + 3]).toBe(Math.fround(Math.sin(t[1] * freq)));
    [x, y].forEach((a) => a.dispose());
    pre.dispose();
    net.dispose();
  });
});
