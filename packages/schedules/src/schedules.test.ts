import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CONTRASTIVE_TAU,
  EPG_CODE_TEMPERATURE,
  EPG_CURRICULUM,
  EPG_DM_NOISE,
  EPG_GUIDANCE_INTERVAL,
  EPG_PAPER_TEMPERATURE,
  EPG_TARGET_EMA,
  EDM_NOISE,
  KARRAS_DEFAULTS,
  RRCM_CURRICULUM,
  SIGMA_DATA,
  boundaryScalings,
  cIn,
  cosineTau2,
  curriculumScales,
  curriculumStageLength,
  dmLossWeights,
  ectLossWeight,
  ectStage,
  ectTimePair,
  edmLossWeight,
  edmScalings,
  inGuidanceInterval,
  interpolatedTau,
  karrasSigma,
  karrasSigmas,
  lognormalSigma,
  noiseShift,
  rrcmTargetEma,
  samplingSigmas,
  sigmaFromTimeValue,
  snapToGrid,
  temperature,
  timeValue,
  timeValueCm,
  timeValueEdm,
} from './index';

/** Values made by scripts/make_fixtures.py (numpy, mirroring the Python sources). */
const fx = JSON.parse(readFileSync(join(__dirname, '__fixtures__', 'schedules.json'), 'utf8'));

const rel = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-300);

describe('defaults are the documented ones', () => {
  it('pins every default constant', () => {
    expect(KARRAS_DEFAULTS).toEqual({ sigmaMin: 0.002, sigmaMax: 80, rho: 7 });
    expect(SIGMA_DATA).toBe(0.5);
    expect(EPG_CURRICULUM).toEqual({ startScales: 20, endScales: 1280, totalSteps: 600_000, variant: 'icm' });
    expect(RRCM_CURRICULUM).toEqual({ startScales: 20, endScales: 80, totalSteps: 600_000, variant: 'icm' });
    expect(EPG_TARGET_EMA).toBe(0.99);
    expect(CONTRASTIVE_TAU).toBe(0.2);
    expect(EPG_CODE_TEMPERATURE).toEqual({ kind: 'constant', tau: 0.1 });
    expect(EPG_PAPER_TEMPERATURE).toEqual({ kind: 'interpolated', tau1: 0.1, tauStart: 0.2, tauEnd: 0.1, totalSteps: 600_000 });
    expect(EPG_DM_NOISE).toEqual({ pMean: -1.2, pStd: 1.6, gridSize: 1280 });
    expect(EDM_NOISE).toEqual({ pMean: -1.2, pStd: 1.2 });
    expect(EPG_GUIDANCE_INTERVAL).toEqual({ low: 0.19, high: 1.61 });
  });
  it('functions use those defaults when options are omitted', () => {
    expect(karrasSigmas(32)).toEqual(karrasSigmas(32, { sigmaMin: 0.002, sigmaMax: 80, rho: 7 }));
    expect(curriculumScales(250_000)).toBe(curriculumScales(250_000, EPG_CURRICULUM));
    expect(rrcmTargetEma(12_345)).toBe(rrcmTargetEma(12_345, { muStart: 0.99, muEnd: 0.9999, A: 10, decaySteps: 600_000 }));
    expect(cosineTau2(77_777)).toBe(cosineTau2(77_777, { tauStart: 0.2, tauEnd: 0.1, totalSteps: 600_000 }));
    expect(lognormalSigma(0.7)).toBe(lognormalSigma(0.7, { pMean: -1.2, pStd: 1.6 }));
    expect(dmLossWeights()).toEqual(dmLossWeights(1280, KARRAS_DEFAULTS));
    expect(ectTimePair(0.3, 150_000)).toEqual(
      ectTimePair(0.3, 150_000, { pMean: -0.4, pStd: 1.6, q: 2, k: 8, b: 1, stageSteps: 100_000, sigmaMin: 0.002 }),
    );
    expect(edmScalings(1.3)).toEqual(edmScalings(1.3, 0.5));
    expect(boundaryScalings(1.3, { sigmaMin: 0.002 })).toEqual(boundaryScalings(1.3, { sigmaMin: 0.002, sigmaData: 0.5 }));
    expect(timeValue(2)).toBe(timeValueCm(2));
    expect(inGuidanceInterval(1.0, { shift: 1 })).toBe(true);
  });
});

describe('karrasSigmas', () => {
  it('matches numpy for n = 2, 18, 32 and selected points of n = 1280', () => {
    for (const n of [2, 18, 32]) {
      const got = karrasSigmas(n);
      const want: number[] = fx.karras[String(n)];
      expect(got.length).toBe(n);
      want.forEach((w, i) => expect(rel(got[i], w)).toBeLessThan(1e-13));
    }
    const g = karrasSigmas(1280);
    for (const [i, w] of Object.entries(fx.karras1280_selected as Record<string, number>)) {
      expect(rel(g[Number(i)], w)).toBeLessThan(1e-13);
    }
  });
  it('has σ_max at index 0, σ_min at n−1, strictly decreasing; n = 1 gives [σ_max]', () => {
    const g = karrasSigmas(18, { sigmaMin: 0.01, sigmaMax: 50 });
    expect(g[0]).toBe(50);
    expect(g[17]).toBe(0.01);
    for (let i = 1; i < g.length; i++) expect(g[i]).toBeLessThan(g[i - 1]);
    expect(Array.from(karrasSigmas(1))).toEqual([80]);
  });
  it('closed form: ρ = 1 is a linear ramp', () => {
    const g = karrasSigmas(5, { sigmaMin: 1, sigmaMax: 5, rho: 1 });
    Array.from(g).forEach((s, i) => expect(s).toBeCloseTo(5 - i, 12));
  });
  it('rejects bad arguments with a message naming them', () => {
    expect(() => karrasSigmas(0)).toThrow(/n passed to karrasSigmas must be an integer >= 1/);
    expect(() => karrasSigmas(4, { sigmaMin: -1 })).toThrow(/sigmaMin passed to karrasSigmas/);
    expect(() => karrasSigmas(4, { sigmaMax: 0.001 })).toThrow(/sigmaMax .* must exceed sigmaMin/);
  });
});

describe('noise shift and sampling grid', () => {
  it('noiseShift = H/64', () => {
    expect(noiseShift(256)).toBe(4);
    expect(noiseShift(512)).toBe(8);
    expect(noiseShift(224)).toBe(3.5);
    expect(noiseShift(64)).toBe(1);
    expect(noiseShift(256, false)).toBe(1); // rRCM: no shift
    expect(() => noiseShift(0)).toThrow(/resolution passed to noiseShift/);
  });
  it('samplingSigmas(32, shift 4) runs 320 → 0.008 with no zero unless asked', () => {
    const s = samplingSigmas(32, { shift: 4 });
    expect(s.length).toBe(32);
    expect(s[0]).toBe(320);
    expect(s[31]).toBeCloseTo(0.008, 15);
    const z = samplingSigmas(32, { shift: 4, appendZero: true });
    expect(z.length).toBe(33);
    expect(z[32]).toBe(0);
    expect(Array.from(z.subarray(0, 32))).toEqual(Array.from(s));
  });
});

describe('scalings and time encodings', () => {
  it('match numpy (EDM c_skip, c_out, c_in, c_noise, 250 ln σ, λ)', () => {
    for (const [s, cSkip, cOut, cInV, cNoise, tCm, lambda] of fx.edm as number[][]) {
      const e = edmScalings(s);
      expect(rel(e.cSkip, cSkip)).toBeLessThan(1e-14);
      expect(rel(e.cOut, cOut)).toBeLessThan(1e-14);
      expect(rel(e.cIn, cInV)).toBeLessThan(1e-14);
      expect(rel(cIn(s), cInV)).toBeLessThan(1e-14);
      expect(Math.abs(e.cNoise - cNoise)).toBeLessThan(1e-14);
      expect(Math.abs(timeValueEdm(s) - cNoise)).toBeLessThan(1e-14);
      expect(Math.abs(timeValueCm(s) - tCm)).toBeLessThan(1e-11);
      expect(rel(edmLossWeight(s), lambda)).toBeLessThan(1e-14);
    }
  });
  it('EDM closed forms: c_skip + c_out²/σ_d² = 1 and σ = σ_d gives c_skip = ½', () => {
    for (const s of [0.01, 0.5, 3, 80]) {
      const e = edmScalings(s);
      expect(e.cSkip + (e.cOut * e.cOut) / 0.25).toBeCloseTo(1, 14);
    }
    expect(edmScalings(0.5).cSkip).toBeCloseTo(0.5, 15);
  });
  it('boundary scalings match numpy and give f(x, σ_min′) = x', () => {
    for (const [s, sm, cSkip, cOut, cInV] of fx.boundary as number[][]) {
      const b = boundaryScalings(s, { sigmaMin: sm });
      expect(rel(b.cSkip, cSkip)).toBeLessThan(1e-14);
      expect(Math.abs(b.cOut - cOut)).toBeLessThan(1e-14);
      expect(rel(b.cIn, cInV)).toBeLessThan(1e-14);
    }
    const at = boundaryScalings(0.008, { sigmaMin: 0.008 });
    expect(at.cSkip).toBe(1);
    expect(at.cOut).toBe(0);
  });
  it('time values invert', () => {
    expect(timeValueCm(1)).toBe(0);
    expect(timeValueCm(Math.E)).toBeCloseTo(250, 12);
    expect(timeValueEdm(Math.exp(4))).toBeCloseTo(1, 14);
    for (const s of [0.008, 0.76, 6.44, 320]) {
      expect(sigmaFromTimeValue(timeValue(s, 'cm'), 'cm')).toBeCloseTo(s, 12);
      expect(sigmaFromTimeValue(timeValue(s, 'edm'), 'edm')).toBeCloseTo(s, 12);
    }
    expect(() => timeValueCm(0)).toThrow(/sigma passed to timeValueCm/);
  });
});

describe('scale curriculum (§3.4)', () => {
  it('icm: EPG stages 21/41/81/161/321/641/1281 at the boundaries of §3.4, equal to numpy', () => {
    expect(curriculumStageLength()).toBe(99_629);
    const want = [
      [0, 21], [1, 41], [99_629, 41], [99_630, 81], [199_258, 81], [199_259, 161], [298_887, 161], [298_888, 321],
      [398_516, 321], [398_517, 641], [498_145, 641], [498_146, 1281], [600_000, 1281],
    ];
    for (const [k, n] of want) expect(curriculumScales(k)).toBe(n);
    for (const [k, n] of fx.icm.epg.values as number[][]) expect(curriculumScales(k)).toBe(n);
  });
  it('icm: rRCM ImageNet and CIFAR (K′ 258,406 and 129,203) equal numpy', () => {
    expect(curriculumStageLength(RRCM_CURRICULUM)).toBe(258_406);
    expect(fx.icm.rrcm_imagenet.K_prime).toBe(258_406);
    for (const [k, n] of fx.icm.rrcm_imagenet.values as number[][]) expect(curriculumScales(k, RRCM_CURRICULUM)).toBe(n);
    const cifar = { ...RRCM_CURRICULUM, totalSteps: 300_000 };
    expect(curriculumStageLength(cifar)).toBe(129_203);
    for (const [k, n] of fx.icm.rrcm_cifar.values as number[][]) expect(curriculumScales(k, cifar)).toBe(n);
  });
  it('ict floor variant: exact stage boundaries (K = 400k, 10 → 1280: K′ = 50,000)', () => {
    const ict = { startScales: 10, endScales: 1280, totalSteps: 400_000, variant: 'ict' } as const;
    expect(curriculumStageLength(ict)).toBe(50_000);
    for (const [k, n] of fx.ict.ict_cifar.values as number[][]) expect(curriculumScales(k, ict)).toBe(n);
    const ict2 = { startScales: 20, endScales: 80, totalSteps: 300_000, variant: 'ict' } as const;
    expect(curriculumStageLength(ict2)).toBe(100_000); // 300000/3 exactly (§10.9)
    for (const [k, n] of fx.ict.ict_300k_20_80.values as number[][]) expect(curriculumScales(k, ict2)).toBe(n);
  });
  it('rejects bad arguments', () => {
    expect(() => curriculumScales(-1)).toThrow(/step passed to curriculumScales/);
    expect(() => curriculumScales(0, { endScales: 10 })).toThrow(/endScales/);
  });
});

describe('rRCM sigmoid target EMA (§3.5)', () => {
  it('matches numpy and hits μ_start at 0, μ_end from D on', () => {
    for (const [k, mu] of fx.rrcm_ema as number[][]) expect(rel(rrcmTargetEma(k), mu)).toBeLessThan(1e-13);
    for (const [k, mu] of fx.rrcm_ema_cifar as number[][]) {
      expect(rel(rrcmTargetEma(k, { A: 15, decaySteps: 300_000 }), mu)).toBeLessThan(1e-13);
    }
    expect(rrcmTargetEma(0)).toBeCloseTo(0.99, 15);
    // At k >= D, e = μ_end and c = 2/(1+e^{−A}) − 1 = tanh(A/2).
    expect(rrcmTargetEma(600_000)).toBeCloseTo(Math.tanh(5) * 0.9999 + (1 - Math.tanh(5)) * 0.99, 15);
  });
});

describe('temperature (§3.6)', () => {
  it('cosine τ₂ matches numpy; closed form τ_start − τ_end·sin(0.75πk/S); τ_end after 2S/3', () => {
    for (const [k, t] of fx.cosine_tau as number[][]) expect(Math.abs(cosineTau2(k) - t)).toBeLessThan(1e-15);
    expect(cosineTau2(0)).toBeCloseTo(0.2, 15);
    expect(cosineTau2(200_000)).toBeCloseTo(0.2 - 0.1 * Math.sin(0.75 * Math.PI / 3), 15);
    expect(cosineTau2(400_000)).toBeCloseTo(0.1, 15);
    expect(cosineTau2(400_001)).toBe(0.1);
  });
  it('interpolated τ matches numpy, τ₁ at σ_min and τ₂ at σ_max', () => {
    for (const [s, k, t] of fx.interp_tau as number[][]) {
      expect(Math.abs(temperature(EPG_PAPER_TEMPERATURE, s, k) - t)).toBeLessThan(1e-15);
    }
    expect(interpolatedTau(0.002, 0.1, 0.3)).toBeCloseTo(0.1, 15);
    expect(interpolatedTau(80, 0.1, 0.3)).toBeCloseTo(0.3, 15);
    expect(temperature(EPG_CODE_TEMPERATURE, 3.3, 123)).toBe(0.1);
  });
});

describe('DM noise sampling and weights (§5.1, §10.2)', () => {
  it('lognormal draws snapped to the 1280 grid pick the numpy argmin index', () => {
    const grid = karrasSigmas(1280);
    for (const [z, s, j] of fx.lognormal_snap as number[][]) {
      expect(rel(lognormalSigma(z), s)).toBeLessThan(1e-14);
      expect(snapToGrid(lognormalSigma(z), grid)).toBe(j);
    }
  });
  it('snapToGrid: nearest in absolute σ, first index on ties, clamps outside', () => {
    const grid = [8, 4, 2, 1];
    expect(snapToGrid(3, grid)).toBe(1); // |3−4| = 1 < |3−2|
    expect(snapToGrid(6, grid)).toBe(0); // tie 8/4 → first index
    expect(snapToGrid(1.5, grid)).toBe(2); // tie 2/1 → first index
    expect(snapToGrid(100, grid)).toBe(0);
    expect(snapToGrid(0.1, grid)).toBe(3);
    expect(snapToGrid(4, grid)).toBe(1);
    expect(() => snapToGrid(1, [])).toThrow(/non-empty/);
  });
  it('weights 1/(σ_j − σ_{j+1}) match numpy with extrapolated σ_N ≈ 0.001962', () => {
    const w = dmLossWeights();
    expect(w.length).toBe(1280);
    expect(rel(karrasSigma(1280, 1280), fx.dm_weights_1280.sigma_n)).toBeLessThan(1e-13);
    expect(karrasSigma(1280, 1280)).toBeCloseTo(0.001962, 6);
    for (const [j, v] of Object.entries(fx.dm_weights_1280.selected as Record<string, number>)) {
      expect(rel(w[Number(j)], v)).toBeLessThan(1e-9);
    }
    // §5.1: w ≈ 2.9 at σ = 80.
    expect(w[0]).toBeCloseTo(2.93, 2);
  });
});

describe('ECT (t, r) sampler (§5.2)', () => {
  it('matches numpy, including the clip at σ_min and stage halving', () => {
    for (const [z, step, t, r] of fx.ect as number[][]) {
      const p = ectTimePair(z, step);
      expect(rel(p.t, t)).toBeLessThan(1e-14);
      expect(rel(p.r, r)).toBeLessThan(1e-13);
    }
    expect(ectStage(0)).toBe(1);
    expect(ectStage(99_999)).toBe(1);
    expect(ectStage(100_000)).toBe(2);
    // Large t: sigmoid(−t) → 0, so 1 − r/t → q^{−s}: halves every stage.
    const a = ectTimePair(4, 0);
    const b = ectTimePair(4, 100_000);
    expect((1 - b.r / b.t) / (1 - a.r / a.t)).toBeCloseTo(0.5, 6);
    expect(ectTimePair(-10, 0)).toEqual({ t: 0.002, r: 0.002 });
  });
  it('weight 1/(t − r), zero when r was clipped to t (§10.1)', () => {
    expect(ectLossWeight(0.5, 0.25)).toBe(4);
    expect(ectLossWeight(0.008, 0.008)).toBe(0);
  });
});

describe('guidance interval (§6)', () => {
  it('on the 32-step grid at 256 px it holds exactly indices 17…22 (= numpy)', () => {
    const s = samplingSigmas(32, { shift: noiseShift(256) });
    const inside = Array.from(s.keys()).filter((i) => inGuidanceInterval(s[i], { shift: 4 }));
    expect(inside).toEqual([17, 18, 19, 20, 21, 22]);
    expect(inside).toEqual(fx.guidance_32_256);
  });
  it('lower bound exclusive, upper inclusive', () => {
    expect(inGuidanceInterval(0.19, { shift: 1 })).toBe(false);
    expect(inGuidanceInterval(1.61, { shift: 1 })).toBe(true);
    // No default shift: a forgotten one is an error, not silently 1.
    expect(() => inGuidanceInterval(1, {} as { shift: number })).toThrow(/shift/);
    expect(() => samplingSigmas(32, {} as { shift: number })).toThrow(/shift/);
    expect(inGuidanceInterval(0.76, { shift: 4 })).toBe(false);
    expect(inGuidanceInterval(6.44, { shift: 4 })).toBe(true);
  });
});
