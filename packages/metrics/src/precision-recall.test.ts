import { precisionRecall, kthNeighbourRadiiSquared } from './precision-recall';
import { fixtures, syntheticFeatures } from './__fixtures__/synthetic';

describe('precisionRecall', () => {
  it('matches the numpy k-NN manifold reference exactly (k = 3)', () => {
    for (const c of fixtures.pr) {
      const real = { data: syntheticFeatures(c.seed1, c.nReal, c.dim, 1), count: c.nReal, dim: c.dim };
      const fake = { data: syntheticFeatures(c.seed2, c.nFake, c.dim, c.scale2), count: c.nFake, dim: c.dim };
      const r = precisionRecall(real, fake);
      expect(r.precision).toBe(c.precision);
      expect(r.recall).toBe(c.recall);
    }
  });

  it('computes k-th neighbour radii by hand on a line', () => {
    const f = { data: [0, 1, 3, 6, 10], count: 5, dim: 1 };
    expect(Array.from(kthNeighbourRadiiSquared(f, 2))).toEqual([9, 4, 9, 16, 49]);
  });

  it('gives precision = recall = 1 for identical sets', () => {
    const x = { data: syntheticFeatures(9, 30, 3, 1), count: 30, dim: 3 };
    expect(precisionRecall(x, x)).toEqual({ precision: 1, recall: 1, k: 3 });
  });
});
