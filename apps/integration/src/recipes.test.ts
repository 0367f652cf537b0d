import * as tf from '@tensorflow/tfjs-core';
import { pretrainConfig } from '@epg/ssl';
import { useTestBackend } from '@epg/tensor/testing';
import { MNIST_SSL_VIT } from './mnist-run';
import { FASHION_PAIR, MNIST_PAIR, setupPretraining } from './recipes';

useTestBackend();

describe('small-image recipes', () => {
  it('MNIST views never flip or solarize; Fashion views flip both ways', () => {
    expect([MNIST_PAIR.view1.flipProb, MNIST_PAIR.view2.flipProb, MNIST_PAIR.x0FlipProb, MNIST_PAIR.view2.solarizeProb]).toEqual([0, 0, 0, 0]);
    expect([FASHION_PAIR.view1.flipProb, FASHION_PAIR.view2.flipProb, FASHION_PAIR.x0FlipProb]).toEqual([0.5, 0.5, 0.5]);
  });

  it('the target starts as an exact copy of the online encoder, in the EPG noise space of 28 px', () => {
    const s = setupPretraining(MNIST_SSL_VIT, pretrainConfig('epg', { totalSteps: 10 }), 3);
    expect(s.space.shift).toBeCloseTo(28 / 64, 15);
    for (const name of s.onlineStore.names()) {
      const same = tf.tidy(() => tf.all(tf.equal(s.onlineStore.get(name), s.targetStore.get(name))).dataSync()[0]);
      expect(same).toBe(1);
    }
    s.dispose();
  });
});
