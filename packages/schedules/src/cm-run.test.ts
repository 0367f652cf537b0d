import { EPG_CM_RUN, EPG_CM_WARMUP_STEP, cmShortRun, ectStage, warmupStep } from './index';

describe('cmShortRun', () => {
  it('is the reference run at 700k steps', () => {
    expect(cmShortRun(700_000)).toEqual(EPG_CM_RUN);
    expect(EPG_CM_RUN.lr).toEqual(EPG_CM_WARMUP_STEP);
  });

  it('scales the stage length and LR boundaries by K/700k (hand-computed)', () => {
    // 7000/700000 = 1/100: d 100k → 1000, warm-up 10k → 100, boundaries 400k, 500k → 4000, 5000.
    const s = cmShortRun(7000);
    expect(s).toEqual({ totalSteps: 7000, stageSteps: 1000, lr: { warmupSteps: 100, boundaries: [4000, 5000], factors: [1, 0.3, 0.08] } });
    // The run goes through 7 stages, as the reference (700k / 100k).
    expect(ectStage(6999, s.stageSteps)).toBe(7);
    expect(warmupStep(50, s.lr)).toBe(0.5);
    expect(warmupStep(4000, s.lr)).toBe(1);
    expect(warmupStep(4001, s.lr)).toBe(0.3);
    expect(warmupStep(5001, s.lr)).toBe(0.08);
    // 300 steps: 300/700000·100000 = 42.857… → 43; 4.2857 → 4; 171.43 → 171; 214.29 → 214.
    expect(cmShortRun(300)).toEqual({ totalSteps: 300, stageSteps: 43, lr: { warmupSteps: 4, boundaries: [171, 214], factors: [1, 0.3, 0.08] } });
  });

  it('keeps tiny runs valid: stage >= 1, boundaries strictly increasing', () => {
    const s = cmShortRun(1);
    expect(s.stageSteps).toBe(1);
    expect(s.lr.warmupSteps).toBe(0);
    expect(s.lr.boundaries).toEqual([1, 2]);
    expect(() => warmupStep(0, s.lr)).not.toThrow();
  });

  it('rejects a bad length', () => {
    expect(() => cmShortRun(0)).toThrow(/totalSteps passed to cmShortRun/);
    expect(() => cmShortRun(1.5)).toThrow(/totalSteps passed to cmShortRun/);
  });
});
