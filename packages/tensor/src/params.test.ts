import * as tf from '@tensorflow/tfjs-core';
import { ParameterStore } from './params';
import { emaUpdate } from './ema';
import { expectClose } from './testing';

describe('ParameterStore', () => {
  it('names parameters by dotted scopes, counts them, and keeps buffers apart', () => {
    const s = ParameterStore.create();
    const blk = s.scope('encoder').scope('blocks').scope(3);
    blk.add('attn.qkv.weight', tf.zeros([4, 12]));
    blk.add('attn.proj.bias', tf.zeros([4]));
    s.scope('head').addBuffer('bn.running_var', tf.ones([4]));
    expect(s.names()).toEqual(['encoder.blocks.3.attn.qkv.weight', 'encoder.blocks.3.attn.proj.bias', 'head.bn.running_var']);
    expect(s.count()).toBe(52);
    expect(s.scope('head').count()).toBe(0);
    expect(s.entries().map((e) => e.weightDecay)).toEqual([true, false, false]);
    expect(s.trainableEntries().map((e) => e.name)).toHaveLength(2);
    expect(blk.get('attn.qkv.weight').shape).toEqual([4, 12]);
    expect(() => tf.tidy(() => void blk.add('attn.qkv.weight', tf.zeros([1])))).toThrow(/already registered/);
    expect(() => tf.tidy(() => void s.add('bad name', tf.zeros([1])))).toThrow(/invalid parameter name/);
    expect(() => s.get('missing')).toThrow(/no parameter named 'missing'/);
    s.scope('encoder').setTrainable(false);
    expect(s.count({ trainableOnly: true })).toBe(0);
    s.dispose();
  });

  it('shares train/eval mode between views', () => {
    const s = ParameterStore.create();
    expect(s.training).toBe(true);
    s.scope('a').eval();
    expect(s.training).toBe(false);
    s.train();
    expect(s.scope('b').training).toBe(true);
  });

  it('clone() is independent, and emaUpdate computes μθ⁻ + (1−μ)θ on parameters only', () => {
    const s = ParameterStore.create();
    s.add('w', tf.tensor([1, 2, 3]));
    s.addBuffer('stat', tf.tensor([10]));
    const t = s.clone();
    tf.tidy(() => {
      s.get('w').assign(tf.tensor([3, 2, 1]));
      s.get('stat').assign(tf.tensor([20]));
    });
    expectClose(t.get('w'), [1, 2, 3]);
    emaUpdate(t, s, 0.75);
    expectClose(t.get('w'), [0.75 * 1 + 0.25 * 3, 2, 0.75 * 3 + 0.25 * 1]);
    expectClose(t.get('stat'), [10]); // buffers are not averaged
    expect(() => emaUpdate(t, s, 1.5)).toThrow(/decay must be in \[0, 1\]/);
    s.dispose();
    t.dispose();
  });
});
