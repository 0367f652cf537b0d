import * as tf from '@tensorflow/tfjs-core';
import { ParameterStore } from '../params';
import { AdamW } from './adamw';
import { maxRelativeError } from '../testing';
import fixture from '../__fixtures__/adamw.json';

type Fixture = typeof fixture & {
  shapes: Record<string, number[]>;
  initial: Record<string, number[]>;
  grads: Array<Record<string, number[]>>;
  trajectory: Array<Record<string, number[]>>;
  finalM: Record<string, number[]>;
  finalV: Record<string, number[]>;
};
const fx = fixture as Fixture;

function build(): { store: ParameterStore; opt: AdamW } {
  const store = ParameterStore.create();
  for (const [name, shape] of Object.entries(fx.shapes)) store.add(name, tf.tensor(fx.initial[name], shape));
  const opt = new AdamW(store, {
    lr: (k) => fx.lrs[k], // warm-up-cosine values computed by the fixture script
    beta1: fx.beta1,
    beta2: fx.beta2,
    eps: fx.eps,
    weightDecay: fx.defaultWeightDecay,
    groups: [{ name: 'head', select: (p) => p.name.startsWith('head.'), ...fx.headGroup }],
  });
  return { store, opt };
}

describe('AdamW against a float64 numpy reference (scripts/make_fixtures.py)', () => {
  it('matches 20 steps with two parameter groups to 1e-5 relative, moments included', () => {
    const { store, opt } = build();
    expect(opt.groupOf('head.weight')).toBe('head');
    expect(opt.groupOf('layer.weight')).toBe('default');
    let worst = 0;
    fx.grads.forEach((stepGrads, t) => {
      const grads = Object.fromEntries(Object.entries(stepGrads).map(([k, g]) => [k, tf.tensor(g, fx.shapes[k])]));
      opt.apply(grads);
      Object.values(grads).forEach((g) => g.dispose());
      for (const name of Object.keys(fx.shapes)) {
        worst = Math.max(worst, maxRelativeError(store.get(name), fx.trajectory[t][name]));
      }
    });
    expect(worst).toBeLessThan(1e-5);
    const state = opt.getState();
    expect(state.step).toBe(20);
    for (const name of Object.keys(fx.shapes)) {
      expect(maxRelativeError(state.tensors[`m.${name}`].data, fx.finalM[name], 1e-6)).toBeLessThan(1e-5);
      expect(maxRelativeError(state.tensors[`v.${name}`].data, fx.finalV[name], 1e-6)).toBeLessThan(1e-5);
    }
    opt.dispose();
    store.dispose();
  });

  it('takes the first update at lr(0): with warm-up from 0, the first step changes nothing', () => {
    const { store, opt } = build();
    const before = store.get('layer.weight').dataSync().slice();
    const grads = Object.fromEntries(Object.entries(fx.grads[0]).map(([k, g]) => [k, tf.tensor(g, fx.shapes[k])]));
    opt.apply(grads);
    expect(Array.from(store.get('layer.weight').dataSync())).toEqual(Array.from(before));
    Object.values(grads).forEach((g) => g.dispose());
    opt.dispose();
    store.dispose();
  });

  it('rejects a gradient of the wrong shape and bad hyper-parameters', () => {
    const { store, opt } = build();
    const g = tf.zeros([2, 2]);
    expect(() => opt.apply({ 'layer.weight': g })).toThrow(/layer\.weight.*\[2,2\]/);
    expect(() => new AdamW(store, { lr: 1, beta1: 1 })).toThrow(/beta1/);
    g.dispose();
    opt.dispose();
    store.dispose();
  });
});
