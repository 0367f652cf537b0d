import { dmShortRun } from '@epg/schedules';
import { EPG_DM_OPTIMIZER, dmLearningRate } from './index';

describe('dmLearningRate', () => {
  it("is EPG's 1e-4 peak with warm-up and cosine (hand-computed on a 300-step run)", () => {
    const lr = dmLearningRate(2e-4, dmShortRun(300)) as (k: number) => number; // W = 3
    expect(lr(0)).toBe(0);
    expect(lr(3)).toBeCloseTo(2e-4, 18);
    expect(lr(102)).toBeCloseTo(1.5e-4, 15); // ½(1 + cos(π/3)) = 3/4
    expect((dmLearningRate() as (k: number) => number)(10_000)).toBe(EPG_DM_OPTIMIZER.lr);
  });
  it('refuses a bad base LR', () => {
    expect(() => dmLearningRate(0)).toThrow(/finite number > 0, got 0/);
  });
});
