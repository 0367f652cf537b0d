import { inceptionScore } from './inception-score';
import { fixtures, hashUniform } from './__fixtures__/synthetic';

describe('inceptionScore', () => {
  it('matches the numpy reference (torch-fidelity formula, no shuffle), incl. uneven splits', () => {
    for (const c of fixtures.is) {
      const logits = hashUniform(c.seed, c.n, c.classes).map((u) => c.scale * (u - 0.5));
      const r = inceptionScore(logits, c.n, c.classes, c.splits);
      expect(Math.abs(r.mean - c.mean) / c.mean).toBeLessThan(1e-12);
      expect(Math.abs(r.std - c.std)).toBeLessThan(1e-12 * c.mean);
    }
  });

  it('gives 1 for identical predictions and K for confident, balanced ones', () => {
    const k = 4;
    const same = new Float64Array(8 * k).map((_, i) => (i % k) * 0.3);
    expect(inceptionScore(same, 8, k, 1).mean).toBeCloseTo(1, 12);
    const confident = new Float64Array(8 * k).map((_, i) => (Math.floor(i / k) % k === i % k ? 800 : 0));
    expect(inceptionScore(confident, 8, k, 2).mean).toBeCloseTo(k, 10);
  });

  it('rejects a bad split count', () => {
    expect(() => inceptionScore(new Float64Array(6), 3, 2, 4)).toThrow(/splits must be in 1..3/);
  });
});
