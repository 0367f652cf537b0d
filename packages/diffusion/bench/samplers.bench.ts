/**
 * Sampler overhead: time per image batch of Euler-32, Heun-32 and Heun-32 with interval CFG around a
 * denoiser that costs almost nothing (a Gaussian oracle), against a baseline of the same number of bare
 * denoiser calls measured in this run. The ratio is what the sampler's own tensor work adds.
 */
import * as tf from '@tensorflow/tfjs-core';
import { measure, printTable, withRatios, type Row } from '@epg/bench';
import { initBackend } from '@epg/tensor';
import { noiseSpace, shiftedGrid } from '@epg/schedules';
import { fillSigmas, type Denoiser } from '@epg/contracts';
import { classifierFreeGuidance, latentsFromSeeds, sampleEuler, sampleHeun } from '../src';

const oracle: Denoiser = (x, sigma) =>
  tf.tidy(() => {
    const s = sigma[0];
    return tf.mul(x, 0.25 / (0.25 + s * s)) as tf.Tensor4D;
  });

async function main(): Promise<void> {
  const rows: Row[] = [];
  for (const backend of ['cpu', 'wasm']) {
    await initBackend({ force: backend, log: null });
    for (const [batch, size] of [[8, 64], [1, 256]] as const) {
      const shape = `${batch}x${size}x${size}x3`;
      const latents = latentsFromSeeds(Array.from({ length: batch }, (_, i) => i), [size, size, 3]);
      const space = noiseSpace(size);
      const sigmas = shiftedGrid(space, 32);
      const labels = tf.fill([batch], 1, 'int32') as tf.Tensor1D;
      const guided = classifierFreeGuidance(oracle, { scale: 2.5, nullLabel: 10, space });
      const time = async (name: string, f: () => tf.Tensor) => {
        const t = await measure(
          () => {
            const y = f();
            y.dataSync(); // wait for the backend to finish
            y.dispose();
          },
          { minIterations: 3 },
        );
        rows.push({ backend, shape, sampler: name, ms: t.medianMs });
      };
      await time('62 bare denoiser calls', () =>
        tf.tidy(() => {
          let x: tf.Tensor4D = latents;
          for (let i = 0; i < 62; i++) x = oracle(x, fillSigmas(batch, sigmas[i % 32]));
          return x;
        }),
      );
      await time('euler-32', () => sampleEuler(oracle, latents, sigmas).x);
      await time('heun-32', () => sampleHeun(oracle, latents, sigmas).x);
      await time('heun-32 + interval cfg', () => sampleHeun(guided, latents, sigmas, { cond: { labels } }).x);
      tf.dispose([latents, labels]);
    }
  }
  const table = withRatios(
    rows.map((r) => ({ ...r, group: `${r.backend} ${r.shape}` })),
    { value: 'ms', groupKey: 'group', baselineKey: 'sampler', baseline: '62 bare denoiser calls' },
  ).map(({ group: _g, ...r }) => r);
  printTable('Samplers (median ms per batch; ratio against 62 bare denoiser calls, same run)', table);
}

void main();
