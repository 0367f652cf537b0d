/**
 * EPG's consistency fine-tuning step (docs/consistency.md; ECT [Geng et al. 2024] with EPG's changes
 * [EPG:denoiser-train `ConsisTuneStep`]):
 *
 *   (t, r) ~ lognormal-ect(step), shifted;  x_t = x₀ + t·ε,  x_r = x₀ + r·ε (one ε);
 *   loss = mean_i [ w_i · d(f_θ(x_t, t), sg f_θ(x_r, r)) + λ · ℓ(g(f_θ(x_t, t)), sg g(x₀); τ) ],
 *   w_i = 1/(t_i − r_i) (0 when t = r),
 *
 * where f is the boundary-parameterised denoiser over the trained weights θ and g the frozen encoder.
 *
 * The 0-EMA target (θ⁻ = θ after every step, as iCT) is the online network itself, evaluated *before*
 * the gradient tape opens: it costs one forward pass and no backward, and needs no second copy of the
 * weights. It runs in the same mode as the online pass with a dropout stream in the same state, so the
 * two passes draw identical dropout masks (EPG runs the target "with the same RNG state").
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Cond, Denoiser } from '@epg/contracts';
import { EPG_CM_RUN, warmupStep, type CmRunSchedule, type EctOptions, type NoiseSpace } from '@epg/schedules';
import {
  RandomStream,
  normalTensor,
  trainStep,
  type AdamW,
  type AdamWOptions,
  type ParameterStore,
  type RandomState,
  type StepResult,
} from '@epg/tensor';
import { auxiliaryFeatures, auxiliaryLoss, checkAuxiliaryOptions, type AuxiliaryLossOptions } from './auxiliary';
import { EPG_CM_DISTANCE, checkDistanceOptions, consistencyDistance, type DistanceOptions } from './distance';
import { scaleRows } from './host';
import { EPG_CM_ECT, sampleTimePairs } from './pairs';

export interface ConsistencyConfig {
  /** The (t, r) sampler (EPG: P_mean −0.4, P_std 1.6, q 2, k 8, b 1, d 100k); σ_min comes from the NoiseSpace. */
  readonly ect: Omit<EctOptions, 'sigmaMin'>;
  /** The distance d (EPG: 'ect' with c = 0.06). */
  readonly distance: DistanceOptions;
}

/** EPG's consistency objective. For a short run set `ect.stageSteps` from cmShortRun(K).stageSteps. */
export const EPG_CM_CONFIG: ConsistencyConfig = Object.freeze({ ect: EPG_CM_ECT, distance: EPG_CM_DISTANCE });

/** EPG's CM optimiser [EPG:cm-train-cfg]: AdamW lr 1e-4, betas (0.9, 0.99), weight decay 0.03, no gradient clipping. */
export const EPG_CM_OPTIMIZER = Object.freeze({ lr: 1e-4, beta1: 0.9, beta2: 0.99, weightDecay: 0.03 });

/**
 * The CM learning rate as a function of the optimiser step: baseLr · warmupStep(step, run.lr) (10k
 * warm-up, ×1 → ×0.3 → ×0.08 in EPG; cmShortRun(K) for a K-step run). Pass it as AdamWOptions.lr.
 */
export function cmLearningRate(baseLr: number = EPG_CM_OPTIMIZER.lr, run: CmRunSchedule = EPG_CM_RUN): AdamWOptions['lr'] {
  if (!(baseLr > 0 && Number.isFinite(baseLr))) throw new RangeError(`baseLr passed to cmLearningRate must be a finite number > 0, got ${baseLr}`);
  return (step: number) => baseLr * warmupStep(step, run.lr);
}

export interface ConsistencyBatchInput {
  /** f_θ: the boundary-parameterised denoiser over the trained weights (f(x, σ_min') = x). */
  readonly denoiser: Denoiser;
  /** Clean images [B, H, W, C], normalised. */
  readonly x0: tf.Tensor4D;
  readonly cond?: Cond;
  /** This step's stream, e.g. RandomStream.derive(runSeed, step, 'consistency'): children 'time', 'noise', 'dropout'. */
  readonly rs: RandomStream;
  /** Optimiser step (sets the ECT stage). */
  readonly step: number;
  readonly space: NoiseSpace;
  /** Default EPG_CM_CONFIG. */
  readonly config?: ConsistencyConfig;
  /** The auxiliary term; absent or weight 0 = off. */
  readonly auxiliary?: AuxiliaryLossOptions;
}

/**
 * Everything of a step that lies outside the gradient tape. Owns its tensors: call dispose().
 */
export interface ConsistencyBatch {
  readonly t: Float64Array;
  readonly r: Float64Array;
  readonly weight: Float64Array;
  readonly stage: number;
  /** x_t = x₀ + t·ε [B, H, W, C]. */
  readonly xt: tf.Tensor4D;
  /** sg f_θ(x_r, r): the 0-EMA target, computed with the dropout stream state below [B, H, W, C]. */
  readonly target: tf.Tensor4D;
  /** sg g(x₀): the auxiliary key [B, F], when the term is on. */
  readonly key?: tf.Tensor2D;
  /** State of the dropout stream both passes start from. */
  readonly dropout: RandomState;
  dispose(): void;
}

function auxOn(aux: AuxiliaryLossOptions | undefined): aux is AuxiliaryLossOptions {
  return aux !== undefined && aux.weight > 0;
}

/**
 * Draws (t, r), ε and the dropout stream, and evaluates the target and the auxiliary key without a
 * gradient tape. The target is f_θ at the current weights: run this before the update of the step.
 */
export function prepareConsistencyBatch(input: ConsistencyBatchInput): ConsistencyBatch {
  const { x0, space } = input;
  const config = input.config ?? EPG_CM_CONFIG;
  if (x0.rank !== 4) throw new RangeError(`x0 passed to prepareConsistencyBatch must be NHWC [B, H, W, C], got shape [${x0.shape}]`);
  checkDistanceOptions(config.distance, 'prepareConsistencyBatch');
  if (input.auxiliary) checkAuxiliaryOptions(input.auxiliary, undefined, 'prepareConsistencyBatch');
  const B = x0.shape[0];
  const { t, r, weight, stage } = sampleTimePairs(input.rs.child('time'), B, input.step, space, config.ect);
  const dropout = input.rs.child('dropout').getState();
  const tensors = tf.tidy(() => {
    const eps = normalTensor(input.rs.child('noise'), x0.shape) as tf.Tensor4D; // [B, H, W, C]
    const xt = tf.add(x0, scaleRows(eps, t)) as tf.Tensor4D; // [B, H, W, C]
    const xr = tf.add(x0, scaleRows(eps, r)) as tf.Tensor4D; // [B, H, W, C]
    const target = input.denoiser(xr, r, input.cond, { dropout: RandomStream.fromState(dropout) }); // [B, H, W, C]
    if (target.shape.some((d, i) => d !== x0.shape[i])) {
      throw new RangeError(`prepareConsistencyBatch: the denoiser returned shape [${target.shape}], expected x0's [${x0.shape}]`);
    }
    const key = auxOn(input.auxiliary) ? auxiliaryFeatures(input.auxiliary.encoder, x0, space, input.auxiliary.features ?? 'proj') : undefined; // [B, F]
    return key ? { xt, target, key } : { xt, target };
  });
  return {
    t,
    r,
    weight,
    stage,
    ...tensors,
    dropout,
    dispose: () => tf.dispose([tensors.xt, tensors.target, ...(tensors.key ? [tensors.key] : [])]),
  };
}

export interface ConsistencyLoss {
  /** The scalar that is differentiated. */
  readonly total: tf.Scalar;
  readonly terms: {
    /** mean_i w_i·d_i. */
    readonly consistency: tf.Scalar;
    /** mean_i ℓ_i, unweighted (present when the term is on). */
    readonly auxiliary?: tf.Scalar;
  };
}

/**
 * The differentiable part: the online pass f_θ(x_t, t) with the batch's dropout state, the weighted
 * distance to the (constant) target, and the auxiliary term through the frozen encoder. Call inside a
 * gradient function (tf.variableGrads / trainStep). Runs in tf.tidy; returns new scalars the caller owns.
 */
export function consistencyLoss(
  batch: ConsistencyBatch,
  denoiser: Denoiser,
  space: NoiseSpace,
  opts: { readonly cond?: Cond; readonly config?: ConsistencyConfig; readonly auxiliary?: AuxiliaryLossOptions } = {},
): ConsistencyLoss {
  const config = opts.config ?? EPG_CM_CONFIG;
  const aux = opts.auxiliary;
  if (auxOn(aux) && !batch.key) throw new Error('consistencyLoss: the auxiliary term is on but the batch has no key; prepare it with the same auxiliary options');
  return tf.tidy(() => {
    const online = denoiser(batch.xt, batch.t, opts.cond, { dropout: RandomStream.fromState(batch.dropout) }); // [B, H, W, C]
    const d = consistencyDistance(online, batch.target, config.distance); // [B]
    const consistency = tf.mean(tf.mul(d, tf.tensor1d(Float32Array.from(batch.weight)))) as tf.Scalar;
    if (!auxOn(aux)) return { total: tf.clone(consistency), terms: { consistency } };
    const auxiliary = tf.mean(auxiliaryLoss(aux, online, batch.key!, space)) as tf.Scalar;
    const total = tf.add(consistency, tf.mul(auxiliary, aux.weight)) as tf.Scalar;
    return { total, terms: { consistency, auxiliary } };
  });
}

export interface ConsistencyStepInput extends Omit<ConsistencyBatchInput, 'step'> {
  /** Holds θ (the optimiser's store). */
  readonly store: ParameterStore;
  readonly optimizer: AdamW;
  /** ECT stage step; default optimizer.step. */
  readonly step?: number;
  /** Global-norm clip (EPG CM: none; off when undefined). */
  readonly clipNorm?: number;
}

export interface ConsistencyStepResult extends StepResult {
  /** Host values of the named loss terms of this step. */
  readonly terms: { readonly consistency: number; readonly auxiliary?: number };
  /** ECT stage of this step. */
  readonly stage: number;
}

/**
 * One consistency fine-tuning step: prepareConsistencyBatch (target and key, no tape), then
 * @epg/tensor's trainStep on the total (skip on non-finite, optional clip, AdamW). The frozen encoder's
 * variables are never in the optimiser's list. Leaks nothing.
 */
export function consistencyTrainStep(input: ConsistencyStepInput): ConsistencyStepResult {
  if (input.auxiliary) checkAuxiliaryOptions(input.auxiliary, input.store, 'consistencyTrainStep');
  if (input.clipNorm !== undefined && !(input.clipNorm > 0)) {
    throw new RangeError(`clipNorm passed to consistencyTrainStep must be > 0 or undefined (EPG CM: undefined), got ${input.clipNorm}`);
  }
  const step = input.step ?? input.optimizer.step;
  const batch = prepareConsistencyBatch({ ...input, step });
  try {
    const stepOpts = input.clipNorm === undefined ? {} : { clipNorm: input.clipNorm };
    const result = trainStep(input.store, input.optimizer, () => consistencyLoss(batch, input.denoiser, input.space, input), stepOpts);
    const { consistency, auxiliary } = result.terms;
    const terms = auxiliary === undefined ? { consistency } : { consistency, auxiliary };
    return { ...result, terms, stage: batch.stage };
  } finally {
    batch.dispose();
  }
}
