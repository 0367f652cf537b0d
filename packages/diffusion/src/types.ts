/**
 * The contracts of @epg/diffusion (docs CONTRACTS.md). Layout NHWC, float32.
 * Every function of these types returns new tensors the caller owns and leaks nothing else.
 */
import type * as tf from '@tensorflow/tfjs-core';

/** Conditioning passed through a denoiser to the network. */
export interface Cond {
  /** int32 class ids, one per sample; the null label (numClasses) means unconditional. */
  readonly labels?: tf.Tensor1D;
}

/**
 * D(x; σ): the clean-image (x0) estimate of noisy images x at per-sample noise levels σ (the σ the
 * network sees, i.e. shifted by H/64 in EPG) [k-diffusion `Denoiser`, EDM `*Precond.forward`].
 */
export type Denoiser = (x: tf.Tensor4D, sigma: tf.Tensor1D, cond?: Cond) => tf.Tensor4D;

/**
 * A backbone: F(c_in·x, time value, labels) → NHWC tensor (raw x̂₀ for EPG's DM, F for EDM/CM
 * parameterisations). @epg/vit provides these; this package never imports it.
 */
export type NetworkFn = (xIn: tf.Tensor4D, timeValue: tf.Tensor1D, labels?: tf.Tensor1D) => tf.Tensor4D;
