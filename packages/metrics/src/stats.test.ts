import { StatisticsAccumulator, featureStatistics } from './stats';
import { fixtures, syntheticFeatures } from './__fixtures__/synthetic';

function addInBatches(x: Float64Array, d: number, batch: number): ReturnType<StatisticsAccumulator['finish']> {
  const acc = new StatisticsAccumulator(d, 'test');
  const n = x.length / d;
  for (let s = 0; s < n; s += batch) acc.add(x.subarray(s * d, Math.min(n, s + batch) * d));
  return acc.finish();
}

describe('StatisticsAccumulator', () => {
  it('matches numpy mean and np.cov (ddof 1) on the d=2 fixture', () => {
    const c = fixtures.fid[0];
    const st = featureStatistics(syntheticFeatures(c.seed1, c.n1, c.dim, 1), c.dim, 'test');
    fixtures.stats_probe.mu.forEach((v, i) => expect(st.mu[i]).toBeCloseTo(v, 14));
    fixtures.stats_probe.sigma.forEach((v, i) => expect(st.sigma[i]).toBeCloseTo(v, 14));
    expect(st.count).toBe(50);
    expect(st.extractor).toBe('test');
  });

  it('matches numpy sums of μ and Σ for d = 16…256', () => {
    for (const c of fixtures.fid.filter((f) => f.dim > 2 && f.dim <= 256)) {
      const st = featureStatistics(syntheticFeatures(c.seed1, c.n1, c.dim, 1), c.dim, 'test');
      expect(st.mu.reduce((p, q) => p + q, 0)).toBeCloseTo(c.mu1_sum, 9);
      expect(st.sigma.reduce((p, q) => p + q, 0) / c.sigma1_sum).toBeCloseTo(1, 11);
      let tr = 0;
      for (let i = 0; i < c.dim; i++) tr += st.sigma[i * c.dim + i];
      expect(tr / c.trace1).toBeCloseTo(1, 12);
    }
  });

  it('gives bit-identical statistics for any batch size', () => {
    const d = 33;
    const x = syntheticFeatures(77, 1000, d, 2);
    const ref = addInBatches(x, d, 1000);
    for (const b of [1, 7, 64, 65, 333]) {
      const st = addInBatches(x, d, b);
      expect(Array.from(st.mu)).toEqual(Array.from(ref.mu));
      expect(Array.from(st.sigma)).toEqual(Array.from(ref.sigma));
    }
  });

  it('stays accurate with a large common offset (shifted sums)', () => {
    const d = 4;
    const x = syntheticFeatures(5, 500, d, 1);
    const shifted = x.map((v) => v + 1e6);
    const a = featureStatistics(x, d, 't');
    const b = featureStatistics(shifted, d, 't');
    a.sigma.forEach((v, i) => expect(Math.abs(b.sigma[i] - v)).toBeLessThan(1e-8 * Math.abs(a.sigma[0])));
  });

  it('rejects bad input with a clear message', () => {
    const acc = new StatisticsAccumulator(3, 't');
    expect(() => acc.add(new Float32Array(4))).toThrow(/rows × 3/);
    expect(() => acc.add(new Float32Array([1, NaN, 2]))).toThrow(/feature 1 of row 0 is NaN/);
    expect(() => new StatisticsAccumulator(3, 't').finish()).toThrow(/at least 2/);
  });
});
