import {
  EPG_PRETRAIN_STEPS,
  RRCM_PRETRAIN_STEPS,
  cosineTau2,
  curriculumScales,
  mocoMomentum,
  rrcmTargetEma,
  scaleStepConstants,
  warmupCosine,
} from './index';

/** Run fractions where N(k) changes, for a curriculum of K steps run for K steps. */
function boundaries(K: number, endScales: number): number[] {
  const out: number[] = [];
  let prev = curriculumScales(0, { totalSteps: K, endScales });
  for (let k = 1; k <= K; k++) {
    const n = curriculumScales(k, { totalSteps: K, endScales });
    if (n !== prev) out.push(k / K);
    prev = n;
  }
  return out;
}

describe('scaleStepConstants (short runs)', () => {
  it('scales every constant by K/K_ref, rounded, for a 1,000-step EPG run', () => {
    expect(scaleStepConstants(EPG_PRETRAIN_STEPS, 1000)).toEqual({
      totalSteps: 1000,
      warmupSteps: 17, // 10k·1000/600k = 16.67
      curriculumSteps: 1000,
      tauSteps: 1000,
      emaRampSteps: 1000,
    });
    expect(scaleStepConstants(RRCM_PRETRAIN_STEPS, 1000).warmupSteps).toBe(25);
    expect(scaleStepConstants(EPG_PRETRAIN_STEPS, 600_000)).toEqual(EPG_PRETRAIN_STEPS);
  });

  it('keeps constants >= 1 and the warm-up inside the run', () => {
    const tiny = scaleStepConstants(EPG_PRETRAIN_STEPS, 2);
    expect(tiny.warmupSteps).toBe(1);
    expect(tiny.curriculumSteps).toBe(2);
    expect(scaleStepConstants({ ...EPG_PRETRAIN_STEPS, warmupSteps: 0 }, 100).warmupSteps).toBe(0);
  });

  it('gives the curriculum the same doubling fractions as the 600k run (20→1280 and 20→80)', () => {
    const short = scaleStepConstants(EPG_PRETRAIN_STEPS, 1000);
    for (const endScales of [1280, 80]) {
      const a = boundaries(short.curriculumSteps, endScales);
      // 600k boundaries from the closed form: stage j starts at j·K' + 1 with K' = ceil(K / log2(ceil(s1/s0) + 1)).
      const Kp = Math.ceil(600_000 / Math.log2(Math.ceil(endScales / 20) + 1));
      const b = a.map((_, j) => (j === 0 ? 1 : j * Kp + 1) / 600_000);
      expect(a.length).toBe(endScales === 1280 ? 6 : 2); // 21→41→…→1281, 21→41→81
      a.forEach((f, j) => expect(Math.abs(f - b[j])).toBeLessThan(0.01));
    }
  });

  it('anneals τ₂ and the warm-up on the same run fractions', () => {
    const short = scaleStepConstants(EPG_PRETRAIN_STEPS, 1000);
    for (const k of [0, 100, 333, 500, 666, 667, 900]) {
      expect(cosineTau2(k, { totalSteps: short.tauSteps })).toBeCloseTo(cosineTau2(k * 600), 14);
      const lrShort = warmupCosine(k, { warmupSteps: short.warmupSteps, totalSteps: short.totalSteps });
      const lrLong = warmupCosine(k * 600, { warmupSteps: EPG_PRETRAIN_STEPS.warmupSteps, totalSteps: 600_000 });
      expect(Math.abs(lrShort - lrLong)).toBeLessThan(0.05); // warm-up 17 vs 16.67 steps
    }
    const r = scaleStepConstants(RRCM_PRETRAIN_STEPS, 1000);
    for (const k of [0, 250, 999]) expect(rrcmTargetEma(k, { decaySteps: r.emaRampSteps })).toBeCloseTo(rrcmTargetEma(k * 600), 12);
  });

  it('rejects a bad run length with a message naming it', () => {
    expect(() => scaleStepConstants(EPG_PRETRAIN_STEPS, 1)).toThrow(/totalSteps passed to scaleStepConstants/);
    expect(() => scaleStepConstants(EPG_PRETRAIN_STEPS, 10.5)).toThrow(/totalSteps/);
  });
});

describe('mocoMomentum', () => {
  it('is 1 − (1 − m₀)(cos(πk/K) + 1)/2: m₀ at 0, halfway at K/2, 1 at K and after', () => {
    expect(mocoMomentum(0, { totalSteps: 100 })).toBeCloseTo(0.99, 15);
    expect(mocoMomentum(50, { totalSteps: 100 })).toBeCloseTo(0.995, 15);
    expect(mocoMomentum(25, { totalSteps: 100 })).toBeCloseTo(1 - 0.01 * (Math.SQRT1_2 + 1) / 2, 15);
    expect(mocoMomentum(100, { totalSteps: 100 })).toBe(1);
    expect(mocoMomentum(150, { totalSteps: 100 })).toBe(1);
    expect(() => mocoMomentum(-1)).toThrow(/step passed to mocoMomentum/);
  });
});
