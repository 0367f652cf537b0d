
import { EpgError } from '@epg/tensor';/**
 * Inception Score (Salimans et al. 2016): exp(E_x KL(p(y|x) ‖ p(y))) per split, mean and
 * population std over splits. Source: torch-fidelity `metric_isc.py` and openai/improved-gan:
 * softmax in float64, split boundaries i·N/k (integer division), 0·log 0 = 0. No shuffling (the
 * order of the inputs is used as given; torch-fidelity shuffles with a seed first).
 */

export interface InceptionScoreResult {
  readonly mean: number;
  readonly std: number;
  readonly splits: number;
}

/**
 * IS from logits (row-major [count, classes]); for the FID Inception use the bias-free logits
 * (`InceptionExtractor.logits`, docs/metrics-reference.md §3.15).
 */
export function inceptionScore(logits: ArrayLike<number>, count: number, classes: number, splits = 10): InceptionScoreResult {
  if (logits.length !== count * classes) throw new EpgError('config', `inceptionScore: ${logits.length} values do not form ${count}×${classes} logits`);
  if (!Number.isInteger(splits) || splits < 1 || splits > count) throw new EpgError('config', `inceptionScore: splits must be in 1..${count}, got ${splits}`);
  // float64 softmax per row
  const p = new Float64Array(count * classes);
  for (let i = 0; i < count; i++) {
    const o = i * classes;
    let mx = -Infinity;
    for (let c = 0; c < classes; c++) mx = Math.max(mx, logits[o + c]);
    let z = 0;
    for (let c = 0; c < classes; c++) {
      const e = Math.exp(logits[o + c] - mx);
      p[o + c] = e;
      z += e;
    }
    for (let c = 0; c < classes; c++) p[o + c] /= z;
  }
  const scores: number[] = [];
  const py = new Float64Array(classes);
  for (let k = 0; k < splits; k++) {
    const start = Math.floor((k * count) / splits);
    const end = Math.floor(((k + 1) * count) / splits);
    const n = end - start;
    py.fill(0);
    for (let i = start; i < end; i++) for (let c = 0; c < classes; c++) py[c] += p[i * classes + c];
    for (let c = 0; c < classes; c++) py[c] /= n;
    let kl = 0;
    for (let i = start; i < end; i++) {
      for (let c = 0; c < classes; c++) {
        const v = p[i * classes + c];
        if (v > 0) kl += v * (Math.log(v) - Math.log(py[c]));
      }
    }
    scores.push(Math.exp(kl / n));
  }
  const mean = scores.reduce((a, b) => a + b, 0) / splits;
  const std = Math.sqrt(scores.reduce((a, b) => a + (b - mean) ** 2, 0) / splits);
  return { mean, std, splits };
}
