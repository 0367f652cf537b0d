/**
 * Test and bench helpers: small networks written directly against the @epg/contracts types, so the
 * consistency code is exercised without @epg/vit. Not part of the package build.
 *
 *  - toyNetwork: a two-layer MLP NetworkFn over the pixels with a time embedding and per-call dropout.
 *  - testBoundaryDenoiser: the boundary parameterisation written out here (@epg/contracts' `precondition`
 *    replaces it once it exists), c_skip·x + c_out·F(c_in·x, 250 ln σ).
 *  - toyEncoder: a σ-level Encoder with a BatchNorm'd projector, used as a frozen W_φ.
 *  - referenceNtXent: NT-Xent as docs/consistency.md states it (cosine logits, one direction, no 2τ).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Denoiser, Encoder, NetworkFn } from '@epg/contracts';
import { boundaryScalings, cIn, timeValue, type NoiseSpace } from '@epg/schedules';
import { ParameterStore, RandomStream, normalTensor } from '@epg/tensor';
import { scaleRows } from '../host';

export interface ToyNetwork {
  readonly store: ParameterStore;
  readonly network: NetworkFn;
  /** Every dropout mask drawn, in call order (host copies). */
  readonly masks: Float32Array[];
}

const TIME_FEATURES = 8;

function timeFeatures(time: Float64Array): tf.Tensor2D {
  const out = new Float32Array(time.length * TIME_FEATURES);
  for (let i = 0; i < time.length; i++) {
    for (let k = 0; k < TIME_FEATURES / 2; k++) {
      const a = (time[i] / 250) * (k + 1);
      out[i * TIME_FEATURES + 2 * k] = Math.sin(a);
      out[i * TIME_FEATURES + 2 * k + 1] = Math.cos(a);
    }
  }
  return tf.tensor2d(out, [time.length, TIME_FEATURES]);
}

/**
 * flatten → Linear(P→hidden) + time embedding → ReLU → dropout → Linear(hidden→P) → reshape, over
 * P = H·W·C pixels; weights in a fresh store. (Dense layers: tfjs-cpu's conv gradients are slow.)
 */
export function toyNetwork(opts: { pixels: readonly [number, number, number]; hidden: number; seed: number; dropout?: number; recordMasks?: boolean }): ToyNetwork {
  const rs = RandomStream.fromSeed(opts.seed);
  const store = ParameterStore.create();
  const P = opts.pixels[0] * opts.pixels[1] * opts.pixels[2];
  const H = opts.hidden;
  store.add('fc1.weight', normalTensor(rs.child('fc1'), [P, H], 0, Math.sqrt(2 / P)));
  store.add('fc1.bias', tf.zeros([H]));
  store.add('time.weight', normalTensor(rs.child('t'), [TIME_FEATURES, H], 0, 0.3));
  store.add('fc2.weight', normalTensor(rs.child('fc2'), [H, P], 0, Math.sqrt(1 / H)));
  store.add('fc2.bias', tf.zeros([P]));
  const rate = opts.dropout ?? 0;
  const masks: Float32Array[] = [];
  const network: NetworkFn = (xIn, time, _labels, call) =>
    tf.tidy(() => {
      const B = xIn.shape[0];
      const g = (n: string) => store.get(n);
      const te = tf.matMul(timeFeatures(time), g('time.weight') as tf.Tensor2D); // [B, hidden]
      let h = tf.relu(tf.add(tf.add(tf.matMul(xIn.reshape([B, P]), g('fc1.weight') as tf.Tensor2D), g('fc1.bias')), te)) as tf.Tensor2D; // [B, hidden]
      if (rate > 0 && store.training) {
        if (!call?.dropout) throw new Error('toyNetwork: dropout in training mode needs call.dropout');
        const mask = new Float32Array(h.size);
        for (let i = 0; i < mask.length; i++) mask[i] = call.dropout.uniform() < 1 - rate ? 1 / (1 - rate) : 0;
        if (opts.recordMasks) masks.push(mask);
        h = tf.mul(h, tf.tensor(mask, h.shape)) as tf.Tensor2D;
      }
      return tf.add(tf.matMul(h, g('fc2.weight') as tf.Tensor2D), g('fc2.bias')).reshape(xIn.shape) as tf.Tensor4D; // [B, H, W, C]
    });
  return { store, network, masks };
}

/** f(x, σ) = c_skip(σ)·x + c_out(σ)·F(c_in(σ)·x, 250 ln σ) with σ_min' = space.sigmaMin. */
export function testBoundaryDenoiser(network: NetworkFn, space: NoiseSpace): Denoiser {
  return (x, sigma, cond, call) =>
    tf.tidy(() => {
      const sc = Array.from(sigma, (s) => boundaryScalings(s, { sigmaMin: space.sigmaMin, sigmaData: space.sigmaData }));
      const F = network(scaleRows(x, sc.map((c) => c.cIn)), Float64Array.from(sigma, (s) => timeValue(s, space.timeEncoding)), cond?.labels, call);
      return tf.add(scaleRows(x, sc.map((c) => c.cSkip)), scaleRows(F, sc.map((c) => c.cOut))) as tf.Tensor4D;
    });
}

export interface ToyEncoder {
  readonly store: ParameterStore;
  readonly encoder: Encoder;
}

/** cls = tanh(flatten(c_in·x)·W₁); proj = ReLU(BN(cls))·W₂ with BN running statistics in eval mode. */
export function toyEncoder(opts: { pixels: number; width: number; out: number; seed: number; space: NoiseSpace }): ToyEncoder {
  const rs = RandomStream.fromSeed(opts.seed);
  const store = ParameterStore.create();
  const { pixels: P, width: D, out: O } = opts;
  store.add('w1', normalTensor(rs.child('w1'), [P, D], 0, 1 / Math.sqrt(P)));
  store.add('bn.weight', tf.tidy(() => tf.add(1, normalTensor(rs.child('g'), [D], 0, 0.1))));
  store.add('bn.bias', normalTensor(rs.child('b'), [D], 0, 0.1));
  store.addBuffer('bn.running_mean', normalTensor(rs.child('rm'), [D], 0, 0.1));
  store.addBuffer('bn.running_var', tf.tidy(() => tf.add(1, tf.abs(normalTensor(rs.child('rv'), [D], 0, 0.2)))));
  store.add('w2', normalTensor(rs.child('w2'), [D, O], 0, 1 / Math.sqrt(D)));
  const encoder: Encoder = (x, sigma) =>
    tf.tidy(() => {
      const B = x.shape[0];
      const xIn = scaleRows(x, Array.from(sigma, (s) => cIn(s, opts.space.sigmaData)));
      const cls = tf.tanh(tf.matMul(xIn.reshape([B, P]), store.get('w1') as tf.Tensor2D)) as tf.Tensor2D; // [B, D]
      if (store.training) throw new Error('toyEncoder: this toy has only the eval-mode BatchNorm');
      const bn = tf.add(
        tf.mul(tf.div(tf.sub(cls, store.get('bn.running_mean')), tf.sqrt(tf.add(store.get('bn.running_var'), 1e-5))), store.get('bn.weight')),
        store.get('bn.bias'),
      );
      const proj = tf.matMul(tf.relu(bn) as tf.Tensor2D, store.get('w2') as tf.Tensor2D) as tf.Tensor2D; // [B, O]
      return { cls, proj };
    });
  return { store, encoder };
}

/** ℓ_r = logsumexp_j(q̂_r·k̂_j/τ_r) − q̂_r·k̂_r/τ_r → [B]. */
export function referenceNtXent(q: tf.Tensor2D, k: tf.Tensor2D, tau: number | Float64Array): tf.Tensor1D {
  return tf.tidy(() => {
    const B = q.shape[0];
    const qn = tf.div(q, tf.norm(q, 2, 1, true));
    const kn = tf.div(k, tf.norm(k, 2, 1, true));
    const s = tf.matMul(qn, kn, false, true) as tf.Tensor2D; // [B, B]
    const inv = typeof tau === 'number' ? tf.fill([B, 1], 1 / tau) : tf.tensor2d(Float32Array.from(tau, (v) => 1 / v), [B, 1]);
    const logits = tf.mul(s, inv) as tf.Tensor2D;
    const diag = tf.sum(tf.mul(logits, tf.eye(B)), 1);
    return tf.sub(tf.logSumExp(logits, 1), diag) as tf.Tensor1D;
  });
}
