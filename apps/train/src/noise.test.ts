// The config's optional `noise` section: validated where it enters (σ_min < σ_max, each finite > 0),
// and used by the fine-tuning noise space; null (every preset) keeps EPG's space exactly.
import * as E from 'fp-ts/Either';
import { noiseSpace } from '@epg/schedules';
import { PRESETS, resolveConfig } from './presets';
import { resolveVit } from './models';
import { finetuneSpace } from './stages/finetune';

const msg = (r: E.Either<{ message: string }, unknown>) => (E.isLeft(r) ? r.left.message : 'no error');
const withNoise = (noise: unknown) => resolveConfig({ base: 'mnist-quick', sets: [`noise=${JSON.stringify(noise)}`] });

describe('config noise section', () => {
  it('is null in every preset, and null gives the noise space the stages always used', () => {
    for (const p of Object.values(PRESETS)) expect(p.noise).toBeNull();
    const cfg = resolveConfig({ base: 'mnist-quick' });
    const vit = E.isRight(cfg) ? resolveVit(cfg.right) : E.left(new Error('no config'));
    if (E.isLeft(vit)) throw vit.left;
    expect(finetuneSpace(vit.right, null)).toEqual(noiseSpace(28));
  });

  it('sets the σ range before the resolution shift, and σ_data (hand-computed at 28 px: shift 28/64)', () => {
    const cfg = withNoise({ sigmaMin: 0.01, sigmaMax: 16, sigmaData: 0.25 });
    expect(msg(cfg)).toBe('no error');
    if (E.isLeft(cfg)) return;
    const vit = resolveVit(cfg.right);
    if (E.isLeft(vit)) throw vit.left;
    const s = finetuneSpace(vit.right, cfg.right.noise);
    expect(s.shift).toBe(0.4375);
    expect(s.sigmaMin).toBeCloseTo(0.004375, 15);
    expect(s.sigmaMax).toBe(7);
    expect(s.sigmaData).toBe(0.25);
    expect(finetuneSpace(vit.right, { sigmaMin: 0.01, sigmaMax: 16, sigmaData: null }).sigmaData).toBe(0.5);
  });

  it.each<[string, unknown, string]>([
    ['σ_min = σ_max', { sigmaMin: 1, sigmaMax: 1, sigmaData: null }, 'config field noise.sigmaMax is 1: expected a number > noise.sigmaMin (1)'],
    ['σ_min > σ_max', { sigmaMin: 80, sigmaMax: 0.002, sigmaData: null }, 'config field noise.sigmaMax is 0.002: expected a number > noise.sigmaMin (80)'],
    ['σ_min = 0', { sigmaMin: 0, sigmaMax: 80, sigmaData: null }, 'config field noise.sigmaMin is 0: expected a finite number > 0'],
    ['σ_data < 0', { sigmaMin: 0.002, sigmaMax: 80, sigmaData: -0.5 }, 'config field noise.sigmaData is -0.5: expected a finite number > 0 or null'],
    ['σ_data missing', { sigmaMin: 0.002, sigmaMax: 80 }, 'config field noise.sigmaData is missing: set it to a finite number > 0 or null'],
  ])('refuses %s with one line naming the field', (_name, noise, message) => {
    expect(msg(withNoise(noise))).toBe(message);
  });
});
