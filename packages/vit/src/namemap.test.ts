import * as tf from '@tensorflow/tfjs-core';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ParameterStore, RandomStream, decodeSafetensors, encodeSafetensors } from '@epg/tensor';
import { expectClose } from '@epg/tensor/testing';
import { PRESETS } from './config';
import { buildFinetuneNetwork, buildPretrainModel, isEncoderParam } from './model';
import { exportTorchStateDict, fromTorchLayout, layoutOf, loadTorchStateDict, toTorchLayout } from './namemap';

const FIX = join(__dirname, '__fixtures__');
const torch = decodeSafetensors(readFileSync(join(FIX, 'micro_torch.safetensors')), 'micro_torch.safetensors').tensors;
/* eslint-disable @typescript-eslint/no-explicit-any */
const ref: any = JSON.parse(readFileSync(join(FIX, 'micro_ref.json'), 'utf8'));
const cfg = PRESETS['test-micro'];

describe('layout conversion (hand-computed)', () => {
  it('classifies names', () => {
    expect(layoutOf('patch_embed.proj.weight')).toBe('patch-conv');
    expect(layoutOf('blocks.0.attn.qkv.weight')).toBe('linear');
    expect(layoutOf('decoder_blocks.11.adaLN_modulation.1.weight')).toBe('linear');
    expect(layoutOf('out.weight')).toBe('linear');
    expect(layoutOf('projection_head.6.weight')).toBe('linear');
    expect(layoutOf('out_norm.weight')).toBe('same');
    expect(layoutOf('class_embed.weight')).toBe('same');
    expect(layoutOf('pos_embed')).toBe('same');
    expect(layoutOf('projection_head.1.weight')).toBe('same');
  });

  it('transposes a Linear (out, in) → (in, out)', () => {
    const t = fromTorchLayout('mlp.fc1.weight', { shape: [2, 3], data: [1, 2, 3, 4, 5, 6] });
    expect(t.shape).toEqual([3, 2]);
    expect(Array.from(t.data)).toEqual([1, 4, 2, 5, 3, 6]);
  });

  it('maps a conv (O, I, kh, kw) to patchify rows (kh, kw, I) × O', () => {
    // O = 2, I = 1, p = 2: torch[o][0][i][j] = 10·o + 2·i + j.
    const data = [0, 1, 2, 3, 10, 11, 12, 13];
    const t = fromTorchLayout('patch_embed.proj.weight', { shape: [2, 1, 2, 2], data });
    expect(t.shape).toEqual([4, 2]);
    expect(Array.from(t.data)).toEqual([0, 10, 1, 11, 2, 12, 3, 13]);
    const back = toTorchLayout('patch_embed.proj.weight', t, 1);
    expect(back.shape).toEqual([2, 1, 2, 2]);
    expect(Array.from(back.data)).toEqual(data);
  });
});

describe('a PyTorch-style state dict (numpy-made safetensors) loads through the name map', () => {
  it('fine-tuning network: output equals the float64 DMViT reference', () => {
    const store = ParameterStore.create();
    const net = buildFinetuneNetwork(store, cfg, { rng: RandomStream.fromSeed(9) });
    const report = loadTorchStateDict(store, torch);
    expect(report.missing).toEqual([]);
    expect(report.unexpected.every((n) => n.startsWith('projection_head.'))).toBe(true);
    expect(report.loaded.length).toBe(store.entries().length);
    tf.tidy(() => {
      const x = tf.tensor4d(ref.xNHWC, ref.inputShape);
      const t = Float64Array.from(Float32Array.from(ref.t)); // PyTorch got float32 time values
      expectClose(net(x, t, tf.tensor1d(ref.labels, 'int32')), ref.networkNHWC, { rtol: 1e-5, atol: 1e-5 });
      expectClose(net(x, t), ref.networkUncondNHWC, { rtol: 1e-5, atol: 1e-5 });
    });
    store.dispose();
  });

  it('pre-training model: z and eval-mode projector output equal the float64 reference', () => {
    const store = ParameterStore.create();
    const enc = buildPretrainModel(store, cfg, { rng: RandomStream.fromSeed(9) });
    store.eval();
    const report = loadTorchStateDict(store, torch);
    expect(report.unexpected.some((n) => n.startsWith('decoder_blocks.'))).toBe(true);
    tf.tidy(() => {
      const o = enc(tf.tensor4d(ref.xNHWC, ref.inputShape), Float64Array.from(Float32Array.from(ref.t)));
      expectClose(o.cls, ref.cls, { rtol: 1e-5, atol: 1e-5 });
      expectClose(o.proj!, ref.proj, { rtol: 1e-5, atol: 1e-5 });
    });
    store.dispose();
  });

  it('export → safetensors → load round-trips every value and PyTorch shape', () => {
    const a = ParameterStore.create();
    buildFinetuneNetwork(a, cfg, { rng: RandomStream.fromSeed(1) });
    const exported = exportTorchStateDict(a, cfg.channels);
    expect(exported['patch_embed.proj.weight'].shape).toEqual([16, 3, 4, 4]);
    expect(exported['blocks.0.attn.qkv.weight'].shape).toEqual([48, 16]);
    expect(exported['out.weight'].shape).toEqual([48, 24]);
    for (const [k, v] of Object.entries(exported)) expect(v.shape).toEqual(torch.get(k)!.shape);
    const bytes = encodeSafetensors(exported);
    const b = ParameterStore.create();
    buildFinetuneNetwork(b, cfg, { rng: RandomStream.fromSeed(2) });
    loadTorchStateDict(b, decodeSafetensors(bytes).tensors, { strictUnexpected: true });
    for (const e of a.entries()) expectClose(b.get(e.name), e.variable, { rtol: 0, atol: 0 });
    a.dispose();
    b.dispose();
  });

  it('strips a prefix, allows missing decoder names, and names the problem on a bad checkpoint', () => {
    const prefixed = new Map([...torch].filter(([k]) => isEncoderParam(k)).map(([k, v]) => [`module.${k}`, v] as const));
    const store = ParameterStore.create();
    buildFinetuneNetwork(store, cfg, { rng: RandomStream.fromSeed(1) });
    expect(() => loadTorchStateDict(store, prefixed, { stripPrefix: 'module.' })).toThrow(/missing from the checkpoint, first 'class_embed.weight'/);
    const r = loadTorchStateDict(store, prefixed, { stripPrefix: 'module.', allowMissing: (n) => !isEncoderParam(n) });
    expect(r.loaded.every(isEncoderParam)).toBe(true);
    expect(r.loaded.length).toBe(store.entries().filter((e) => isEncoderParam(e.name)).length);
    const other = ParameterStore.create();
    buildFinetuneNetwork(other, PRESETS['test-micro-gray'], { rng: RandomStream.fromSeed(1) });
    expect(() => loadTorchStateDict(other, torch, { allowMissing: () => true })).toThrow(/'patch_embed.proj.weight' converts to \[48,16\] but the model expects \[16,16\]/);
    store.dispose();
    other.dispose();
  });
});
