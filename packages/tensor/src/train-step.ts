/**
 * One optimisation step around any loss: gradients of the store's trainable parameters, a guard
 * that skips the update when the loss or a gradient is not finite, optional global-norm clipping,
 * then the optimiser, whose update is rolled back when it would make a parameter non-finite. A run
 * that skips `maxConsecutiveSkips` steps in a row stops with an EpgError instead of stalling.
 * Nothing leaks: the gradients, the loss and its terms are disposed here.
 *
 * Named loss terms: the loss function may return `{ total, terms }`; the step reports every term
 * as a host number, read back together with the total and the gradient norm in one read.
 *
 * No-grad passes (a target network, an EMA teacher, a frozen encoder): compute them BEFORE calling
 * trainStep, outside the loss function, and close over the result. Everything the loss function
 * computes is recorded on the gradient tape, and tfjs backpropagates through every recorded op that
 * depends on a variable, even behind stopGradient (whose zero gradient still flows back through the
 * pass). A pass computed outside costs its forward only (train-step.test.ts counts the kernels).
 */
import * as tf from '@tensorflow/tfjs-core';
import * as E from 'fp-ts/Either';
import { sumSquaresEach } from '@epg/tensor-native';
import { EpgError, epgError } from './errors';
import type { ParameterStore } from './params';
import type { AdamW } from './optim/adamw';
import { clipByGlobalNorm, disposeAll, type NamedTensors } from './gradients';

/** What a loss function returns: the total, or the total with named terms (each a scalar). */
export type LossOutput = tf.Scalar | { readonly total: tf.Scalar; readonly terms: Readonly<Record<string, tf.Scalar>> };

export type SkipReason = 'non-finite-loss' | 'non-finite-gradient' | 'non-finite-update';

export interface StepResult {
  /** The total loss. */
  readonly loss: number;
  /** Each named term (empty when the loss function returned a plain scalar). */
  readonly terms: Readonly<Record<string, number>>;
  /** Global gradient norm before clipping. */
  readonly gradNorm: number;
  /** True when no parameter changed: the loss or a gradient was not finite, or the update was rolled back. */
  readonly skipped: boolean;
  readonly skipReason?: SkipReason;
  /** Optimiser step index this result belongs to. */
  readonly step: number;
  /** Steps skipped in a row up to and including this one (0 after an applied update). */
  readonly consecutiveSkips: number;
}

export interface StepOptions {
  /** Clip the global gradient norm to this value, > 0 (off when undefined). */
  readonly clipNorm?: number;
  /** Called when a step is skipped, with a one-line reason. */
  readonly onSkip?: (message: string) => void;
  /** Stop (throw a 'numeric' EpgError) when this many steps in a row are skipped. Default 20; Infinity never stops. */
  readonly maxConsecutiveSkips?: number;
}

export const DEFAULT_MAX_CONSECUTIVE_SKIPS = 20;

/** Checks step options where they enter; Left is a one-line 'config' EpgError. */
export function validateStepOptions(opts: StepOptions): E.Either<EpgError, StepOptions> {
  const c: unknown = opts.clipNorm;
  if (c !== undefined && !(typeof c === 'number' && Number.isFinite(c) && c > 0)) {
    return E.left(epgError('config', `trainStep clipNorm must be a finite number > 0, got ${String(c)}`, 'use e.g. 1.0, or leave it undefined for no clipping'));
  }
  const k: unknown = opts.maxConsecutiveSkips;
  if (k !== undefined && !(typeof k === 'number' && (k === Infinity || (Number.isInteger(k) && k >= 1)))) {
    return E.left(epgError('config', `trainStep maxConsecutiveSkips must be an integer >= 1 or Infinity, got ${String(k)}`, `use e.g. ${DEFAULT_MAX_CONSECUTIVE_SKIPS}`));
  }
  if (opts.onSkip !== undefined && typeof opts.onSkip !== 'function') {
    return E.left(epgError('config', `trainStep onSkip must be a function, got ${typeof opts.onSkip}`, 'pass (message) => ...'));
  }
  return E.right(opts);
}

/** Skips in a row, per optimiser (the optimiser is the run's identity across steps). */
const skipsInARow = new WeakMap<AdamW, number>();

export function trainStep(store: ParameterStore, optimizer: AdamW, lossFn: () => LossOutput, opts: StepOptions = {}): StepResult {
  const valid = validateStepOptions(opts);
  if (E.isLeft(valid)) throw valid.left;
  const entries = store.trainableEntries();
  const step = optimizer.step;
  const kept: Array<[string, tf.Tensor]> = [];
  const total = () => {
    const out = lossFn();
    if (out !== null && typeof out === 'object' && 'total' in out) {
      for (const [name, t] of Object.entries(out.terms ?? {})) {
        if (t?.size !== 1) throw new Error(`trainStep: loss term '${name}' must be a scalar tensor, got shape [${t?.shape}]`);
        kept.push([name, tf.keep(t)]);
      }
      return out.total;
    }
    return out;
  };
  let result: { value: tf.Scalar; grads: NamedTensors };
  try {
    result = tf.variableGrads(total, entries.map((e) => e.variable));
  } catch (e) {
    for (const [, t] of kept) t.dispose();
    throw e;
  }
  const { value, grads } = result;
  const named: NamedTensors = {};
  for (const e of entries) {
    const g = grads[e.variable.name];
    if (g) named[e.name] = g;
  }
  try {
    // One read for the total, every term and the squared gradient norm.
    const host = tf.tidy(() => {
      // Σ‖g‖² per tensor in one native call on cpu+native (two tfjs ops per tensor elsewhere).
      const sq = tf.sum(sumSquaresEach(Object.values(named)));
      return tf.stack([tf.reshape(value, []), ...kept.map(([, t]) => tf.reshape(tf.cast(t, 'float32'), [])), sq]).dataSync();
    });
    const loss = host[0];
    const terms: Record<string, number> = {};
    kept.forEach(([name], i) => (terms[name] = host[1 + i]));
    const gradNorm = Math.sqrt(host[host.length - 1]);
    const skip = (reason: SkipReason, what: string): StepResult => {
      const inARow = (skipsInARow.get(optimizer) ?? 0) + 1;
      skipsInARow.set(optimizer, inARow);
      opts.onSkip?.(`step ${step}: ${what}; update skipped`);
      const limit = opts.maxConsecutiveSkips ?? DEFAULT_MAX_CONSECUTIVE_SKIPS;
      if (inARow >= limit) {
        throw new EpgError(
          'numeric',
          `training stopped at step ${step}: ${inARow} steps in a row were skipped (last: ${what}): lower the learning rate, check the data for NaN/Inf, or resume from the last checkpoint`,
        );
      }
      return { loss, terms, gradNorm, skipped: true, skipReason: reason, step, consecutiveSkips: inARow };
    };
    if (!Number.isFinite(loss)) return skip('non-finite-loss', `loss is ${loss}`);
    if (!Number.isFinite(gradNorm)) return skip('non-finite-gradient', `gradient norm is ${gradNorm}`);
    let applied;
    if (opts.clipNorm !== undefined) {
      const clipped = clipByGlobalNorm(named, opts.clipNorm, gradNorm);
      try {
        applied = optimizer.apply(clipped);
      } finally {
        disposeAll(clipped);
      }
    } else {
      applied = optimizer.apply(named);
    }
    if (!applied.applied) {
      return skip('non-finite-update', `the update (lr ${applied.lr}) would make '${applied.nonFinite}' non-finite, rolled back`);
    }
    skipsInARow.set(optimizer, 0);
    return { loss, terms, gradNorm, skipped: false, step, consecutiveSkips: 0 };
  } finally {
    value.dispose();
    disposeAll(grads);
    for (const [, t] of kept) t.dispose();
  }
}
