import * as tf from '@tensorflow/tfjs-core';
import { noiseSpace, shiftedGrid } from '@epg/schedules';
import type { Denoiser, NetworkFn } from '@epg/contracts';
import { expectClose, expectNoLeak } from '@epg/tensor/testing';
import {
  classifierFreeGuidance,
  createEvaluationCounter,
  latentsFromSeeds,
  sampleHeun,
  x0Denoiser,
} from './index';

const sig = (...v: number[]) => Float64Array.from(v);
const at256 = noiseSpace(256); // shift 4, interval (0.19, 1.61]
const plainCfg = noiseSpace(64, { guidanceInterval: null });

/** D_c = x·0 + label/10, D_u (label 10) = 1: easy to read guided values off. */
const labelDenoiser: Denoiser = (x, _sigma, cond) =>
  tf.tidy(() => {
    const l = tf.reshape(tf.cast(cond!.labels!, 'float32'), [x.shape[0], 1, 1, 1]);
    return tf.add(tf.mul(x, 0), tf.div(l, 10)) as tf.Tensor4D;
  });

describe('classifierFreeGuidance', () => {
  it('inside the interval: D_u + s(D_c − D_u); outside: D_c alone, one pass', async () => {
    const counter = createEvaluationCounter();
    const G = classifierFreeGuidance(labelDenoiser, { scale: 2.5, nullLabel: 10, space: at256, counter });
    await expectNoLeak(() =>
      tf.tidy(() => {
        const x = tf.zeros([3, 2, 2, 1]) as tf.Tensor4D;
        const labels = tf.tensor1d([2, 5, 7], 'int32');
        // σ = 0.76 (= 0.19·4, excluded), 3.0 and 6.43 (inside; the bounds themselves are pinned in @epg/schedules).
        const out = G(x, sig(0.76, 3.0, 6.43), { labels });
        const dU = 1;
        const want = [0.2, dU + 2.5 * (0.5 - dU), dU + 2.5 * (0.7 - dU)].flatMap((v) => [v, v, v, v]);
        expectClose(out, want, { rtol: 1e-6, atol: 1e-6 });
        expect(counter).toEqual({ conditional: 1, unconditional: 1 });
        G(x, sig(0.5, 0.5, 0.5), { labels });
        expect(counter).toEqual({ conditional: 2, unconditional: 1 });
      }),
    );
  });
  it('no interval in the space = plain CFG at every σ; scale 1 = conditional', () => {
    tf.tidy(() => {
      const x = tf.zeros([1, 1, 1, 1]) as tf.Tensor4D;
      const labels = tf.tensor1d([4], 'int32');
      const plain = classifierFreeGuidance(labelDenoiser, { scale: 3, nullLabel: 10, space: plainCfg });
      expectClose(plain(x, sig(100), { labels }), [1 + 3 * (0.4 - 1)], { rtol: 1e-6 });
      const one = classifierFreeGuidance(labelDenoiser, { scale: 1, nullLabel: 10, space: plainCfg });
      expectClose(one(x, sig(1), { labels }), [0.4], { rtol: 1e-6 });
    });
  });
  it('needs labels and a valid null label', () => {
    const G = classifierFreeGuidance(labelDenoiser, { scale: 2, nullLabel: 10, space: at256 });
    tf.tidy(() => expect(() => G(tf.zeros([1, 1, 1, 1]), sig(1))).toThrow(/needs cond.labels/));
    expect(() => classifierFreeGuidance(labelDenoiser, { scale: 2, nullLabel: -1, space: at256 })).toThrow(/nullLabel/);
  });
});

describe('NFE accounting (§6, §9 Q7)', () => {
  let networkCalls = 0;
  const net: NetworkFn = (xIn, _t, labels) => {
    networkCalls += 1;
    // Batch 1: the label enters as a host scalar (tfjs-cpu broadcasting is slow at 256²).
    return tf.tidy(() => tf.add(tf.mul(xIn, 0.2), labels!.dataSync()[0] * 1e-4) as tf.Tensor4D);
  };
  const run = (appendZero: boolean) => {
    networkCalls = 0;
    const counter = createEvaluationCounter();
    const guided = classifierFreeGuidance(x0Denoiser(net, at256), { scale: 2.5, nullLabel: 1000, space: at256, counter });
    const grid = shiftedGrid(at256, 32);
    const sigmas = appendZero ? Float64Array.from([...grid, 0]) : grid;
    const latents = latentsFromSeeds([0], [256, 256, 3]);
    const labels = tf.tensor1d([207], 'int32');
    const { x, nfe } = sampleHeun(guided, latents, sigmas, { cond: { labels } });
    expect(x.shape).toEqual([1, 256, 256, 3]);
    tf.dispose([x, latents, labels]);
    return { nfe, counter, networkCalls };
  };
  it('Heun 32 steps at 256 px with interval CFG: 62 conditional + 12 unconditional = 74 network evaluations', async () => {
    const r = await expectNoLeak(() => run(false));
    expect(r.nfe).toBe(62);
    expect(r.counter).toEqual({ conditional: 62, unconditional: 12 });
    expect(r.networkCalls).toBe(74);
  });
  it("with σ = 0 appended (EDM's 2n − 1 convention): 63 + 12 = 75, the paper's figure", () => {
    const r = run(true);
    expect(r.nfe).toBe(63);
    expect(r.counter).toEqual({ conditional: 63, unconditional: 12 });
    expect(r.networkCalls).toBe(75);
  });
});
