import * as tf from '@tensorflow/tfjs-core';
import type { Denoiser } from '@epg/contracts';
import { noiseSpace, shiftedGrid } from '@epg/schedules';
import { RandomStream, normalTensor } from '@epg/tensor';
import { sampleConsistencyMultistep, sampleConsistencyOneStep, type NoiseSource } from './index';

const space = noiseSpace(16); // shift 0.25: σ_max' = 20, σ_min' = 0.0005

/** A denoiser that records its calls: f(x, σ) = x·0.5/(1 + σ) + 0.9 (so the clamp matters). */
function recording() {
  const calls: { sigma: number[]; x: Float32Array }[] = [];
  const f: Denoiser = (x, sigma) => {
    calls.push({ sigma: Array.from(sigma), x: Float32Array.from(x.dataSync()) });
    return tf.tidy(() => tf.add(tf.mul(x, 0.5 / (1 + sigma[0])), 0.9) as tf.Tensor4D);
  };
  return { f, calls };
}

/** Per-sample noise: row i from stream i only (the PerSampleNoise contract). */
function perSample(seeds: number[]): NoiseSource {
  const streams = seeds.map((s) => RandomStream.derive(s, 0, 'cm'));
  return {
    batchSize: seeds.length,
    next: (shape) => {
      const per = shape[0] * shape[1] * shape[2];
      const data = new Float32Array(per * seeds.length);
      streams.forEach((rs, i) => rs.fillNormal(data.subarray(i * per, (i + 1) * per)));
      return tf.tensor4d(data, [seeds.length, ...shape]);
    },
  };
}

const clamp = (v: number) => Math.min(1, Math.max(-1, v));

describe('sampleConsistencyOneStep', () => {
  it('x = clamp(f(σ_max′·z, σ_max′)) with one NFE', () => {
    const { f, calls } = recording();
    const z = normalTensor(RandomStream.fromSeed(1), [2, 4, 4, 1]) as tf.Tensor4D;
    const grid = shiftedGrid(space, 1);
    expect(Array.from(grid)).toEqual([20]);
    const { x, nfe } = sampleConsistencyOneStep(f, z, grid);
    expect(nfe).toBe(1);
    expect(calls[0].sigma).toEqual([20, 20]);
    const zd = z.dataSync();
    Array.from(x.dataSync()).forEach((v, i) => expect(v).toBeCloseTo(clamp(20 * zd[i] * (0.5 / 21) + 0.9), 5));
    expect(Math.max(...x.dataSync())).toBe(1); // the clamp engaged
    tf.dispose([x, z]);
  });

  it('refuses a longer grid', () => {
    const z = tf.zeros([1, 2, 2, 1]) as tf.Tensor4D;
    expect(() => sampleConsistencyOneStep(recording().f, z, shiftedGrid(space, 3))).toThrow(/one point/);
    z.dispose();
  });
});

describe('sampleConsistencyMultistep', () => {
  it('re-noises to each τ_m with √(τ_m² − σ_min′²)·z and counts one NFE per grid point', () => {
    const { f, calls } = recording();
    const z = normalTensor(RandomStream.fromSeed(2), [2, 4, 4, 1]) as tf.Tensor4D;
    const grid = Float64Array.from([20, 2, 0.5]);
    const steps: number[] = [];
    const { x, nfe } = sampleConsistencyMultistep(f, z, grid, {
      sigmaMin: space.sigmaMin,
      noise: perSample([5, 6]),
      onStep: ({ step, sigma }) => steps.push(step, sigma),
    });
    expect(nfe).toBe(3);
    expect(steps).toEqual([0, 20, 1, 2, 2, 0.5]);
    // Recompute on the host with the same per-sample noise.
    const noise = perSample([5, 6]);
    let host = Array.from(z.dataSync(), (v) => clamp(20 * v * (0.5 / 21) + 0.9));
    for (const tau of [2, 0.5]) {
      const e = noise.next([4, 4, 1]);
      const ed = e.dataSync();
      const xin = host.map((v, i) => v + Math.sqrt(tau * tau - space.sigmaMin ** 2) * ed[i]);
      Array.from(calls[tau === 2 ? 1 : 2].x).forEach((v, i) => expect(v).toBeCloseTo(xin[i], 4));
      host = xin.map((v) => clamp(v * (0.5 / (1 + tau)) + 0.9));
      e.dispose();
    }
    Array.from(x.dataSync()).forEach((v, i) => expect(v).toBeCloseTo(host[i], 4));
    tf.dispose([x, z]);
  });

  it('gives image i the same result whatever its batch (per-sample noise)', () => {
    const f = recording().f;
    const z = normalTensor(RandomStream.fromSeed(3), [3, 4, 4, 1]) as tf.Tensor4D;
    const grid = Float64Array.from([20, 1]);
    const all = sampleConsistencyMultistep(f, z, grid, { sigmaMin: space.sigmaMin, noise: perSample([7, 8, 9]) });
    const one = tf.slice(z, [1, 0, 0, 0], [1, 4, 4, 1]) as tf.Tensor4D;
    const alone = sampleConsistencyMultistep(f, one, grid, { sigmaMin: space.sigmaMin, noise: perSample([8]) });
    const row = all.x.slice([1, 0, 0, 0], [1, 4, 4, 1]);
    expect(Array.from(row.dataSync())).toEqual(Array.from(alone.x.dataSync()));
    tf.dispose([z, one, row, all.x, alone.x]);
  });

  it('leaks nothing and validates its inputs', () => {
    const f = recording().f;
    const z = tf.zeros([1, 2, 2, 1]) as tf.Tensor4D;
    const before = tf.memory().numTensors;
    const r = sampleConsistencyMultistep(f, z, Float64Array.from([20, 5, 1]), { sigmaMin: 0.0005, noise: RandomStream.fromSeed(1), clampX0: null });
    r.x.dispose();
    expect(tf.memory().numTensors).toBe(before);
    expect(() => sampleConsistencyMultistep(f, z, Float64Array.from([20, 1]), { noise: RandomStream.fromSeed(1) })).toThrow(/needs options.sigmaMin/);
    expect(() => sampleConsistencyMultistep(f, z, Float64Array.from([20, 1]), { sigmaMin: 0.0005 })).toThrow(/needs options.noise/);
    expect(() => sampleConsistencyMultistep(f, z, Float64Array.from([1, 20]), { sigmaMin: 0.0005, noise: RandomStream.fromSeed(1) })).toThrow(/must decrease/);
    expect(() => sampleConsistencyMultistep(f, z, Float64Array.from([20, 0.0001]), { sigmaMin: 0.0005, noise: RandomStream.fromSeed(1) })).toThrow(/above σ_min/);
    expect(() => sampleConsistencyMultistep(f, z, Float64Array.from([20, 1]), { sigmaMin: 0.0005, noise: perSample([1, 2]) })).toThrow(/2 streams for a batch of 1/);
    z.dispose();
  });
});
