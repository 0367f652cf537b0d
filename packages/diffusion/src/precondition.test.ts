import * as tf from '@tensorflow/tfjs-core';
import { boundaryScalings, edmScalings, noiseSpace } from '@epg/schedules';
import { expectClose, expectNoLeak } from '@epg/tensor/testing';
import type { NetworkFn, TimeValues } from '@epg/contracts';
import { boundaryDenoiser, edmDenoiser, x0Denoiser } from './index';

/** A network that records what it was given (time values are host arrays) and returns F = 3·xIn + 0.5. */
function spyNetwork() {
  const seen: { xIn: Float32Array[]; t: TimeValues[]; labels: (Int32Array | undefined)[] } = { xIn: [], t: [], labels: [] };
  const net: NetworkFn = (xIn, t, labels) => {
    seen.xIn.push(xIn.dataSync() as Float32Array);
    seen.t.push(t);
    seen.labels.push(labels?.dataSync() as Int32Array | undefined);
    return tf.tidy(() => tf.add(tf.mul(xIn, 3), 0.5) as tf.Tensor4D); // F = 3·xIn + 0.5
  };
  return { net, seen };
}

const xHost = Float32Array.from({ length: 2 * 2 * 2 * 1 }, (_, i) => i - 3.5);
const sigmas = Float64Array.from([0.008, 6.4]);
const at256 = noiseSpace(256); // shift 4: σ_min′ = 0.008, time 'cm'

describe('x0Denoiser (EPG DM: c_in only, raw x̂₀)', () => {
  it('feeds c_in·x, 250 ln σ and the labels; returns the raw network output', async () => {
    const { net, seen } = spyNetwork();
    await expectNoLeak(() =>
      tf.tidy(() => {
        const x = tf.tensor4d(xHost, [2, 2, 2, 1]);
        const labels = tf.tensor1d([7, 1000], 'int32');
        const out = x0Denoiser(net, at256)(x, sigmas, { labels });
        const want = Array.from(xHost, (v, i) => {
          const s = sigmas[Math.floor(i / 4)];
          return (3 * v) / Math.sqrt(s * s + 0.25) + 0.5;
        });
        expectClose(out, want, { rtol: 1e-6 });
        expectClose(seen.t[0], Array.from(sigmas, (s) => 250 * Math.log(s)), { rtol: 1e-12 });
        expect(Array.from(seen.labels[0]!)).toEqual([7, 1000]);
      }),
    );
  });
  it("a space with time encoding 'edm' feeds ¼ ln σ", () => {
    const { net, seen } = spyNetwork();
    tf.tidy(() => {
      x0Denoiser(net, noiseSpace(64, { timeEncoding: 'edm' }))(tf.zeros([2, 2, 2, 1]), sigmas);
    });
    expectClose(seen.t[0], Array.from(sigmas, (s) => Math.log(s) / 4), { rtol: 1e-12 });
  });
  it('rejects a σ of the wrong length, a σ <= 0 and a network of the wrong output shape', () => {
    const { net } = spyNetwork();
    tf.tidy(() => {
      expect(() => x0Denoiser(net, at256)(tf.zeros([2, 2, 2, 1]), Float64Array.from([1]))).toThrow(/sigma passed to x0Denoiser must have shape \[2\]/);
      const bad: NetworkFn = (xIn) => tf.zeros([xIn.shape[0], 1, 1, 1]);
      expect(() => x0Denoiser(bad, at256)(tf.zeros([2, 2, 2, 1]), sigmas)).toThrow(/returned shape \[2,1,1,1\]/);
      expect(() => x0Denoiser(net, at256)(tf.zeros([2, 2, 2, 1]), Float64Array.from([1, -1]))).toThrow(/finite and > 0/);
    });
  });
});

describe('edmDenoiser and boundaryDenoiser', () => {
  it('edm: c_skip·x + c_out·F(c_in·x) with the scalings of @epg/schedules', () => {
    const { net } = spyNetwork();
    tf.tidy(() => {
      const out = edmDenoiser(net, at256)(tf.tensor4d(xHost, [2, 2, 2, 1]), sigmas);
      const want = Array.from(xHost, (v, i) => {
        const c = edmScalings(sigmas[Math.floor(i / 4)]);
        return c.cSkip * v + c.cOut * (3 * c.cIn * v + 0.5);
      });
      expectClose(out, want, { rtol: 1e-5, atol: 1e-6 });
    });
  });
  it('boundary: exactly the identity at the space’s σ_min′ = 0.002·H/64 whatever the network, and the formula elsewhere', () => {
    const { net } = spyNetwork();
    tf.tidy(() => {
      const x = tf.tensor4d(xHost, [2, 2, 2, 1]);
      const D = boundaryDenoiser(net, at256);
      expectClose(D(x, Float64Array.from([0.008, 0.008])), xHost, { rtol: 0, atol: 0 });
      const out = D(x, sigmas);
      const want = Array.from(xHost, (v, i) => {
        const c = boundaryScalings(sigmas[Math.floor(i / 4)], { sigmaMin: 0.008 });
        return c.cSkip * v + c.cOut * (3 * c.cIn * v + 0.5);
      });
      expectClose(out, want, { rtol: 1e-5, atol: 1e-6 });
    });
  });
});
