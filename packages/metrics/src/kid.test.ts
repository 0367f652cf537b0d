import { kernelInceptionDistance, polynomialMmd2 } from './kid';
import { fixtures, syntheticFeatures } from './__fixtures__/synthetic';

describe('KID', () => {
  it('matches torch-fidelity’s unbiased polynomial MMD² (numpy fixture) on whole sets', () => {
    for (const c of fixtures.kid) {
      const x = { data: syntheticFeatures(c.seed1, c.m, c.dim, 1), count: c.m, dim: c.dim };
      const y = { data: syntheticFeatures(c.seed2, c.m, c.dim, c.scale2), count: c.m, dim: c.dim };
      const all = Int32Array.from({ length: c.m }, (_, i) => i);
      const got = polynomialMmd2(x, y, all, all);
      expect(Math.abs(got - c.mmd2)).toBeLessThan(1e-9 * Math.abs(c.mmd2) + 1e-15);
      // the estimator does not depend on the order of rows
      const rev = all.slice().reverse();
      expect(Math.abs(polynomialMmd2(x, y, rev, all) - c.mmd2)).toBeLessThan(1e-9 * Math.abs(c.mmd2) + 1e-15);
    }
  });

  it('is ≈ 0 (and can be negative) for two samples of one distribution, > 0 for different ones', () => {
    const d = 8;
    const a = { data: syntheticFeatures(1, 400, d, 1), count: 400, dim: d };
    const b = { data: syntheticFeatures(2, 400, d, 1), count: 400, dim: d };
    const c = { data: syntheticFeatures(3, 400, d, 1.5), count: 400, dim: d };
    const same = kernelInceptionDistance(a, b, { subsets: 10, subsetSize: 200 });
    const diff = kernelInceptionDistance(a, c, { subsets: 10, subsetSize: 200 });
    expect(Math.abs(same.mean)).toBeLessThan(3 * same.std + 1e-3);
    expect(diff.mean).toBeGreaterThan(10 * Math.abs(same.mean));
    expect(diff).toMatchObject({ subsets: 10, subsetSize: 200, seed: 2020 });
  });

  it('is reproducible for a seed and changes with it', () => {
    const d = 4;
    const a = { data: syntheticFeatures(4, 100, d, 1), count: 100, dim: d };
    const b = { data: syntheticFeatures(5, 100, d, 1.2), count: 100, dim: d };
    const r1 = kernelInceptionDistance(a, b, { subsets: 5, subsetSize: 50, seed: 7 });
    const r2 = kernelInceptionDistance(a, b, { subsets: 5, subsetSize: 50, seed: 7 });
    const r3 = kernelInceptionDistance(a, b, { subsets: 5, subsetSize: 50, seed: 8 });
    expect(r2.mean).toBe(r1.mean);
    expect(r3.mean).not.toBe(r1.mean);
  });

  it('refuses a subset larger than a set', () => {
    const a = { data: new Float32Array(40), count: 10, dim: 4 };
    expect(() => kernelInceptionDistance(a, a)).toThrow(/subsetSize 1000 exceeds the number of features \(10, 10\)/);
  });
});
