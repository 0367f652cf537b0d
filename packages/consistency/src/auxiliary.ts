/**
 * The auxiliary loss of EPG's consistency fine-tuning (docs/consistency.md, "Auxiliary loss"):
 * L_aux = ℓ(g(f_θ(x_t, t)), sg g(x₀); τ) with g the frozen pre-trained encoder W_φ at σ₀ = σ_min' and ℓ
 * the pre-training NT-Xent [EPG:denoiser-train `ConsisTuneStep`].
 *
 * Frozen means: W_φ's weights live in their own ParameterStore, in eval mode (BatchNorm running
 * statistics, no dropout), and are never in the optimiser's list. The query path is *not* stopped:
 * gradients flow through W_φ into the trained network; only W_φ's variables get no update.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Cond, Encoder } from '@epg/contracts';
import type { NoiseSpace } from '@epg/schedules';
import type { ParameterStore } from '@epg/tensor';
import { ntXent } from '@epg/ssl';
import { filledSigmas } from './host';

/**
 * A per-sample contrastive loss (q, k, τ) → [B]: row i's positive is k_i, the other rows of k are its
 * negatives. @epg/ssl's `ntXent` has this shape (L2-normalised cosine logits, one direction, no 2τ).
 */
export type ContrastiveLoss = (q: tf.Tensor2D, k: tf.Tensor2D, tau: number | Float64Array) => tf.Tensor1D;

/** Which encoder output the features are: the projector output (EPG's code) or the LN'd [CLS] z. */
export type AuxiliaryFeatures = 'proj' | 'cls';

export interface AuxiliaryLossOptions {
  /** The frozen encoder W_φ at the σ level (e.g. encoderAt(encoderFn, space) over a store in eval mode). */
  readonly encoder: Encoder;
  /** The contrastive loss (default @epg/ssl's ntXent, the pre-training NT-Xent). */
  readonly loss?: ContrastiveLoss;
  /** Weight λ of the term (EPG: 1); 0 turns the term off without evaluating the encoder. */
  readonly weight: number;
  /** Temperature (EPG: 0.1, constant). */
  readonly tau: number;
  /** 'proj' (EPG's code, default) or 'cls' (the "z-only" switch of docs/consistency.md). */
  readonly features?: AuxiliaryFeatures;
  /**
   * W_φ's store, when the caller has one: checked to be in eval mode and to share no variable with the
   * trained store. Strongly recommended; the encoder function alone cannot be checked.
   */
  readonly frozenStore?: ParameterStore;
}

/** EPG's auxiliary settings besides the encoder and loss: weight 1, τ 0.1, projector features. */
export const EPG_CM_AUXILIARY = Object.freeze({ weight: 1, tau: 0.1, features: 'proj' as AuxiliaryFeatures });

export function checkAuxiliaryOptions(aux: AuxiliaryLossOptions, trained: ParameterStore | undefined, fn: string): void {
  if (!(aux.weight >= 0 && Number.isFinite(aux.weight))) {
    throw new RangeError(`auxiliary.weight passed to ${fn} must be a finite number >= 0 (EPG: 1; 0 disables it), got ${aux.weight}`);
  }
  if (!(aux.tau > 0 && Number.isFinite(aux.tau))) throw new RangeError(`auxiliary.tau passed to ${fn} must be a finite number > 0 (EPG: 0.1), got ${aux.tau}`);
  const f = aux.features ?? 'proj';
  if (f !== 'proj' && f !== 'cls') throw new RangeError(`auxiliary.features passed to ${fn} must be 'proj' or 'cls', got '${String(f)}'`);
  const frozen = aux.frozenStore;
  if (!frozen) return;
  if (frozen.training) {
    throw new Error(`${fn}: the frozen encoder's store is in training mode; call frozenStore.eval() (W_φ uses BatchNorm running statistics)`);
  }
  if (trained) {
    const mine = new Set(trained.trainableEntries().map((e) => e.variable));
    const shared = frozen.entries().find((e) => mine.has(e.variable));
    if (shared) {
      throw new Error(`${fn}: the frozen encoder's parameter '${shared.name}' is also trained; give W_φ its own store (e.g. a clone of the pre-training store)`);
    }
  }
}

/**
 * g(x) = W_φ(x, σ₀ = σ_min') → [B, F], the projector output or the [CLS] feature. Runs in tf.tidy;
 * differentiable in x (no stop-gradient here: the caller decides).
 */
export function auxiliaryFeatures(
  encoder: Encoder,
  x: tf.Tensor4D,
  space: NoiseSpace,
  features: AuxiliaryFeatures = 'proj',
  cond?: Cond,
): tf.Tensor2D {
  return tf.tidy(() => {
    const out = encoder(x, filledSigmas(x.shape[0], space.sigmaMin), cond);
    if (features === 'cls') return out.cls;
    if (!out.proj) throw new Error("auxiliaryFeatures: the frozen encoder has no projection head; use features 'cls' or load the projector");
    return out.proj;
  });
}

/**
 * Per-sample L_aux = ℓ(g(output), key; τ) → [B], with key = sg g(x₀) computed by the caller outside the
 * gradient tape. Runs in tf.tidy; inputs are not disposed.
 */
export function auxiliaryLoss(aux: AuxiliaryLossOptions, output: tf.Tensor4D, key: tf.Tensor2D, space: NoiseSpace): tf.Tensor1D {
  return tf.tidy(() => {
    const q = auxiliaryFeatures(aux.encoder, output, space, aux.features ?? 'proj'); // [B, F]
    const l = (aux.loss ?? ntXent)(q, key, aux.tau);
    if (l.rank !== 1 || l.shape[0] !== output.shape[0]) {
      throw new RangeError(`auxiliaryLoss: the contrastive loss returned shape [${l.shape}], expected one value per sample [${output.shape[0]}]`);
    }
    return l;
  });
}
