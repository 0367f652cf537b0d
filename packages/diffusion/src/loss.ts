/**
 * The denoising objective of EPG's DM fine-tuning (docs/method.md, "DM fine-tuning"): σ sampling on the
 * host, per-sample weighted x0 loss, and a training step over any Denoiser built from a network whose
 * weights live in a ParameterStore. σ is drawn on the host and never read back from a tensor.
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
  type NoiseSpace,
} from '@epg/schedules';
import { epgError, normalTensor, trainStep, type AdamW, type ParameterStore, type RandomStream, type StepOptions, type StepResult } from '@epg/tensor';
import { checkSigmas, rowTensor, scaleRows, type Cond, type Denoiser, type NetworkCall, type Sigmas } from '@epg/contracts';

/** How training σ is drawn: EPG's snapped lognormal (default) or EDM's continuous lognormal. */
export type TrainingNoise =
  | { readonly kind: 'lognormal-grid'; readonly pMean: number; readonly pStd: number; readonly gridSize: number }
  | { readonly kind: 'lognormal'; readonly pMean: number; readonly pStd: number };

/**
 * 'grid-delta' = 1/(σ_j − σ_{j+1}) on the unshifted grid (EPG, needs 'lognormal-grid'); 'edm' = λ(σ) on the
 * shifted σ with the space's σ_d; 'uniform' = 1.
 */
export type LossWeighting = 'grid-delta' | 'edm' | 'uniform';

/**
 * How σ is drawn and weighted. The shift, the Karras range of the grid and σ_d are not here: they belong
 * to the NoiseSpace that every function below takes (the lognormal, the grid and the grid weights are
 * unshifted; σ = σ̃·space.shift is what images see).
 */
export interface DenoisingConfig {
  readonly noise: TrainingNoise;
  readonly weighting: LossWeighting;
}

/** EPG DM: lognormal(−1.2, 1.6) snapped to 1280 Karras points of the space, w = 1/Δσ. */
export const EPG_DM_CONFIG: DenoisingConfig = {
  noise: { kind: 'lognormal-grid', pMean: EPG_DM_NOISE.pMean, pStd: EPG_DM_NOISE.pStd, gridSize: EPG_DM_NOISE.gridSize },
  weighting: 'grid-delta',
};

/** EDM: continuous lognormal(−1.2, 1.2) and λ(σ) [EDM Table 1]. */
export const EDM_CONFIG: DenoisingConfig = {
  noise: { kind: 'lognormal', pMean: EDM_NOISE.pMean, pStd: EDM_NOISE.pStd },
  weighting: 'edm',
};

export interface TrainingSigmas {
  /** Shifted σ per sample (what the images and the network see), on the host. */
  readonly sigma: Sigmas;
  /** Loss weight per sample. */
  readonly weight: Float64Array;
  /** Grid index per sample for 'lognormal-grid', else undefined. */
  readonly index?: Int32Array;
}

const gridCache = new Map<string, { grid: Float64Array; weights: Float64Array }>();

function gridFor(gridSize: number, karras: KarrasOptions) {
  const key = JSON.stringify([gridSize, karras.sigmaMin, karras.sigmaMax, karras.rho]);
  let g = gridCache.get(key);
  if (!g) {
    g = { grid: karrasSigmas(gridSize, karras), weights: dmLossWeights(gridSize, karras) };
    gridCache.set(key, g);
  }
  return g;
}

/**
 * σ and weights for a batch [EPG:denoiser-train `DenoiseTuneStep`; EDM `EDMLoss`]: one standard normal z per
 * sample from `rs`, σ̃ = exp(P_mean + P_std·z), snapped to the unshifted Karras grid of `space` when asked,
 * then σ = σ̃·space.shift.
 */
export function sampleTrainingSigmas(
  rs: RandomStream,
  batch: number,
  space: NoiseSpace,
  config: DenoisingConfig = EPG_DM_CONFIG,
): TrainingSigmas {
  if (!Number.isInteger(batch) || batch < 1) throw epgError('config', `sampleTrainingSigmas needs a batch size >= 1, got ${batch}`, 'pass the number of images');
  if (!space || !(space.shift > 0)) throw epgError('config', 'sampleTrainingSigmas needs the noise space of the resolution', 'pass noiseSpace(resolution)');
  const sigma = new Float64Array(batch);
  const weight = new Float64Array(batch);
  const noise = config.noise;
  let index: Int32Array | undefined;
  if (noise.kind === 'lognormal-grid') {
    const { grid, weights } = gridFor(noise.gridSize, space.karras);
    index = new Int32Array(batch);
    for (let i = 0; i < batch; i++) {
      const j = snapToGrid(lognormalSigma(rs.normal(), noise), grid);
      index[i] = j;
      sigma[i] = grid[j] * space.shift;
      weight[i] = config.weighting === 'grid-delta' ? weights[j] : 0;
    }
  } else if (noise.kind === 'lognormal') {
    if (config.weighting === 'grid-delta') {
      throw epgError('config', "DenoisingConfig: weighting 'grid-delta' needs noise.kind 'lognormal-grid'", "use EPG_DM_CONFIG's noise or weighting 'edm'");
    }
    for (let i = 0; i < batch; i++) sigma[i] = lognormalSigma(rs.normal(), noise) * space.shift;
  } else {
    throw epgError('config', `DenoisingConfig: unknown noise.kind '${String((noise as { kind: unknown }).kind)}'`, "use 'lognormal-grid' or 'lognormal'");
  }
  for (let i = 0; i < batch; i++) {
    switch (config.weighting) {
      case 'grid-delta':
        break;
      case 'edm':
        weight[i] = edmLossWeight(sigma[i], space.sigmaData);
        break;
      case 'uniform':
        weight[i] = 1;
        break;
      default:
        throw epgError('config', `DenoisingConfig: unknown weighting '${String(config.weighting)}'`, "use 'grid-delta', 'edm' or 'uniform'");
    }
  }
  return index ? { sigma, weight, index } : { sigma, weight };
}

/**
 * Per-sample weighted x0 loss: w_i·mean_{h,w,c}(D(x0 + σ_i·ε, σ_i) − x0)² → [B] [EPG §5.1 step 5; k-diffusion
 * `Denoiser.loss`]. No clamp in training. σ and the weights are host values (uploaded as factors, never read
 * back). Returns a new tensor; inputs are not disposed.
 */
export function denoisingLoss(
  denoiser: Denoiser,
  x0: tf.Tensor4D,
  noise: tf.Tensor4D,
  sigma: Sigmas,
  weight: ArrayLike<number>,
  cond?: Cond,
  call?: NetworkCall,
): tf.Tensor1D {
  const b = x0.shape[0];
  if (noise.shape.some((d, i) => d !== x0.shape[i])) {
    throw epgError('shape', `denoisingLoss: noise shape [${noise.shape}] must equal x0's [${x0.shape}]`, 'draw the noise with x0.shape');
  }
  checkSigmas(sigma, b, 'denoisingLoss');
  if (weight.length !== b) throw epgError('shape', `denoisingLoss: need one weight per image (${b}), got ${weight.length}`, 'pass the weights of sampleTrainingSigmas');
  return tf.tidy(() => {
    const xNoisy = tf.add(x0, scaleRows(noise, sigma)) as tf.Tensor4D; // [B, H, W, C]
    const pred = denoiser(xNoisy, sigma, cond, call); // [B, H, W, C]
    const mse = tf.mean(tf.square(tf.sub(pred, x0)), [1, 2, 3]); // [B]
    return tf.mul(mse, rowTensor(weight)) as tf.Tensor1D;
  });
}

export interface DiffusionStepInput {
  /** Holds the network's weights (the optimiser's store). */
  readonly store: ParameterStore;
  readonly optimizer: AdamW;
  /** A Denoiser over the network in `store` (e.g. x0Denoiser(net, space)). */
  readonly denoiser: Denoiser;
  /** The noise space of the images' resolution (shift, grid, σ_d). */
  readonly space: NoiseSpace;
  /** Clean images [B, H, W, C], normalised. */
  readonly x0: tf.Tensor4D;
  readonly cond?: Cond;
  /**
   * This step's stream, e.g. RandomStream.derive(runSeed, step, 'diffusion'): children 'sigma', 'noise'
   * and (unless `dropout` is given) 'dropout' for the network's dropout masks.
   */
  readonly rs: RandomStream;
  /** The network's dropout stream for this step (default rs.child('dropout')). */
  readonly dropout?: RandomStream;
  /** Default EPG_DM_CONFIG. */
  readonly config?: DenoisingConfig;
  /** Global-norm clip (EPG DM: 0.5 after warm-up; off when undefined). Overrides `step.clipNorm`. */
  readonly clipNorm?: number;
  /** Passed to @epg/tensor's trainStep: onSkip, maxConsecutiveSkips, clipNorm. */
  readonly step?: StepOptions;
}

/**
 * One diffusion training step: draw σ on the host (stream 'sigma') and ε (stream 'noise'), loss = batch
 * mean of denoisingLoss, then @epg/tensor's trainStep (skip on non-finite, optional clip, AdamW). σ is
 * never read back from a tensor. Leaks nothing.
 */
export function diffusionTrainStep(input: DiffusionStepInput): StepResult {
  const config = input.config ?? EPG_DM_CONFIG;
  const { sigma, weight } = sampleTrainingSigmas(input.rs.child('sigma'), input.x0.shape[0], input.space, config);
  const call: NetworkCall = { dropout: input.dropout ?? input.rs.child('dropout') };
  const noise = normalTensor(input.rs.child('noise'), input.x0.shape) as tf.Tensor4D;
  try {
    return trainStep(
      input.store,
      input.optimizer,
      () => tf.mean(denoisingLoss(input.denoiser, input.x0, noise, sigma, weight, input.cond, call)) as tf.Scalar,
      input.clipNorm === undefined ? (input.step ?? {}) : { ...input.step, clipNorm: input.clipNorm },
    );
  } finally {
    noise.dispose();
  }
}
