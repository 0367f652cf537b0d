import { EPG_CM_WARMUP_STEP, warmupCosine, warmupStep } from './lr';

describe('warmupCosine', () => {
  const opts = { warmupSteps: 10, totalSteps: 110 };
  it('ramps linearly from 0 at step 0 to 1 at the end of warm-up', () => {
    expect(warmupCosine(0, opts)).toBe(0);
    expect(warmupCosine(5, opts)).toBeCloseTo(0.5, 15);
    expect(warmupCosine(10, opts)).toBe(1);
  });
  it('follows ½(1+cos) after warm-up: hand values at a quarter, half and the end', () => {
    // k = 35: (k−W)/(K−W) = 1/4 → ½(1 + cos(π/4)) = 0.853553390593...
    expect(warmupCosine(35, opts)).toBeCloseTo(0.8535533905932737, 14);
    expect(warmupCosine(60, opts)).toBeCloseTo(0.5, 14);
    expect(warmupCosine(110, opts)).toBeCloseTo(0, 14);
    expect(warmupCosine(111, opts)).toBe(0);
  });
  it('rejects bad options and steps', () => {
    expect(() => warmupCosine(-1, opts)).toThrow(/non-negative integer/);
    expect(() => warmupCosine(1, { warmupSteps: 10, totalSteps: 10 })).toThrow(/warmupSteps < totalSteps/);
  });
});

describe('warmupStep (EPG CM schedule)', () => {
  it('warms up, then 1.0 through 400k inclusive, 0.3 through 500k, 0.08 after', () => {
    expect(warmupStep(0, EPG_CM_WARMUP_STEP)).toBe(0);
    expect(warmupStep(5_000, EPG_CM_WARMUP_STEP)).toBe(0.5);
    expect(warmupStep(10_000, EPG_CM_WARMUP_STEP)).toBe(1);
    expect(warmupStep(400_000, EPG_CM_WARMUP_STEP)).toBe(1);
    expect(warmupStep(400_001, EPG_CM_WARMUP_STEP)).toBe(0.3);
    expect(warmupStep(500_000, EPG_CM_WARMUP_STEP)).toBe(0.3);
    expect(warmupStep(500_001, EPG_CM_WARMUP_STEP)).toBe(0.08);
  });
  it('checks that factors and boundaries agree', () => {
    expect(() => warmupStep(1, { warmupSteps: 0, boundaries: [1], factors: [1] })).toThrow(/one more factor/);
  });
});
