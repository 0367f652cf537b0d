/**
 * Consistency sampling through the shared Sampler contract (docs/consistency.md, "Sampling"):
 * x_T = σ₀·latents; x ← clamp(f(x_T, σ₀)); then for each further τ_m of the descending grid
 * x ← clamp(f(x + √(τ_m² − σ_min'²)·z, τ_m)) with fresh z [Song et al. 2023, Alg. 1; iCT]. One
 * denoiser call per grid point: NFE = n. One step (EPG's reported setting) is the grid [σ_max·shift].
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Denoiser, SampleResult, Sampler, SamplerOptions } from '@epg/contracts';
import { RandomStream, normalTensor } from '@epg/tensor';
import { filledSigmas } from './host';

/** A source of unit-normal noise for the multistep re-noising; @epg/diffusion's PerSampleNoise fits. */
export interface NoiseSource {
  readonly batchSize: number;
  next(imageShape: readonly [number, number, number]): tf.Tensor4D;
}

export interface ConsistencySamplerOptions extends SamplerOptions {
  /** σ_min' (shifted) of the boundary parameterisation: required with more than one grid point. */
  readonly sigmaMin?: number;
  /**
   * Noise for the re-noising steps: per-sample streams (PerSampleNoise.fromSeeds(seeds, 'cm')) so image i
   * depends only on seed i, or one RandomStream for the batch. Required with more than one grid point.
   */
  readonly noise?: NoiseSource | RandomStream;
}

/** Multistep consistency sampling over `sigmas` (descending, shifted, all > σ_min'). */
export const sampleConsistencyMultistep: Sampler<ConsistencySamplerOptions> = (denoiser, latents, sigmas, options = {}) =>
  run('sampleConsistencyMultistep', denoiser, latents, sigmas, options);

/** One-step consistency sampling: x = clamp(f(σ₀·latents, σ₀)); `sigmas` must be the single point [σ_max·shift]. */
export const sampleConsistencyOneStep: Sampler<ConsistencySamplerOptions> = (denoiser, latents, sigmas, options = {}) => {
  if (sigmas.length !== 1) {
    throw new RangeError(`sigmas passed to sampleConsistencyOneStep must hold one point (σ_max·shift), got ${sigmas.length}; use sampleConsistencyMultistep for more`);
  }
  return run('sampleConsistencyOneStep', denoiser, latents, sigmas, options);
};

function run(fn: string, denoiser: Denoiser, latents: tf.Tensor4D, sigmas: Float64Array, options: ConsistencySamplerOptions): SampleResult {
  if (latents.rank !== 4) throw new RangeError(`latents passed to ${fn} must be NHWC [B, H, W, C], got shape [${latents.shape}]`);
  if (sigmas.length < 1) throw new RangeError(`sigmas passed to ${fn} must hold at least σ_max`);
  for (let i = 0; i < sigmas.length; i++) {
    if (!(sigmas[i] > 0 && Number.isFinite(sigmas[i]))) throw new RangeError(`sigmas passed to ${fn} must be finite and > 0, got ${sigmas[i]} at index ${i}`);
    if (i > 0 && !(sigmas[i] < sigmas[i - 1])) throw new RangeError(`sigmas passed to ${fn} must decrease, got ${sigmas[i - 1]} then ${sigmas[i]} at index ${i}`);
  }
  const batch = latents.shape[0];
  const imageShape = latents.shape.slice(1) as [number, number, number];
  const clamp = options.clampX0 === undefined ? ([-1, 1] as const) : options.clampX0;
  const sigmaMin = options.sigmaMin;
  if (sigmas.length > 1) {
    if (sigmaMin === undefined || !(sigmaMin > 0)) throw new RangeError(`${fn} with ${sigmas.length} grid points needs options.sigmaMin (σ_min', e.g. noiseSpace(H).sigmaMin)`);
    if (!(sigmas[sigmas.length - 1] > sigmaMin)) {
      throw new RangeError(`sigmas passed to ${fn} must stay above σ_min' ${sigmaMin}, got ${sigmas[sigmas.length - 1]} last`);
    }
    if (!options.noise) throw new RangeError(`${fn} with ${sigmas.length} grid points needs options.noise (PerSampleNoise.fromSeeds(seeds, 'cm') or a RandomStream)`);
    if (!(options.noise instanceof RandomStream) && options.noise.batchSize !== batch) {
      throw new RangeError(`${fn}: options.noise has ${options.noise.batchSize} streams for a batch of ${batch}`);
    }
  }
  const draw = (): tf.Tensor4D => {
    const noise = options.noise!;
    return noise instanceof RandomStream ? (normalTensor(noise, latents.shape) as tf.Tensor4D) : noise.next(imageShape);
  };
  let nfe = 0;
  /** clamp(f(x, σ)); counts the call. */
  const f = (x: tf.Tensor4D, sigma: number): tf.Tensor4D => {
    const out = denoiser(x, filledSigmas(batch, sigma), options.cond);
    nfe += 1;
    return clamp ? tf.clipByValue(out, clamp[0], clamp[1]) : out;
  };
  let x = tf.tidy(() => f(tf.mul(latents, sigmas[0]) as tf.Tensor4D, sigmas[0]));
  options.onStep?.({ step: 0, sigma: sigmas[0], x });
  for (let m = 1; m < sigmas.length; m++) {
    const tau = sigmas[m];
    const next = tf.tidy(() => {
      const z = draw(); // [B, H, W, C]
      const xTau = tf.add(x, tf.mul(z, Math.sqrt(tau * tau - sigmaMin! * sigmaMin!))) as tf.Tensor4D;
      return f(xTau, tau);
    });
    x.dispose();
    x = next;
    options.onStep?.({ step: m, sigma: tau, x });
  }
  return { x, nfe };
}
