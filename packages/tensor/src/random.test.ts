import { RandomStream, hashString } from './random';

describe('RandomStream', () => {
  it('is deterministic in (run seed, step, stream) and distinct across each', () => {
    const draw = (r: RandomStream) => Array.from({ length: 5 }, () => r.nextUint32());
    expect(draw(RandomStream.derive(1, 10, 'noise'))).toEqual(draw(RandomStream.derive(1, 10, 'noise')));
    const base = draw(RandomStream.derive(1, 10, 'noise'));
    expect(draw(RandomStream.derive(2, 10, 'noise'))).not.toEqual(base);
    expect(draw(RandomStream.derive(1, 11, 'noise'))).not.toEqual(base);
    expect(draw(RandomStream.derive(1, 10, 'augment'))).not.toEqual(base);
    expect(draw(RandomStream.derive(2 ** 40, 10, 'noise'))).not.toEqual(draw(RandomStream.derive(0, 10, 'noise')));
  });

  it('a resumed stream continues exactly (state round-trip, pending Box–Muller value included)', () => {
    const a = RandomStream.fromSeed(3);
    a.normal(); // leaves a spare normal pending
    const b = RandomStream.fromState(JSON.parse(JSON.stringify(a.getState())));
    expect(Array.from({ length: 7 }, () => b.normal())).toEqual(Array.from({ length: 7 }, () => a.normal()));
  });

  it('uniform and normal have the right moments (n = 200k, ~6 standard errors)', () => {
    const r = RandomStream.fromSeed(42);
    const n = 200_000;
    const u = r.fillUniform(new Float64Array(n));
    const z = r.fillNormal(new Float64Array(n));
    const mean = (a: Float64Array) => a.reduce((s, x) => s + x, 0) / a.length;
    const mom = (a: Float64Array, k: number, m: number) => a.reduce((s, x) => s + (x - m) ** k, 0) / a.length;
    expect(Math.abs(mean(u) - 0.5)).toBeLessThan(6 * Math.sqrt(1 / 12 / n));
    expect(Math.abs(mom(u, 2, 0.5) - 1 / 12)).toBeLessThan(0.002);
    expect(u.reduce((m, x) => Math.min(m, x), 1)).toBeGreaterThanOrEqual(0);
    expect(u.reduce((m, x) => Math.max(m, x), 0)).toBeLessThan(1);
    expect(Math.abs(mean(z))).toBeLessThan(6 / Math.sqrt(n));
    expect(Math.abs(mom(z, 2, 0) - 1)).toBeLessThan(6 * Math.sqrt(2 / n));
    expect(Math.abs(mom(z, 4, 0) - 3)).toBeLessThan(0.1); // kurtosis of a Gaussian
  });

  it('int(n) is unbiased and permutation(n) is a permutation', () => {
    const r = RandomStream.fromSeed(5);
    const counts = new Array(3).fill(0);
    for (let i = 0; i < 30_000; i++) counts[r.int(3)]++;
    for (const c of counts) expect(Math.abs(c - 10_000)).toBeLessThan(6 * Math.sqrt(30_000 * (1 / 3) * (2 / 3)));
    const p = Array.from(r.permutation(100));
    expect([...p].sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(p).not.toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(() => r.int(0)).toThrow(/1 <= n/);
  });

  it('rejects seeds that are not non-negative safe integers', () => {
    expect(() => RandomStream.derive(-1, 0, 'x')).toThrow(/non-negative safe integer/);
    expect(() => RandomStream.derive(1.5, 0, 'x')).toThrow(/non-negative safe integer/);
    expect(hashString('noise')).not.toBe(hashString('noisf'));
  });
});
