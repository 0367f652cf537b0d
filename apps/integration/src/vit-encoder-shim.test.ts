import * as tf from '@tensorflow/tfjs-core';
import { ParameterStore, RandomStream } from '@epg/tensor';
import { expectClose, expectNoLeak, useTestBackend } from '@epg/tensor/testing';
import { noiseSpace } from '@epg/schedules';
import { buildPretrainModel, getPreset } from '@epg/vit';
import { encoderAtShim } from './vit-encoder-shim';

useTestBackend();

it('feeds c_in(σ)·x and 250·ln σ per sample to the ViT encoder', async () => {
  const cfg = getPreset('test-micro-gray');
  const store = ParameterStore.create();
  const fn = buildPretrainModel(store, cfg, { rng: RandomStream.fromSeed(3) });
  store.eval();
  const enc = encoderAtShim(fn, noiseSpace(8));
  const x = tf.randomNormal([2, 8, 8, 1], 0, 1, 'float32', 5) as tf.Tensor4D;
  const sigma = Float64Array.of(0.3, 2.5);
  const got = await expectNoLeak(() => {
    const o = enc(x, sigma);
    const v = { cls: o.cls.arraySync(), proj: o.proj!.arraySync() };
    tf.dispose([o.cls, o.proj!]);
    return v;
  }, 'shim');
  const want = tf.tidy(() => {
    const xIn = tf.mul(x, tf.tensor4d([1 / Math.sqrt(0.09 + 0.25), 1 / Math.sqrt(6.25 + 0.25)], [2, 1, 1, 1])) as tf.Tensor4D;
    const o = fn(xIn, tf.tensor1d([250 * Math.log(0.3), 250 * Math.log(2.5)]));
    return [o.cls.arraySync(), o.proj!.arraySync()];
  });
  expectClose(got.cls.flat(), want[0].flat(), { rtol: 1e-5, atol: 1e-6 });
  expectClose(got.proj.flat(), want[1].flat(), { rtol: 1e-5, atol: 1e-6 });
  x.dispose();
  store.dispose();
});
