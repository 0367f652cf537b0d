/**
 * Representation probes for pre-trained encoders (docs/ssl.md, "Probes"): weighted kNN top-1 and a
 * linear probe on frozen features, and both at a list of noise levels σ.
 *
 * - kNN [DINO eval_knn.py `knn_classifier`; Wu et al. 2018]: L2-normalised features, cosine similarity,
 *   the k = 20 most similar training samples vote with weight exp(sim/T), T = 0.07; the class with the
 *   largest summed weight wins (lowest class id on ties). Votes are summed in float64 on the host.
 * - Linear probe: softmax regression on standardised features (training-set mean and std), zero init,
 *   full-batch Adam for a fixed number of steps: deterministic, no data order, no seed.
 */
import * as tf from '@tensorflow/tfjs-core';
import { RandomStream, epgError, normalTensor } from '@epg/tensor';

export interface KnnOptions {
  readonly numClasses: number;
  /** Neighbours (default 20). */
  readonly k?: number;
  /** Vote temperature T (default 0.07). */
  readonly temperature?: number;
  /** Test rows per similarity block (default 256). */
  readonly blockSize?: number;
}

export interface ProbeResult {
  /** Top-1 accuracy on the test set, in [0, 1]. */
  readonly accuracy: number;
  readonly predictions: Int32Array;
}

function checkLabelled(features: tf.Tensor2D, labels: Int32Array, numClasses: number, what: string): void {
  if (features.rank !== 2) throw epgError('shape', `${what}: features must be [N, D], got [${features.shape}]`);
  if (features.shape[0] !== labels.length) {
    throw epgError('shape', `${what}: ${features.shape[0]} feature rows but ${labels.length} labels`, 'pass one label per row');
  }
  for (const l of labels) {
    if (!(Number.isInteger(l) && l >= 0 && l < numClasses)) throw epgError('config', `${what}: label ${l} is outside [0, ${numClasses})`, 'check numClasses');
  }
}

function accuracyOf(pred: Int32Array, labels: Int32Array): number {
  let hit = 0;
  for (let i = 0; i < pred.length; i++) if (pred[i] === labels[i]) hit++;
  return pred.length ? hit / pred.length : NaN;
}

/** Weighted kNN top-1 of test features against a labelled training bank. Inputs are not disposed; nothing leaks. */
export function knnTop1(
  trainFeatures: tf.Tensor2D, trainLabels: Int32Array, testFeatures: tf.Tensor2D, testLabels: Int32Array, opts: KnnOptions,
): ProbeResult {
  const k = opts.k ?? 20;
  const T = opts.temperature ?? 0.07;
  const block = opts.blockSize ?? 256;
  checkLabelled(trainFeatures, trainLabels, opts.numClasses, 'knnTop1 (train)');
  checkLabelled(testFeatures, testLabels, opts.numClasses, 'knnTop1 (test)');
  if (trainFeatures.shape[1] !== testFeatures.shape[1]) throw epgError('shape', `knnTop1: train features have ${trainFeatures.shape[1]} dims, test ${testFeatures.shape[1]}`);
  if (!(Number.isInteger(k) && k >= 1 && k <= trainFeatures.shape[0])) throw epgError('config', `knnTop1: k = ${k} with ${trainFeatures.shape[0]} training samples`, 'use 1 <= k <= training samples');
  if (!(T > 0)) throw epgError('config', `knnTop1: temperature ${T} must be > 0`, 'use e.g. 0.07');
  const nTest = testFeatures.shape[0];
  const pred = new Int32Array(nTest);
  const bank = tf.tidy(() => tf.transpose(normalize(trainFeatures))); // [D, Ntrain]
  try {
    const votes = new Float64Array(opts.numClasses);
    for (let s = 0; s < nTest; s += block) {
      const n = Math.min(block, nTest - s);
      const { values, indices } = tf.tidy(() => {
        const sim = tf.matMul(normalize(tf.slice(testFeatures, [s, 0], [n, -1])), bank); // [n, Ntrain]
        return tf.topk(sim, k, true);
      });
      const v = values.dataSync();
      const idx = indices.dataSync();
      tf.dispose([values, indices]);
      for (let r = 0; r < n; r++) {
        votes.fill(0);
        for (let j = 0; j < k; j++) votes[trainLabels[idx[r * k + j]]] += Math.exp(v[r * k + j] / T);
        let best = 0;
        for (let c = 1; c < votes.length; c++) if (votes[c] > votes[best]) best = c;
        pred[s + r] = best;
      }
    }
  } finally {
    bank.dispose();
  }
  return { accuracy: accuracyOf(pred, testLabels), predictions: pred };
}

function normalize(x: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => tf.div(x, tf.maximum(tf.norm(x, 'euclidean', 1, true), 1e-12)) as tf.Tensor2D);
}

export interface LinearProbeOptions {
  readonly numClasses: number;
  /** Full-batch Adam steps (default 300). */
  readonly steps?: number;
  /** Adam learning rate (default 0.01; betas 0.9, 0.999, ε 1e-8). */
  readonly lr?: number;
  /** L2 penalty ½·λ‖W‖² added to the mean cross-entropy (default 1e-4; the bias is not penalised). */
  readonly l2?: number;
}

export interface LinearProbeResult extends ProbeResult {
  readonly trainAccuracy: number;
  /** Final mean training cross-entropy (without the penalty). */
  readonly trainLoss: number;
}

/** Softmax regression on frozen, standardised features. Inputs are not disposed; nothing leaks. */
export function linearProbe(
  trainFeatures: tf.Tensor2D, trainLabels: Int32Array, testFeatures: tf.Tensor2D, testLabels: Int32Array, opts: LinearProbeOptions,
): LinearProbeResult {
  const steps = opts.steps ?? 300;
  const lr = opts.lr ?? 0.01;
  const l2 = opts.l2 ?? 1e-4;
  const K = opts.numClasses;
  checkLabelled(trainFeatures, trainLabels, K, 'linearProbe (train)');
  checkLabelled(testFeatures, testLabels, K, 'linearProbe (test)');
  if (!(Number.isInteger(steps) && steps >= 1)) throw epgError('config', `linearProbe: steps ${steps} must be an integer >= 1`);
  if (!(lr > 0) || !(l2 >= 0)) throw epgError('config', `linearProbe: lr ${lr} must be > 0 and l2 ${l2} >= 0`);
  const D = trainFeatures.shape[1];
  const { mean, std } = tf.tidy(() => {
    const m = tf.moments(trainFeatures, 0);
    return { mean: m.mean, std: tf.maximum(tf.sqrt(m.variance), 1e-6) };
  });
  // tf.variable keeps its initial tensor alive beside the variable: dispose it at once.
  const zeroVar = (shape: number[], trainable: boolean) => {
    const init = tf.zeros(shape);
    const v = tf.variable(init, trainable);
    init.dispose();
    return v;
  };
  const W = zeroVar([D, K], true); // [D, K]
  const b = zeroVar([K], true); // [K]
  const slots = [W, b].map((p) => ({ p, m: zeroVar(p.shape, false), v: zeroVar(p.shape, false) }));
  try {
    const xTrain = tf.tidy(() => tf.div(tf.sub(trainFeatures, mean), std)) as tf.Tensor2D; // [N, D]
    const yTrain = tf.tidy(() => tf.oneHot(tf.tensor1d(trainLabels, 'int32'), K).toFloat()); // [N, K]
    const loss = () => tf.losses.softmaxCrossEntropy(yTrain, tf.add(tf.matMul(xTrain, W), b)) as tf.Scalar;
    for (let t = 1; t <= steps; t++) {
      tf.tidy(() => {
        const { grads } = tf.variableGrads(() => tf.add(loss(), tf.mul(0.5 * l2, tf.sum(tf.square(W)))) as tf.Scalar, [W, b]);
        const bc1 = 1 - 0.9 ** t;
        const bc2 = 1 - 0.999 ** t;
        for (const s of slots) {
          const g = grads[s.p.name];
          s.m.assign(tf.add(tf.mul(s.m, 0.9), tf.mul(g, 0.1)));
          s.v.assign(tf.add(tf.mul(s.v, 0.999), tf.mul(tf.square(g), 0.001)));
          s.p.assign(tf.sub(s.p, tf.mul(tf.div(tf.div(s.m, bc1), tf.add(tf.sqrt(tf.div(s.v, bc2)), 1e-8)), lr)));
        }
      });
    }
    const predict = (x: tf.Tensor2D) => tf.tidy(() => tf.argMax(tf.add(tf.matMul(x, W), b), 1).dataSync() as Int32Array);
    const trainPred = Int32Array.from(predict(xTrain));
    const trainLoss = tf.tidy(() => loss().dataSync()[0]);
    const xTest = tf.tidy(() => tf.div(tf.sub(testFeatures, mean), std)) as tf.Tensor2D;
    const pred = Int32Array.from(predict(xTest));
    tf.dispose([xTrain, yTrain, xTest]);
    return { accuracy: accuracyOf(pred, testLabels), predictions: pred, trainAccuracy: accuracyOf(trainPred, trainLabels), trainLoss };
  } finally {
    tf.dispose([mean, std, W, b, ...slots.flatMap((s) => [s.m, s.v])]);
  }
}

/** Features of images at one σ: structurally the `cls` of @epg/contracts' Encoder (x, σ per sample) → [B, D]. */
export type SigmaFeatureFn = (x: tf.Tensor4D, sigma: Float64Array) => tf.Tensor2D;

export interface NoisyProbeOptions {
  readonly numClasses: number;
  /** Shifted σ values at which to probe (the σ added to the images, x + σ·ε). */
  readonly sigmas: readonly number[];
  /** Seed of the probe noise: ε for sample i at σ index j is the same in every call. */
  readonly seed: number;
  /** Images per encoder call (default 256). */
  readonly batchSize?: number;
  readonly knn?: Omit<KnnOptions, 'numClasses'>;
  /** Linear-probe options; null skips the linear probe. */
  readonly linear?: Omit<LinearProbeOptions, 'numClasses'> | null;
}

export interface NoisyProbeRow {
  readonly sigma: number;
  readonly knnTop1: number;
  readonly linearTop1: number | null;
  /** Mean over feature dims of the per-dim std of the test features (a collapse check). */
  readonly featureStd: number;
}

/**
 * kNN and linear probes with both train and test images noised at each σ (x + σ·ε, ε fixed by the
 * seed), features from `featureFn(x, σ)`. Inputs are not disposed; nothing leaks.
 */
export function probeAtSigmas(
  featureFn: SigmaFeatureFn, train: { images: tf.Tensor4D; labels: Int32Array }, test: { images: tf.Tensor4D; labels: Int32Array }, opts: NoisyProbeOptions,
): NoisyProbeRow[] {
  const rows: NoisyProbeRow[] = [];
  opts.sigmas.forEach((sigma, j) => {
    if (!(sigma >= 0 && Number.isFinite(sigma))) throw epgError('config', `probeAtSigmas: σ ${sigma} must be finite and >= 0`);
    const ftr = features(featureFn, train.images, sigma, RandomStream.derive(opts.seed, j, 'probe-train'), opts.batchSize ?? 256);
    const fte = features(featureFn, test.images, sigma, RandomStream.derive(opts.seed, j, 'probe-test'), opts.batchSize ?? 256);
    try {
      const knn = knnTop1(ftr, train.labels, fte, test.labels, { ...opts.knn, numClasses: opts.numClasses });
      const lin = opts.linear === null ? null : linearProbe(ftr, train.labels, fte, test.labels, { ...opts.linear, numClasses: opts.numClasses });
      const featureStd = tf.tidy(() => tf.mean(tf.sqrt(tf.moments(fte, 0).variance)).dataSync()[0]);
      rows.push({ sigma, knnTop1: knn.accuracy, linearTop1: lin ? lin.accuracy : null, featureStd });
    } finally {
      tf.dispose([ftr, fte]);
    }
  });
  return rows;
}

function features(fn: SigmaFeatureFn, images: tf.Tensor4D, sigma: number, rs: RandomStream, batch: number): tf.Tensor2D {
  const [N, H, W, C] = images.shape;
  const parts: tf.Tensor2D[] = [];
  try {
    for (let s = 0; s < N; s += batch) {
      const n = Math.min(batch, N - s);
      parts.push(
        tf.tidy(() => {
          const x = tf.slice(images, [s, 0, 0, 0], [n, H, W, C]);
          const noisy = sigma > 0 ? tf.add(x, tf.mul(normalTensor(rs, [n, H, W, C]), sigma)) : x;
          return fn(noisy as tf.Tensor4D, new Float64Array(n).fill(sigma));
        }),
      );
    }
    return tf.concat(parts, 0);
  } finally {
    tf.dispose(parts);
  }
}
