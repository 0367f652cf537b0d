/**
 * Wrappers that turn a network into a Denoiser (METHOD_SPEC §3.2, §5.1, §5.2). The scalings and time
 * values are computed on the host in float64 by @epg/schedules (one home per formula), then broadcast.
 */
import * as tf from '@tensorflow/tfjs-core';
import { SIGMA_DATA, boundaryScalings, cIn, edmScalings, timeValue, type TimeEncoding } from '@epg/schedules';
import { checkBatch, scaleRows, sigmaValues } from './host';
import type { Cond, Denoiser, NetworkFn } from './types';

export interface PreconditionOptions {
  /** σ_d (default 0.5). */
  readonly sigmaData?: number;
  /** Time value fed to the network: 'cm' = 250 ln σ, 'edm' = ¼ ln σ (defaults per wrapper). */
  readonly timeEncoding?: TimeEncoding;
}

/**
 * EPG's DM parameterisation: D(x, σ) = F(c_in(σ)·x, τ(σ), y), the raw output is x̂₀ (no c_skip)
 * [EPG:denoiser-train `DenoiseTuneStep`, prediction_target="x0"]. Defaults: σ_d 0.5, time 'cm' (250 ln σ).
 */
export function x0Denoiser(network: NetworkFn, opts: PreconditionOptions = {}): Denoiser {
  const sigmaData = opts.sigmaData ?? SIGMA_DATA;
  const encoding = opts.timeEncoding ?? 'cm';
  return (x, sigma, cond) =>
    tf.tidy(() => {
      checkBatch(x, sigma, 'x0Denoiser');
      const s = sigmaValues(sigma, 'x0Denoiser');
      const xIn = scaleRows(x, s.map((v) => cIn(v, sigmaData)));
      return callNetwork(network, xIn, s, encoding, cond, x.shape, 'x0Denoiser');
    });
}

/**
 * EDM standard preconditioning: D = c_skip·x + c_out·F(c_in·x, c_noise, y) [EDM Table 1, `EDMPrecond`].
 * Defaults: σ_d 0.5, time 'edm' (¼ ln σ).
 */
export function edmDenoiser(network: NetworkFn, opts: PreconditionOptions = {}): Denoiser {
  const sigmaData = opts.sigmaData ?? SIGMA_DATA;
  const encoding = opts.timeEncoding ?? 'edm';
  return (x, sigma, cond) =>
    tf.tidy(() => {
      checkBatch(x, sigma, 'edmDenoiser');
      const s = sigmaValues(sigma, 'edmDenoiser');
      const sc = Array.from(s, (v) => edmScalings(v, sigmaData));
      const xIn = scaleRows(x, sc.map((c) => c.cIn));
      const F = callNetwork(network, xIn, s, encoding, cond, x.shape, 'edmDenoiser');
      return tf.add(scaleRows(x, sc.map((c) => c.cSkip)), scaleRows(F, sc.map((c) => c.cOut))) as tf.Tensor4D;
    });
}

export interface BoundaryDenoiserOptions extends PreconditionOptions {
  /** σ_min' where D(x, σ_min') = x: 0.002·H/64 in EPG (required). */
  readonly sigmaMin: number;
}

/**
 * Consistency boundary parameterisation: D = c_skip·x + c_out·F(c_in·x, τ, y) with c_skip(σ_min') = 1,
 * c_out(σ_min') = 0 [Song et al. 2023; EPG prediction_target="edm"]. Defaults: σ_d 0.5, time 'cm'.
 */
export function boundaryDenoiser(network: NetworkFn, opts: BoundaryDenoiserOptions): Denoiser {
  const sigmaData = opts.sigmaData ?? SIGMA_DATA;
  const encoding = opts.timeEncoding ?? 'cm';
  const sigmaMin = opts.sigmaMin;
  if (!(sigmaMin > 0)) throw new RangeError(`boundaryDenoiser needs sigmaMin > 0 (EPG: 0.002·H/64), got ${sigmaMin}`);
  return (x, sigma, cond) =>
    tf.tidy(() => {
      checkBatch(x, sigma, 'boundaryDenoiser');
      const s = sigmaValues(sigma, 'boundaryDenoiser');
      const sc = Array.from(s, (v) => boundaryScalings(v, { sigmaData, sigmaMin }));
      const xIn = scaleRows(x, sc.map((c) => c.cIn));
      const F = callNetwork(network, xIn, s, encoding, cond, x.shape, 'boundaryDenoiser');
      return tf.add(scaleRows(x, sc.map((c) => c.cSkip)), scaleRows(F, sc.map((c) => c.cOut))) as tf.Tensor4D;
    });
}

function callNetwork(
  network: NetworkFn,
  xIn: tf.Tensor4D,
  sigma: Float64Array,
  encoding: TimeEncoding,
  cond: Cond | undefined,
  shape: readonly number[],
  fn: string,
): tf.Tensor4D {
  const t = tf.tensor1d(Float32Array.from(sigma, (v) => timeValue(v, encoding)));
  const out = network(xIn, t, cond?.labels);
  if (out.rank !== 4 || out.shape.some((d, i) => d !== shape[i])) {
    throw new RangeError(`${fn}: the network returned shape [${out.shape}], expected the input's [${shape}]`);
  }
  return out;
}
