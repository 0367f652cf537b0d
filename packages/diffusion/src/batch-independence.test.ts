import * as tf from '@tensorflow/tfjs-core';
import { noiseSpace, shiftedGrid } from '@epg/schedules';
import type { Denoiser } from '@epg/contracts';
import { ParameterStore, RandomStream, nativeKernelsActive } from '@epg/tensor';
import { tinyNet } from './__fixtures__/tiny-net';
import {
  PerSampleNoise,
  classifierFreeGuidance,
  latentsFromSeeds,
  sampleEdmStochastic,
  sampleHeun,
  x0Denoiser,
} from './index';

/**
 * Image i depends only on its seed (and label), never on the batch it was drawn in: EDM's
 * StackedRandomGenerator property, checked with a tiny random network, interval CFG and churn noise.
 */
describe('per-sample seeds: batch-size independence of sampling', () => {
  const seeds = [11, 3, 42, 7, 100, 5, 64, 9];
  const labels = [0, 1, 2, 0, 1, 2, 0, 1];
  let store: ParameterStore;
  let denoiser: Denoiser;
  const space = noiseSpace(8, { shift: 'none' });
  beforeAll(() => {
    store = ParameterStore.create();
    const net = tinyNet(store, RandomStream.fromSeed(2024), { pixels: 64, hidden: 32, numClasses: 4, timeScale: 1 / 250 });
    denoiser = classifierFreeGuidance(x0Denoiser(net, space), { scale: 2.5, nullLabel: 3, space });
  });
  afterAll(() => store.dispose());

  const generate = (idx: number[], stochastic: boolean): Float32Array => {
    const s = idx.map((i) => seeds[i]);
    const latents = latentsFromSeeds(s, [8, 8, 1]);
    const cond = { labels: tf.tensor1d(idx.map((i) => labels[i]), 'int32') };
    const sigmas = shiftedGrid(space, 10);
    const r = stochastic
      ? sampleEdmStochastic(denoiser, latents, sigmas, { cond, sChurn: 5, noise: PerSampleNoise.fromSeeds(s, 'churn') })
      : sampleHeun(denoiser, latents, sigmas, { cond });
    const out = r.x.dataSync() as Float32Array;
    tf.dispose([r.x, latents, cond.labels]);
    return out;
  };

  for (const stochastic of [false, true]) {
    it(`${stochastic ? 'EDM stochastic (churn)' : 'Heun'}: batch of 8 equals 8 batches of 1, and a reordered batch`, () => {
      const all = generate([0, 1, 2, 3, 4, 5, 6, 7], stochastic);
      const per = 64;
      let maxDiff = 0;
      for (let i = 0; i < 8; i++) {
        const one = generate([i], stochastic);
        for (let k = 0; k < per; k++) maxDiff = Math.max(maxDiff, Math.abs(one[k] - all[i * per + k]));
      }
      const rev = generate([7, 6, 5, 4, 3, 2, 1, 0], stochastic);
      for (let i = 0; i < 8; i++) {
        for (let k = 0; k < per; k++) maxDiff = Math.max(maxDiff, Math.abs(rev[(7 - i) * per + k] - all[i * per + k]));
      }
      if (process.env.EPG_PRINT) console.log(`batch independence (${stochastic ? 'churn' : 'heun'}) max |diff| ${maxDiff} on ${tf.getBackend()}`);
      // Bit-identical with tfjs's own cpu and wasm kernels. OpenBLAS (native kernels) and other
      // backends sum in an order that depends on the matrix shape, hence on the batch size: there
      // only rounding-level differences, amplified by the sampler from σ = 80, are allowed.
      const stock = ['cpu', 'wasm'].includes(tf.getBackend()) && !(tf.getBackend() === 'cpu' && nativeKernelsActive());
      expect(maxDiff).toBeLessThanOrEqual(stock ? 0 : 2e-4);
      // And the images are not trivially equal: different seeds give different images.
      expect(Math.abs(all[0] - all[per])).toBeGreaterThan(1e-3);
    });
  }
});
