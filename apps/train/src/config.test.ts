import * as E from 'fp-ts/Either';
import { PRESETS, VARIANTS, resolveConfig } from './presets';
import { decodeRunConfig } from './config';

const msg = (r: E.Either<{ message: string }, unknown>) => (E.isLeft(r) ? r.left.message : 'no error');

describe('run config', () => {
  it('every preset validates, alone and with every variant that applies', () => {
    for (const name of Object.keys(PRESETS)) {
      expect(msg(resolveConfig({ base: name }))).toBe('no error');
      for (const v of Object.keys(VARIANTS)) {
        const r = resolveConfig({ base: name, variants: [v] });
        const cfg = PRESETS[name];
        const applicable = !(v === 'no-aux-loss' && cfg.consistency === null);
        if (applicable) expect(msg(r)).toBe('no error');
      }
    }
  });

  it('variants are small diffs and are recorded', () => {
    const r = resolveConfig({ base: 'mnist-quick', variants: ['rrcm', 'no-aux-loss'] });
    expect(E.isRight(r)).toBe(true);
    if (E.isRight(r)) {
      expect(r.right.pretrain?.variant).toBe('rrcm');
      expect(r.right.pretrain?.steps).toBe(PRESETS['mnist-quick'].pretrain?.steps);
      expect(r.right.consistency?.auxWeight).toBe(0);
      expect(r.right.variants).toEqual(['rrcm', 'no-aux-loss']);
    }
    const s = resolveConfig({ base: 'mnist-quick', variants: ['scratch'] });
    expect(E.isRight(s) && s.right.pretrain).toBeNull();
  });

  it('--set edits one field, parsing JSON values', () => {
    const r = resolveConfig({ base: 'mnist-quick', sets: ['pretrain.steps=20', 'model.preset=cpu-tiny', 'diffusion=null'] });
    expect(E.isRight(r)).toBe(true);
    if (E.isRight(r)) {
      expect(r.right.pretrain?.steps).toBe(20);
      expect(r.right.model.preset).toBe('cpu-tiny');
      expect(r.right.diffusion).toBeNull();
    }
  });

  it.each([
    [{ sets: ['pretrain.lr=-1'] }, /^config field pretrain.lr is -1: expected a finite number > 0 or null$/],
    [{ sets: ['pretrain.lr=0'] }, /config field pretrain.lr is 0: expected a finite number > 0 or null/],
    [{ sets: ['pretrain.batch=0'] }, /config field pretrain.batch is 0: expected an integer >= 1/],
    [{ sets: ['diffusion.steps=0.5'] }, /config field diffusion.steps is 0.5: expected an integer >= 1/],
    [{ sets: ['data.dataset=cifar'] }, /config field data.dataset is "cifar": expected one of 'mnist', 'fashion-mnist', 'image-folder'/],
    [{ sets: ['pretrain.variant=simclr'] }, /config field pretrain.variant is "simclr": expected one of 'epg', 'epg-code', 'rrcm'/],
    [{ sets: ['model.decoderDropout=1'] }, /config field model.decoderDropout is 1: expected a number in \[0, 1\)/],
    [{ sets: ['pretrain.stepz=3'] }, /--set pretrain.stepz: 'stepz' is not a field of pretrain: allowed: variant, steps, batch, lr/],
    [{ sets: ['seed'] }, /--set seed is not key=value/],
    [{ base: 'mnist-huge' }, /unknown preset 'mnist-huge': use one of mnist-quick, /],
    [{ variants: ['simclr'] }, /unknown variant 'simclr': use one of scratch, rrcm/],
    [{ variants: ['scratch', 'rrcm'] }, /variant 'rrcm' changes pre-training, but this config has none/],
  ])('bad input %# gets its own message', (req, re) => {
    const r = resolveConfig({ base: 'mnist-quick', ...req });
    expect(msg(r)).toMatch(re);
  });

  it('a config file with unknown or missing fields names them', () => {
    const { eval: _drop, ...rest } = PRESETS['mnist-quick'];
    const bad = { ...rest, colour: 'blue', pretrain: { ...PRESETS['mnist-quick'].pretrain, warmup: 3 } };
    const m = msg(decodeRunConfig(bad));
    expect(m).toContain('config field colour is not a known field: allowed here are preset, variants, seed');
    expect(m).toContain('config field pretrain.warmup is not a known field: allowed here are variant, steps, batch, lr');
    expect(m).toContain('config field eval is missing: set it to');
  });
});
