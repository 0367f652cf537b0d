/**
 * Exponential moving average of parameters: θ⁻ ← μ θ⁻ + (1 − μ) θ, parameters only (buffers such as
 * BatchNorm statistics are not averaged, as in rRCM/EPG/MoCo). The target is usually
 * `source.clone()`: an EMA target network or an evaluation EMA. On the cpu backend with native kernels
 * the whole list is one kernel call (@epg/tensor-native's emaEach); elsewhere tfjs ops per parameter.
 */
import * as tf from '@tensorflow/tfjs-core';
import { emaEach } from '@epg/tensor-native';
import type { ParameterStore } from './params';
import { arraysEqual } from './params';

export function emaUpdate(target: ParameterStore, source: ParameterStore, decay: number): void {
  if (!(decay >= 0 && decay <= 1)) throw new RangeError(`EMA decay must be in [0, 1], got ${decay}`);
  const entries = target.entries((x) => x.kind === 'param');
  const sources = entries.map((e) => {
    const src = source.get(e.name.slice(target.prefix.length));
    if (!arraysEqual(src.shape, e.variable.shape)) {
      throw new Error(`EMA: '${e.name}' has shape [${e.variable.shape}] in the target but [${src.shape}] in the source`);
    }
    return src;
  });
  const next = emaEach(
    entries.map((e) => e.variable),
    sources,
    decay,
  );
  entries.forEach((e, i) => e.variable.assign(next[i]));
  tf.dispose(next);
}
