/**
 * The denoising objective of EPG's DM fine-tuning (METHOD_SPEC §5.1): σ sampling, per-sample weighted
 * x0 loss, and a training step over any Denoiser built from a network whose weights live in a ParameterStore.
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  EDM_NOISE,
  EPG_DM_NOISE,
  dmLossWeights,
  edmLossWeight,
  karrasSigmas,
  lognormalSigma,
  snapToGrid,
  type KarrasOptions,
} from '@epg/schedules';
import { normalTensor, trainStep, type AdamW, type ParameterStore, type RandomStream, type StepOptions, type StepResult } from '@epg/tensor';
import { scaleRows } from './host';
import type { Cond, Denoiser } from './types';

/** How training σ is drawn: EPG's snapped lognormal (default) or EDM's continuous lognormal. */
export type TrainingNoise =
  | { readonly kind: 'lognormal-grid'; readonly pMean: number; readonly pStd: number; readonly gridSize: number; readonly karras?: KarrasOptions }
  | { readonly kind: 'lognormal'; readonly pMean: number; readonly pStd: number };

/** 'grid-delta' = 1/(σ_j − σ_{j+1}) (EPG, needs 'lognormal-grid'); 'edm' = λ(σ) on the shifted σ; 'uniform' = 1. */
export type LossWeighting = 'grid-delta' | 'edm' | 'uniform';

export interface DenoisingConfig {
  readonly noise: TrainingNoise;
  readonly weighting: LossWeighting;
  /** Noise shift H/64 (EPG) or 1 (default 1). The grid, weights and lognormal stay unshifted. */
  readonly shift: number;
  /** σ_d for the 'edm' weight (default 0.5). */
  readonly sigmaData?: number;
}

/** EPG DM: lognormal(−1.2, 1.6) snapped to 1280 Karras points, w = 1/Δσ, shift 1 (set noiseShift(H)). */
export const EPG_DM_CONFIG: DenoisingConfig = {
  noise: { kind: 'lognormal-grid', pMean: EPG_DM_NOISE.pMean, pStd: EPG_DM_NOISE.pStd, gridSize: EPG_DM_NOISE.gridSize },
  weighting: 'grid-delta',
  shift: 1,
};

/** EDM: continuous lognormal(−1.2, 1.2) and λ(σ) [EDM Table 1]. */
export const EDM_CONFIG: DenoisingConfig = {
  noise: { kind: 'lognormal', pMean: EDM_NOISE.pMean, pStd: EDM_NOISE.pStd },
  weighting: 'edm',
  shift: 1,
};

export interface TrainingSigmas {
  /** Shifted σ per sample (what the images and the network see). */
  readonly sigma: Float64Array;
  /** Loss weight per sample. */
  readonly weight: Float64Array;
  /** Grid index per sample for 'lognormal-grid', else undefined. */
  readonly index?: Int32Array;
}

const gridCache = new Map<string, { grid: Float64Array; weights: Float64Array }>();

function gridFor(noise: Extract<TrainingNoise, { kind: 'lognormal-grid' }>) {
  const key = JSON.stringify([noise.gridSize, noise.karras ?? {}]);
  let g = gridCache.get(key);
  if (!g) {
    g = { grid: karrasSigmas(noise.gridSize, noise.karras), weights: dmLossWeights(noise.gridSize, noise.karras) };
    gridCache.set(key, g);
  }
  return g;
}

/**
 * σ and weights for a batch [EPG:denoiser-train `DenoiseTuneStep`; EDM `EDMLoss`]: one standard normal z per
 * sample from `rs`, σ̃ = exp(P_mean + P_std·z), snapped to the unshifted grid when asked, then σ = σ̃·shift.
 */
export function sampleTrainingSigmas(rs: RandomStream, batch: number, config: DenoisingConfig = EPG_DM_CONFIG): TrainingSigmas {
  if (!Number.isInteger(batch) || batch < 1) throw new RangeError(`sampleTrainingSigmas needs a batch size >= 1, got ${batch}`);
  if (!(config.shift > 0)) throw new RangeError(`DenoisingConfig.shift must be > 0 (H/64 or 1), got ${config.shift}`);
  const sigma = new Float64Array(batch);
  const weight = new Float64Array(batch);
  const noise = config.noise;
  let index: Int32Array | undefined;
  if (noise.kind === 'lognormal-grid') {
    const { grid, weights } = gridFor(noise);
    index = new Int32Array(batch);
    for (let i = 0; i < batch; i++) {
      const j = snapToGrid(lognormalSigma(rs.normal(), noise), grid);
      index[i] = j;
      sigma[i] = grid[j] * config.shift;
      weight[i] = config.weighting === 'grid-delta' ? weights[j] : 0;
    }
  } else if (noise.kind === 'lognormal') {
    if (config.weighting === 'grid-delta') {
      throw new RangeError("DenoisingConfig: weighting 'grid-delta' needs noise.kind 'lognormal-grid'");
    }
    for (let i = 0; i < batch; i++) sigma[i] = lognormalSigma(rs.normal(), noise) * config.shift;
  } else {
    throw new RangeError(`DenoisingConfig: unknown noise.kind '${String((noise as { kind: unknown }).kind)}'`);
  }
  for (let i = 0; i < batch; i++) {
    switch (config.weighting) {
      case 'grid-delta':
        break;
      case 'edm':
        weight[i] = edmLossWeight(sigma[i], config.sigmaData);
        break;
      case 'uniform':
        weight[i] = 1;
        break;
      default:
        throw new RangeError(`DenoisingConfig: unknown weighting '${String(config.weighting)}'`);
    }
  }
  return index ? { sigma, weight, index } : { sigma, weight };
}

/**
 * Per-sample weighted x0 loss: w_i·mean_{h,w,c}(D(x0 + σ_i·ε, σ_i) − x0)² → [B] [EPG §5.1 step 5; k-diffusion
 * `Denoiser.loss`]. No clamp in training. Returns a new tensor; inputs are not disposed.
 */
export function denoisingLoss(
  denoiser: Denoiser,
  x0: tf.Tensor4D,
  noise: tf.Tensor4D,
  sigma: ArrayLike<number>,
  weight: ArrayLike<number>,
  cond?: Cond,
): tf.Tensor1D {
  const b = x0.shape[0];
  if (noise.shape.some((d, i) => d !== x0.shape[i])) throw new RangeError(`denoisingLoss: noise shape [${noise.shape}] must equal x0's [${x0.shape}]`);
  if (sigma.length !== b || weight.length !== b) {
    throw new RangeError(`denoisingLoss: need one σ and one weight per image (${b}), got ${sigma.length} and ${weight.length}`);
  }
  return tf.tidy(() => {
    const xNoisy = tf.add(x0, scaleRows(noise, sigma)) as tf.Tensor4D;
    const pred = denoiser(xNoisy, tf.tensor1d(Float32Array.from(sigma)), cond);
    const mse = tf.mean(tf.square(tf.sub(pred, x0)), [1, 2, 3]);
    return tf.mul(mse, tf.tensor1d(Float32Array.from(weight))) as tf.Tensor1D;
  });
}

export interface DiffusionStepInput {
  /** Holds the network's weights (the optimiser's store). */
  readonly store: ParameterStore;
  readonly optimizer: AdamW;
  /** A Denoiser over the network in `store` (e.g. x0Denoiser(net)). */
  readonly denoiser: Denoiser;
  /** Clean images [B, H, W, C], normalised. */
  readonly x0: tf.Tensor4D;
  readonly cond?: Cond;
  /** This step's stream, e.g. RandomStream.derive(runSeed, step, 'diffusion'): children 'sigma' and 'noise'. */
  readonly rs: RandomStream;
  /** Default EPG_DM_CONFIG. */
  readonly config?: DenoisingConfig;
  /** Global-norm clip (EPG DM: 0.5 after warm-up; off when undefined). Overrides `step.clipNorm`. */
  readonly clipNorm?: number;
  /** Passed to @epg/tensor's trainStep: onSkip, maxConsecutiveSkips, clipNorm. */
  readonly step?: StepOptions;
}

/**
 * One diffusion training step: draw σ (stream 'sigma') and ε (stream 'noise'), loss = batch mean of
 * denoisingLoss, then @epg/tensor's trainStep (skip on non-finite, optional clip, AdamW). Leaks nothing.
 */
export function diffusionTrainStep(input: DiffusionStepInput): StepResult {
  const config = input.config ?? EPG_DM_CONFIG;
  const { sigma, weight } = sampleTrainingSigmas(input.rs.child('sigma'), input.x0.shape[0], config);
  const noise = normalTensor(input.rs.child('noise'), input.x0.shape) as tf.Tensor4D;
  try {
    return trainStep(
      input.store,
      input.optimizer,
      () => tf.mean(denoisingLoss(input.denoiser, input.x0, noise, sigma, weight, input.cond)) as tf.Scalar,
      input.clipNorm === undefined ? (input.step ?? {}) : { ...input.step, clipNorm: input.clipNorm },
    );
  } finally {
    noise.dispose();
  }
}
