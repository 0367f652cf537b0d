import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as E from 'fp-ts/Either';
import { AdamW, ParameterStore, RandomStream, readCheckpoint, saveCheckpoint } from '@epg/tensor';
import { assembleFinetune, buildPretrainModel, finetuneParamGroups, freezeEncoder, getPreset, isEncoderParam, layerId, topLayerId } from './index';

const cfg = getPreset('test-micro'); // encoder depth 2, decoder depth 2
const host = (t: tf.Tensor) => Array.from(t.dataSync());

function pretrainStore(seed: number): ParameterStore {
  const s = ParameterStore.create();
  buildPretrainModel(s, cfg, { rng: RandomStream.fromSeed(seed) });
  return s;
}

function assembled(pretrained?: Parameters<typeof assembleFinetune>[0]['pretrained']) {
  const r = assembleFinetune({ cfg, rng: RandomStream.fromSeed(99), pretrained });
  if (E.isLeft(r)) throw r.left;
  return r.right;
}

describe('layerId', () => {
  it('follows param_groups_lrd: 0 for embeddings, i + 1 for block i, top for the rest', () => {
    expect(topLayerId(cfg)).toBe(3);
    expect(topLayerId(cfg, 'all')).toBe(5);
    const want: Record<string, [number, number]> = {
      cls_token: [0, 0],
      pos_embed: [0, 0],
      'patch_embed.proj.weight': [0, 0],
      'blocks.0.norm1.weight': [1, 1],
      'blocks.1.mlp.fc2.bias': [2, 2],
      norm: [3, 5],
      'norm.weight': [3, 5],
      'class_embed.weight': [3, 5],
      'encoder_to_decoder.weight': [3, 5],
      'decoder_blocks.0.attn.qkv.weight': [3, 3],
      'decoder_blocks.1.adaLN_modulation.1.bias': [3, 4],
      'out.weight': [3, 5],
    };
    for (const [name, [enc, all]] of Object.entries(want)) {
      expect([name, layerId(name, cfg)]).toEqual([name, enc]);
      expect([name, layerId(name, cfg, 'all')]).toEqual([name, all]);
    }
  });
});

describe('finetuneParamGroups', () => {
  it('decays the LR by layer and exempts only pos_embed and cls_token from weight decay', () => {
    const { store } = assembled();
    const groups = finetuneParamGroups(store, cfg, { weightDecay: 0.1, layerDecay: 0.5 });
    const opt = new AdamW(store, { lr: 1, weightDecay: 0.1, groups });
    expect(opt.groupOf('pos_embed')).toBe('layer_0.no_decay');
    expect(opt.groupOf('cls_token')).toBe('layer_0.no_decay');
    expect(opt.groupOf('patch_embed.proj.bias')).toBe('layer_0');
    expect(opt.groupOf('blocks.0.norm1.bias')).toBe('layer_1');
    expect(opt.groupOf('out.bias')).toBe('layer_3');
    // With zero gradients an AdamW step only decays: p ← p·(1 − lr·0.5^(3 − id)·wd).
    const before = new Map(store.entries().map((e) => [e.name, host(e.variable)]));
    const zeros = Object.fromEntries(store.trainableEntries().map((e) => [e.name, tf.zerosLike(e.variable)]));
    opt.apply(zeros);
    tf.dispose(Object.values(zeros));
    const factor = (name: string) => host(store.get(name)).map((v, i) => v / before.get(name)![i]).find((r) => Number.isFinite(r) && r !== 0 && !Number.isNaN(r));
    expect(host(store.get('pos_embed'))).toEqual(before.get('pos_embed'));
    expect(host(store.get('cls_token'))).toEqual(before.get('cls_token'));
    expect(factor('patch_embed.proj.weight')).toBeCloseTo(1 - 0.125 * 0.1, 6);
    expect(factor('blocks.0.attn.qkv.weight')).toBeCloseTo(1 - 0.25 * 0.1, 6);
    expect(factor('blocks.1.norm1.weight')).toBeCloseTo(1 - 0.5 * 0.1, 6);
    expect(factor('decoder_blocks.0.mlp.fc1.weight')).toBeCloseTo(1 - 0.1, 6);
    expect(() => finetuneParamGroups(store, cfg, { weightDecay: 0.1, layerDecay: 0 })).toThrow(/layerDecay/);
    opt.dispose();
    store.dispose();
  });

  it('without layer decay every multiplier is 1', () => {
    const { store } = assembled();
    expect(new Set(finetuneParamGroups(store, cfg, { weightDecay: 0.03 }).map((g) => g.lrMultiplier))).toEqual(new Set([1]));
    store.dispose();
  });
});

describe('assembleFinetune', () => {
  it('loads the encoder by name from a pre-training store, drops the projector, keeps the zero-inits', () => {
    const pre = pretrainStore(1);
    const net = assembled(pre);
    expect(net.loaded.length).toBeGreaterThan(0);
    expect(net.loaded.every(isEncoderParam)).toBe(true);
    for (const n of net.loaded) expect(host(net.store.get(n))).toEqual(host(pre.get(n)));
    expect(net.store.names().some((n) => n.startsWith('projection_head'))).toBe(false);
    for (const n of ['out.weight', 'out.bias', 'decoder_blocks.0.adaLN_modulation.1.weight', 'decoder_blocks.1.adaLN_modulation.1.bias']) {
      expect(host(net.store.get(n)).every((v) => v === 0)).toBe(true);
    }
    // A fresh network is the zero map at init (adaLN-Zero and zero output head).
    const ones = tf.ones([1, 8, 8, 3]) as tf.Tensor4D;
    const y = net.network(ones, Float64Array.of(10));
    expect(host(y).every((v) => v === 0)).toBe(true);
    // From scratch the encoder is random, not the pre-trained one, and the decoder is the same fresh one.
    const scratch = assembled();
    expect(scratch.loaded).toEqual([]);
    expect(host(scratch.store.get('blocks.0.attn.qkv.weight'))).not.toEqual(host(pre.get('blocks.0.attn.qkv.weight')));
    expect(host(scratch.store.get('decoder_blocks.0.attn.qkv.weight'))).toEqual(host(net.store.get('decoder_blocks.0.attn.qkv.weight')));
    tf.dispose([y, ones]);
    [pre, net.store, scratch.store].forEach((s) => s.dispose());
  });

  it('loads the same weights from a checkpoint file', () => {
    const pre = pretrainStore(2);
    const dir = mkdtempSync(join(tmpdir(), 'epg-assemble-'));
    try {
      const base = join(dir, 'pretrain');
      expect(E.isRight(saveCheckpoint(base, { step: 7, config: { preset: cfg.name }, stores: { model: pre } }))).toBe(true);
      const ckpt = readCheckpoint(base);
      if (E.isLeft(ckpt)) throw ckpt.left;
      const fromFile = assembled(ckpt.right);
      const fromStore = assembled(pre);
      for (const n of fromStore.store.names()) expect([n, host(fromFile.store.get(n))]).toEqual([n, host(fromStore.store.get(n))]);
      fromFile.store.dispose();
      fromStore.store.dispose();
    } finally {
      rmSync(dir, { recursive: true, force: true });
      pre.dispose();
    }
  });

  it('returns a Left for a pre-training model of another preset', () => {
    const other = ParameterStore.create();
    buildPretrainModel(other, getPreset('test-micro-gray'), { rng: RandomStream.fromSeed(3) });
    const r = assembleFinetune({ cfg, rng: RandomStream.fromSeed(1), pretrained: other });
    expect(E.isLeft(r) && r.left.message).toMatch(/has shape \[16,16\] in the pre-training store but \[48,16\] here/);
    other.dispose();
  });
});

describe('freezeEncoder', () => {
  it('is an independent eval-mode copy with nothing trainable', () => {
    const pre = pretrainStore(4);
    const frozen = freezeEncoder(pre, cfg);
    expect(frozen.store.training).toBe(false);
    expect(pre.training).toBe(true);
    expect(frozen.store.trainableEntries()).toEqual([]);
    const x = tf.randomNormal([3, 8, 8, 3], 0, 1, 'float32', 5) as tf.Tensor4D;
    const out = frozen.encoder(x, Float64Array.of(1, 2, 3));
    expect(out.proj!.shape).toEqual([3, 8]);
    tf.tidy(() => pre.get('norm.weight').assign(tf.zeros([16])));
    expect(host(frozen.store.get('norm.weight')).every((v) => v === 1)).toBe(true);
    tf.dispose([x, out.cls, out.proj!]);
    frozen.store.dispose();
    pre.dispose();
  });
});
