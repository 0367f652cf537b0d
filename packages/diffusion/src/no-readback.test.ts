/**
 * σ stays on the host (docs/method.md, "σ on the host"): a denoiser call, a guided sampler run and a
 * diffusion training step read no σ-derived tensor back. countReadbacks records every dataSync,
 * arraySync, data and array call on any tensor while the code runs.
 */
import * as tf from '@tensorflow/tfjs-core';
import { noiseSpace, shiftedGrid } from '@epg/schedules';
import { AdamW, ParameterStore, RandomStream, normalTensor } from '@epg/tensor';
import { countReadbacks } from '@epg/tensor/testing';
import { tinyNet } from './__fixtures__/tiny-net';
import { classifierFreeGuidance, diffusionTrainStep, latentsFromSeeds, sampleHeun, x0Denoiser } from './index';

describe('no σ read-back', () => {
  const space = noiseSpace(64, { shift: 'none' });
  const B = 5; // no parameter of the tiny net has a leading dimension 5
  let store: ParameterStore;
  let net: ReturnType<typeof tinyNet>;
  beforeAll(() => {
    store = ParameterStore.create();
    net = tinyNet(store, RandomStream.fromSeed(3), { pixels: 16, hidden: 8, numClasses: 4, timeScale: 1 / 250 });
  });
  afterAll(() => store.dispose());

  it('a denoiser call and a Heun run with interval CFG read nothing back', () => {
    const denoiser = x0Denoiser(net, space);
    const guided = classifierFreeGuidance(denoiser, { scale: 2.5, nullLabel: 3, space });
    const x = latentsFromSeeds([1, 2, 3, 4, 5], [4, 4, 1]);
    const labels = tf.tensor1d([0, 1, 2, 0, 1], 'int32');
    const sigma = Float64Array.from([0.01, 0.3, 1, 5, 80]);
    const call = countReadbacks(() => tf.tidy(() => denoiser(x, sigma, { labels })));
    const run = countReadbacks(() => sampleHeun(guided, x, shiftedGrid(space, 8), { cond: { labels } }));
    expect(call.reads).toEqual([]);
    expect(run.reads).toEqual([]);
    tf.dispose([call.result, run.result.x, x, labels]);
  });

  it('a diffusion training step reads only the scalar loss and gradient norm of trainStep', () => {
    const optimizer = new AdamW(store, { lr: 1e-3 });
    const x0 = normalTensor(RandomStream.fromSeed(9), [B, 4, 4, 1]) as tf.Tensor4D;
    const labels = tf.tensor1d([0, 1, 2, 0, 1], 'int32');
    const denoiser = x0Denoiser(net, space);
    const { result, reads } = countReadbacks(() =>
      diffusionTrainStep({ store, optimizer, denoiser, space, x0, cond: { labels }, rs: RandomStream.derive(1, 0, 'diffusion') }),
    );
    expect(result.skipped).toBe(false);
    // σ-derived tensors here are [B] (σ, weights, per-sample loss) or [B, 4, 4, 1] (x_σ, c_in·x, x̂₀);
    // trainStep's own read is one small vector of the total, the terms and the gradient norm.
    expect(reads.filter((r) => r.shape[0] === B)).toEqual([]);
    expect(reads.length).toBeGreaterThan(0); // the loss itself is read: the counter works here
    tf.dispose([x0, labels]);
    optimizer.dispose();
  });
});
