/**
 * The contracts between the method packages (docs/architecture.md, "Contracts"). Every other package
 * takes networks, encoders, denoisers and samplers through these types; @epg/vit provides
 * implementations, @epg/ssl, @epg/diffusion and @epg/consistency consume them without importing it.
 *
 * Conventions:
 *  - Images are NHWC float32 tensors [B, H, W, C], normalised (docs/method.md, "Normalisation").
 *  - σ and time values live on the host (Float64Array, one per sample) from the σ sampler to the
 *    time embedding: no function of these types reads σ back from a tensor (docs/method.md, "σ on
 *    the host"). σ here is always the *shifted* σ, the one that touches images (see NoiseSpace).
 *  - Every function returns new tensors that the caller owns and leaks nothing else; inputs are
 *    never disposed.
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { RandomStream } from '@epg/tensor';

/** Shifted σ per sample, on the host: [B]. */
export type Sigmas = Float64Array;

/** The time value per sample that the network's time embedding reads (250·ln σ for 'cm'): [B]. */
export type TimeValues = Float64Array;

/** Per-call options of a network evaluation. */
export interface NetworkCall {
  /**
   * Stream for this call's dropout masks (used only where the network has dropout and its weights are
   * in training mode). Two calls given streams in the same state draw the same masks: the CM online
   * and target passes share masks this way (docs/method.md, "Consistency fine-tuning").
   */
  readonly dropout?: RandomStream;
}

/**
 * A fine-tuning backbone F(c_in·x, time value, labels) → [B, H, W, C]: raw x̂₀ for EPG's DM, F of the
 * boundary parameterisation for CM. Labels are int32 [B]; the null label (numClasses) is unconditional.
 */
export type NetworkFn = (
  xIn: tf.Tensor4D, // [B, H, W, C], already scaled by c_in(σ)
  time: TimeValues, // [B]
  labels?: tf.Tensor1D, // [B] int32
  call?: NetworkCall,
) => tf.Tensor4D; // [B, H, W, C]

/**
 * What an encoder returns: the LayerNorm'd [CLS] z [B, D] and, with a projection head, its output [B, O].
 * A type alias (not an interface) so that `tf.tidy(() => encoder(...))` accepts it as a TensorContainer.
 */
export type EncoderOutput = {
  readonly cls: tf.Tensor2D;
  readonly proj?: tf.Tensor2D;
};

/** A pre-training encoder at the network level: (c_in·x, time value, labels) → {cls, proj}. */
export type EncoderFn = (xIn: tf.Tensor4D, time: TimeValues, labels?: tf.Tensor1D) => EncoderOutput;

/** Conditioning passed through a denoiser or encoder to the network. */
export interface Cond {
  /** int32 class ids [B]; the null label (numClasses) means unconditional. */
  readonly labels?: tf.Tensor1D;
}

/**
 * D(x; σ): the clean-image estimate of noisy images x at per-sample shifted σ [k-diffusion `Denoiser`,
 * EDM `*Precond.forward`].
 */
export type Denoiser = (
  x: tf.Tensor4D, // [B, H, W, C] noisy images x₀ + σ·ε
  sigma: Sigmas, // [B] shifted σ
  cond?: Cond,
  call?: NetworkCall,
) => tf.Tensor4D; // [B, H, W, C] x̂₀

/** An encoder at the σ level: c_in and the time value applied (see `encoderAt`). */
export type Encoder = (x: tf.Tensor4D, sigma: Sigmas, cond?: Cond) => EncoderOutput;

/** Preconditioning coefficients at one σ (EDM Table 1 / the consistency boundary form). */
export interface Scalings {
  readonly cIn: number;
  readonly cSkip: number;
  readonly cOut: number;
}

/** σ → scalings, evaluated on the host in float64. `cSkip = 0, cOut = 1` means "the raw output is x̂₀". */
export type ScalingsFn = (sigma: number) => Scalings;

/** What a sampler returns. */
export interface SampleResult {
  /** Final images [B, H, W, C] at the last σ of the grid, un-normalised; the caller disposes them. */
  readonly x: tf.Tensor4D;
  /** Denoiser calls made (per-image network evaluations before guidance doubles some). */
  readonly nfe: number;
}

export interface SamplerOptions {
  /** Passed to every denoiser call (e.g. labels for CFG). */
  readonly cond?: Cond;
  /** Clamp every x̂₀ to [lo, hi] (default [−1, 1], docs/method.md §6); null turns it off. */
  readonly clampX0?: readonly [number, number] | null;
  /** Called after each step with the step index and the new σ (x is only valid during the call). */
  readonly onStep?: (info: { readonly step: number; readonly sigma: number; readonly x: tf.Tensor4D }) => void;
}

/**
 * A sampler: (denoiser, unit-normal latents, descending shifted σ grid, options) → images. x_T is
 * sigmas[0]·latents. Diffusion (Euler, Heun, EDM-SDE) and consistency (one-step, multistep) samplers
 * share this type.
 */
export type Sampler<O extends SamplerOptions = SamplerOptions> = (
  denoiser: Denoiser,
  latents: tf.Tensor4D, // [B, H, W, C] unit normal
  sigmas: Sigmas, // [n] descending, shifted
  options?: O,
) => SampleResult;
