import { EPG_DM_RUN, dmClipActive, dmLrFactor, dmShortRun } from './index';

describe('dmShortRun', () => {
  it('is the reference run at the reference length', () => {
    expect(dmShortRun(1_000_000)).toEqual(EPG_DM_RUN);
  });
  it('keeps the warm-up at 1 % of the run (hand-computed)', () => {
    expect(dmShortRun(300)).toEqual({ totalSteps: 300, warmupSteps: 3 });
    expect(dmShortRun(2000)).toEqual({ totalSteps: 2000, warmupSteps: 20 });
    expect(dmShortRun(49)).toEqual({ totalSteps: 49, warmupSteps: 0 }); // round(0.49) = 0: no warm-up
  });
  it('keeps a cosine part for tiny runs and refuses a 1-step run', () => {
    expect(dmShortRun(2, { totalSteps: 4, warmupSteps: 3 })).toEqual({ totalSteps: 2, warmupSteps: 1 });
    expect(() => dmShortRun(1)).toThrow(/totalSteps passed to dmShortRun must be an integer >= 2, got 1/);
  });
});

describe('dmLrFactor / dmClipActive', () => {
  const run = dmShortRun(300); // W = 3, K = 300
  it('ramps linearly, then follows the cosine to 0 (closed form)', () => {
    expect([0, 1, 2, 3].map((k) => dmLrFactor(k, run))).toEqual([0, 1 / 3, 2 / 3, 1]);
    // k = 102: ½(1 + cos(π·99/297)) = ½(1 + cos(π/3)) = 3/4.
    expect(dmLrFactor(102, run)).toBeCloseTo(0.75, 12);
    expect(dmLrFactor(300, run)).toBeCloseTo(0, 12);
    expect(dmLrFactor(10_000, EPG_DM_RUN)).toBe(1);
  });
  it('clips only once the warm-up is over', () => {
    expect([0, 3, 4].map((k) => dmClipActive(k, run))).toEqual([false, false, true]);
    expect(dmClipActive(10_000, EPG_DM_RUN)).toBe(false);
    expect(dmClipActive(10_001, EPG_DM_RUN)).toBe(true);
  });
});
