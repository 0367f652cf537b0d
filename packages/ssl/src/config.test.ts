import { EPG_PAPER_TEMPERATURE } from '@epg/schedules';
import { isEpgError } from '@epg/tensor';
import { pretrainConfig, targetEmaAt, validatePretrainConfig } from './config';

describe('pretrainConfig', () => {
  it('EPG at 600k is the paper recipe; at 1,000 steps every step constant is scaled', () => {
    const full = pretrainConfig('epg');
    expect(full.consistency?.temperature).toEqual(EPG_PAPER_TEMPERATURE);
    expect(full.curriculum).toEqual({ startScales: 20, endScales: 1280, totalSteps: 600_000, variant: 'icm' });
    expect(full.targetEma).toEqual({ kind: 'constant', decay: 0.99 });
    expect(full.optimizer).toEqual({ lr: 2e-4, beta1: 0.9, beta2: 0.999, weightDecay: 0.03, clipNorm: null });
    const short = pretrainConfig('epg', { totalSteps: 1000 });
    expect(short.steps).toEqual({ totalSteps: 1000, warmupSteps: 17, curriculumSteps: 1000, tauSteps: 1000, emaRampSteps: 1000 });
    expect(short.curriculum.totalSteps).toBe(1000);
    expect(short.consistency?.temperature).toEqual({ ...EPG_PAPER_TEMPERATURE, totalSteps: 1000 });
  });

  it('rRCM, MoCo v3 and the ablations differ from EPG where the papers say', () => {
    const r = pretrainConfig('rrcm', { totalSteps: 1000 });
    expect(r.shift).toBe('none');
    expect(r.curriculum.endScales).toBe(80);
    expect(r.consistency?.temperature).toEqual({ kind: 'constant', tau: 0.2 });
    expect(r.frozen).toEqual(['patch_embed.']);
    expect(r.optimizer.clipNorm).toBe(2);
    expect(r.steps.warmupSteps).toBe(25);
    expect(targetEmaAt(r.targetEma, 0)).toBeCloseTo(0.99, 12);
    const m = pretrainConfig('moco-v3');
    expect(m.consistency).toBeNull();
    expect(m.contrastive).toEqual({ tau: 0.2, twoTauFactor: true, predictorHidden: 4096 });
    expect(pretrainConfig('epg-code').consistency?.temperature).toEqual({ kind: 'constant', tau: 0.1 });
    expect(pretrainConfig('contrastive-only').consistency).toBeNull();
    expect(pretrainConfig('consistency-only').contrastive).toBeNull();
    expect(pretrainConfig('epg', { lr: 6e-4 }).optimizer.lr).toBe(6e-4);
  });

  it('rejects bad values with one-line EpgErrors', () => {
    const e = (() => { try { pretrainConfig('nope' as never); } catch (x) { return x; } return null; })();
    expect(isEpgError(e) && (e as { kind: string }).kind === 'config').toBe(true);
    expect(() => validatePretrainConfig({ ...pretrainConfig('epg'), contrastive: null, consistency: null })).toThrow(/term list is empty/);
    expect(() => pretrainConfig('epg', { lr: -1 })).toThrow(/optimizer.lr is -1/);
    expect(() => pretrainConfig('epg', { totalSteps: 1 })).toThrow(/totalSteps/);
  });
});
