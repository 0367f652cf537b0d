/**
 * One optimiser step around a loss made of named terms. This is a local stand-in for @epg/tensor's
 * `trainStep` until that accepts `{ total, terms }` (issue 11): same order of operations (gradients of
 * the given trainable entries, non-finite guard that skips the update, optional global-norm clip,
 * AdamW), plus the host value of every term. Switching over means replacing the body of `stepWithTerms`
 * by `trainStep(store, optimizer, lossFn, { clipNorm })` and reading `result.terms`.
 */
import * as tf from '@tensorflow/tfjs-core';
import { clipByGlobalNorm, disposeAll, globalNorm, type AdamW, type NamedTensors, type ParamEntry } from '@epg/tensor';

/** What a multi-term loss function returns inside the gradient tape. */
export interface TermsLoss {
  readonly total: tf.Scalar;
  readonly terms: Readonly<Record<string, tf.Scalar>>;
}

export interface TermsStepResult {
  readonly loss: number;
  readonly terms: Readonly<Record<string, number>>;
  /** Global gradient norm before clipping. */
  readonly gradNorm: number;
  /** True when the loss or a gradient was not finite and the update was skipped. */
  readonly skipped: boolean;
}

/**
 * Gradients of `lossFn().total` with respect to `entries` only (nothing else is ever differentiated),
 * then the guarded update. Leaks no tensor.
 */
export function stepWithTerms(
  entries: readonly ParamEntry[],
  optimizer: AdamW,
  lossFn: () => TermsLoss,
  clipNorm?: number,
): TermsStepResult {
  const kept: tf.Tensor[] = [];
  const termTensors: Record<string, tf.Scalar> = {};
  const { value, grads } = tf.variableGrads(() => {
    const r = lossFn();
    for (const [k, t] of Object.entries(r.terms)) {
      termTensors[k] = tf.keep(t);
      kept.push(t);
    }
    return r.total;
  }, entries.map((e) => e.variable));
  const named: NamedTensors = {};
  for (const e of entries) {
    const g = grads[e.variable.name];
    if (g) named[e.name] = g;
  }
  try {
    const loss = value.dataSync()[0];
    const terms: Record<string, number> = {};
    for (const [k, t] of Object.entries(termTensors)) terms[k] = t.dataSync()[0];
    const gradNorm = globalNorm(named);
    if (!Number.isFinite(loss) || !Number.isFinite(gradNorm)) return { loss, terms, gradNorm, skipped: true };
    if (clipNorm !== undefined) {
      const clipped = clipByGlobalNorm(named, clipNorm, gradNorm);
      try {
        optimizer.apply(clipped);
      } finally {
        disposeAll(clipped);
      }
    } else {
      optimizer.apply(named);
    }
    return { loss, terms, gradNorm, skipped: false };
  } finally {
    value.dispose();
    disposeAll(grads);
    tf.dispose(kept);
  }
}
