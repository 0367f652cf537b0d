import { VARIANT_API_VERSION, defineVariant, variantProblem } from './variant';

describe('variantProblem', () => {
  const ok = defineVariant({ apiVersion: VARIANT_API_VERSION, kind: 'tau-schedule', name: 'half', description: 'τ = 0.05', tau: () => 0.05 });

  it('accepts a well-formed variant of each kind', () => {
    expect(variantProblem(ok)).toBeNull();
    expect(variantProblem({ ...ok, kind: 'pretrain-loss', loss: () => null })).toBeNull();
    expect(variantProblem({ ...ok, kind: 'cm-distance', distance: () => null })).toBeNull();
  });

  it.each<[string, unknown, RegExp]>([
    ['not an object', 42, /^its export 'variant' is number, not an object$/],
    ['null', null, /is null/],
    ['another api version', { ...ok, apiVersion: 2 }, /declares apiVersion 2, this epg-train reads apiVersion 1/],
    ['unknown kind', { ...ok, kind: 'optimizer' }, /its kind is "optimizer": expected one of 'pretrain-loss', 'tau-schedule', 'cm-distance'/],
    ['no name', { ...ok, name: '' }, /its name is "": expected a non-empty string/],
    ['function of another kind', { ...ok, kind: 'cm-distance' }, /a 'cm-distance' variant needs a function 'distance', got undefined/],
  ])('names the problem: %s', (_what, value, re) => {
    expect(variantProblem(value)).toMatch(re);
  });
});
