import * as tf from '@tensorflow/tfjs-core';
import { isEpgError } from '@epg/tensor';
import { countReadbacks, expectClose, expectNoLeak } from '@epg/tensor/testing';
import { noiseSpace } from '@epg/schedules';
import {
  boundaryPreconditioning,
  edmPreconditioning,
  encoderAt,
  networkInput,
  precondition,
  x0Scalings,
  type EncoderFn,
  type NetworkCall,
  type NetworkFn,
  type TimeValues,
} from './index';

// Closed forms written out here, independently of @epg/schedules [EDM Table 1; docs/method.md §3.2].
const sd = 0.5;
const cInRef = (s: number) => 1 / Math.sqrt(s * s + sd * sd);
const edmRef = (s: number) => ({ cSkip: (sd * sd) / (s * s + sd * sd), cOut: (s * sd) / Math.sqrt(s * s + sd * sd), cIn: cInRef(s) });
const boundaryRef = (s: number, m: number) => ({
  cSkip: (sd * sd) / ((s - m) ** 2 + sd * sd),
  cOut: ((s - m) * sd) / Math.sqrt(s * s + sd * sd),
  cIn: cInRef(s),
});

/** F = 3·xIn + 0.5; records what it was given. Host time values are kept, tensors are not read. */
function spyNetwork() {
  const seen: { xIn: tf.Tensor4D[]; time: TimeValues[]; labels: (tf.Tensor1D | undefined)[]; call: (NetworkCall | undefined)[] } = {
    xIn: [],
    time: [],
    labels: [],
    call: [],
  };
  const net: NetworkFn = (xIn, time, labels, call) => {
    seen.xIn.push(tf.keep(xIn.clone()));
    seen.time.push(time);
    seen.labels.push(labels);
    seen.call.push(call);
    return tf.tidy(() => tf.add(tf.mul(xIn, 3), 0.5) as tf.Tensor4D);
  };
  const dispose = () => tf.dispose(seen.xIn);
  return { net, seen, dispose };
}

const xHost = Float32Array.from({ length: 2 * 2 * 2 * 1 }, (_, i) => i - 3.5);
const sigmas = Float64Array.from([0.008, 6.4]);
const rowOf = (i: number) => Math.floor(i / 4);
const space = noiseSpace(256); // shift 4, σ_min′ 0.008, time 'cm'

describe('networkInput (the σ → network-input adapter)', () => {
  it('gives c_in(σ)·x and 250·ln σ in float64 on the host', async () => {
    await expectNoLeak(() =>
      tf.tidy(() => {
        const { xIn, time } = networkInput(tf.tensor4d(xHost, [2, 2, 2, 1]), sigmas, space);
        expectClose(xIn, Array.from(xHost, (v, i) => v * cInRef(sigmas[rowOf(i)])), { rtol: 1e-6 });
        expect(time).toBeInstanceOf(Float64Array);
        expect(Array.from(time)).toEqual([250 * Math.log(0.008), 250 * Math.log(6.4)]);
        const edm = networkInput(tf.zeros([2, 2, 2, 1]), sigmas, noiseSpace(64, { timeEncoding: 'edm' })).time;
        expect(Array.from(edm)).toEqual([Math.log(0.008) / 4, Math.log(6.4) / 4]);
      }),
    );
  });
  it('rejects a σ tensor, a σ of the wrong length and a σ <= 0 with an EpgError naming the fix', () => {
    tf.tidy(() => {
      const x = tf.zeros([2, 2, 2, 1]) as tf.Tensor4D;
      const bad = [
        () => networkInput(x, tf.tensor1d([1, 1]) as unknown as Float64Array, space),
        () => networkInput(x, Float64Array.from([1]), space),
        () => networkInput(x, Float64Array.from([1, -1]), space),
      ];
      const kinds = bad.map((f) => {
        try {
          f();
        } catch (e) {
          expect(isEpgError(e)).toBe(true);
          return (e as { kind: string; message: string }).kind;
        }
        throw new Error('expected a throw');
      });
      expect(kinds).toEqual(['shape', 'shape', 'numeric']);
      expect(() => networkInput(x, Float64Array.from([1]), space)).toThrow(/must have shape \[2\] \(one σ per image\), got \[1\]: pass one/);
    });
  });
});

describe('the three scalings', () => {
  const grid = [0.002, 0.008, 0.05, 0.5, 1, 6.4, 80, 320];
  it('x0: c_in only, c_skip 0, c_out 1', () => {
    const f = x0Scalings(space);
    for (const s of grid) expect(f(s)).toEqual({ cIn: cInRef(s), cSkip: 0, cOut: 1 });
  });
  it('edm and boundary match the closed forms; boundary is the identity at σ_min′ of the space', () => {
    const edm = edmPreconditioning(space);
    const bnd = boundaryPreconditioning(space);
    for (const s of grid) {
      const e = edm(s);
      const want = edmRef(s);
      expectClose([e.cIn, e.cSkip, e.cOut], [want.cIn, want.cSkip, want.cOut], { rtol: 1e-14, atol: 0 });
      const b = bnd(s);
      const wb = boundaryRef(s, 0.008);
      expectClose([b.cIn, b.cSkip, b.cOut], [wb.cIn, wb.cSkip, wb.cOut], { rtol: 1e-14, atol: 1e-300 });
    }
    expect(space.sigmaMin).toBeCloseTo(0.008, 15);
    expect(bnd(space.sigmaMin)).toMatchObject({ cSkip: 1, cOut: 0 });
    expect(() => boundaryPreconditioning({ sigmaData: 0.5, sigmaMin: 0 })).toThrow(/sigmaMin > 0/);
  });
});

describe('precondition', () => {
  it('x0 scalings: the raw network output, fed c_in·x, host time values, labels and the call', async () => {
    const { net, seen, dispose } = spyNetwork();
    const call: NetworkCall = {};
    await expectNoLeak(() => {
      tf.tidy(() => {
        const labels = tf.tensor1d([7, 1000], 'int32');
        const out = precondition(net, x0Scalings(space), 'cm')(tf.tensor4d(xHost, [2, 2, 2, 1]), sigmas, { labels }, call);
        expectClose(out, Array.from(xHost, (v, i) => 3 * v * cInRef(sigmas[rowOf(i)]) + 0.5), { rtol: 1e-6 });
        expect(seen.labels[0]).toBe(labels);
      });
      expect(Array.from(seen.time[0])).toEqual(Array.from(sigmas, (s) => 250 * Math.log(s)));
      expect(seen.call[0]).toBe(call);
      dispose();
    });
  });
  it('edm: c_skip·x + c_out·F(c_in·x); boundary: exactly x at σ_min′ whatever the network', () => {
    const { net, dispose } = spyNetwork();
    tf.tidy(() => {
      const x = tf.tensor4d(xHost, [2, 2, 2, 1]);
      const edm = precondition(net, edmPreconditioning(space), 'edm')(x, sigmas);
      expectClose(
        edm,
        Array.from(xHost, (v, i) => {
          const c = edmRef(sigmas[rowOf(i)]);
          return c.cSkip * v + c.cOut * (3 * c.cIn * v + 0.5);
        }),
        { rtol: 1e-5, atol: 1e-6 },
      );
      const D = precondition(net, boundaryPreconditioning(space), 'cm');
      expectClose(D(x, Float64Array.from([0.008, 0.008])), xHost, { rtol: 0, atol: 0 });
      expectClose(
        D(x, sigmas),
        Array.from(xHost, (v, i) => {
          const c = boundaryRef(sigmas[rowOf(i)], 0.008);
          return c.cSkip * v + c.cOut * (3 * c.cIn * v + 0.5);
        }),
        { rtol: 1e-5, atol: 1e-6 },
      );
    });
    dispose();
  });
  it('rejects a network of the wrong output shape', () => {
    const bad: NetworkFn = (xIn) => tf.zeros([xIn.shape[0], 1, 1, 1]);
    tf.tidy(() => {
      expect(() => precondition(bad, x0Scalings(space), 'cm', 'x0Denoiser')(tf.zeros([2, 2, 2, 1]), sigmas)).toThrow(
        /x0Denoiser: the network returned shape \[2,1,1,1\]/,
      );
    });
  });
  it('reads nothing back from a tensor (σ stays on the host)', () => {
    const net: NetworkFn = (xIn) => tf.tidy(() => tf.mul(xIn, 2) as tf.Tensor4D);
    const enc: EncoderFn = (xIn) => tf.tidy(() => ({ cls: tf.reshape(xIn, [xIn.shape[0], -1]) as tf.Tensor2D }));
    tf.tidy(() => {
      const x = tf.randomNormal([2, 2, 2, 1]) as tf.Tensor4D;
      const { reads } = countReadbacks(() => {
        precondition(net, x0Scalings(space), 'cm')(x, sigmas);
        precondition(net, boundaryPreconditioning(space), 'cm')(x, sigmas);
        encoderAt(enc, space)(x, sigmas);
      });
      expect(reads).toEqual([]);
      // The counter does see reads: one here.
      expect(countReadbacks(() => x.dataSync()).reads).toHaveLength(1);
    });
  });
});

describe('encoderAt', () => {
  it('feeds the encoder c_in(σ)·x and the time values of the space; returns cls and proj', async () => {
    let seenTime: TimeValues | undefined;
    const enc: EncoderFn = (xIn, time) => {
      seenTime = time;
      return tf.tidy(() => {
        const cls = tf.reshape(xIn, [xIn.shape[0], -1]) as tf.Tensor2D;
        return { cls, proj: tf.mul(cls, 2) as tf.Tensor2D };
      });
    };
    await expectNoLeak(() => {
      const x = tf.tensor4d(xHost, [2, 2, 2, 1]);
      const out = encoderAt(enc, space)(x, sigmas);
      const want = Array.from(xHost, (v, i) => v * cInRef(sigmas[rowOf(i)]));
      expectClose(out.cls, want, { rtol: 1e-6 });
      expectClose(out.proj!, want.map((v) => 2 * v), { rtol: 1e-6 });
      expect(Array.from(seenTime!)).toEqual(Array.from(sigmas, (s) => 250 * Math.log(s)));
      tf.dispose([x, out.cls, out.proj!]);
    });
  });
});
