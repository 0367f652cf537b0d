/**
 * The pre-training step of EPG (docs/ssl.md, "The step"; paper Eq. 8; rRCM/EPG `PreTrainStep`):
 *
 *  1. N ← curriculum(k); one index i ~ U{0, …, N−2} for the whole batch.
 *  2. σ_a = σ_i·s, σ_b = σ_{i+1}·s, σ₀ = σ_min·s (s = the noise space's shift).
 *  3. One ε ~ N(0, I) shared by every term.
 *  4. Contrastive: v₁ = y₁ + σ₀ε, v₂ = y₂ + σ₀ε; L_con = ℓ(P E_θ(v₁), sg P E_θ⁻(v₂); 0.2) + ℓ(P E_θ(v₂), sg P E_θ⁻(v₁); 0.2).
 *  5. Consistency: u = z_θ(x₀ + σ_a ε), w = sg z_θ(x₀ + σ_b ε) (online weights, not the target);
 *     L_rc = ℓ(u, w; τ(σ_i unshifted, k)).
 *  6. Loss = mean over the batch of L_con + L_rc (the two directions summed).
 *  7. AdamW (LR warm-up–cosine), then θ⁻ ← μ(k)θ⁻ + (1 − μ(k))θ.
 *
 * The target passes and the key pass run before the gradient tape (their results are constants of the
 * loss); the tape differentiates only the online store's trainable parameters.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Encoder, PairLossFn, Sigmas, TauScheduleFn } from '@epg/contracts';
import { AdamW, RandomStream, emaUpdate, epgError, normalTensor, trainStep, type ParamEntry, type ParamGroup, type ParameterStore } from '@epg/tensor';
import { curriculumScales, shiftedGrid, temperature, toUnshifted, warmupCosine, type NoiseSpace } from '@epg/schedules';
import { targetEmaAt, validatePretrainConfig, type PretrainConfig } from './config';
import { ntXent } from './nt-xent';
import { addPredictor, predictorForward } from './predictor';

/** The online and target encoders (σ level, contract `Encoder`) and the stores that hold their weights. */
export interface PretrainNetworks {
  readonly online: Encoder;
  readonly target: Encoder;
  /** The online weights: the gradient list is its trainable parameters (plus the predictor, if any). */
  readonly onlineStore: ParameterStore;
  /** The EMA target's weights: frozen here, changed only by the EMA rule. */
  readonly targetStore: ParameterStore;
}

/** One batch, NHWC, normalised: x₀ (centre crop + flip) and the two augmented views. */
export interface PretrainBatch {
  readonly x0: tf.Tensor4D;
  readonly view1: tf.Tensor4D;
  readonly view2: tf.Tensor4D;
}

export interface PretrainerOptions {
  /** Noise space of the image resolution (its shift must agree with the config's). */
  readonly space: NoiseSpace;
  /** Run seed: the index and ε of step k come from RandomStream.derive(seed, k, …), so resumed runs repeat them. */
  readonly seed: number;
  /** Projector output width, needed to build MoCo v3's predictor. */
  readonly projectionDim?: number;
  /**
   * A code variant's ℓ(q, k; τ) for both terms (docs/variants.md, kind 'pretrain-loss'); default
   * ntXent. MoCo v3's 2τ factor is applied here, outside the variant's loss.
   */
  readonly loss?: PairLossFn;
  /** A code variant's τ(σ, k) of the consistency term (kind 'tau-schedule'); default the config's schedule. */
  readonly temperature?: TauScheduleFn;
}

export interface PretrainStepResult {
  readonly step: number;
  readonly loss: number;
  /** Batch means of each term: `contrastive`, `consistency` (only the terms the variant has). */
  readonly terms: Readonly<Record<string, number>>;
  readonly gradNorm: number;
  readonly skipped: boolean;
  /** Curriculum N(k), the index i and the shifted σ_i, σ_{i+1}, σ₀ of this step. */
  readonly scales: number;
  readonly index: number;
  readonly sigmaA: number;
  readonly sigmaB: number;
  readonly sigma0: number;
  /** τ of the consistency term (NaN without it). */
  readonly tau: number;
  /** Target EMA rate used after this step. */
  readonly targetEma: number;
  /** Learning rate of this update. */
  readonly lr: number;
}

/** AdamW groups of pre-training: the config's weight decay on every parameter (`group_wd=False`). */
export function pretrainParamGroups(cfg: PretrainConfig): ParamGroup[] {
  return [{ name: 'all', select: () => true, weightDecay: cfg.optimizer.weightDecay }];
}

/** Marks the config's frozen prefixes non-trainable in `store`; a prefix that matches nothing is a config error. */
export function freezeParameters(store: ParameterStore, prefixes: readonly string[]): void {
  for (const prefix of prefixes) {
    const hits = store.entries((e) => e.kind === 'param' && e.name.slice(store.prefix.length).startsWith(prefix));
    if (hits.length === 0) {
      throw epgError('config', `frozen prefix '${prefix}' matches no parameter of the online store`, 'set frozen: [] for an encoder without that layer');
    }
    for (const e of hits) e.trainable = false;
  }
}

const fill = (n: number, v: number): Sigmas => new Float64Array(n).fill(v);

/** Step k up to the tape (see `Pretrainer.prepare`). */
export interface PreparedStep {
  readonly step: number;
  readonly scales: number;
  readonly index: number;
  readonly sigmaA: number;
  readonly sigmaB: number;
  readonly sigma0: number;
  readonly tau: number;
  /** Loss constants: `v1`, `v2`, `k1`, `k2` (contrastive), `xa`, `xb`, `w` (consistency). */
  readonly tensors: Readonly<Record<string, tf.Tensor>>;
  readonly lossFn: () => { readonly total: tf.Scalar; readonly terms: Readonly<Record<string, tf.Scalar>> };
  readonly dispose: () => void;
}

export class Pretrainer {
  private constructor(
    readonly cfg: PretrainConfig,
    private readonly nets: PretrainNetworks,
    readonly optimizer: AdamW,
    private readonly opts: PretrainerOptions,
    private readonly hasPredictor: boolean,
  ) {}

  /**
   * Freezes the config's prefixes, adds MoCo v3's predictor to the online store when configured,
   * freezes the whole target store and builds the AdamW (LR = lr·warmupCosine(k), wd on all parameters).
   * Call before anything else holds an optimiser over the online store.
   */
  static create(cfg: PretrainConfig, nets: PretrainNetworks, opts: PretrainerOptions): Pretrainer {
    validatePretrainConfig(cfg);
    const expectedShift = cfg.shift === 'epg' ? opts.space.resolution / 64 : 1;
    if (Math.abs(opts.space.shift - expectedShift) > 1e-12) {
      throw epgError('config', `noise space shift ${opts.space.shift} does not match the '${cfg.variant}' config's shift '${cfg.shift}' (${expectedShift})`, `build it with noiseSpace(H, { shift: '${cfg.shift}' })`);
    }
    if (nets.onlineStore === nets.targetStore) throw epgError('config', 'the online and target stores are the same store', 'clone the online store for the target');
    freezeParameters(nets.onlineStore, cfg.frozen);
    nets.targetStore.setTrainable(false);
    const hidden = cfg.contrastive?.predictorHidden ?? null;
    if (hidden !== null) {
      if (!opts.projectionDim) throw epgError('config', `the '${cfg.variant}' predictor needs projectionDim`, 'pass the projector output width');
      addPredictor(nets.onlineStore, RandomStream.derive(opts.seed, 0, 'ssl-predictor-init'), opts.projectionDim, hidden);
    }
    const { lr, beta1, beta2, weightDecay } = cfg.optimizer;
    const { warmupSteps, totalSteps } = cfg.steps;
    const optimizer = new AdamW(nets.onlineStore, {
      lr: (k) => lr * warmupCosine(k, { warmupSteps, totalSteps }),
      beta1,
      beta2,
      weightDecay,
      groups: pretrainParamGroups(cfg),
    });
    return new Pretrainer(cfg, nets, optimizer, opts, hidden !== null);
  }

  /** The parameters the gradient is taken with respect to (the online store's trainable ones). */
  gradientEntries(): ParamEntry[] {
    return this.nets.onlineStore.trainableEntries();
  }

  /** Optimiser steps taken so far (the k of the next step). */
  /** τ of the consistency term: the variant's schedule, or the config's; a bad value names its source. */
  private tauAt(sigma: number, k: number): number {
    const custom = this.opts.temperature;
    if (!custom) return temperature(this.cfg.consistency!.temperature, sigma, k);
    const tau = custom(sigma, k, { totalSteps: this.cfg.steps.totalSteps });
    if (!(typeof tau === 'number' && Number.isFinite(tau) && tau > 0)) {
      throw epgError('config', `the 'tau-schedule' variant returned τ = ${String(tau)} at σ = ${sigma}, step ${k}`, 'return a finite τ > 0');
    }
    return tau;
  }

  /** ℓ(q, k; τ) per sample: the variant's loss (shape-checked) or NT-Xent. */
  private pairLoss(q: tf.Tensor2D, key: tf.Tensor2D, tau: number): tf.Tensor1D {
    const custom = this.opts.loss;
    if (!custom) return ntXent(q, key, tau);
    const l = custom(q, key, tau);
    if (!l || l.rank !== 1 || l.shape[0] !== q.shape[0]) {
      tf.dispose(l);
      throw epgError('shape', `the 'pretrain-loss' variant returned shape [${l?.shape}], expected one value per sample [${q.shape[0]}]`, 'return a [B] tensor');
    }
    return l;
  }

  get stepIndex(): number {
    return this.optimizer.step;
  }

  /**
   * Everything of step k before the tape: curriculum, index, σ's, τ, the noisy inputs, the target
   * projections k₁, k₂ and the stop-gradient key w (tensors `v1`, `v2`, `k1`, `k2`, `xa`, `xb`, `w` as
   * the variant needs), and the loss function the tape differentiates. Public for tests and
   * diagnostics; the caller disposes the result (`dispose()`). Inputs are not disposed.
   */
  prepare(batch: PretrainBatch): PreparedStep {
    const { cfg, nets, opts } = this;
    const { space } = opts;
    const k = this.optimizer.step;
    const [B, H, W, C] = batch.x0.shape;
    for (const [name, t] of [['view1', batch.view1], ['view2', batch.view2]] as const) {
      if (t.shape.join() !== batch.x0.shape.join()) {
        throw epgError('shape', `pre-training batch: ${name} is [${t.shape}] but x0 is [${batch.x0.shape}]`, 'give x0 and both views the same shape');
      }
    }
    const scales = curriculumScales(k, cfg.curriculum);
    const index = RandomStream.derive(opts.seed, k, 'ssl-index').int(scales - 1);
    const grid = shiftedGrid(space, scales);
    const sigmaA = grid[index];
    const sigmaB = grid[index + 1];
    const sigma0 = space.sigmaMin;
    const tau = cfg.consistency ? this.tauAt(toUnshifted(space, sigmaA), k) : NaN;
    const con = cfg.contrastive;
    const rc = cfg.consistency;

    // Inputs, target projections and the stop-gradient key: constants of the loss, made before the tape.
    const tensors = tf.tidy(() => {
      const eps = normalTensor(RandomStream.derive(opts.seed, k, 'ssl-noise'), [B, H, W, C]); // [B, H, W, C]
      const out: Record<string, tf.Tensor> = {};
      if (con) {
        out.v1 = tf.add(batch.view1, tf.mul(eps, sigma0)); // [B, H, W, C]
        out.v2 = tf.add(batch.view2, tf.mul(eps, sigma0));
        out.k1 = requireProj(nets.target(out.v1 as tf.Tensor4D, fill(B, sigma0)).proj, 'target'); // [B, O]
        out.k2 = requireProj(nets.target(out.v2 as tf.Tensor4D, fill(B, sigma0)).proj, 'target');
      }
      if (rc) {
        out.xa = tf.add(batch.x0, tf.mul(eps, sigmaA)); // [B, H, W, C]
        out.xb = tf.add(batch.x0, tf.mul(eps, sigmaB));
        out.w = nets.online(out.xb as tf.Tensor4D, fill(B, sigmaB)).cls; // [B, D], online weights, no gradient
      }
      return out;
    });
    const t = tensors as Record<string, tf.Tensor4D & tf.Tensor2D>;

    const lossFn = (): { total: tf.Scalar; terms: Record<string, tf.Scalar> } => {
      const perSample: tf.Tensor1D[] = [];
      const terms: Record<string, tf.Scalar> = {};
      if (con) {
        const query = (v: tf.Tensor4D) => {
          const p = requireProj(nets.online(v, fill(B, sigma0)).proj, 'online'); // [B, O]
          return this.hasPredictor ? predictorForward(nets.onlineStore, p) : p;
        };
        const ell = (q: tf.Tensor2D, key: tf.Tensor2D) => {
          const l = this.pairLoss(q, key, con.tau); // [B]
          return con.twoTauFactor ? (tf.mul(l, 2 * con.tau) as tf.Tensor1D) : l;
        };
        const lCon = tf.add(ell(query(t.v1), t.k2), ell(query(t.v2), t.k1)) as tf.Tensor1D; // [B]
        perSample.push(lCon);
        terms.contrastive = tf.mean(lCon) as tf.Scalar;
      }
      if (rc) {
        const u = nets.online(t.xa, fill(B, sigmaA)).cls; // [B, D]
        const lRc = this.pairLoss(u, t.w, tau); // [B]
        perSample.push(lRc);
        terms.consistency = tf.mean(lRc) as tf.Scalar;
      }
      return { total: tf.mean(perSample.length === 1 ? perSample[0] : tf.addN(perSample)) as tf.Scalar, terms };
    };
    return { step: k, scales, index, sigmaA, sigmaB, sigma0, tau, tensors, lossFn, dispose: () => tf.dispose(Object.values(tensors)) };
  }

  /** One pre-training step: prepare, differentiate, guarded AdamW, target EMA. Inputs are not disposed; nothing leaks. */
  step(batch: PretrainBatch): PretrainStepResult {
    const { cfg, nets } = this;
    const prepared = this.prepare(batch);
    const k = prepared.step;
    const lr = this.optimizer.currentLr();
    const clip = cfg.optimizer.clipNorm !== null && k >= cfg.steps.warmupSteps ? cfg.optimizer.clipNorm : undefined;
    let result;
    try {
      result = trainStep(nets.onlineStore, this.optimizer, prepared.lossFn, clip === undefined ? {} : { clipNorm: clip });
    } finally {
      prepared.dispose();
    }
    const mu = targetEmaAt(cfg.targetEma, k);
    // A skipped step leaves θ unchanged; the target is not moved either.
    if (!result.skipped) emaUpdate(nets.targetStore, nets.onlineStore, mu);
    const { scales, index, sigmaA, sigmaB, sigma0, tau } = prepared;
    const { loss, terms, gradNorm, skipped } = result;
    return { step: k, loss, terms, gradNorm, skipped, scales, index, sigmaA, sigmaB, sigma0, tau, targetEma: mu, lr };
  }

  /** Disposes the optimiser state (the stores belong to the caller). */
  dispose(): void {
    this.optimizer.dispose();
  }
}

function requireProj(p: tf.Tensor2D | undefined, which: string): tf.Tensor2D {
  if (!p) throw epgError('config', `the ${which} encoder returns no projector output`, 'build the pre-training model with a projector, or use the consistency-only variant');
  return p;
}
