/**
 * Improved precision and recall (Kynkäänniemi et al. 2019): each set's manifold is the union of
 * balls around its features with radius = distance to the k-th nearest other feature (k = 3).
 * Precision = share of generated features inside the real manifold; recall = share of real
 * features inside the generated manifold. Euclidean distances in float64, a point is inside a ball
 * when its distance is ≤ the radius (ADM `evaluator.py` ManifoldEstimator, torch-fidelity
 * `metric_prc.py`). Cost O((n_real + n_fake)² · d) on the host.
 */
import type { FeatureMatrix } from './kid';
import { EpgError } from '@epg/tensor';

export interface PrecisionRecall {
  readonly precision: number;
  readonly recall: number;
  readonly k: number;
}

function sqDist(a: ArrayLike<number>, i: number, b: ArrayLike<number>, j: number, d: number): number {
  let s = 0;
  const oa = i * d;
  const ob = j * d;
  for (let t = 0; t < d; t++) {
    const v = a[oa + t] - b[ob + t];
    s += v * v;
  }
  return s;
}

/** Squared distance from each feature to its k-th nearest other feature of the same set. */
export function kthNeighbourRadiiSquared(f: FeatureMatrix, k: number): Float64Array {
  const n = f.count;
  if (n <= k) throw new EpgError('config', `precision/recall: need more than k = ${k} features per set, got ${n}`);
  const radii = new Float64Array(n);
  const best = new Float64Array(k);
  const row = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) row[j] = j === i ? Infinity : sqDist(f.data, i, f.data, j, f.dim);
    // k smallest by partial insertion
    best.fill(Infinity);
    for (let j = 0; j < n; j++) {
      const v = row[j];
      if (v < best[k - 1]) {
        let p = k - 1;
        while (p > 0 && best[p - 1] > v) {
          best[p] = best[p - 1];
          p--;
        }
        best[p] = v;
      }
    }
    radii[i] = best[k - 1];
  }
  return radii;
}

/** Share of `probe` rows that fall inside at least one ball of the manifold (`ref`, radii²). */
function coverage(ref: FeatureMatrix, radiiSq: Float64Array, probe: FeatureMatrix): number {
  let inside = 0;
  for (let i = 0; i < probe.count; i++) {
    for (let j = 0; j < ref.count; j++) {
      if (sqDist(probe.data, i, ref.data, j, ref.dim) <= radiiSq[j]) {
        inside++;
        break;
      }
    }
  }
  return inside / probe.count;
}

/** Precision and recall of `generated` against `real` features (same extractor, same dim). */
export function precisionRecall(real: FeatureMatrix, generated: FeatureMatrix, k = 3): PrecisionRecall {
  if (real.dim !== generated.dim) throw new EpgError('mismatch', `precision/recall: feature dimensions differ (${real.dim} vs ${generated.dim})`);
  for (const [f, w] of [[real, 'real'], [generated, 'generated']] as const) {
    if (f.data.length !== f.count * f.dim) throw new EpgError('shape', `precision/recall: ${w} features do not form a ${f.count}×${f.dim} matrix`);
  }
  const realRadii = kthNeighbourRadiiSquared(real, k);
  const genRadii = kthNeighbourRadiiSquared(generated, k);
  return { precision: coverage(real, realRadii, generated), recall: coverage(generated, genRadii, real), k };
}
