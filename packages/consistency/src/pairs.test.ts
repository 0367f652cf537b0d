import { noiseSpace } from '@epg/schedules';
import { RandomStream } from '@epg/tensor';
import { EPG_CM_ECT, sampleTimePairs } from './index';

describe('sampleTimePairs', () => {
  it("uses EPG's ECT settings", () => {
    expect(EPG_CM_ECT).toEqual({ pMean: -0.4, pStd: 1.6, q: 2, k: 8, b: 1, stageSteps: 100_000 });
  });

  it('matches the hand-computed pair for z = 0 (P_std 0), shifted by H/64, with w = 1/(t − r)', () => {
    // t = e^−0.4 = 0.6703200460356393; r = t(1 − 2^−s(1 + 8·sigmoid(−t))): stage 1 clips to 0.002,
    // stage 2 gives 0.04903366892609955, stage 3 0.3596768574808694 (python, float64).
    const space = noiseSpace(256);
    const t0 = 0.6703200460356393;
    const want: Record<number, number> = { 0: 0.002, 100_000: 0.04903366892609955, 250_000: 0.3596768574808694 };
    for (const [step, r0] of Object.entries(want)) {
      const p = sampleTimePairs(RandomStream.fromSeed(1), 3, Number(step), space, { ...EPG_CM_ECT, pStd: 0 });
      for (let i = 0; i < 3; i++) {
        expect(p.t[i]).toBeCloseTo(4 * t0, 12);
        expect(p.r[i]).toBeCloseTo(4 * r0, 12);
        expect(p.weight[i]).toBeCloseTo(1 / (4 * t0 - 4 * r0), 9);
      }
      expect(p.stage).toBe(Math.floor(Number(step) / 100_000) + 1);
    }
  });

  it('halves Δt/t at each stage for the same z', () => {
    const space = noiseSpace(64);
    const rel = (step: number) => {
      const p = sampleTimePairs(RandomStream.fromSeed(9), 64, step, space, { ...EPG_CM_ECT, stageSteps: 10 });
      return Array.from(p.t, (t, i) => ({ t, gap: (t - p.r[i]) / t, clipped: p.r[i] === space.sigmaMin }));
    };
    const s3 = rel(20);
    const s4 = rel(30);
    let checked = 0;
    s3.forEach((a, i) => {
      if (a.clipped || s4[i].clipped) return;
      expect(s4[i].t).toBe(a.t);
      expect(s4[i].gap / a.gap).toBeCloseTo(0.5, 12);
      checked++;
    });
    expect(checked).toBeGreaterThan(40);
  });

  it('clips t and r at the space σ_min, where the weight is 0 (not ∞)', () => {
    const space = noiseSpace(128);
    const p = sampleTimePairs(RandomStream.fromSeed(3), 256, 0, space);
    for (let i = 0; i < 256; i++) {
      expect(p.t[i]).toBeGreaterThanOrEqual(space.sigmaMin);
      expect(p.r[i]).toBeGreaterThanOrEqual(space.sigmaMin);
      expect(p.r[i]).toBeLessThanOrEqual(p.t[i]);
      expect(Number.isFinite(p.weight[i])).toBe(true);
      if (p.t[i] === p.r[i]) expect(p.weight[i]).toBe(0);
    }
    // P(t clipped) = Φ((ln 0.002 + 0.4)/1.6) ≈ 1e-4, so force it: t = r = σ_min' for every sample.
    const forced = sampleTimePairs(RandomStream.fromSeed(3), 4, 0, space, { ...EPG_CM_ECT, pMean: -20, pStd: 0 });
    expect(Array.from(forced.weight)).toEqual([0, 0, 0, 0]);
    expect(Array.from(forced.t)).toEqual(Array(4).fill(space.sigmaMin));
  });

  it('rejects a bad batch', () => {
    expect(() => sampleTimePairs(RandomStream.fromSeed(1), 0, 0, noiseSpace(64))).toThrow(/batch size/);
  });
});
