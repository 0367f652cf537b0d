/**
 * The σ → network-input adapter and the one preconditioning wrapper (docs/method.md, "Preconditioning").
 * Scalings and time values are computed on the host in float64 from the host σ; the only tensor work is
 * c_in·x on the way in and c_skip·x + c_out·F on the way out. Nothing reads σ back from a tensor.
 */
import * as tf from '@tensorflow/tfjs-core';
import { epgError } from '@epg/tensor';
import { boundaryScalings, cIn, edmScalings, type NoiseSpace, type TimeEncoding } from '@epg/schedules';
import { allEqual, checkImages, checkSigmas, scaleRows, timeValues } from './host';
import type { Cond, Denoiser, Encoder, EncoderFn, NetworkCall, NetworkFn, Scalings, ScalingsFn, Sigmas, TimeValues } from './types';

/** What a network reads for images x at σ: c_in(σ)·x and the time values. */
export interface NetworkInput {
  /** c_in(σ)·x [B, H, W, C]; the caller disposes it (or runs inside tf.tidy). */
  readonly xIn: tf.Tensor4D;
  /** Time value per sample on the host [B]. */
  readonly time: TimeValues;
}

/**
 * The σ → network-input adapter: c_in(σ)·x (c_in = 1/√(σ² + σ_d²), EDM Table 1) and the time value of
 * `space.timeEncoding` (250·ln σ for 'cm'). σ is the shifted σ (docs/method.md, "Noise space").
 */
export function networkInput(
  x: tf.Tensor4D,
  sigma: Sigmas,
  space: Pick<NoiseSpace, 'sigmaData' | 'timeEncoding'>,
): NetworkInput {
  checkImages(x, 'networkInput');
  checkSigmas(sigma, x.shape[0], 'networkInput');
  return {
    xIn: scaleRows(x, Array.from(sigma, (s) => cIn(s, space.sigmaData))),
    time: timeValues(sigma, space.timeEncoding),
  };
}

/** EPG's pre-training and DM scalings: c_in only, the raw output is x̂₀ (c_skip 0, c_out 1). */
export function x0Scalings(space: Pick<NoiseSpace, 'sigmaData'>): ScalingsFn {
  const sd = space.sigmaData;
  return (sigma) => ({ cIn: cIn(sigma, sd), cSkip: 0, cOut: 1 });
}

/** EDM standard preconditioning [EDM Table 1]: c_skip = σ_d²/(σ²+σ_d²), c_out = σσ_d/√(σ²+σ_d²). */
export function edmPreconditioning(space: Pick<NoiseSpace, 'sigmaData'>): ScalingsFn {
  const sd = space.sigmaData;
  return (sigma) => {
    const c = edmScalings(sigma, sd);
    return { cIn: c.cIn, cSkip: c.cSkip, cOut: c.cOut };
  };
}

/**
 * The consistency boundary form [Song et al. 2023, boundary-condition parameterisation; docs/method.md §3.2]: c_skip(σ_min′) = 1,
 * c_out(σ_min′) = 0 with σ_min′ = space.sigmaMin (0.002·H/64 in EPG).
 */
export function boundaryPreconditioning(space: Pick<NoiseSpace, 'sigmaData' | 'sigmaMin'>): ScalingsFn {
  const opts = { sigmaData: space.sigmaData, sigmaMin: space.sigmaMin };
  if (!(opts.sigmaMin > 0)) throw epgError('config', `boundaryPreconditioning needs space.sigmaMin > 0, got ${opts.sigmaMin}`, 'build the space with noiseSpace(resolution)');
  return (sigma) => boundaryScalings(sigma, opts);
}

/**
 * D(x, σ) = c_skip(σ)·x + c_out(σ)·F(c_in(σ)·x, τ(σ), labels) with the scalings and time values on the
 * host [EDM Eq. (7) and Table 1; k-diffusion `Denoiser`]. When every c_skip is 0 and every c_out 1 (x0Scalings) the
 * raw network output is returned. The dropout stream of `call` goes to the network unchanged.
 */
export function precondition(network: NetworkFn, scalings: ScalingsFn, timeEncoding: TimeEncoding, name = 'denoiser'): Denoiser {
  return (x: tf.Tensor4D, sigma: Sigmas, cond?: Cond, call?: NetworkCall) =>
    tf.tidy(() => {
      checkImages(x, name);
      checkSigmas(sigma, x.shape[0], name);
      const sc: Scalings[] = Array.from(sigma, (s) => scalings(s));
      const xIn = scaleRows(x, sc.map((c) => c.cIn));
      const F = network(xIn, timeValues(sigma, timeEncoding), cond?.labels, call);
      if (F.rank !== 4 || F.shape.some((d, i) => d !== x.shape[i])) {
        throw epgError('shape', `${name}: the network returned shape [${F.shape}], expected the input's [${x.shape}]`, 'the network must map [B, H, W, C] to the same shape');
      }
      const cSkip = sc.map((c) => c.cSkip);
      const cOut = sc.map((c) => c.cOut);
      if (allEqual(cSkip) && cSkip[0] === 0 && allEqual(cOut) && cOut[0] === 1) return F;
      return tf.add(scaleRows(x, cSkip), scaleRows(F, cOut)) as tf.Tensor4D;
    });
}

/**
 * An encoder at the σ level: (x, σ, cond) → encoderFn(c_in(σ)·x, τ(σ), labels), c_in and τ from `space`
 * (pre-training feeds c_in·x_σ, docs/method.md, "Pre-training"). Runs in tf.tidy.
 */
export function encoderAt(encoderFn: EncoderFn, space: Pick<NoiseSpace, 'sigmaData' | 'timeEncoding'>): Encoder {
  return (x, sigma, cond) =>
    tf.tidy(() => {
      const { xIn, time } = networkInput(x, sigma, space);
      const out = encoderFn(xIn, time, cond?.labels);
      return out.proj ? { cls: out.cls, proj: out.proj } : { cls: out.cls };
    });
}
