/**
 * The code-variant contract (docs/variants.md): a package whose main module exports `variant`, one
 * object `{ apiVersion, kind, name, description, … }` that replaces ONE piece of the method. epg-train
 * loads it by package name (config field `plugins`) and passes the function to the stage that uses it.
 *
 * Kinds, and the piece each one replaces:
 *  - 'pretrain-loss': the per-sample contrastive loss ℓ(q, k; τ) of both pre-training terms (default:
 *    @epg/ssl's NT-Xent; MoCo v3's 2τ factor stays with the caller).
 *  - 'tau-schedule': τ(σ, k) of the representation-consistency term (default: the variant's schedule,
 *    the paper's interpolated τ for 'epg').
 *  - 'cm-distance': the per-sample CM distance d(f_θ(x_t, t), sg f_θ(x_r, r)) (default: EPG's
 *    D/sg(√(D + c²))).
 *
 * Functions of tensors follow the conventions of types.ts: they return new tensors the caller owns and
 * never dispose their inputs. Pure functions of numbers (the τ schedule) never touch tfjs.
 */
import type * as tf from '@tensorflow/tfjs-core';

/** Bumped when a kind's function signature changes; a package declares the version it was written for. */
export const VARIANT_API_VERSION = 1;

export const VARIANT_KINDS = ['pretrain-loss', 'tau-schedule', 'cm-distance'] as const;
export type VariantKind = (typeof VARIANT_KINDS)[number];

/** ℓ(q, k; τ) per sample [B]: row i's positive is k_i, the other rows of k are negatives. Gradients flow into q. */
export type PairLossFn = (queries: tf.Tensor2D, keys: tf.Tensor2D, tau: number) => tf.Tensor1D;

/** τ > 0 of the consistency term at unshifted σ and optimiser step k of a run of `run.totalSteps` steps. */
export type TauScheduleFn = (sigma: number, step: number, run: { readonly totalSteps: number }) => number;

/**
 * d(a_i, b_i) per sample [B] over images [B, H, W, C]; `b` is the stop-gradient target. `c` is the
 * config's consistency.huberC (EPG: 0.06) for distances that have such a constant.
 */
export type CmDistanceFn = (a: tf.Tensor4D, b: tf.Tensor4D, opts: { readonly c: number }) => tf.Tensor1D;

interface VariantBase<K extends VariantKind> {
  readonly apiVersion: typeof VARIANT_API_VERSION;
  readonly kind: K;
  /** A short name for logs and reports (the package name identifies it). */
  readonly name: string;
  /** One line: what it changes and why. */
  readonly description: string;
}

export interface PretrainLossVariant extends VariantBase<'pretrain-loss'> {
  readonly loss: PairLossFn;
}
export interface TauScheduleVariant extends VariantBase<'tau-schedule'> {
  readonly tau: TauScheduleFn;
}
export interface CmDistanceVariant extends VariantBase<'cm-distance'> {
  readonly distance: CmDistanceFn;
}

export type Variant = PretrainLossVariant | TauScheduleVariant | CmDistanceVariant;
export type VariantOf<K extends VariantKind> = Extract<Variant, { kind: K }>;

/** The function field each kind must provide. */
export const VARIANT_FUNCTION: { readonly [K in VariantKind]: string } = {
  'pretrain-loss': 'loss',
  'tau-schedule': 'tau',
  'cm-distance': 'distance',
};

/**
 * Identity with the contract's types: `export const variant = defineVariant({ kind: 'cm-distance', … })`.
 * The result has the kind's contract type, so callers may pass every argument of the signature.
 */
export function defineVariant<V extends Variant>(v: V): VariantOf<V['kind']> {
  return v as unknown as VariantOf<V['kind']>;
}

/**
 * The first problem of a value that should be a Variant, as one line, or null when it is one.
 * Checks the shape only: what the functions compute is checked where they are called.
 */
export function variantProblem(u: unknown): string | null {
  if (typeof u !== 'object' || u === null) return `its export 'variant' is ${u === null ? 'null' : typeof u}, not an object`;
  const v = u as Record<string, unknown>;
  if (v.apiVersion !== VARIANT_API_VERSION) {
    return `it declares apiVersion ${JSON.stringify(v.apiVersion)}, this epg-train reads apiVersion ${VARIANT_API_VERSION}`;
  }
  if (typeof v.kind !== 'string' || !(VARIANT_KINDS as readonly string[]).includes(v.kind)) {
    return `its kind is ${JSON.stringify(v.kind)}: expected one of ${VARIANT_KINDS.map((k) => `'${k}'`).join(', ')}`;
  }
  for (const field of ['name', 'description']) {
    if (typeof v[field] !== 'string' || (v[field] as string).length === 0) return `its ${field} is ${JSON.stringify(v[field])}: expected a non-empty string`;
  }
  const fn = VARIANT_FUNCTION[v.kind as VariantKind];
  if (typeof v[fn] !== 'function') return `a '${v.kind}' variant needs a function '${fn}', got ${typeof v[fn]}`;
  return null;
}
