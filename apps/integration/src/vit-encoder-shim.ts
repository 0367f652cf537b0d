/**
 * SHIM — delete when @epg/contracts' `encoderAt(encoderFn, space)` lands (issue 10, helper `seams`).
 *
 * Adapts today's @epg/vit EncoderFn, whose time values are a tf.Tensor1D, to the σ-level `Encoder`
 * contract: the input is c_in(σ)·x with c_in = 1/√(σ² + σ_d²), the time value 250·ln σ ('cm'), both
 * formed per sample on the host from the shifted σ.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Encoder } from '@epg/contracts';
import { cIn, timeValue, type NoiseSpace } from '@epg/schedules';
import type { EncoderFn } from '@epg/vit';

export function encoderAtShim(fn: EncoderFn, space: NoiseSpace): Encoder {
  return (x, sigma, cond) => {
    const B = x.shape[0];
    if (sigma.length !== B) throw new Error(`encoder: ${sigma.length} σ values for a batch of ${B}`);
    const scale = tf.tensor4d(Float32Array.from(sigma, (s) => cIn(s, space.sigmaData)), [B, 1, 1, 1]);
    const time = tf.tensor1d(Float32Array.from(sigma, (s) => timeValue(s, space.timeEncoding)));
    const xIn = tf.mul(x, scale) as tf.Tensor4D;
    try {
      return fn(xIn, time, cond?.labels);
    } finally {
      tf.dispose([scale, time, xIn]);
    }
  };
}
