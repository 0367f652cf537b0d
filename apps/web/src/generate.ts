/**
 * Consistency sampling of an exported model with @epg/consistency's samplers (docs/consistency.md,
 * "Sampling"): image i of a grid uses seed `seed + i` alone (its latents from stream 'latent', its
 * multistep re-noising from stream 'cm', both per-sample, @epg/diffusion PerSampleNoise), so a
 * grid of any size on any backend holds the same images up to float rounding.
 */
import * as tf from '@tensorflow/tfjs-core';
import { sampleConsistencyMultistep, sampleConsistencyOneStep } from '@epg/consistency';
import { PerSampleNoise, latentsFromSeeds } from '@epg/diffusion';
import { shiftedGrid, type NoiseSpace } from '@epg/schedules';
import { epgError } from '@epg/tensor';
import type { LoadedModel } from './model';

export interface GenerateOptions {
  /** Seed of the first image; image i uses seed + i. */
  readonly seed: number;
  /** Images in the grid. */
  readonly count: number;
  /** Sampling steps: 1 = one-step (EPG's reported setting), more = multistep consistency sampling. */
  readonly steps: number;
  /** Class id for every image of a class-conditional model (manifest.numClasses > 0); null = unconditional. */
  readonly classId: number | null;
}

export interface Generated {
  /** uint8 pixels [count, H, W, C] in [0, 255]: round((x + 1)·127.5), clipped (as @epg/metrics quantizeUnitRange). */
  readonly pixels: Uint8Array;
  readonly shape: readonly [number, number, number, number];
  /** Wall time of the sampling and the read-back, ms. */
  readonly ms: number;
}

/**
 * The sampling grid for `steps` steps: σ_max' alone for one step; for n > 1 the first n points of the
 * shifted (n + 1)-point Karras grid, which ends at σ_min' (the multistep sampler needs every point
 * above σ_min').
 */
export function samplingGrid(space: NoiseSpace, steps: number): Float64Array {
  if (!Number.isSafeInteger(steps) || steps < 1) throw epgError('config', `steps must be a positive integer, got ${steps}`, 'use 1 (one step) or more');
  return steps === 1 ? shiftedGrid(space, 1) : shiftedGrid(space, steps + 1).slice(0, steps);
}

/** Generates a grid. All tensors it makes are disposed before it resolves. */
export async function generate(model: LoadedModel, o: GenerateOptions): Promise<Generated> {
  const { imageSize: H, channels: C, numClasses } = model.manifest;
  if (!Number.isSafeInteger(o.count) || o.count < 1) throw epgError('config', `count must be a positive integer, got ${o.count}`);
  if (!Number.isSafeInteger(o.seed) || o.seed < 0) throw epgError('config', `seed must be a non-negative integer, got ${o.seed}`);
  if (o.classId !== null && !(numClasses > 0 && Number.isSafeInteger(o.classId) && o.classId >= 0 && o.classId < numClasses)) {
    throw epgError('config', numClasses > 0 ? `class must be in 0..${numClasses - 1}, got ${o.classId}` : 'this model is unconditional', 'choose a class from the list, or none');
  }
  const seeds = Array.from({ length: o.count }, (_, i) => o.seed + i);
  const sigmas = samplingGrid(model.space, o.steps);
  const t0 = performance.now();
  const quantized = tf.tidy(() => {
    const latents = latentsFromSeeds(seeds, [H, H, C]); // [B, H, W, C]
    const labels = o.classId === null ? undefined : tf.fill([o.count], o.classId, 'int32') as tf.Tensor1D; // [B]
    const options = { ...(labels ? { cond: { labels } } : {}), sigmaMin: model.space.sigmaMin, noise: PerSampleNoise.fromSeeds(seeds, 'cm') };
    const sampler = o.steps === 1 ? sampleConsistencyOneStep : sampleConsistencyMultistep;
    const x = sampler(model.denoiser, latents, sigmas, options).x; // [B, H, W, C] in [-1, 1]
    return tf.cast(tf.clipByValue(tf.round(tf.mul(tf.add(x, 1), 127.5)), 0, 255), 'int32');
  });
  const values = await quantized.data();
  quantized.dispose();
  const ms = performance.now() - t0;
  return { pixels: Uint8Array.from(values), shape: [o.count, H, H, C], ms };
}
