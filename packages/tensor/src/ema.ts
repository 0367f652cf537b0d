/**
 * Exponential moving average of parameters: θ⁻ ← μ θ⁻ + (1 − μ) θ, parameters only (buffers such as
 * BatchNorm statistics are not averaged, as in rRCM/EPG/MoCo). The target is usually
 * `source.clone()`: an EMA target network or an evaluation EMA.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ParameterStore } from './params';
import { arraysEqual } from './params';

export function emaUpdate(target: ParameterStore, source: ParameterStore, decay: number): void {
  if (!(decay >= 0 && decay <= 1)) throw new RangeError(`EMA decay must be in [0, 1], got ${decay}`);
  for (const e of target.entries((x) => x.kind === 'param')) {
    const rel = e.name.slice(target.prefix.length);
    const src = source.get(rel);
    if (!arraysEqual(src.shape, e.variable.shape)) {
      throw new Error(`EMA: '${e.name}' has shape [${e.variable.shape}] in the target but [${src.shape}] in the source`);
    }
    tf.tidy(() => e.variable.assign(tf.add(tf.mul(e.variable, decay), tf.mul(src, 1 - decay))));
  }
}
