// Full-rank 2048-d case of the scipy fixtures (≈ 30 s on two cores): EPG_SLOW=1 pnpm test:slow
import { frechetDistance } from './frechet';
import { featureStatistics } from './stats';
import { fixtures, syntheticFeatures } from './__fixtures__/synthetic';

describe('frechetDistance at d = 2048, full rank', () => {
  for (const c of fixtures.fid.filter((f) => f.slow)) {
    it(`d=${c.dim}, n=(${c.n1}, ${c.n2}) within 1e-6 relative of scipy`, () => {
      const a = featureStatistics(syntheticFeatures(c.seed1, c.n1, c.dim, 1), c.dim, 'synthetic');
      const b = featureStatistics(syntheticFeatures(c.seed2, c.n2, c.dim, c.scale2), c.dim, 'synthetic');
      const got = frechetDistance(a, b);
      expect(Math.abs(got - c.fid_scipy_sqrtm) / c.fid_scipy_sqrtm).toBeLessThan(1e-6);
    }, 300_000);
  }
});
