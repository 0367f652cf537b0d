/**
 * Fréchet distance between two Gaussians fitted to features (FID when the features are
 * Inception pool3): d² = ‖μ₁ − μ₂‖² + tr Σ₁ + tr Σ₂ − 2 tr (Σ₁Σ₂)^{1/2}.
 * Source: Heusel et al. 2017 (TTUR); pytorch-fid `calculate_frechet_distance`. Computed in float64
 * with the symmetric formulation of docs/metrics-reference.md §2 (no sqrtm of a non-symmetric product, no eps).
 */
import type { FeatureStatistics } from './stats';
import { traceSqrtProduct } from './linalg';
import { EpgError } from '@epg/tensor';

/** Mean and covariance without provenance (e.g. numbers from a test). */
export interface Gaussian {
  readonly mu: Float64Array;
  readonly sigma: Float64Array;
}

export interface FrechetTerms {
  /** ‖μ₁ − μ₂‖² */
  readonly meanTerm: number;
  readonly trace1: number;
  readonly trace2: number;
  /** tr (Σ₁Σ₂)^{1/2} */
  readonly traceSqrt: number;
  /** The distance, clipped at 0 (round-off can give −1e−13 for identical inputs). */
  readonly distance: number;
}

export class ExtractorMismatchError extends Error {
  override readonly name = 'ExtractorMismatchError';
}

function isStats(g: Gaussian | FeatureStatistics): g is FeatureStatistics {
  return typeof (g as FeatureStatistics).extractor === 'string';
}

/** Throws unless both statistics come from the same feature extractor. */
export function assertSameExtractor(a: Gaussian | FeatureStatistics, b: Gaussian | FeatureStatistics): void {
  if (isStats(a) && isStats(b) && a.extractor !== b.extractor) {
    throw new ExtractorMismatchError(
      `cannot compare statistics from extractor '${a.extractor}' with statistics from '${b.extractor}': compute both with the same extractor`,
    );
  }
}

function checkGaussian(g: Gaussian, which: string): number {
  const d = g.mu.length;
  if (d < 1) throw new EpgError('shape', `${which}: mu is empty`);
  if (g.sigma.length !== d * d) {
    throw new EpgError('shape', `${which}: sigma has ${g.sigma.length} values, expected ${d}×${d} for mu of length ${d}`);
  }
  for (const v of g.mu) if (!Number.isFinite(v)) throw new EpgError('numeric', `${which}: mu contains ${v}`);
  for (const v of g.sigma) if (!Number.isFinite(v)) throw new EpgError('numeric', `${which}: sigma contains ${v}`);
  return d;
}

/** The distance and its parts. Inputs are not modified. */
export function frechetTerms(a: Gaussian | FeatureStatistics, b: Gaussian | FeatureStatistics): FrechetTerms {
  assertSameExtractor(a, b);
  const d = checkGaussian(a, 'first statistics');
  const d2 = checkGaussian(b, 'second statistics');
  if (d !== d2) throw new EpgError('mismatch', `cannot compare statistics of dimension ${d} with dimension ${d2}`);
  let meanTerm = 0;
  for (let i = 0; i < d; i++) {
    const diff = a.mu[i] - b.mu[i];
    meanTerm += diff * diff;
  }
  let trace1 = 0;
  let trace2 = 0;
  for (let i = 0; i < d; i++) {
    trace1 += a.sigma[i * d + i];
    trace2 += b.sigma[i * d + i];
  }
  const traceSqrt = traceSqrtProduct(a.sigma, b.sigma, d);
  const raw = meanTerm + trace1 + trace2 - 2 * traceSqrt;
  return { meanTerm, trace1, trace2, traceSqrt, distance: Math.max(0, raw) };
}

/** Fréchet distance (FID for Inception statistics), float64, never NaN. */
export function frechetDistance(a: Gaussian | FeatureStatistics, b: Gaussian | FeatureStatistics): number {
  return frechetTerms(a, b).distance;
}
