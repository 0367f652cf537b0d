// Native vs portable gradients of the domain classifier (≈ 1–2 min on a busy cpu; runs on the cpu backend
// only): EPG_SLOW=1 EPG_BACKEND=cpu npx jest src/domain-classifier-native.slow.test.ts
import * as tf from '@tensorflow/tfjs-core';
import { hostBlasNative, nativeKernelsActive, RandomStream, registerNativeKernels, unregisterNativeKernels } from '@epg/tensor';
import { domainClassifierForward, initDomainClassifier } from './domain-classifier';

// The classifier takes tfjs's own conv/max-pool gradients when native kernels serve the cpu backend,
// and forward-convolution / mask gradients elsewhere: both must give the same loss gradients.
const runs = (process.env.EPG_BACKEND ?? 'cpu') === 'cpu' && hostBlasNative();
(runs ? describe : describe.skip)('domain classifier gradients: native kernels vs the portable custom gradients', () => {
  afterAll(() => unregisterNativeKernels());

  it('agree for every parameter (batch statistics, continuous inputs so no max-pool ties)', () => {
    const grads = (native: boolean): Record<string, Float32Array> => {
      if (native) registerNativeKernels();
      else unregisterNativeKernels();
      expect(nativeKernelsActive()).toBe(native);
      const store = initDomainClassifier(RandomStream.fromSeed(3));
      store.train();
      const x = tf.randomUniform([2, 28, 28, 1], -1, 1, 'float32', 4) as tf.Tensor4D;
      const y = tf.tidy(() => tf.oneHot(tf.tensor1d([1, 7], 'int32'), 10));
      const entries = store.trainableEntries();
      const vars = entries.map((e) => e.variable);
      const { value, grads: g } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(y, domainClassifierForward(store, x).logits) as tf.Scalar, vars);
      const out = Object.fromEntries(entries.map((e) => [e.name, g[e.variable.name].dataSync() as Float32Array]));
      tf.dispose([value, x, y, ...Object.values(g)]);
      store.dispose();
      return out;
    };
    const portable = grads(false);
    const native = grads(true);
    expect(Object.keys(native).sort()).toEqual(Object.keys(portable).sort());
    for (const [name, a] of Object.entries(portable)) {
      const b = native[name];
      let num = 0;
      let den = 1e-6;
      for (let i = 0; i < a.length; i++) {
        num = Math.max(num, Math.abs(a[i] - b[i]));
        den = Math.max(den, Math.abs(a[i]));
      }
      expect({ name, rel: num / den < 1e-4 }).toEqual({ name, rel: true });
    }
  });
});
