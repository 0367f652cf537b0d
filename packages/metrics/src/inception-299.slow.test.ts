// The FID pipeline at 299×299 against PyTorch (≈ 30–60 s): EPG_SLOW=1 pnpm test:slow
import * as tf from '@tensorflow/tfjs-core';
import { expectNoLeak } from '@epg/tensor/testing';
import { createInceptionExtractor, inceptionWeightShapes, INCEPTION_FID_NAME } from './inception';
import { hashInceptionWeights, hashUniform, inceptionFixture } from './__fixtures__/synthetic';

describe('FID Inception-v3 at 299×299', () => {
  it('matches PyTorch pool3 and the first logits within 1e-4 of their scale (scripts/make_inception_fixture.py)', async () => {
    const fx = inceptionFixture();
    const net = createInceptionExtractor(hashInceptionWeights(inceptionWeightShapes()));
    expect(net.name).toBe(INCEPTION_FID_NAME);
    await expectNoLeak(() => {
      const img = tf.tensor4d(Float32Array.from(hashUniform(fx.imageSeed, 1, 299 * 299 * 3), (u) => u * 255), [1, 299, 299, 3]);
      const f = net.extract(img);
      const l = net.logits(img);
      const scale = Math.max(...fx.pool3.map(Math.abs));
      let worst = 0;
      f.dataSync().forEach((v, j) => (worst = Math.max(worst, Math.abs(v - fx.pool3[j]) / scale)));
      expect(worst).toBeLessThan(1e-4);
      const lscale = Math.max(...fx.logitsFirst16.map(Math.abs));
      l.dataSync().subarray(0, 16).forEach((v, c) => expect(Math.abs(v - fx.logitsFirst16[c])).toBeLessThan(1e-4 * lscale));
      tf.dispose([img, f, l]);
    }, 'inception forward');
    net.dispose();
  }, 300_000);
});
