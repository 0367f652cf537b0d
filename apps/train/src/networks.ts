/**
 * The joints between the concrete ViT and the method packages' contracts: the σ-level encoder
 * (pre-training, CM auxiliary loss), the CM boundary denoiser and the DM x₀ denoiser, and the DM
 * step and sampler calls. Everything that depends on how @epg/vit and @epg/diffusion take time
 * values lives in this one file.
 *
 * SHIM — until @epg/contracts' `encoderAt`/`precondition` land (issue 10): time values are formed
 * per sample on the host and handed to the ViT as a tensor.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Denoiser, Encoder } from '@epg/contracts';
import { diffusionTrainStep, EPG_DM_CONFIG, sampleHeun, x0Denoiser } from '@epg/diffusion';
import { boundaryScalings, cIn, timeValue, type NoiseSpace } from '@epg/schedules';
import type { AdamW, ParameterStore, RandomStream, StepResult } from '@epg/tensor';
import type { EncoderFn, NetworkFn } from '@epg/vit';

const col = (v: ArrayLike<number>) => tf.tensor4d(Float32Array.from(v), [v.length, 1, 1, 1]);
const times = (sigma: Float64Array, space: NoiseSpace) => tf.tensor1d(Float32Array.from(sigma, (s) => timeValue(s, space.timeEncoding)));

/** The encoder at σ: input c_in(σ)·x, time value per sample. */
export function encoderAt(fn: EncoderFn, space: NoiseSpace): Encoder {
  return (x, sigma, cond) =>
    tf.tidy(() => fn(tf.mul(x, col(Array.from(sigma, (s) => cIn(s, space.sigmaData)))) as tf.Tensor4D, times(sigma, space), cond?.labels));
}

/** CM's boundary-parameterised denoiser f(x, σ) = c_skip·x + c_out·F(c_in·x, τ) with f(x, σ_min') = x. */
export function cmDenoiser(network: NetworkFn, space: NoiseSpace): Denoiser {
  return (x, sigma, cond) =>
    tf.tidy(() => {
      const sc = Array.from(sigma, (s) => boundaryScalings(s, { sigmaData: space.sigmaData, sigmaMin: space.sigmaMin }));
      const F = network(tf.mul(x, col(sc.map((c) => c.cIn))) as tf.Tensor4D, times(sigma, space), cond?.labels); // [B, H, W, C]
      return tf.add(tf.mul(x, col(sc.map((c) => c.cSkip))), tf.mul(F, col(sc.map((c) => c.cOut)))) as tf.Tensor4D;
    });
}

/** One DM step (EPG: x₀ prediction, lognormal-grid σ, grid-delta weights) in the run's noise space. */
export function dmTrainStep(o: {
  store: ParameterStore;
  optimizer: AdamW;
  network: NetworkFn;
  space: NoiseSpace;
  x0: tf.Tensor4D;
  labels?: tf.Tensor1D;
  rs: RandomStream;
  clipNorm?: number;
}): StepResult {
  const denoiser = x0Denoiser(o.network, { sigmaData: o.space.sigmaData, timeEncoding: o.space.timeEncoding });
  return diffusionTrainStep({
    store: o.store,
    optimizer: o.optimizer,
    denoiser,
    x0: o.x0,
    cond: o.labels ? { labels: o.labels } : undefined,
    rs: o.rs,
    config: { ...EPG_DM_CONFIG, shift: o.space.shift },
    clipNorm: o.clipNorm,
  });
}

/** Heun samples of the DM from `latents` (σ_max'·ε is formed by the sampler). Caller disposes the result. */
export function dmSampleHeun(network: NetworkFn, space: NoiseSpace, latents: tf.Tensor4D, sigmas: Float64Array, labels?: tf.Tensor1D): tf.Tensor4D {
  const denoiser = x0Denoiser(network, { sigmaData: space.sigmaData, timeEncoding: space.timeEncoding });
  return sampleHeun(denoiser, latents, sigmas, labels ? { cond: { labels } } : {}).x;
}
