/**
 * The joints between the concrete ViT and the method packages' contracts: the σ-level encoder
 * (pre-training, CM auxiliary loss), the CM boundary denoiser and the DM x₀ denoiser, and the DM
 * step and sampler calls, all in the run's NoiseSpace (σ on the host).
 */
import type * as tf from '@tensorflow/tfjs-core';
import { encoderAt as contractEncoderAt, type Denoiser, type Encoder, type EncoderFn, type NetworkFn } from '@epg/contracts';
import { boundaryDenoiser, classifierFreeGuidance, diffusionTrainStep, sampleHeun, x0Denoiser, type DenoisingConfig } from '@epg/diffusion';
import type { NoiseSpace } from '@epg/schedules';
import type { AdamW, ParameterStore, RandomStream, StepResult } from '@epg/tensor';

/** The encoder at σ: input c_in(σ)·x, time value per sample. */
export function encoderAt(fn: EncoderFn, space: NoiseSpace): Encoder {
  return contractEncoderAt(fn, space);
}

/** CM's boundary-parameterised denoiser f(x, σ) = c_skip·x + c_out·F(c_in·x, τ) with f(x, σ_min') = x. */
export function cmDenoiser(network: NetworkFn, space: NoiseSpace): Denoiser {
  return boundaryDenoiser(network, space);
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
  /** σ distribution and loss weights (default EPG_DM_CONFIG). */
  config?: DenoisingConfig;
}): StepResult {
  return diffusionTrainStep({
    store: o.store,
    optimizer: o.optimizer,
    denoiser: x0Denoiser(o.network, o.space),
    space: o.space,
    x0: o.x0,
    ...(o.labels ? { cond: { labels: o.labels } } : {}),
    rs: o.rs,
    ...(o.clipNorm !== undefined ? { clipNorm: o.clipNorm } : {}),
    ...(o.config ? { config: o.config } : {}),
  });
}

/**
 * Heun samples of the DM from unit-normal `latents`, class-conditional when `labels` are given, with
 * interval classifier-free guidance of scale `guidance.scale` when it is not 1 (the null label is the
 * class count; EPG-XL: 2.5 inside the space's guidance interval). Caller disposes the result.
 */
export function dmSampleHeun(
  network: NetworkFn,
  space: NoiseSpace,
  latents: tf.Tensor4D,
  sigmas: Float64Array,
  labels?: tf.Tensor1D,
  guidance?: { readonly scale: number; readonly numClasses: number },
): tf.Tensor4D {
  const plain = x0Denoiser(network, space);
  const denoiser = labels && guidance && guidance.scale !== 1 ? classifierFreeGuidance(plain, { scale: guidance.scale, nullLabel: guidance.numClasses, space }) : plain;
  return sampleHeun(denoiser, latents, sigmas, labels ? { cond: { labels } } : {}).x;
}
