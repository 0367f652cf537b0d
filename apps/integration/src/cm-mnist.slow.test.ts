/**
 * CM fine-tuning on MNIST from an EPG-pre-trained encoder and from scratch, same steps, same seeds
 * (docs/consistency.md, "MNIST check"). Three arms share every batch, (t, r) pair, ε and dropout
 * stream: the EPG recipe (pre-trained encoder + auxiliary loss λ = 1), the pre-trained encoder without
 * the auxiliary loss (like for like with scratch), and scratch (random encoder, no auxiliary loss:
 * there is no pre-trained encoder to compute it with). The consistency term is compared; the total is
 * reported. Writes both one-step grids and the results JSON to docs/results/cm-mnist/.
 * Run: pnpm --filter epg-integration test:slow (or pnpm test:slow).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { loadMnist, writePngGrid } from '@epg/data';
import { computeStatistics, frechetDistance, loadDomainClassifier } from '@epg/metrics';
import { orThrow } from '@epg/tensor';
import { useTestBackend } from '@epg/tensor/testing';
import { meanOf, mnistImages, pretrainMnistEncoder, runCmArm, type CmArmResult } from './cm-mnist';

useTestBackend();

const PRETRAIN = { steps: 1000, lr: 2e-3, batch: 64, seed: 1 };
const CM = { steps: 300, batch: 32, lr: 5e-4, seed: 11 };
/** Steps averaged for the comparison at the final step (the per-step term is noisy: one batch, one set of pairs). */
const LAST = 20;
const SAMPLES = 256;
const GRID = 64;
const RESULTS = join(__dirname, '..', '..', '..', 'docs', 'results', 'cm-mnist');

const lastMean = (a: readonly number[]) => meanOf(a.slice(-LAST));

it('CM fine-tuning on MNIST: pre-trained vs scratch at the same steps and seeds', async () => {
  const t0 = performance.now();
  const train = mnistImages('train', 4096);
  const heldOut = mnistImages('test', 256);
  const pretrained = await pretrainMnistEncoder(PRETRAIN);
  const numTensors = tf.memory().numTensors;
  const common = { ...CM, data: train, heldOut, samples: SAMPLES, log: (l: string) => console.log(l) };
  let arms: CmArmResult[];
  try {
    arms = [
      runCmArm({ ...common, name: 'pretrained', pretrained, auxWeight: 1 }),
      runCmArm({ ...common, name: 'pretrained-no-aux', pretrained, auxWeight: 0 }),
      runCmArm({ ...common, name: 'scratch', auxWeight: 0 }),
    ];
    // The arms leave nothing behind.
    expect(tf.memory().numTensors).toBe(numTensors);
  } finally {
    pretrained.dispose();
  }

  const domain = orThrow(loadDomainClassifier('mnist'));
  const test = orThrow(loadMnist('test'));
  const trainBytes = orThrow(loadMnist('train'));
  const set = (images: Uint8Array, count: number) => ({ images, count, height: 28, width: 28, channels: 1 });
  const ref = computeStatistics(domain.extractor, set(test.images, test.count));
  // The floor: SAMPLES real train images against the test set (the estimate's bias at this count).
  const floor = frechetDistance(computeStatistics(domain.extractor, set(trainBytes.images.subarray(0, SAMPLES * 784), SAMPLES)), ref);
  const fid = arms.map((a) => frechetDistance(computeStatistics(domain.extractor, set(a.pixels, SAMPLES)), ref));
  domain.store.dispose();

  mkdirSync(RESULTS, { recursive: true });
  for (const a of arms) {
    if (a.name === 'pretrained-no-aux') continue;
    orThrow(await writePngGrid(join(RESULTS, `one-step-${a.name}.png`), a.pixels.subarray(0, GRID * 784), GRID, 28, 28, 1)());
  }
  const checkpoints = [0, 49, 99, 149, 199, 249, CM.steps - 1];
  const summary = {
    description: 'CM fine-tuning on MNIST (apps/integration/src/cm-mnist.slow.test.ts; docs/consistency.md "MNIST check")',
    pretrain: PRETRAIN,
    cm: { ...CM, trainImages: train.count, heldOutImages: heldOut.count, decoderDropout: 0, schedule: `cmShortRun(${CM.steps})` },
    comparedOver: `mean of the last ${LAST} steps`,
    domainFid: { samples: SAMPLES, reference: `mnist test (${test.count})`, floorRealTrainImages: floor },
    arms: Object.fromEntries(
      arms.map((a, i) => [
        a.name,
        {
          consistencyLast: lastMean(a.consistency),
          totalLast: lastMean(a.total),
          ...(a.auxiliary.length > 0 ? { auxiliaryLast: lastMean(a.auxiliary) } : {}),
          consistencyAt: Object.fromEntries(checkpoints.map((s) => [s, a.consistency[s]])),
          heldOutConsistency: a.heldOutConsistency,
          heldOutConsistencyByUnshiftedT: a.heldOutByT,
          denoiseMseByUnshiftedSigma: a.denoiseMse,
          domainFid: fid[i],
          grid: a.name === 'pretrained-no-aux' ? null : `one-step-${a.name}.png`,
          seconds: a.seconds,
        },
      ]),
    ),
    totalSeconds: (performance.now() - t0) / 1000,
  };
  writeFileSync(join(RESULTS, 'results.json'), `${JSON.stringify(summary, null, 2)}\n`);
  console.log(JSON.stringify(summary.arms, null, 1));

  // Same pairs, ε and batches: before any update the three arms compute the same term (zero-init head).
  expect(arms[1].consistency[0]).toBeCloseTo(arms[0].consistency[0], 4);
  expect(arms[2].consistency[0]).toBeCloseTo(arms[0].consistency[0], 4);
  for (const f of [...fid, floor]) expect(Number.isFinite(f)).toBe(true);
  // The claim of issue 13 (the EPG recipe's start reaches the lower consistency term at the same step)
  // is recorded in results.json, not asserted: at this scale it is within seed-to-seed noise
  // (docs/consistency.md, "MNIST check": recipe − scratch −0.17 / −0.417 / +0.005 at CM seeds 11 / 12 / 13;
  // the held-out term is a tie), so asserting it at one seed would be a chosen outcome, not a check.
  // What held at every CM seed tried (recipe: 11, 12, 13; no aux: 11, 13): the pre-trained starts denoise
  // better than scratch in one call at high noise (σ = 10 and 80 unshifted), where a one-step generator starts.
  for (const sigma of ['10', '80']) {
    expect(arms[0].denoiseMse[sigma]).toBeLessThan(arms[2].denoiseMse[sigma]);
    expect(arms[1].denoiseMse[sigma]).toBeLessThan(arms[2].denoiseMse[sigma]);
  }
}, 3_600_000);
