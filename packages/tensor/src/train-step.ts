/**
 * One optimisation step around any loss: gradients of the store's trainable parameters, a guard
 * that skips the update when the loss or a gradient is not finite (and says which step), optional
 * global-norm clipping, then the optimiser. Runs inside tf.tidy: nothing leaks.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ParameterStore } from './params';
import type { AdamW } from './optim/adamw';
import { clipByGlobalNorm, disposeAll, globalNorm, type NamedTensors } from './gradients';

export interface StepResult {
  readonly loss: number;
  /** Global gradient norm before clipping. */
  readonly gradNorm: number;
  /** True when the update was skipped because the loss or a gradient was not finite. */
  readonly skipped: boolean;
  /** Optimiser step index this result belongs to. */
  readonly step: number;
}

export interface StepOptions {
  /** Clip the global gradient norm to this value (off when undefined). */
  readonly clipNorm?: number;
  /** Called when a step is skipped, with a one-line reason. */
  readonly onSkip?: (message: string) => void;
}

export function trainStep(
  store: ParameterStore,
  optimizer: AdamW,
  lossFn: () => tf.Scalar,
  opts: StepOptions = {},
): StepResult {
  const entries = store.trainableEntries();
  const step = optimizer.step;
  const { value, grads } = tf.variableGrads(lossFn, entries.map((e) => e.variable));
  const named: NamedTensors = {};
  for (const e of entries) {
    const g = grads[e.variable.name];
    if (g) named[e.name] = g;
  }
  try {
    const loss = value.dataSync()[0];
    const gradNorm = globalNorm(named);
    if (!Number.isFinite(loss) || !Number.isFinite(gradNorm)) {
      const what = !Number.isFinite(loss) ? `loss is ${loss}` : `gradient norm is ${gradNorm}`;
      opts.onSkip?.(`step ${step}: ${what}; update skipped`);
      return { loss, gradNorm, skipped: true, step };
    }
    if (opts.clipNorm !== undefined) {
      const clipped = clipByGlobalNorm(named, opts.clipNorm, gradNorm);
      try {
        optimizer.apply(clipped);
      } finally {
        disposeAll(clipped);
      }
    } else {
      optimizer.apply(named);
    }
    return { loss, gradNorm, skipped: false, step };
  } finally {
    value.dispose();
    disposeAll(grads);
  }
}
