import * as tf from '@tensorflow/tfjs-core';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from 'fp-ts/Either';
import { RandomStream, isEpgError, orThrow } from '@epg/tensor';
import { expectNoLeak } from '@epg/tensor/testing';
import { initDomainClassifier, domainClassifierForward, convSame, maxPool2 } from './domain-classifier';
import { trainDomainClassifier } from './domain-train';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createDomainExtractor, decodeDomainWeights, encodeDomainWeights, loadDomainClassifier } from './domain-extractor';
import { computeStatistics, extractFeatures } from './features';

/** Toy 28×28 set: class k is a bright horizontal bar at row 3 + 2k, with per-image jitter. */
function bars(n: number, seed: number) {
  const rs = RandomStream.fromSeed(seed);
  const images = new Uint8Array(n * 784);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const k = i % 10;
    labels[i] = k;
    const row = 3 + 2 * k;
    const shift = rs.int(5);
    for (let x = 2 + shift; x < 22 + shift; x++) images[i * 784 + row * 28 + x] = 200 + rs.int(56);
  }
  return { images, labels, count: n, height: 28, width: 28, channels: 1, classNames: [] as string[] };
}

describe('domain classifier', () => {
  it('convSame’s forward-only gradient matches finite differences', () => {
    const x = tf.tensor4d(Array.from({ length: 2 * 5 * 5 * 2 }, (_, i) => Math.sin(i)), [2, 5, 5, 2]);
    const k = tf.tensor4d(Array.from({ length: 3 * 3 * 2 * 3 }, (_, i) => Math.cos(i)), [3, 3, 2, 3]);
    const w = tf.tensor4d(Array.from({ length: 2 * 5 * 5 * 3 }, (_, i) => Math.sin(0.7 * i)), [2, 5, 5, 3]);
    const f = (a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(convSame(a as tf.Tensor4D, b), w));
    const [gx, gk] = tf.grads(f)([x, k]);
    const eps = 1e-2;
    const fd = (t: tf.Tensor, idx: number, which: 0 | 1) => {
      const base = t.dataSync();
      const shifted = (delta: number) => {
        const arr = Float32Array.from(base); // a fresh copy: tf.tensor may keep the array it is given
        arr[idx] += delta;
        return tf.tensor(arr, t.shape);
      };
      const plus = shifted(eps);
      const minus = shifted(-eps);
      const v = tf.tidy(() => (which === 0 ? (f(plus, k).dataSync()[0] - f(minus, k).dataSync()[0]) / (2 * eps) : (f(x, plus).dataSync()[0] - f(x, minus).dataSync()[0]) / (2 * eps)));
      tf.dispose([plus, minus]);
      return v;
    };
    for (const i of [0, 7, 31, 99]) expect(gx.dataSync()[i]).toBeCloseTo(fd(x, i, 0), 2);
    for (const i of [0, 5, 17, 53]) expect(gk.dataSync()[i]).toBeCloseTo(fd(k, i, 1), 2);
    tf.dispose([x, k, w, gx, gk]);
  });

  it('the mask gradient of the 2×2 max-pool matches tf.maxPool’s', () => {
    const x = tf.tensor4d(Array.from({ length: 2 * 4 * 6 * 3 }, (_, i) => Math.sin(1.3 * i)), [2, 4, 6, 3]);
    const w = tf.tensor4d(Array.from({ length: 2 * 2 * 3 * 3 }, (_, i) => Math.cos(i)), [2, 2, 3, 3]);
    const ours = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(maxPool2(a as tf.Tensor4D), w)))(x);
    const ref = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(a as tf.Tensor4D, 2, 2, 'valid'), w)))(x);
    expect(Array.from(ours.dataSync(), (v) => v + 0)).toEqual(Array.from(ref.dataSync(), (v) => v + 0)); // +0 folds −0
    tf.dispose([x, w, ours, ref]);
  });

  it('forward gives [B,128] features and [B,10] logits without leaking', async () => {
    const store = initDomainClassifier(RandomStream.fromSeed(1)).eval();
    await expectNoLeak(() => {
      const x = tf.zeros([3, 28, 28, 1]) as tf.Tensor4D;
      const out = tf.tidy(() => domainClassifierForward(store, x));
      expect(out.features.shape).toEqual([3, 128]);
      expect(out.logits.shape).toEqual([3, 10]);
      tf.dispose([x, out.features, out.logits]);
    });
    expect(() => tf.tidy(() => void domainClassifierForward(store, tf.zeros([1, 32, 32, 1]) as tf.Tensor4D))).toThrow(/expected \[B, 28, 28, 1\]/);
    store.dispose();
  });

  it('a few training steps lower the loss on a toy batch and leave the store in eval mode', () => {
    const set = bars(20, 1);
    const before = initDomainClassifier(RandomStream.derive(0, 0, 'domain-init')).eval();
    const after = trainDomainClassifier(set, { epochs: 3, batchSize: 10, lr: 3e-3 });
    expect(after.training).toBe(false);
    const loss = (st: typeof after) =>
      tf.tidy(() => {
        const x = tf.sub(tf.div(tf.tensor4d(Float32Array.from(set.images), [20, 28, 28, 1]), 127.5), 1) as tf.Tensor4D;
        const y = tf.oneHot(tf.tensor1d(set.labels, 'int32'), 10);
        return tf.losses.softmaxCrossEntropy(y, domainClassifierForward(st, x).logits).dataSync()[0];
      });
    expect(loss(after)).toBeLessThan(loss(before));
    before.dispose();
    after.dispose();
  }, 60_000);

  it('eval features do not depend on the batch size; 32×32 padded input is cropped; weights round-trip', async () => {
    const store = initDomainClassifier(RandomStream.fromSeed(3)).eval();
    const ex = createDomainExtractor(store, 'mnist', 'test');
    expect(ex.name).toBe('domain-mnist@test/fc1');
    const set = bars(12, 3);
    const a = await expectNoLeak(() => extractFeatures(ex, set, { batchSize: 12 }));
    const b = extractFeatures(ex, set, { batchSize: 5 });
    let worst = 0;
    a.data.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - b.data[i]))));
    expect(worst).toBeLessThan(1e-4);
    const s1 = computeStatistics(ex, set, { batchSize: 12 });
    const s2 = computeStatistics(ex, set, { batchSize: 4 });
    s1.mu.forEach((v, i) => expect(Math.abs(v - s2.mu[i])).toBeLessThan(1e-4));
    expect(s1.extractor).toBe(ex.name);
    expect(s1.count).toBe(12);
    // 32×32 zero-padded images give the features of their 28×28 centre
    const padded = new Uint8Array(12 * 32 * 32);
    for (let i = 0; i < 12; i++) for (let y = 0; y < 28; y++) for (let x = 0; x < 28; x++) padded[i * 1024 + (y + 2) * 32 + x + 2] = set.images[i * 784 + y * 28 + x];
    const c = extractFeatures(ex, { images: padded, count: 12, height: 32, width: 32, channels: 1 }, { batchSize: 12 });
    expect(Array.from(c.data)).toEqual(Array.from(a.data));
    // safetensors round trip
    const buf = encodeDomainWeights(store, { dataset: 'mnist' });
    const { store: back, metadata } = decodeDomainWeights(buf, 'mem');
    expect(metadata.dataset).toBe('mnist');
    const d = extractFeatures(createDomainExtractor(back, 'mnist', 'test'), set, { batchSize: 12 });
    expect(Array.from(d.data)).toEqual(Array.from(a.data));
    expect(() => tf.tidy(() => void ex.extract(tf.zeros([1, 28, 28, 3]) as tf.Tensor4D))).toThrow(/1-channel images, got 3/);
    store.dispose();
    back.dispose();
  }, 60_000);

  it('loadDomainClassifier reads a weights file (never trains); the name carries its hash; bad files are one-line Lefts', () => {
    const dir = mkdtempSync(join(tmpdir(), 'epg-metrics-'));
    try {
      const store = initDomainClassifier(RandomStream.fromSeed(5)).eval();
      const file = join(dir, 'w.safetensors');
      writeFileSync(file, encodeDomainWeights(store, { dataset: 'mnist', test_accuracy: '0.995' }));
      store.dispose();
      const got = orThrow(loadDomainClassifier('mnist', { path: file }));
      const sha = createHash('sha256').update(readFileSync(file)).digest('hex');
      expect(got.sha256).toBe(sha);
      expect(got.weightsId).toBe(sha.slice(0, 16));
      expect(got.testAccuracy).toBe(0.995);
      expect(got.extractor.name).toBe(`domain-mnist@${sha.slice(0, 16)}/fc1`);
      got.store.dispose();
      const left = (r: E.Either<Error, unknown>) => (E.isLeft(r) && isEpgError(r.left) ? `${r.left.kind}: ${r.left.message}` : 'not an EpgError Left');
      expect(left(loadDomainClassifier('fashion-mnist', { path: file }))).toMatch(/^mismatch: domain-classifier weights .*w\.safetensors were trained on mnist, not fashion-mnist/);
      expect(left(loadDomainClassifier('mnist', { path: join(dir, 'none.safetensors') }))).toMatch(/^io: domain-classifier weights .*none\.safetensors cannot be read \(ENOENT\): check the path$/);
      writeFileSync(file, Buffer.from('garbage'));
      expect(left(loadDomainClassifier('mnist', { path: file }))).toMatch(/^format: .*w\.safetensors is truncated/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
