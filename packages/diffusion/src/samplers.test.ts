import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { karrasSigmas, noiseSpace, samplingSigmas, shiftedGrid } from '@epg/schedules';
import { expectNoLeak } from '@epg/tensor/testing';
import type { Denoiser, Sampler } from '@epg/contracts';
import {
  PerSampleNoise,
  latentsFromSeeds,
  sampleEdmStochastic,
  sampleEuler,
  sampleHeun,
} from './index';

/** A host σ grid. */
const grid = (...v: number[]) => Float64Array.from(v);

/** numpy Heun/Euler factors for the Gaussian ODE, from scripts/make_fixtures.py. */
const fx = JSON.parse(readFileSync(join(__dirname, '__fixtures__', 'samplers.json'), 'utf8')) as {
  cases: { sampler: string; n: number; shift: number; factor: number; exact: number }[];
};
function fixtureCase(sampler: string, n: number, shift: number) {
  const c = fx.cases.find((x) => x.sampler === sampler && x.n === n && x.shift === shift);
  if (!c) throw new Error(`no fixture for ${sampler} n=${n} shift=${shift}: rerun scripts/make_fixtures.py`);
  return c;
}

const range = (n: number, from = 0) => Array.from({ length: n }, (_, i) => i + from);

/** Exact posterior mean for data N(μ, s²) per pixel: E[x0 | x] = μ + s²/(s² + σ²)·(x − μ). */
function gaussianOracle(mu: number, s: number): Denoiser {
  return (x, sigma) =>
    tf.tidy(() => {
      const sig = Array.from(sigma);
      const k = sig.map((v) => (s * s) / (s * s + v * v));
      if (k.some((v) => v !== k[0])) throw new Error('test oracle expects one σ per batch');
      return tf.add(tf.mul(tf.sub(x, mu), k[0]), mu) as tf.Tensor4D;
    });
}

/** Exact probability-flow ODE solution for that Gaussian from σ_a to σ_b: μ + (x − μ)·√((s²+σ_b²)/(s²+σ_a²)). */
const gaussianFlow = (x: number, mu: number, s: number, sa: number, sb: number) => mu + (x - mu) * Math.sqrt((s * s + sb * sb) / (s * s + sa * sa));

function moments(v: ArrayLike<number>) {
  let m = 0;
  for (const a of Array.from(v)) m += a;
  m /= v.length;
  let q = 0;
  for (const a of Array.from(v)) q += (a - m) ** 2;
  return { mean: m, std: Math.sqrt(q / v.length) };
}

describe('oracle: exact denoiser of a Gaussian N(0.2, 0.3²), EPG grid at 256 px (320 → 0.008)', () => {
  const mu = 0.2;
  const s = 0.3;
  const sigmas = shiftedGrid(noiseSpace(256), 32);
  const seeds = range(64);
  const shape: [number, number, number] = [8, 8, 1]; // 64 images × 64 pixels = 4096 values

  it('Heun 32 steps equals numpy Heun on this ODE per sample, and is within 3% of the exact flow', async () => {
    const latents = latentsFromSeeds(seeds, shape);
    const eps = Float64Array.from(latents.dataSync());
    const { got, nfe } = await expectNoLeak(() => {
      const r = sampleHeun(gaussianOracle(mu, s), latents, sigmas, { clampX0: null });
      const data = Float64Array.from(r.x.dataSync());
      r.x.dispose();
      return { got: data, nfe: r.nfe };
    });
    latents.dispose();
    expect(nfe).toBe(62);
    const ref = fixtureCase('heun', 32, 4);
    // Each final value is μ + g·(x_T − μ), g from scripts/make_fixtures.py (float64); float32 images.
    let maxErr = 0;
    eps.forEach((e, i) => (maxErr = Math.max(maxErr, Math.abs(got[i] - (mu + ref.factor * (sigmas[0] * e - mu))))));
    expect(maxErr).toBeLessThan(2e-5);
    // The sampler itself is off the exact flow by g/g_exact − 1 = +2.76% (Heun's error on this grid).
    expect(ref.factor / ref.exact - 1).toBeCloseTo(0.0276, 3);
    const exact = Array.from(eps, (e) => gaussianFlow(sigmas[0] * e, mu, s, sigmas[0], sigmas[31]));
    const mg = moments(got);
    const me = moments(exact);
    if (process.env.EPG_PRINT) {
      console.log(`gaussian heun-32: max |x − numpy| ${maxErr}; mean ${mg.mean} (flow ${me.mean}); std ${mg.std} (flow ${me.std}, ratio ${mg.std / me.std})`);
    }
    expect(Math.abs(mg.mean - me.mean)).toBeLessThan(1e-3);
    expect(Math.abs(mg.std / me.std - 1)).toBeLessThan(0.03);
    // Against the distribution itself (4096 draws): 4 standard errors + the sampler's 3%.
    expect(Math.abs(mg.mean - mu)).toBeLessThan((4 * s) / 64);
    expect(Math.abs(mg.std / s - 1)).toBeLessThan(4 * Math.sqrt(1 / (2 * 4096)) + 0.03);
  });

  it('Heun is second order, Euler first order: doubling the steps shrinks the error ≈4× and ≈2× (= numpy)', () => {
    const latents = latentsFromSeeds(seeds.slice(0, 4), shape);
    const eps = Float64Array.from(latents.dataSync());
    const factor = (sampler: typeof sampleHeun, n: number) => {
      const g = samplingSigmas(n, { shift: 4 });
      const { x } = sampler(gaussianOracle(mu, s), latents, g, { clampX0: null });
      const got = x.dataSync();
      x.dispose();
      // Recover g from the largest-|ε| pixel: (x − μ)/(x_T − μ).
      let i = 0;
      eps.forEach((e, k) => (i = Math.abs(e) > Math.abs(eps[i]) ? k : i));
      return (got[i] - mu) / (g[0] * eps[i] - mu);
    };
    for (const [sampler, name, n] of [[sampleHeun, 'heun', 33], [sampleHeun, 'heun', 65], [sampleEuler, 'euler', 65], [sampleEuler, 'euler', 129]] as const) {
      const ref = fixtureCase(name, n, 4);
      expect(Math.abs(factor(sampler, n) / ref.factor - 1)).toBeLessThan(1e-4);
    }
    latents.dispose();
    const err = (name: string, n: number) => Math.abs(fixtureCase(name, n, 4).factor / fixtureCase(name, n, 4).exact - 1);
    expect(err('heun', 33) / err('heun', 65)).toBeGreaterThan(3.5);
    expect(err('euler', 65) / err('euler', 129)).toBeGreaterThan(1.8);
  });

  it('EDM stochastic sampler (S_churn 40, S_tmin 0.05, S_tmax 50) keeps the marginal at 128 steps', () => {
    // 16384 values; churn's discretisation error shrinks with steps (measured std excess: 8% at 32
    // steps, 4% at 64, < 2% at 128), so the tolerance is 4 standard errors + 2%.
    const latents = latentsFromSeeds(seeds, [16, 16, 1]);
    const noise = PerSampleNoise.fromSeeds(seeds, 'churn');
    const { x, nfe } = sampleEdmStochastic(gaussianOracle(mu, s), latents, samplingSigmas(128, { shift: 4 }), {
      clampX0: null, sChurn: 40, sTmin: 0.05, sTmax: 50, sNoise: 1, noise,
    });
    const m = moments(x.dataSync());
    tf.dispose([x, latents]);
    if (process.env.EPG_PRINT) console.log(`gaussian edm-sde-128: mean ${m.mean}, std ${m.std} (target 0.2, 0.3)`);
    expect(nfe).toBe(254);
    expect(Math.abs(m.mean - mu)).toBeLessThan((4 * s) / 128);
    expect(Math.abs(m.std / s - 1)).toBeLessThan(4 * Math.sqrt(1 / (2 * 16384)) + 0.02);
  });
});

describe('oracle: exact denoiser of three 2-D points (posterior mean in closed form)', () => {
  const points = [[-0.6, -0.4], [0.7, 0.1], [0.0, 0.8]];
  const probs = [0.5, 0.3, 0.2];
  let A: tf.Tensor2D;
  beforeAll(() => (A = tf.tensor2d(points.flat(), [3, 2])));
  afterAll(() => A.dispose());
  /** E[x0 | x] = Σ_k softmax_k(ln π_k − |x − a_k|²/(2σ²))·a_k. */
  const mixtureOracle: Denoiser = (x, sigma) =>
    tf.tidy(() => {
      const b = x.shape[0];
      const sig = sigma[0];
      const flat = tf.reshape(x, [b, 1, 2]);
      const d2 = tf.sum(tf.square(tf.sub(flat, tf.reshape(A, [1, 3, 2]))), 2); // [B, 3]
      const logits = tf.add(tf.mul(d2, -1 / (2 * sig * sig)), tf.log(tf.tensor1d(probs)));
      return tf.reshape(tf.matMul(tf.softmax(logits), A), x.shape) as tf.Tensor4D;
    });

  it('Heun 32 (80 → 0.002) lands on the points with their weights; mean and covariance within tolerance', () => {
    const n = 2000;
    const latents = latentsFromSeeds(range(n, 1000), [1, 1, 2]);
    const { x, nfe } = sampleHeun(mixtureOracle, latents, karrasSigmas(32));
    const v = x.dataSync();
    tf.dispose([x, latents]);
    expect(nfe).toBe(62);
    const counts = [0, 0, 0];
    let far = 0;
    let mx = 0, my = 0, sxx = 0, syy = 0, sxy = 0;
    for (let i = 0; i < n; i++) {
      const px = v[2 * i], py = v[2 * i + 1];
      const d = points.map(([ax, ay]) => Math.hypot(px - ax, py - ay));
      const k = d.indexOf(Math.min(...d));
      counts[k]++;
      if (d[k] > 0.01) far++;
      mx += px; my += py; sxx += px * px; syy += py * py; sxy += px * py;
    }
    if (process.env.EPG_PRINT) {
      console.log(`mixture heun-32: fractions ${counts.map((c) => c / n)}; far ${far}; mean (${mx / n}, ${my / n}); cov (${sxx / n - (mx / n) ** 2}, ${syy / n - (my / n) ** 2}, ${sxy / n - (mx / n) * (my / n)})`);
    }
    expect(far).toBe(0);
    // Weights: 4 binomial standard errors (≤ 0.045 at n = 2000).
    counts.forEach((c, k) => expect(Math.abs(c / n - probs[k])).toBeLessThan(4 * Math.sqrt((probs[k] * (1 - probs[k])) / n)));
    const meanX = probs.reduce((a, p, k) => a + p * points[k][0], 0);
    const meanY = probs.reduce((a, p, k) => a + p * points[k][1], 0);
    const exx = probs.reduce((a, p, k) => a + p * points[k][0] ** 2, 0) - meanX ** 2;
    const eyy = probs.reduce((a, p, k) => a + p * points[k][1] ** 2, 0) - meanY ** 2;
    const exy = probs.reduce((a, p, k) => a + p * points[k][0] * points[k][1], 0) - meanX * meanY;
    mx /= n; my /= n;
    expect(Math.abs(mx - meanX)).toBeLessThan(0.04);
    expect(Math.abs(my - meanY)).toBeLessThan(0.04);
    expect(Math.abs(sxx / n - mx * mx - exx)).toBeLessThan(0.03);
    expect(Math.abs(syy / n - my * my - eyy)).toBeLessThan(0.03);
    expect(Math.abs(sxy / n - mx * my - exy)).toBeLessThan(0.03);
  });
});

describe('sampler mechanics', () => {
  it('all three samplers share the Sampler signature', () => {
    const all: Sampler[] = [sampleEuler, sampleHeun, sampleEdmStochastic];
    expect(all).toHaveLength(3);
  });
  const identity: Denoiser = (x) => tf.clone(x);
  it('clamps x̂₀ to [−1, 1] by default and not when clampX0 is null', () => {
    // D = 5 everywhere: one Euler step from σ to σ' gives x' = x + (σ' − σ)(x − D)/σ.
    const five: Denoiser = (x) => tf.fill(x.shape, 5) as tf.Tensor4D;
    const latents = tf.zeros([1, 1, 1, 1]) as tf.Tensor4D;
    const a = sampleEuler(five, latents, grid(2, 1));
    const b = sampleEuler(five, latents, grid(2, 1), { clampX0: null });
    expect(a.x.dataSync()[0]).toBeCloseTo(0.5, 6); // 0 + (1 − 2)(0 − 1)/2
    expect(b.x.dataSync()[0]).toBeCloseTo(2.5, 6);
    tf.dispose([a.x, b.x, latents]);
  });
  it('a trailing σ = 0 makes the last step Euler (x = D) and counts 2n − 1', () => {
    const latents = latentsFromSeeds([1], [2, 2, 1]);
    const r = sampleHeun(gaussianOracle(0, 0.5), latents, grid(4, 1, 0), { clampX0: null });
    expect(r.nfe).toBe(3);
    tf.dispose([r.x, latents]);
    const z = tf.zeros([1, 1, 1, 1]) as tf.Tensor4D;
    const e = sampleEuler(identity, z, grid(3, 2, 1));
    expect(e.nfe).toBe(2);
    tf.dispose([e.x, z]);
  });
  it('rejects bad grids, bad latents and churn without noise streams', () => {
    const z = tf.zeros([1, 1, 1, 1]) as tf.Tensor4D;
    expect(() => sampleHeun(identity, z, grid(1, 2))).toThrow(/must decrease/);
    expect(() => sampleHeun(identity, z, grid(2, 0, 0))).toThrow(/0 allowed last/);
    tf.tidy(() => expect(() => sampleHeun(identity, tf.zeros([1, 2]) as unknown as tf.Tensor4D, grid(2, 1))).toThrow(/latents passed to sampleHeun/));
    expect(() => sampleEdmStochastic(identity, z, grid(2, 1), { sChurn: 1 })).toThrow(/needs options.noise/);
    z.dispose();
  });
  it('leaks nothing over a long stochastic run and reports each step', async () => {
    const steps: number[] = [];
    await expectNoLeak(() => {
      const latents = latentsFromSeeds([5, 6], [4, 4, 1]);
      const r = sampleEdmStochastic(gaussianOracle(0, 0.5), latents, samplingSigmas(40, { shift: 1 }), {
        sChurn: 10, noise: PerSampleNoise.fromSeeds([5, 6], 'churn'), onStep: ({ step }) => steps.push(step),
      });
      tf.dispose([r.x, latents]);
    });
    expect(steps).toEqual(range(39));
  });
});
