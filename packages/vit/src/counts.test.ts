import * as tf from '@tensorflow/tfjs-core';
import { ParameterStore, RandomStream } from '@epg/tensor';
import { PRESETS, getPreset, type PresetName } from './config';
import { blockParams, flopCounts, paramCounts } from './counts';
import { buildFinetuneNetwork, buildPretrainModel } from './model';

describe('analytic parameter counts', () => {
  it('match the README / docs/method.md §2.7 figures without allocating', () => {
    const before = tf.memory().numTensors;
    const m = (n: PresetName) => Math.round(paramCounts(PRESETS[n]).finetune / 1e5) / 10;
    expect(m('epg-l16')).toBe(540.2);
    expect(m('epg-xl16')).toBe(583.0);
    expect(m('epg-xxl16')).toBe(788.9);
    expect(m('epg-g16')).toBe(1391.9);
    expect(m('epg-l32')).toBe(544.9); // "≈545M computed"
    expect(m('epg-b16')).toBe(228.9); // "≈229M computed"
    // rRCM-B encoder 85.8M (224 px); encoder + projector 106.8M / 64.3M / 224.6M at 256 px (§2.7, §10.7).
    expect(Math.round(paramCounts(PRESETS['rrcm-b']).encoder / 1e5) / 10).toBe(85.8);
    const at256 = (depth: number, width: number, heads: number) =>
      Math.round(paramCounts(getPreset('rrcm-b', { imageSize: 256, encoder: { depth, width, heads } })).pretrain / 1e5) / 10;
    expect(at256(6, 768, 12)).toBe(64.3);
    expect(at256(12, 768, 12)).toBe(106.8);
    expect(at256(16, 1024, 16)).toBe(224.6);
    const at224 = (depth: number, width: number, heads: number) =>
      Math.round(paramCounts(getPreset('rrcm-b', { encoder: { depth, width, heads } })).pretrain / 1e5) / 10;
    expect(at224(6, 768, 12)).toBe(64.2);
    expect(at224(16, 1024, 16)).toBe(224.5);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('a ViT block has 12D² + 10D parameters at MLP ratio 4 (closed form)', () => {
    for (const D of [8, 192, 768, 1024]) expect(blockParams(D, 4)).toBe(12 * D * D + 10 * D);
  });

  it.each(['test-micro', 'test-micro-gray', 'cpu-tiny-mnist'] as const)('equal the allocated store on %s', (name) => {
    const cfg = PRESETS[name];
    const counts = paramCounts(cfg);
    const pre = ParameterStore.create();
    buildPretrainModel(pre, cfg, { rng: RandomStream.fromSeed(1) });
    expect(pre.count()).toBe(counts.pretrain);
    pre.dispose();
    const net = ParameterStore.create();
    buildFinetuneNetwork(net, cfg, { rng: RandomStream.fromSeed(1) });
    expect(net.count()).toBe(counts.finetune);
    expect(net.entries((e) => e.name.startsWith('decoder_blocks.') || /^(out|out_norm|encoder_to_decoder)\./.test(e.name)).reduce((n, e) => n + e.variable.size, 0)).toBe(counts.decoder);
    net.dispose();
  });
});

describe('analytic FLOP counts', () => {
  it('match docs/method.md §2.7 forward MAC estimates (≈117G L, 131G XL, 180G XXL, 326G G)', () => {
    const g = (n: PresetName) => Math.round(flopCounts(PRESETS[n]).finetuneMacs / 1e9);
    expect(g('epg-l16')).toBe(117);
    expect(g('epg-xl16')).toBe(131);
    expect(g('epg-xxl16')).toBe(180);
    expect(g('epg-g16')).toBe(326);
  });

  it('count one block by hand on test-micro', () => {
    // T = 6 tokens, D = 16: qkv 6·16·48 + proj 6·16·16 + fc1/fc2 2·6·16·64 + QKᵀ and AV 2·6·6·16, patch 4·48·16.
    const cfg = PRESETS['test-micro'];
    const block = 6 * 16 * 48 + 6 * 16 * 16 + 2 * 6 * 16 * 64 + 2 * 6 * 6 * 16;
    expect(flopCounts(cfg).encoderMacs).toBe(4 * 48 * 16 + 2 * block);
    expect(flopCounts(cfg).projectorMacs).toBe(16 * 32 + 32 * 32 + 32 * 8);
  });
});
