import { frechetDistance, frechetTerms, ExtractorMismatchError } from './frechet';
import { featureStatistics, type FeatureStatistics } from './stats';
import { fixtures, syntheticFeatures } from './__fixtures__/synthetic';

function caseStats(c: (typeof fixtures.fid)[number]): [FeatureStatistics, FeatureStatistics] {
  return [
    featureStatistics(syntheticFeatures(c.seed1, c.n1, c.dim, 1), c.dim, 'synthetic'),
    featureStatistics(syntheticFeatures(c.seed2, c.n2, c.dim, c.scale2), c.dim, 'synthetic'),
  ];
}

describe('frechetDistance: closed forms', () => {
  it('is 0 for identical statistics (also with a singular covariance)', () => {
    for (const [n, d] of [[400, 16], [10, 16]]) {
      const s = featureStatistics(syntheticFeatures(3, n, d, 1), d, 'x');
      const t = frechetTerms(s, s);
      expect(t.distance).toBeLessThan(1e-10 * t.trace1);
      expect(t.distance).toBeGreaterThanOrEqual(0);
    }
  });

  it('equals ‖μ₁ − μ₂‖² when the covariances are equal', () => {
    const d = 24;
    const s = featureStatistics(syntheticFeatures(4, 300, d, 1), d, 'x');
    const mu2 = s.mu.map((v, i) => v + 0.1 * Math.sin(i));
    const expected = s.mu.reduce((p, v, i) => p + (v - mu2[i]) ** 2, 0);
    const got = frechetDistance(s, { ...s, mu: mu2 });
    expect(Math.abs(got - expected) / expected).toBeLessThan(1e-9);
  });

  it('equals Σ(√aᵢ − √bᵢ)² for diagonal covariances, and ‖Δμ‖² for zero covariances', () => {
    const a = new Float64Array([4, 0, 0, 1]);
    const b = new Float64Array([1, 0, 0, 9]);
    const mu = new Float64Array(2);
    expect(frechetDistance({ mu, sigma: a }, { mu, sigma: b })).toBeCloseTo(1 + 4, 13);
    const z = new Float64Array(4);
    expect(frechetDistance({ mu, sigma: z }, { mu: new Float64Array([3, 4]), sigma: z })).toBe(25);
  });
});

describe('frechetDistance: agreement with pytorch-fid (scipy.linalg.sqrtm) fixtures', () => {
  for (const c of fixtures.fid.filter((f) => !f.slow)) {
    it(`d=${c.dim}, n=(${c.n1}, ${c.n2}) within 1e-6 relative`, () => {
      const [a, b] = caseStats(c);
      const got = frechetDistance(a, b);
      expect(Number.isFinite(got)).toBe(true);
      expect(Math.abs(got - c.fid_scipy_sqrtm) / c.fid_scipy_sqrtm).toBeLessThan(1e-6);
      // numpy eigh route (docs/metrics-reference.md §2): its spurious √(round-off) eigenvalues on singular Σ cost ≈ 3e−8
      expect(Math.abs(got - c.fid_symmetric_eigh) / c.fid_symmetric_eigh).toBeLessThan(1e-7);
      // 40-digit mpmath value where the script computed one (small d, incl. a singular Σ₁)
      if (c.fid_mpmath !== undefined) expect(Math.abs(got - c.fid_mpmath) / c.fid_mpmath).toBeLessThan(1e-11);
    });
  }
});

describe('frechetDistance: refusals', () => {
  const s = featureStatistics(syntheticFeatures(1, 20, 3, 1), 3, 'inception-v3-fid/pool3');
  it('refuses statistics from different extractors', () => {
    const t = { ...s, extractor: 'domain/mnist' };
    expect(() => frechetDistance(s, t)).toThrow(ExtractorMismatchError);
    expect(() => frechetDistance(s, t)).toThrow(/'inception-v3-fid\/pool3' with statistics from 'domain\/mnist'/);
  });
  it('refuses mismatched dimensions and non-finite values', () => {
    const u = featureStatistics(syntheticFeatures(1, 20, 4, 1), 4, 'inception-v3-fid/pool3');
    expect(() => frechetDistance(s, u)).toThrow(/dimension 3 with dimension 4/);
    const bad = { mu: new Float64Array([0, NaN, 0]), sigma: s.sigma };
    expect(() => frechetDistance(bad, s)).toThrow(/mu contains NaN/);
  });
});
