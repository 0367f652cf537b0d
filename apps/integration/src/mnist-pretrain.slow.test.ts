/**
 * A few CPU-minutes of EPG pre-training on MNIST (seeded) must lift kNN top-1 at σ₀ and at σ = 1
 * clearly above the same encoder at random init, without collapse, with a flat tensor count.
 * σ = 1 is unshifted (images get 1·28/64 = 0.4375 of noise); the row at image noise 1 is printed
 * without a bound. Figures of the last run: docs/ssl.md ("MNIST check").
 */
import { useTestBackend } from '@epg/tensor/testing';
import { runMnistPretraining } from './mnist-run';

useTestBackend();

const STEPS = 300;

it(`pre-trains on MNIST for ${STEPS} steps and lifts kNN at σ₀ and σ = 1`, async () => {
  const r = await runMnistPretraining({ steps: STEPS, batchSize: 64, lr: 2e-3, seed: 1, sigmas: [1], imageSigmas: [1], log: process.env.EPG_PRINT ? console.log : undefined });
  const [b0, b1, b2] = r.before;
  const [a0, a1, a2] = r.after;
  console.log(
    `MNIST ${STEPS} steps (${r.seconds.toFixed(0)} s): kNN σ₀ ${b0.knnTop1} -> ${a0.knnTop1}, σ=1 ${b1.knnTop1} -> ${a1.knnTop1}, image noise 1 ${b2.knnTop1} -> ${a2.knnTop1}; ` +
      `linear σ₀ ${b0.linearTop1} -> ${a0.linearTop1}, σ=1 ${b1.linearTop1} -> ${a1.linearTop1}; feature std ${a0.featureStd.toFixed(3)}`,
  );
  expect(r.numTensorsAtEnd).toBe(r.numTensorsAtStart);
  expect(a0.knnTop1 - b0.knnTop1).toBeGreaterThan(0.1);
  expect(a1.knnTop1 - b1.knnTop1).toBeGreaterThan(0.05);
  // No collapse: the LayerNorm'd [CLS] keeps a per-dimension spread across images.
  expect(a0.featureStd).toBeGreaterThan(0.2);
  expect(a1.featureStd).toBeGreaterThan(0.2);
}, 30 * 60_000);
