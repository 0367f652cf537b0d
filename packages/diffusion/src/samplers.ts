/**
 * Samplers with one signature, the `Sampler` of @epg/contracts: (denoiser, latents, sigmas, options) →
 * { x, nfe } (docs/method.md, "Sampling"). `latents` are unit normal; x_T = σ_0·latents. `sigmas` is a
 * descending host grid of shifted σ (float64; shiftedGrid(space, n) of @epg/schedules, with no 0
 * appended unless the caller appends one). The step arithmetic runs in float64 on the host; tensors
 * carry only the images, and the denoiser gets host σ (no read-back). The returned x is at the last σ,
 * un-normalised.
 */
import * as tf from '@tensorflow/tfjs-core';
import { epgError } from '@epg/tensor';
import { fillSigmas, type Denoiser, type SampleResult, type Sampler, type SamplerOptions, type Sigmas } from '@epg/contracts';
import type { PerSampleNoise } from './noise';

export interface ChurnOptions {
  /** S_churn (default 0: deterministic). EPG's config: 40. */
  readonly sChurn?: number;
  /** S_tmin (default 0). EPG's config: 0.05. Compared with the σ the sampler sees (shifted). */
  readonly sTmin?: number;
  /** S_tmax (default ∞). EPG's config: 50. */
  readonly sTmax?: number;
  /** S_noise (default 1). EPG's config: 1.003. */
  readonly sNoise?: number;
  /** Per-sample streams for the churn noise (required when S_churn > 0): PerSampleNoise.fromSeeds(seeds, 'churn'). */
  readonly noise?: PerSampleNoise;
}

/** Euler steps on the probability-flow ODE [EDM Alg. 1 without correction; k-diffusion `sample_euler`]. NFE = n − 1. */
export const sampleEuler: Sampler = (denoiser, latents, sigmas, options = {}) =>
  run('sampleEuler', denoiser, latents, sigmas, options, {}, false);

/**
 * EDM's deterministic Heun sampler [EDM Alg. 1 / Alg. 2 with S_churn = 0]: Euler predictor, then the
 * trapezoidal corrector at σ_{j+1} unless σ_{j+1} = 0. EPG's 32-step grid (no 0) gives NFE 62.
 */
export const sampleHeun: Sampler = (denoiser, latents, sigmas, options = {}) =>
  run('sampleHeun', denoiser, latents, sigmas, options, {}, true);

/**
 * EDM's stochastic sampler [EDM Alg. 2; EPG `edm_sde`]: at each step with S_tmin ≤ σ_j ≤ S_tmax, raise σ
 * to σ̂ = σ_j(1 + γ), γ = min(S_churn/(n − 1), √2 − 1) (n − 1 steps, as k-diffusion), add fresh noise of
 * std √(σ̂² − σ_j²)·S_noise, then take a Heun step σ̂ → σ_{j+1}. Defaults: 0, 0, ∞, 1 (= sampleHeun).
 */
export function sampleEdmStochastic(
  denoiser: Denoiser,
  latents: tf.Tensor4D,
  sigmas: Sigmas,
  options: SamplerOptions & ChurnOptions = {},
): SampleResult {
  return run('sampleEdmStochastic', denoiser, latents, sigmas, options, options, true);
}

function run(
  fn: string,
  denoiser: Denoiser,
  latents: tf.Tensor4D,
  sigmas: Sigmas,
  options: SamplerOptions,
  churn: ChurnOptions,
  heun: boolean,
): SampleResult {
  checkGrid(sigmas, fn);
  if (latents.rank !== 4) throw epgError('shape', `latents passed to ${fn} must be NHWC [B, H, W, C], got shape [${latents.shape}]`, 'pass latentsFromSeeds(seeds, [H, W, C])');
  const batch = latents.shape[0];
  const imageShape = latents.shape.slice(1) as [number, number, number];
  const clamp = options.clampX0 === undefined ? ([-1, 1] as const) : options.clampX0;
  const sChurn = churn.sChurn ?? 0;
  const sTmin = churn.sTmin ?? 0;
  const sTmax = churn.sTmax ?? Infinity;
  const sNoise = churn.sNoise ?? 1;
  if (sChurn > 0 && !churn.noise) throw epgError('config', `${fn} with sChurn > 0 needs options.noise`, "pass noise: PerSampleNoise.fromSeeds(seeds, 'churn')");
  if (churn.noise && churn.noise.batchSize !== batch) {
    throw epgError('shape', `${fn}: options.noise has ${churn.noise.batchSize} streams for a batch of ${batch}`, 'make the churn noise from the same seeds as the latents');
  }
  const steps = sigmas.length - 1;
  let nfe = 0;

  /** x̂₀ = clamp(D(x, σ)); counts the call. */
  const denoise = (x: tf.Tensor4D, sigma: number): tf.Tensor4D => {
    const d = denoiser(x, fillSigmas(batch, sigma), options.cond);
    nfe += 1;
    return clamp ? tf.clipByValue(d, clamp[0], clamp[1]) : d;
  };

  let x = tf.tidy(() => tf.mul(latents, sigmas[0]) as tf.Tensor4D);
  for (let j = 0; j < steps; j++) {
    const next = tf.tidy(() => {
      let sigma = sigmas[j];
      const sigmaNext = sigmas[j + 1];
      let xCur: tf.Tensor4D = x;
      const gamma = sChurn > 0 && sigma >= sTmin && sigma <= sTmax ? Math.min(sChurn / steps, Math.SQRT2 - 1) : 0;
      if (gamma > 0) {
        const sigmaHat = sigma * (1 + gamma);
        const eps = churn.noise!.next(imageShape);
        xCur = tf.add(xCur, tf.mul(eps, Math.sqrt(sigmaHat * sigmaHat - sigma * sigma) * sNoise));
        sigma = sigmaHat;
      }
      const h = sigmaNext - sigma;
      // Euler: x' = x + h·(x − D)/σ = (1 + h/σ)·x − (h/σ)·D.
      const d0 = denoise(xCur, sigma);
      const xEuler = tf.sub(tf.mul(xCur, 1 + h / sigma), tf.mul(d0, h / sigma)) as tf.Tensor4D;
      if (!heun || sigmaNext === 0) return xEuler;
      // Heun: x' = x + h/2·((x − D₀)/σ + (x_E − D₁)/σ').
      const d1 = denoise(xEuler, sigmaNext);
      const a = h / (2 * sigma);
      const b = h / (2 * sigmaNext);
      return tf.addN([tf.mul(xCur, 1 + a), tf.mul(d0, -a), tf.mul(tf.sub(xEuler, d1), b)]) as tf.Tensor4D;
    });
    x.dispose();
    x = next;
    options.onStep?.({ step: j, sigma: sigmas[j + 1], x });
  }
  return { x, nfe };
}

function checkGrid(sigmas: Sigmas, fn: string): void {
  if (sigmas.length < 1) throw epgError('config', `sigmas passed to ${fn} must hold at least σ_max`, 'pass shiftedGrid(space, n)');
  for (let i = 0; i < sigmas.length; i++) {
    const s = sigmas[i];
    const last = i === sigmas.length - 1;
    if (!(Number.isFinite(s) && (s > 0 || (last && s === 0)))) {
      throw epgError('config', `sigmas passed to ${fn} must be finite and > 0 (0 allowed last), got ${s} at index ${i}`, 'pass shiftedGrid(space, n)');
    }
    if (i > 0 && !(s < sigmas[i - 1])) throw epgError('config', `sigmas passed to ${fn} must decrease, got ${sigmas[i - 1]} then ${s} at index ${i}`, 'pass a descending grid such as shiftedGrid(space, n)');
  }
}
