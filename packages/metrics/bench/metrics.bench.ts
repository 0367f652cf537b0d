/**
 * `pnpm bench`: seconds for features + FID of 10 000 images at 28 px and 32 px, and the float64
 * matrix step against ml-matrix (the maintained library it replaces) measured in the same run.
 *
 * Rows:
 * - domain extractor on 10 000 MNIST test images at 28×28 and zero-padded to 32×32 (cropped back),
 *   float64 statistics, FID against the train-split statistics (d = 128);
 * - FID Inception-v3 (random weights: the cost does not depend on them) on 32×32 RGB, measured on
 *   a batch and scaled to 10 000 images, plus 2048-d statistics and the 2048-d FID;
 * - tr √(Σ₁Σ₂): ours vs ml-matrix (Cholesky + products + symmetric EVD) at d = 256 and 512.
 * EPG_BENCH_QUICK=1 shortens everything (fewer images; extrapolated rows say so).
 */
import { measure, printTable, processCpuMs, quick, withRatios, type Row } from '@epg/bench';
import * as tf from '@tensorflow/tfjs-core';
import { Matrix, CholeskyDecomposition, EigenvalueDecomposition } from 'ml-matrix';
import { initBackend, orThrow, RandomStream } from '@epg/tensor';
import { loadMnist } from '@epg/data';
import { createDomainExtractor, decodeDomainWeights } from '../src/domain-extractor';
import { initDomainClassifier } from '../src/domain-classifier';
import { computeStatistics, type PixelSource } from '../src/features';
import { frechetDistance } from '../src/frechet';
import { featureStatistics, StatisticsAccumulator } from '../src/stats';
import { traceSqrtProduct } from '../src/linalg';
import { createInceptionExtractor, randomInceptionWeights } from '../src/inception';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DOMAIN_WEIGHTS_DIR, domainWeightsFileName } from '../src/domain-extractor';

function syntheticCov(d: number, rows: number, seed: number): Float64Array {
  const rs = RandomStream.fromSeed(seed);
  const x = new Float64Array(rows * d);
  rs.fillNormal(x);
  return featureStatistics(x, d, 'bench').sigma;
}

function mlMatrixTraceSqrt(a: Float64Array, b: Float64Array, n: number): number {
  const toM = (s: Float64Array) => new Matrix(Array.from({ length: n }, (_, i) => Array.from(s.subarray(i * n, (i + 1) * n))));
  const l = new CholeskyDecomposition(toM(a)).lowerTriangularMatrix;
  const m = l.transpose().mmul(toM(b)).mmul(l);
  return new EigenvalueDecomposition(m, { assumeSymmetric: true }).realEigenvalues.reduce((s, v) => s + Math.sqrt(Math.max(v, 0)), 0);
}

async function main(): Promise<void> {
  // EPG_BACKEND, or automatic: cpu with native kernels first (when built), else wasm
  const report = await initBackend({ log: null });
  console.log(`backend: ${tf.getBackend()} (${report.reason ?? ''})`);
  const n = quick() ? 1000 : 10000;
  const test = orThrow(loadMnist('test'));
  const src28: PixelSource = { ...test, count: n, images: test.images.subarray(0, n * 784) };
  const padded = new Uint8Array(n * 1024);
  for (let i = 0; i < n; i++) for (let y = 0; y < 28; y++) for (let x = 0; x < 28; x++) padded[i * 1024 + (y + 2) * 32 + x + 2] = src28.images[i * 784 + y * 28 + x];
  const src32: PixelSource = { images: padded, count: n, height: 32, width: 32, channels: 1 };

  // the shipped trained weights when present (same cost either way)
  const cached = join(DOMAIN_WEIGHTS_DIR, domainWeightsFileName('mnist'));
  const store = existsSync(cached) ? decodeDomainWeights(readFileSync(cached), cached).store : initDomainClassifier(RandomStream.fromSeed(0)).eval();
  const domain = createDomainExtractor(store, 'mnist', 'bench');
  const train = orThrow(loadMnist('train'));
  const ref = computeStatistics(domain, { ...train, count: 10000, images: train.images.subarray(0, 10000 * 784) });

  const rows: Row[] = [];
  const once = { warmup: 0, minIterations: 1, minTimeMs: 0 };
  for (const [label, src] of [['28 px', src28], ['32 px (padded, cropped)', src32]] as const) {
    let fid = 0;
    const c0 = processCpuMs();
    const t = await measure(() => {
      fid = frechetDistance(computeStatistics(domain, src), ref);
    }, once);
    const cpu = (processCpuMs() - c0) / 1000;
    rows.push({ task: `domain features + stats + FID, ${label}`, images: n, seconds: t.medianMs / 1000, 'per 10k images (s)': (t.medianMs / 1000) * (10000 / n), note: `FID ${fid.toFixed(2)}; ${cpu.toFixed(1)} CPU-s; target ≤ 10 s per 10k` });
  }

  // Inception at 32 px: time a batch, scale to 10 000 images
  const net = createInceptionExtractor(randomInceptionWeights(RandomStream.fromSeed(1)));
  const batch = quick() ? 2 : 8;
  const rgb = tf.tidy(() => tf.mul(tf.randomUniform([batch, 32, 32, 3], 0, 1, 'float32', 5), 255) as tf.Tensor4D);
  const ti = await measure(() => tf.tidy(() => net.extract(rgb).dataSync()), { warmup: 1, minIterations: 2, minTimeMs: 0 });
  rgb.dispose();
  net.dispose();
  rows.push({ task: 'Inception-v3 pool3 features, 32 px RGB (299² inside)', images: batch, seconds: ti.medianMs / 1000, 'per 10k images (s)': (ti.medianMs / 1000) * (10000 / batch), note: 'extrapolated from one batch' });

  // 2048-d statistics of 10 000 feature vectors and the 2048-d FID
  const d = 2048;
  const feats = new Float32Array(500 * d);
  RandomStream.fromSeed(3).fillNormal(feats);
  const statRows = quick() ? 500 : 10000;
  const ts = await measure(() => {
    const acc = new StatisticsAccumulator(d, 'bench');
    for (let r = 0; r < statRows; r += 500) acc.add(feats);
    return acc.finish();
  }, once);
  rows.push({ task: 'float64 statistics, 2048-d', images: statRows, seconds: ts.medianMs / 1000, 'per 10k images (s)': (ts.medianMs / 1000) * (10000 / statRows), note: '' });
  if (!quick()) {
    const s1 = syntheticCov(d, 2500, 1);
    const s2 = syntheticCov(d, 2600, 2);
    const mu = new Float64Array(d);
    const tf2 = await measure(() => frechetDistance({ mu, sigma: s1 }, { mu, sigma: s2 }), once);
    rows.push({ task: 'Fréchet distance, 2048-d, full rank', images: '-', seconds: tf2.medianMs / 1000, 'per 10k images (s)': '-', note: '' });
  }
  printTable(`features + FID (${tf.getBackend()} backend, ${n} images)`, rows);

  const linalg: Row[] = [];
  for (const dim of quick() ? [128] : [256, 512]) {
    const a = syntheticCov(dim, 2 * dim, 4);
    const b = syntheticCov(dim, 2 * dim, 5);
    const ours = await measure(() => traceSqrtProduct(a, b, dim), { minIterations: 2 });
    const lib = await measure(() => mlMatrixTraceSqrt(a, b, dim), { minIterations: 2 });
    const diff = Math.abs(traceSqrtProduct(a, b, dim) / mlMatrixTraceSqrt(a, b, dim) - 1);
    linalg.push({ d: dim, impl: 'ml-matrix 6.15.1', ms: lib.medianMs, 'rel. diff': diff });
    linalg.push({ d: dim, impl: 'ours (pivoted Cholesky + eigenvalues only)', ms: ours.medianMs, 'rel. diff': diff });
  }
  printTable('tr √(Σ₁Σ₂) in float64', withRatios(linalg, { value: 'ms', groupKey: 'd', baselineKey: 'impl', baseline: 'ml-matrix 6.15.1', higherIsBetter: false }));
  store.dispose();
}

main().catch((e) => {
  console.error(e instanceof Error ? e.stack : e);
  process.exit(1);
});
