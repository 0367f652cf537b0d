/** Test helpers: seeded shapes, stock-vs-native comparison, error measures. Not part of the build. */
import * as tf from '@tensorflow/tfjs-core';
import { loadAddon } from '../addon';
import { registerNativeKernels, unregisterNativeKernels } from '../register';

/** mulberry32: a tiny seeded generator for test shapes (tfjs's seeded ops make the data). */
export function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randInt(rng: () => number, lo: number, hi: number): number {
  return lo + Math.floor(rng() * (hi - lo + 1));
}

let seedCounter = 1000;
export function randn(shape: number[], seed = seedCounter++): tf.Tensor {
  return tf.randomNormal(shape, 0, 1, 'float32', seed);
}

/** max |a - b| / max(|b|, 1e-6) over all elements: a scale-aware relative error. */
export function relError(a: tf.Tensor, b: tf.Tensor): number {
  if (a.shape.join() !== b.shape.join()) return Infinity;
  const av = a.dataSync();
  const bv = b.dataSync();
  let num = 0;
  let den = 1e-6;
  for (let i = 0; i < av.length; i++) {
    const d = Math.abs(av[i] - bv[i]);
    if (Number.isNaN(d) && !(Number.isNaN(av[i]) && Number.isNaN(bv[i]))) return Infinity;
    if (d > num) num = d;
    den = Math.max(den, Math.abs(bv[i]));
  }
  return num / den;
}

/** Whether native kernels can be tested here (addon built, cpu backend); logs why not once. */
export function nativeTestable(): { ok: boolean; why: string } {
  const load = loadAddon();
  if (!load.addon) return { ok: false, why: load.why };
  // Decided at module load, before the jest setup has switched backends: read the same variable it does.
  const backend = process.env.EPG_BACKEND || 'cpu';
  if (backend !== 'cpu') return { ok: false, why: `EPG_BACKEND=${backend} (native kernels serve the cpu backend only)` };
  return { ok: true, why: '' };
}

/**
 * Runs `fn` with the stock kernels, then with native kernels registered, and returns both results
 * (as tensors the caller disposes). Leaves native kernels unregistered afterwards.
 */
export function stockAndNative(fn: () => tf.Tensor[]): { stock: tf.Tensor[]; native: tf.Tensor[] } {
  unregisterNativeKernels();
  const stock = fn();
  const rep = registerNativeKernels();
  if (!rep.active) throw new Error(`native kernels did not register: ${rep.why}`);
  try {
    return { stock, native: fn() };
  } finally {
    unregisterNativeKernels();
  }
}

/**
 * Runs fn with stock (or composition) then native kernels and compares every output: same count,
 * dtype and shape, relative error ≤ tol. fn runs twice, so any seed it uses must not change between
 * the runs. For jest tests (uses the global expect).
 */
export function expectSameOutputs(fn: () => tf.Tensor[], label: string, tol = 1e-5): void {
  const { stock, native } = stockAndNative(() => fn().map((t) => tf.keep(t)));
  try {
    expect(native.length).toBe(stock.length);
    stock.forEach((s, i) => {
      expect({ label, i, dtype: native[i].dtype, shape: native[i].shape }).toEqual({ label, i, dtype: s.dtype, shape: s.shape });
      const err = relError(native[i], s);
      if (!(err <= tol)) throw new Error(`${label} output ${i}: relative error ${err} > ${tol}`);
    });
  } finally {
    tf.dispose([...stock, ...native]);
  }
}

/** Value of f and the gradients of sum(f(...xs) * w) w.r.t. every input, for a fixed random w. */
export function withGrads(f: (...xs: tf.Tensor[]) => tf.Tensor, xs: tf.Tensor[], seed: number): tf.Tensor[] {
  return tf.tidy(() => {
    const y = f(...xs);
    const w = randn(y.shape, seed);
    const g = tf.grads((...ins: tf.Tensor[]) => tf.sum(tf.mul(f(...ins), w)))(xs);
    return [y, ...g];
  });
}
