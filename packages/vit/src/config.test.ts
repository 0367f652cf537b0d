import * as tf from '@tensorflow/tfjs-core';
import { ParameterStore, RandomStream } from '@epg/tensor';
import { PRESETS, getPreset, inferShapes, patchSizeFor, presetNames, tokenLayout, validateConfig } from './config';
import { buildFinetuneNetwork, buildPretrainModel } from './model';

describe('presets', () => {
  it('follow the fixed-token-count rule at 256 and 512 px (258 tokens), 198 at 224/16', () => {
    expect(patchSizeFor(256)).toBe(16);
    expect(patchSizeFor(512)).toBe(32);
    for (const n of ['epg-l16', 'epg-l32', 'epg-xl16', 'epg-xxl16', 'epg-g16'] as const) {
      expect(PRESETS[n].patchSize).toBe(patchSizeFor(PRESETS[n].imageSize));
      expect(tokenLayout(PRESETS[n]).tokens).toBe(258);
    }
    expect(tokenLayout(PRESETS['epg-b16']).tokens).toBe(198);
    expect(tokenLayout(PRESETS['cpu-tiny']).tokens).toBe(66); // the docs/toolchain.md §13 unit
    expect(tokenLayout(PRESETS['cpu-tiny-mnist']).tokens).toBe(51);
    expect(() => patchSizeFor(100)).toThrow(/multiple of the grid/);
  });

  it('all validate; bad values give a one-line error naming the field', () => {
    for (const n of presetNames()) expect(validateConfig(PRESETS[n])).toBe(PRESETS[n]);
    expect(() => getPreset('epg-huge')).toThrow(/unknown ViT preset 'epg-huge': use one of/);
    expect(() => getPreset('cpu-tiny', { patchSize: 5 })).toThrow(/not divisible by patchSize 5/);
    expect(() => getPreset('cpu-tiny', { encoder: { depth: 6, width: 192, heads: 5 } })).toThrow(
      /^ViT config 'cpu-tiny': encoder\.width 192 is not divisible by heads 5: choose heads dividing the width$/,
    );
    expect(() => getPreset('cpu-tiny', { decoderDropout: 1 })).toThrow(/decoderDropout/);
  });
});

describe('shape inference', () => {
  const expected: Record<string, { res: number; c: number; T: number; D: number; d?: number; o?: number }> = {
    'epg-l16': { res: 256, c: 3, T: 258, D: 1024, d: 1024, o: 256 },
    'epg-l32': { res: 512, c: 3, T: 258, D: 1024, d: 1024, o: 256 },
    'epg-xl16': { res: 256, c: 3, T: 258, D: 768, d: 1584, o: 256 },
    'epg-xxl16': { res: 256, c: 3, T: 258, D: 768, d: 1920, o: 256 },
    'epg-g16': { res: 256, c: 3, T: 258, D: 768, d: 2688, o: 256 },
    'epg-b16': { res: 224, c: 3, T: 198, D: 768, d: 768, o: 256 },
    'rrcm-b': { res: 224, c: 3, T: 198, D: 768, o: 256 },
    'rrcm-s': { res: 224, c: 3, T: 198, D: 512, o: 256 },
    'cpu-tiny': { res: 32, c: 3, T: 66, D: 192, d: 192, o: 256 },
    'cpu-tiny-gray32': { res: 32, c: 1, T: 66, D: 192, d: 192, o: 256 },
    'cpu-tiny-mnist': { res: 28, c: 1, T: 51, D: 192, d: 192, o: 256 },
    'cpu-small': { res: 32, c: 3, T: 66, D: 256, d: 256, o: 256 },
    'test-micro': { res: 8, c: 3, T: 6, D: 16, d: 24, o: 8 },
    'test-micro-gray': { res: 8, c: 1, T: 6, D: 16, d: 16, o: 8 },
  };

  it('covers every preset', () => {
    expect(Object.keys(expected).sort()).toEqual(presetNames().sort());
  });

  it.each(presetNames())('%s at its resolution, batch 2, without tensors', (name) => {
    const e = expected[name];
    const before = tf.memory().numTensors;
    const s = inferShapes(PRESETS[name], 2);
    expect(s.input).toEqual([2, e.res, e.res, e.c]);
    expect(s.encoderTokens).toEqual([2, e.T, e.D]);
    expect(s.cls).toEqual([2, e.D]);
    expect(s.proj).toEqual(e.o ? [2, e.o] : undefined);
    expect(s.decoderTokens).toEqual(e.d ? [2, e.T, e.d] : undefined);
    expect(s.output).toEqual(e.d ? [2, e.res, e.res, e.c] : undefined);
    expect(tf.memory().numTensors).toBe(before);
  });

  it.each(['test-micro', 'test-micro-gray'] as const)('agrees with a real forward on %s', (name) => {
    const cfg = PRESETS[name];
    const s = inferShapes(cfg, 2);
    const pre = ParameterStore.create();
    const enc = buildPretrainModel(pre, cfg, { rng: RandomStream.fromSeed(2) });
    const net = ParameterStore.create();
    const fn = buildFinetuneNetwork(net, cfg, { rng: RandomStream.fromSeed(2) });
    tf.tidy(() => {
      const x = tf.zeros<tf.Rank>([...s.input]) as tf.Tensor4D;
      const t = Float64Array.from([1, 2]);
      const o = enc(x, t);
      expect(o.cls.shape).toEqual(s.cls);
      expect(o.proj?.shape).toEqual(s.proj);
      expect(fn(x, t, tf.tensor1d([0, 3], 'int32')).shape).toEqual(s.output);
    });
    pre.dispose();
    net.dispose();
  });
});
