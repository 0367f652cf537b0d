/**
 * ECT (t, r) pairs for a batch (docs/consistency.md, "Time pairs"): the numbers come from
 * @epg/schedules (ectTimePair, ectStage, ectLossWeight); this file only draws one z per sample and
 * moves the pair into the shifted σ that touches images.
 */
import { ectLossWeight, ectStage, ectTimePair, type EctOptions, type NoiseSpace } from '@epg/schedules';
import type { RandomStream } from '@epg/tensor';

/** ECT's lognormal-ect sampler as EPG configures it: P_mean −0.4, P_std 1.6, q 2, k 8, b 1, d 100k. */
export const EPG_CM_ECT: Required<Omit<EctOptions, 'sigmaMin'>> = Object.freeze({
  pMean: -0.4,
  pStd: 1.6,
  q: 2,
  k: 8,
  b: 1,
  stageSteps: 100_000,
});

export interface TimePairs {
  /** Shifted t per sample [B] (the online pass). */
  readonly t: Float64Array;
  /** Shifted r per sample [B] (the target pass), r ≤ t. */
  readonly r: Float64Array;
  /** 1/(t − r) on the shifted values, 0 where r was clipped up to t [B]. */
  readonly weight: Float64Array;
  /** ECT stage s = ⌊step/d⌋ + 1 of this step. */
  readonly stage: number;
}

/**
 * One standard normal z per sample from `rs`; (t, r) = ectTimePair(z, step) in unshifted σ with the
 * clip at the space's unshifted σ_min, then both × shift, and w = ectLossWeight(t, r) [EPG:denoiser-train
 * `ConsisTuneStep`; ECT]. `ect.sigmaMin` is not an option here: it is the space's.
 */
export function sampleTimePairs(
  rs: RandomStream,
  batch: number,
  step: number,
  space: NoiseSpace,
  ect: Omit<EctOptions, 'sigmaMin'> = EPG_CM_ECT,
): TimePairs {
  if (!Number.isInteger(batch) || batch < 1) throw new RangeError(`sampleTimePairs needs a batch size >= 1, got ${batch}`);
  const opts: EctOptions = { ...EPG_CM_ECT, ...ect, sigmaMin: space.karras.sigmaMin };
  const stage = ectStage(step, opts.stageSteps);
  const t = new Float64Array(batch);
  const r = new Float64Array(batch);
  const weight = new Float64Array(batch);
  for (let i = 0; i < batch; i++) {
    const pair = ectTimePair(rs.normal(), step, opts);
    t[i] = pair.t * space.shift;
    r[i] = pair.r * space.shift;
    weight[i] = ectLossWeight(t[i], r[i]);
  }
  return { t, r, weight, stage };
}
